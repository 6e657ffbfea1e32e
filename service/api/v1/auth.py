"""Sign in (OAuth2 password flow) and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from service.api.deps import BEARER, PrincipalDep, ServicesDep
from service.api.problems import Problem
from service.auth import AuthError, authenticate, describe, issue_token, load_principal
from service.schemas import Me, Token

router = APIRouter(tags=["auth"])


@router.post("/token", response_model=Token, summary="Sign in: username and password for an access token")
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], svc: ServicesDep) -> Token:
    try:
        user_id = authenticate(svc.engine, form.username, form.password)
    except AuthError as exc:
        raise Problem(401, str(exc), headers=BEARER, kind="unauthorized") from None
    who = load_principal(svc.engine, user_id)
    minutes = svc.settings.token_minutes
    return Token(
        access_token=issue_token(svc.key, user_id, who.role, minutes), expires_in=minutes * 60, role=who.role
    )


@router.get("/me", response_model=Me, summary="The signed-in account and what it may see")
def me(who: PrincipalDep) -> Me:
    return Me(**describe(who))
