"""Sign in (OAuth2 password flow), sign out, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm

from service import auth
from service.api.deps import BEARER, PrincipalDep, ServicesDep, SignedDep, client_address
from service.api.problems import Problem, _problem
from service.auth import AuthError, TooManySignIns, describe
from service.schemas import Me, Token

router = APIRouter(tags=["auth"])


def too_many(exc: TooManySignIns) -> Problem:
    """A refused sign-in as 429 problem details, with how long to wait."""
    return Problem(429, exc.en, headers={"Retry-After": str(exc.retry_after)}, kind="too-many-sign-ins",
                   detail_zh=exc.zh, retry_after=exc.retry_after)  # fmt: skip


@router.post(
    "/token",
    response_model=Token,
    summary="Sign in: username and password for an access token",
    responses={429: _problem("too many failed sign-ins (or sign-ins at once): wait Retry-After seconds")},
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, svc: ServicesDep
) -> Token:
    # Async: the work (throttle, lookup, one scrypt hash) runs in the sign-in pool's own threads.
    try:
        done = await svc.sign_ins.run(
            lambda: auth.sign_in(
                svc.engine, key=svc.key, username=form.username, password=form.password,
                address=client_address(request), throttle=svc.throttle, minutes=svc.settings.token_minutes,
            )
        )  # fmt: skip
    except TooManySignIns as exc:
        raise too_many(exc) from None
    except AuthError as exc:
        raise Problem(401, str(exc), headers=BEARER, kind="unauthorized") from None
    return Token(access_token=done.token, expires_in=done.seconds, role=done.role)


@router.post(
    "/logout", status_code=204, summary="Sign out: the token's session ends at once, on every replica"
)
async def logout(claims: SignedDep, svc: ServicesDep) -> Response:
    await run_in_threadpool(auth.sign_out, svc.engine, session_id=claims.session_id)
    return Response(status_code=204)


@router.get("/me", response_model=Me, summary="The signed-in account and what it may see")
def me(who: PrincipalDep) -> Me:
    return Me(**describe(who))
