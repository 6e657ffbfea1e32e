"""Limits before work: the largest body each route takes, enforced while the body is read.

A plain ASGI middleware, outside routing, parsing and signing in: a request whose Content-Length is
over its route's limit is refused with 413 at once, without reading a byte of it; a body of unknown
length (chunked) is counted as the server hands it over and refused as soon as it passes the limit
(the rest is never read, nothing is buffered here, and the connection is closed). The limits are
one table (`body_limits`): small for JSON and form bodies, large but bounded for uploads.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import problem_response
from service.settings import Settings


@dataclass(frozen=True)
class BodyLimit:
    """Requests with this method to exactly this path take at most `max_bytes` of body (not the paths
    below it: POST /v1/scans/reviews/{id} is a small JSON body, however large POST /v1/scans may be)."""

    method: str
    path: str
    max_bytes: int

    def covers(self, method: str, path: str) -> bool:
        return method == self.method and path == self.path


def body_limits(settings: Settings) -> tuple[BodyLimit, ...]:
    """The routes whose bodies may be bigger than settings.max_body_bytes (every other route's limit)."""
    return (
        BodyLimit("POST", "/v1/imports", settings.max_upload_bytes),
        BodyLimit("POST", "/v1/scans", settings.max_upload_bytes),  # marked worksheets' scans
        BodyLimit("POST", "/scans", settings.max_upload_bytes),  # the same, from the teacher's /scans page
    )


class BodyTooLarge(HTTPException):
    """Raised into the app by the counting `receive` once a body passes its limit. An HTTPException, so
    that FastAPI's body reading passes it on instead of answering 400; BodyLimits answers it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit))


class BodyLimits:
    """The ASGI middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, default: int, routes: tuple[BodyLimit, ...]) -> None:
        self.app, self.default, self.routes = app, default, routes

    def limit_for(self, method: str, path: str) -> int:
        return next((r.max_bytes for r in self.routes if r.covers(method, path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit)
            return
        received = 0
        tripped = False  # the body passed the limit: whatever the app answers, the answer is 413
        answered = False  # 413 sent in place of the app's answer: drop the rest of the app's

        async def counting_receive() -> Message:
            nonlocal received, tripped
            if tripped:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    tripped = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if answered:
                return
            if tripped and message["type"] == "http.response.start":
                answered = True
                await _refuse(scope, receive, send, limit)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not answered:
                await _refuse(scope, receive, send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None


def _detail(limit: int) -> str:
    return f"the request body is larger than this route takes ({_size(limit)})"


def _size(limit: int) -> str:
    return f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit} bytes"


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """413 problem+json, closing the connection (the server would otherwise read the rest of the body
    to keep it alive, if only to throw it away)."""
    response = problem_response(
        413, _detail(limit), kind="too-large", instance=scope["path"], max_bytes=limit,
        detail_zh=f"请求内容超过此接口的上限（{_size(limit)}）", headers={"Connection": "close"},
    )  # fmt: skip
    await response(scope, receive, send)
