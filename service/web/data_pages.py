"""The data team's own page (`/data`): the model being served (and a reload), this account's
imports with their state and problems, the pseudonymised exports to download, and where the API
documentation is (served by the app itself: /docs, /redoc). The same domain functions as API v1's
data routes (service.data_team), after the same role check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from service import access, data_team
from service.model_health import model_health
from service.web.pages import _on, _posted, _render, _services, _try
from service.web.session import signed_in

router = APIRouter(include_in_schema=False)


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request) -> Response:
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> dict[str, Any]:
        access.require(who, "data_team")
        return {"model": data_team.model_status(models=svc.models),
                "imports": data_team.recent_imports(db=svc.engine, jobs=svc.jobs, who=who),
                "exports": sorted(data_team.EXPORTS)}  # fmt: skip

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "data.html", who=who, **found)


def _curve_points(bins: list[Any], size: int = 120) -> str:
    """An SVG polyline's points for a reliability curve (no JavaScript: the page draws it as is)."""
    return " ".join(f"{b.predicted * size:.1f},{(1 - b.observed) * size:.1f}" for b in bins)


@router.get("/data/health", response_class=HTMLResponse)
def data_health(request: Request, days: int = 14, until: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> Any:
        access.require(who, "data_team")
        served = svc.model()
        return model_health(db=svc.engine, bundle=served.bundle, version=served.version,
                            schools=sorted(who.schools) or None, days=min(max(days, 1), 92),
                            until=_on(until) if until else None)  # fmt: skip

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "data_health.html", who=who, health=found, points=_curve_points)


@router.post("/data/model/reload", response_class=HTMLResponse)
async def data_reload(request: Request, csrf: str = Form("")) -> Response:
    svc, who = await run_in_threadpool(_posted, request, csrf)

    def reload() -> Any:
        access.require(who, "data_team")
        return data_team.reload_model(models=svc.models)

    done = await run_in_threadpool(_try, request, reload)
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse("/data?done=reloaded", status_code=303)


@router.get("/data/exports/{kind}.csv")
def data_export(request: Request, kind: str) -> Response:
    svc = _services(request)
    who = signed_in(svc, request)

    def export() -> Any:
        access.require(who, "data_team")
        return data_team.export_csv(db=svc.engine, key=svc.key, kind=kind)

    chunks = _try(request, export)
    if isinstance(chunks, HTMLResponse):
        return chunks
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'})  # fmt: skip
