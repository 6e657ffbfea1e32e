"""Signing in to the pages: the same token as the API, kept in an HttpOnly, SameSite=Strict cookie;
every form carries a CSRF token derived from it (an HMAC, so nothing is stored)."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response

from service.auth import AuthError, Principal, authenticate, issue_token, load_principal, token_user
from service.runtime import Services

COOKIE = "jianfu_session"
LANG_COOKIE = "jianfu_lang"


class SignInRequired(Exception):
    """The page needs a signed-in account (the pages' handler sends the browser to /login)."""


class BadForm(Exception):
    """A form without the right CSRF token: refused, nothing done."""


def sign_in(svc: Services, response: Response, username: str, password: str) -> Principal:
    user_id = authenticate(svc.engine, username, password)  # AuthError: wrong name or password
    who = load_principal(svc.engine, user_id)
    minutes = svc.settings.token_minutes
    response.set_cookie(
        COOKIE,
        issue_token(svc.key, user_id, who.role, minutes),
        max_age=minutes * 60,
        httponly=True,
        samesite="strict",
        secure=svc.settings.environment != "development",  # served over HTTPS outside development
        path="/",
    )
    return who


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def signed_in(svc: Services, request: Request) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired
    try:
        who = svc.principals.get(svc.engine, token_user(svc.key, token))
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
