"""The jianfu web service: API v1 under /v1, health and readiness, Prometheus metrics, JSON logs.

`create_app()` builds the app from settings (environment, see service.settings); the lifespan opens
the database (migrating it if behind, under a lock: service.store.db.ensure_schema), the runner of
background jobs (service.jobs: cleans what a killed process left), the policy files and the model holder (the MLflow champion, loaded once
per process and swapped when a new champion appears). Tests hand in their own engine and holder.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.resources
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import problems
from service.api.limits import BodyLimits, body_limits
from service.api.v1 import auth as auth_routes
from service.api.v1 import data as data_routes
from service.api.v1 import district as district_routes
from service.api.v1 import scans as scan_routes
from service.api.v1 import school as school_routes
from service.api.v1 import student as student_routes
from service.api.v1 import teacher as teacher_routes
from service.jobs import JobRunner
from service.logs import configure_logging
from service.policy.policy import PolicyBook
from service.runtime import READS, READS_CACHE_MB, Models, Services
from service.settings import Settings, get_settings

log = logging.getLogger("jianfu.api")
PLANNING_WARM_SECONDS = 120.0  # at start: the planning worker processes load the model


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    models: Models | None = None,
    start_models: Callable[[Settings], Models] | None = None,
) -> FastAPI:
    """The app. Without `engine`/`models`, the lifespan makes them from settings (the database URL,
    the MLflow registry's champion)."""
    settings = settings or get_settings()
    if settings.log_json:
        configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from service.store.db import ensure_schema, make_engine

        own_engine = engine is None
        db = engine if engine is not None else make_engine(settings.resolved_database_url())
        ensure_schema(db)  # if behind, under a lock: one replica migrates, the others find it done
        settings.erasure_key()  # refuse to start without it outside development, as the signing key
        holder = models
        if holder is None:
            holder = (start_models or _registry_models)(settings)
            if settings.log_json:
                configure_logging(settings.log_level)  # again: importing MLflow gave it sqlalchemy.engine
        jobs = JobRunner(
            db, settings.data_dir / "jobs", log_json=settings.log_json, log_level=settings.log_level,
            # the settings' database: jobs' child processes open it too (not an engine handed in)
            database_url=settings.resolved_database_url() if own_engine else None,
        )  # fmt: skip
        jobs.start()  # jobs a killed process left behind: interrupted, their uploads removed
        read_engine = make_engine(settings.resolved_database_url(), cache_mb=READS_CACHE_MB, pool_size=READS,
                                  max_overflow=0) if own_engine else None  # fmt: skip
        services: Services | None = None
        try:
            app.state.services = services = Services(
                settings, db, PolicyBook(settings.policy_dir), holder, settings.signing_key(), job_runner=jobs,
                # the registry's model and the settings' database: worker processes open them too
                planning_in_processes=models is None and start_models is None and engine is None,
                read_engine=read_engine,
            )  # fmt: skip
            if services.planning.in_processes and holder.ready:
                await asyncio.to_thread(services.planning.warm, PLANNING_WARM_SECONDS)
            yield
        finally:
            if services is not None:
                services.close()  # the reads' engine with it
            elif read_engine is not None:
                read_engine.dispose()
            jobs.stop()
            stop = getattr(holder, "stop", None)
            if models is None and stop is not None:
                stop()
            if own_engine:
                db.dispose()

    app = FastAPI(
        title="jianfu (减负) API",
        version="1",
        summary="Tiered, personal homework within the double-reduction caps.",
        description=(
            "Every set the service returns has passed the policy verifier (rule IDs T1-T12, C1-C8, "
            "R1-R8). Sign in with POST /v1/token (OAuth2 password flow) and send the token as a "
            "Bearer header. Errors are RFC 9457 problem details. Students are shown by level, never "
            "ranked (R5)."
        ),
        lifespan=lifespan,
        docs_url=None,  # served below from the app's own copy of Swagger UI and ReDoc (_documentation)
        redoc_url=None,
    )
    problems.install(app)
    app.add_middleware(BodyLimits, default=settings.max_body_bytes, routes=body_limits(settings))
    _observe(app, settings)  # outside the limits: a refused request still has its id, log line and count
    _describe(app)
    _documentation(app)
    for router in (  # the routes every student's app calls each evening are matched first
        student_routes.router,
        auth_routes.router,
        teacher_routes.router,
        school_routes.router,
        data_routes.router,
        district_routes.router,
        scan_routes.router,  # scanned worksheets (issue 16)
    ):
        app.include_router(router, prefix="/v1", responses=problems.RESPONSES)
    from service.web.pages import install as install_pages

    install_pages(app)  # the pages for people (service/web), on the same functions as API v1

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:  # on the event loop: it answers even when every thread is busy
        return {"status": "ok"}

    @app.get(
        "/readyz", tags=["operations"], summary="Ready to serve: a model is loaded and the database answers"
    )
    def readyz(request: Request) -> JSONResponse:
        svc: Services = request.app.state.services
        checks: dict[str, Any] = {}
        try:
            with svc.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports, it does not crash
            checks["database"] = f"unreachable: {type(exc).__name__}"
        served = svc.models.current()
        checks["model"] = f"version {served.version}" if served is not None else "not loaded"
        if served is None:
            checks["model_error"] = svc.models.status().get("last_error")
        ready = checks["database"] == "ok" and served is not None
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    return app


EXAMPLES = Path(__file__).with_name("api") / "examples.json"


def _describe(app: FastAPI) -> None:
    """The OpenAPI description, with what FastAPI leaves out: an upload field takes at least one file;
    and examples of every answer and every path and query value, recorded from a real session
    (service/api/examples.json, made by `make examples`)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain()
            for component in schema.get("components", {}).get("schemas", {}).values():
                for field in component.get("properties", {}).values():
                    if field.get("type") == "array" and "contentMediaType" in field.get("items", {}):
                        field["minItems"] = 1
            recorded = json.loads(EXAMPLES.read_text(encoding="utf-8"))
            for path, operations in schema["paths"].items():
                for method, operation in operations.items():
                    for parameter in operation.get("parameters", []):
                        if parameter["name"] in recorded["parameters"]:
                            parameter["example"] = recorded["parameters"][parameter["name"]]
                    answer = recorded["responses"].get(f"{method} {path}")
                    ok = next((r for code, r in operation["responses"].items() if code.startswith("2")), None)
                    if answer is None or ok is None:
                        continue
                    for media_type, content in ok.get("content", {}).items():
                        if media_type.startswith("application/vnd."):
                            continue  # a workbook (exports with format=xlsx): bytes, no text example
                        if isinstance(answer, str) == (media_type != "application/json"):
                            content["example"] = answer
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


DOCS_ASSETS = "/docs-assets"


def _documentation(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc (ReDoc) with their scripts and styles served by the app itself,
    from the copies the fastapi-offline package ships: a school's intranet, or a network where the
    usual CDN is unreachable, still gets working documentation. FastAPI's own page builders
    (get_swagger_ui_html, get_redoc_html) write the pages; only where the files come from changes."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    assets = importlib.resources.files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect}",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        )  # fmt: skip

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png", with_google_fonts=False,
        )  # fmt: skip


def _observe(app: FastAPI, settings: Settings) -> None:
    """Request ids (X-Request-ID, taken from the caller if short and plain, else made), a JSON log line
    per request, Prometheus metrics by route template (never by raw path: ids would explode the
    series), and the security headers on every answer (SECURITY_HEADERS; the pages' CSP too).

    /metrics is open in development; elsewhere it answers only the bearer of settings.metrics_token
    (404 without one set, as if it were not there).

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware (`@app.middleware("http")`) runs the app in
    a separate task and streams the body through a queue, which cost about as much as a whole route."""
    registry = CollectorRegistry()
    requests = Counter(
        "jianfu_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "jianfu_request_seconds", "HTTP request latency", ["method", "route"], registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    )  # fmt: skip
    app.add_middleware(Observe, requests=requests, latency=latency)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if settings.environment != "development" and not _metrics_caller(request, settings.metrics_token):
            raise HTTPException(404)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _metrics_caller(request: Request, token: str) -> bool:
    """The request carries `Authorization: Bearer <token>` (and a token is set)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


# A caller's X-Request-ID is kept only if it is short and plain (it is echoed and logged), else replaced.
REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
# On every answer: no sniffing a type, no framing, no referrer leaving the site.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
# On every answer but the OpenAPI pages (FastAPI's /docs and /redoc start their scripts inline; the
# scripts themselves are this site's, see _documentation): scripts, styles and everything else only
# from this site, never inline; no framing.
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
OPENAPI_PAGES = ("/docs", "/redoc")
# On those pages: their inline start-up script and styles, everything else only from this site (the
# files are the app's own, so nothing is fetched from another host); ReDoc renders in a blob: worker.
DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    b"form-action 'self'; frame-ancestors 'none'"
)


class Observe:
    """The ASGI middleware behind `_observe`."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if REQUEST_ID.fullmatch(value):
                    request_id = value.decode("ascii")
                break
        request_id = request_id or uuid.uuid4().hex
        extra_headers = [*SECURITY_HEADERS, (b"x-request-id", request_id.encode("ascii"))]
        docs = scope["path"].startswith(OPENAPI_PAGES)
        extra_headers.append((b"content-security-policy", DOCS_CSP if docs else CSP))
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # if the app fails before it answers, the server answers 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *extra_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            path: str = scope["path"]
            if route is not None and path.startswith("/v1/") and not template.startswith("/v1"):
                template = (
                    "/v1" + template
                )  # routers are included under /v1; their routes keep their own path
            method: str = scope["method"]
            self.requests.labels(method, template, str(status)).inc()
            self.latency.labels(method, template).observe(seconds)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "request_id": request_id, "method": method, "route": template, "status": status,
                        "ms": round(seconds * 1000, 1), "user": scope["state"].get("user_id"),
                    },
                )  # fmt: skip


def _registry_models(settings: Settings) -> Models:
    from service.serving import ModelHolder

    holder = ModelHolder.of(settings)
    holder.start()
    holder.start_background()
    return holder
