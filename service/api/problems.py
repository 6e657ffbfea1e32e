"""Errors as RFC 9457 problem details (application/problem+json).

Every error the API returns has `type`, `title`, `status` and `detail`; a request that fails
validation lists each problem with its JSON path (`errors[].pointer`, RFC 6901); a set that breaks a
rule lists the violations with their rule IDs. Headers an error carries (Allow on 405,
WWW-Authenticate on 401) are kept. An unexpected error answers 500 without internals; the log has
them under the request id.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import DomainError, RuleBroken

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("jianfu.api")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; extension members as the problem needs (`rule`, `violations`,
    `errors` with JSON pointers, `problems` by file, row and field)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": ProblemDetails.model_json_schema()}},
    }


# Documented on every /v1 route: what a caller may get besides the answer itself.
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("the body could not be read as the declared media type"),
    401: _problem("not signed in, or the token is invalid or expired (WWW-Authenticate says which)"),
    403: _problem("this role may not use this route"),
    404: _problem("no such object among those this account may see"),
    409: _problem("the object is not in a state that allows this (e.g. a published plan)"),
    422: _problem("the request is invalid (errors[].pointer names each field), or a set breaks a rule"),
    429: _problem("too much at once: try again after the seconds Retry-After says"),
    503: _problem("no model is loaded yet"),
}


class Problem(Exception):
    """An error the API reports as problem details; `extra` becomes extension members."""

    def __init__(
        self, status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None,
        kind: str | None = None, **extra: Any,
    ) -> None:  # fmt: skip
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.kind = kind
        self.extra = extra


def problem_response(
    status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None,
    kind: str | None = None, instance: str | None = None, **extra: Any,
) -> JSONResponse:  # fmt: skip
    body: dict[str, Any] = {
        "type": f"https://jianfu.example/problems/{kind}" if kind else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def _pointer(loc: tuple[Any, ...]) -> str:
    """A validation error's location as a JSON pointer into the part it names."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc[1:]]
    return "/" + "/".join(parts) if parts else ""


# A domain refusal's kind -> the status it answers with.
STATUS = {"not-found": 404, "forbidden": 403, "invalid-request": 422, "rule": 422, "conflict": 409,
          "import-refused": 422, "model-unavailable": 503, "busy": 429,
          "unavailable": 503}  # fmt: skip


def from_domain(exc: DomainError) -> Problem:
    """A domain function's refusal as problem details: its reason in English as `detail`, in Chinese
    as `detail_zh`, the rule it names, and whatever else it carries (violations, errors, problems)."""
    extra = dict(exc.extra)
    if isinstance(exc, RuleBroken):
        extra["rule"] = exc.rule
    headers = None
    if exc.kind == "model-unavailable":
        headers = {"Retry-After": "10"}
    elif "retry_after" in extra:  # too much at once (service.errors.Busy): when to try again
        headers = {"Retry-After": str(extra["retry_after"])}
    return Problem(STATUS[exc.kind], exc.en, kind=exc.kind, headers=headers, detail_zh=exc.zh, **extra)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        problem = from_domain(exc)
        return problem_response(
            problem.status, problem.detail, title=problem.title, headers=problem.headers, kind=problem.kind,
            instance=request.url.path, **problem.extra,
        )  # fmt: skip

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, title=exc.title, headers=exc.headers, kind=exc.kind,
            instance=request.url.path, **exc.extra,
        )  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
        return problem_response(
            exc.status_code, detail, headers=dict(exc.headers or {}), instance=request.url.path
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"in": str(e["loc"][0]) if e["loc"] else "body", "pointer": _pointer(tuple(e["loc"])),
             "detail": e["msg"]}
            for e in exc.errors()
        ]  # fmt: skip
        first = errors[0] if errors else {"in": "body", "pointer": "", "detail": "invalid request"}
        detail = f"{first['in']} {first['pointer'] or '(whole)'}: {first['detail']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem_response(422, detail, kind="invalid-request", instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", "unmatched")  # a path may hold a student id
        log.exception("unexpected error", extra={"route": route})
        return problem_response(
            500, "an unexpected error; it has been logged with the request id", instance=request.url.path
        )
