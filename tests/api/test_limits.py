"""Limits before work and the small hardening items of issue 18: a body over its route's limit is
refused with 413 while it is read (before parsing or signing in); request bodies' arrays and ids are
bounded; X-Request-ID is kept only if short and plain; security headers on every answer; /metrics
behind a token outside development."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.api.conftest import PROBLEM, Caller
from tests.conftest import SAMPLES

CHUNK = 64 * 1024


def _app(**settings: Any) -> Any:
    """The app without its lifespan: no database, no model. A request that got as far as a route (or
    signing in) would fail on the missing services, so a 413 here is a refusal before any of that."""
    base = {"jwt_secret": "k" * 40, "policy_dir": SAMPLES / "policies", "log_json": False}
    return create_app(Settings(**(base | settings)))


def _post(app: Any, path: str, chunks: Iterator[bytes], headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """POST a body handed to the app chunk by chunk (as a server does) and count what it took."""
    taken = {"bytes": 0, "messages": 0}
    answer: dict[str, Any] = {"status": None, "headers": {}, "body": b""}

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        taken["bytes"] += len(chunk)
        taken["messages"] += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return {**answer, "taken": taken["bytes"], "messages": taken["messages"]}


def _json_bomb(total: int) -> Iterator[bytes]:
    """`[{},{},...` made on the fly, CHUNK bytes at a time (never held whole)."""
    yield b"["
    piece = b"{}," * (CHUNK // 3)
    for _ in range(total // len(piece)):
        yield piece


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_unauthenticated_body_over_the_limit_is_refused_while_it_is_read(declared: bool) -> None:
    """Finding 1: 60 MB posted to /v1/checks with no token was read whole (1.3 GB, 10 s) before the
    401. Now: 413 problem+json at once when Content-Length says too much (not one byte read), else
    as soon as the bytes passed the limit (the rest is never read)."""
    limit, total = 1 << 20, 60 << 20
    app = _app(max_body_bytes=limit)
    headers = [(b"content-length", str(total).encode())] if declared else []
    answer = _post(app, "/v1/checks", _json_bomb(total), headers)
    assert answer["status"] == 413, answer
    assert answer["headers"]["content-type"] == PROBLEM
    body = json.loads(answer["body"])
    assert (
        body["status"] == 413 and body["max_bytes"] == limit and "MiB" in body["detail"] and body["detail_zh"]
    )
    assert answer["headers"]["connection"] == "close"  # the server reads no more of it, not even to discard
    assert answer["headers"]["x-request-id"]  # still observed (id, log line, metrics)
    route = "unmatched" if declared else "/v1/checks"  # refused before routing, or while the route read
    metrics = TestClient(app).get("/metrics").text
    assert f'jianfu_requests_total{{method="POST",route="{route}",status="413"}} 1.0' in metrics
    if declared:
        assert answer["taken"] == 0
    else:
        assert limit < answer["taken"] <= limit + CHUNK  # stopped at the first chunk past the limit


def test_uploads_have_their_own_larger_limit_and_small_bodies_pass(anonymous: Caller) -> None:
    """The table: POST /v1/imports, POST /v1/scans and the /scans page's upload take up to
    max_upload_bytes (exactly those paths, not the routes below them); every other body max_body_bytes. A body within its limit goes on to sign-in as before (401 here)."""
    from service.api.limits import BodyLimits, body_limits

    settings = Settings(max_body_bytes=100, max_upload_bytes=1000)
    limits = BodyLimits(lambda *_: None, default=settings.max_body_bytes, routes=body_limits(settings))
    assert limits.limit_for("POST", "/v1/imports") == 1000
    assert limits.limit_for("POST", "/v1/scans") == 1000
    assert limits.limit_for("POST", "/scans") == 1000  # the same upload from the teacher's page
    assert limits.limit_for("POST", "/v1/scans/reviews/rv-1") == 100  # one answer, not an upload
    assert limits.limit_for("POST", "/scans/reviews/rv-1") == 100
    assert limits.limit_for("POST", "/v1/importsx") == 100
    assert limits.limit_for("PUT", "/v1/imports") == 100
    assert limits.limit_for("POST", "/v1/checks") == 100
    body = {"student_id": "x", "night": "2026-11-10", "subject": "math", "items": [{"item_id": "i"}]}
    assert anonymous.post("/v1/checks", json=body).status_code == 401


def test_an_over_long_array_is_refused_naming_its_json_path(teacher: Caller) -> None:
    """Arrays and ids in request bodies are bounded in the schemas (service.schemas)."""
    r = teacher.post(
        "/v1/classes/east-5-1/plans",
        json={"subject": "math", "night": "2026-11-10", "focus_kps": ["math-g5-12"] * 21},
    )
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert {e["pointer"] for e in r.json()["errors"]} == {"/focus_kps"}
    r = teacher.post(
        "/v1/classes/east-5-1/plans", json={"subject": "math", "night": "2026-11-10", "focus_kps": ["k" * 65]}
    )
    assert r.status_code == 422 and {e["pointer"] for e in r.json()["errors"]} == {"/focus_kps/0"}
    r = teacher.put(
        "/v1/classes/east-5-1/progress", json={"subject": "math", "points": {"k" * 65: "2026-11-10"}}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"].startswith("/points/")


def test_a_long_or_odd_request_id_is_replaced_neither_echoed_nor_logged(anonymous: Caller) -> None:
    """Finding 8: a 60 KB X-Request-ID was echoed and logged. Now only 1-64 of [A-Za-z0-9._:-]."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("jianfu.api")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        for given in ("a" * 60_000, "abc def", "<script>", "x" * 65):
            r = anonymous.get("/healthz", headers={"X-Request-ID": given})
            made = r.headers["x-request-id"]
            assert made != given and len(made) == 32
        plain = "req-1.2:3_" + "z" * 54  # 64 characters of the allowed ones: kept
        assert anonymous.get("/healthz", headers={"X-Request-ID": plain}).headers["x-request-id"] == plain
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    ids = [getattr(record, "request_id", "") for record in seen]
    assert len(ids) == 5 and all(len(i) <= 64 for i in ids), ids
    assert not any("a" * 100 in str(record.__dict__) for record in seen)


SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


def test_security_headers_on_pages_and_api(anonymous: Caller, teacher: Caller) -> None:
    """Finding 8: no CSP / X-Frame-Options / nosniff. Now on pages, API answers and errors alike; the
    CSP allows no inline script or style (the pages' one script is /static/pages.js)."""
    for r in (
        anonymous.get("/login"),
        teacher.get("/v1/me"),
        anonymous.get("/v1/me"),  # 401 problem
        anonymous.get("/static/style.css"),
        anonymous.get("/static/pages.js"),
    ):
        assert {k: r.headers.get(k) for k in SECURITY} == SECURITY, r.url
        csp = dict(p.strip().split(" ", 1) for p in r.headers["content-security-policy"].split(";"))
        assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'", csp
        assert csp["frame-ancestors"] == "'none'" and csp["default-src"] == "'self'"
    page = anonymous.get("/login").text
    assert '<script src="/static/pages.js" defer></script>' in page
    docs = anonymous.get("/docs")
    assert docs.status_code == 200  # FastAPI's own page keeps working: its inline start-up script allowed,
    csp = dict(p.strip().split(" ", 1) for p in docs.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self' 'unsafe-inline'", csp
    assert "http" not in docs.headers["content-security-policy"]  # and nothing from another host


def test_templates_hold_no_inline_script_or_style() -> None:
    import re

    from service.web.pages import HERE

    for template in sorted((HERE / "templates").glob("*.html")):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+\s*=|\sstyle\s*=|<style|<script(?![^>]*\ssrc=)", text), template.name


def test_metrics_need_a_token_outside_development() -> None:
    """Finding 8: /metrics was open to anyone. In production it answers the bearer of
    JIANFU_METRICS_TOKEN only, and 404 if none is set; development keeps it open."""
    token = "m" * 32
    production = TestClient(_app(environment="production", metrics_token=token))  # no lifespan: no db
    assert production.get("/metrics").status_code == 404
    assert production.get("/metrics", headers={"Authorization": "Bearer " + "x" * 32}).status_code == 404
    assert production.get("/metrics", headers={"Authorization": token}).status_code == 404
    r = production.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "jianfu_requests_total" in r.text
    unset = TestClient(_app(environment="production"))
    assert unset.get("/metrics").status_code == 404
    assert unset.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    development = TestClient(_app())
    assert "jianfu_requests_total" in development.get("/metrics").text
