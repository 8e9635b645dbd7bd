"""Who is calling: a bearer token per staff member, and the roles each endpoint admits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from recall.clinic.ehr import INTEGRATION_PREFIX, authenticate_integration
from recall.clinic.staff import authenticate
from recall.common.actors import Actor, Role
from recall.common.errors import Forbidden, Unauthenticated
from recall.web.common import session

F = TypeVar("F", bound=Callable[..., Any])
ALL_ROLES = (Role.OPERATOR, Role.FRONTDESK, Role.MANAGER)


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    return secret.strip()


def current_actor() -> Actor:
    if "actor" not in g:
        secret = _bearer()
        if secret.startswith(INTEGRATION_PREFIX):
            authenticate_integration(session(), secret)  # an unknown or revoked one is a 401 like any other
            raise Forbidden("an integration token is accepted only by the FHIR endpoints (/api/v1/fhir)")
        g.actor = authenticate(session(), secret)
    return g.actor


def roles(*allowed: Role) -> Callable[[F], F]:
    """Authenticate the caller, then admit only ``allowed`` roles (403 for the rest)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            current_actor().require(*allowed)
            return view(*args, **kwargs)

        wrapper._recall_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def integration_or(*allowed: Role) -> Callable[[F], F]:
    """An integration token (acting as the system for its clinic), or a staff token of the ``allowed`` roles.
    Only the FHIR endpoints take integration tokens."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            secret = _bearer()
            if secret.startswith(INTEGRATION_PREFIX):
                g.actor = authenticate_integration(session(), secret)
            else:
                current_actor().require(*allowed)
            return view(*args, **kwargs)

        wrapper._recall_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


any_staff = roles(*ALL_ROLES)
manager_only = roles(Role.MANAGER)
