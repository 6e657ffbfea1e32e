"""Signing in to the pages: the same token as the API (naming a session that signing out ends),
kept in an HttpOnly, SameSite=Strict cookie; every form carries a CSRF token derived from it (an
HMAC, so nothing is stored). The sign-in form itself, before there is a session, carries a random
token that must match a SameSite=Strict cookie of its own, and a form posted from another origin is
refused."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from contextlib import suppress
from urllib.parse import urlsplit

from fastapi import Request, Response

from service import auth
from service.api.deps import client_address
from service.auth import AuthError, Principal, SignedIn, principal_of, token_claims
from service.runtime import Services

COOKIE = "jianfu_session"
LANG_COOKIE = "jianfu_lang"
LOGIN_COOKIE = "jianfu_login"  # the sign-in form's own CSRF token, before any session


class SignInRequired(Exception):
    """The page needs a signed-in account (the pages' handler sends the browser to /login)."""


class BadForm(Exception):
    """A form without the right CSRF token: refused, nothing done."""


async def sign_in(svc: Services, request: Request, username: str, password: str) -> SignedIn:
    """A new session, its work (throttle, lookup, one scrypt hash) in the sign-in pool's own threads.
    AuthError: wrong name or password; TooManySignIns: the back-off holds or the pool is full."""
    address = client_address(request)
    return await svc.sign_ins.run(
        lambda: auth.sign_in(
            svc.engine, key=svc.key, username=username, password=password, address=address,
            throttle=svc.throttle, minutes=svc.settings.token_minutes,
        )
    )  # fmt: skip


def keep_session(svc: Services, response: Response, done: SignedIn) -> None:
    """The session's token in the browser; the sign-in form's token is of no further use."""
    response.set_cookie(
        COOKIE,
        done.token,
        max_age=done.seconds,
        httponly=True,
        samesite="strict",
        secure=_secure(svc),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")


def _secure(svc: Services) -> bool:
    return svc.settings.environment != "development"  # served over HTTPS outside development


def sign_out(svc: Services, request: Request, response: Response) -> None:
    """The session ends in the database (its token stops working everywhere) and the cookie goes."""
    token = request.cookies.get(COOKIE)
    if token:
        with suppress(AuthError):  # an expired or foreign token: there is no session of it to end
            auth.sign_out(svc.engine, session_id=token_claims(svc.key, token).session_id)
    response.delete_cookie(COOKIE, path="/")


def signed_in(svc: Services, request: Request) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired
    try:
        who = principal_of(svc.engine, svc.principals, token_claims(svc.key, token))
    except AuthError:
        raise SignInRequired from None
    request.state.user_id = who.user_id
    return who


def csrf_token(svc: Services, request: Request) -> str:
    token = request.cookies.get(COOKIE, "")
    return hmac.new(svc.key.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:32]


def check_form(svc: Services, request: Request, sent: str) -> None:
    if not request.cookies.get(COOKIE) or not hmac.compare_digest(
        sent.encode(), csrf_token(svc, request).encode()
    ):
        raise BadForm


def login_form_token(request: Request) -> str:
    """The sign-in form's CSRF token: the browser's, if it has one, else a new random one (given to
    the browser by `keep_login_form_token`)."""
    kept = request.cookies.get(LOGIN_COOKIE, "")
    return kept if 20 <= len(kept) <= 100 else secrets.token_urlsafe(32)


def keep_login_form_token(svc: Services, response: Response, token: str) -> None:
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=_secure(svc), path="/login")  # fmt: skip


def check_login_form(request: Request, sent: str) -> None:
    """The sign-in form came from this site: its token matches the cookie that only this site's own
    pages send (SameSite=Strict), and the browser's Origin, when it names one, is this site."""
    kept = request.cookies.get(LOGIN_COOKIE, "")
    if not kept or not sent or not hmac.compare_digest(sent.encode(), kept.encode()):
        raise BadForm
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise BadForm
