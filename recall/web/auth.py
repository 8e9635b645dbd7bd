"""Who is calling: a bearer token per staff member, and the roles each endpoint admits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from recall.clinic.staff import authenticate
from recall.common.actors import Actor, Role
from recall.common.errors import Unauthenticated
from recall.web.common import session

F = TypeVar("F", bound=Callable[..., Any])
ALL_ROLES = (Role.OPERATOR, Role.FRONTDESK, Role.MANAGER)


def current_actor() -> Actor:
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("send 'Authorization: Bearer <token>'")
        g.actor = authenticate(session(), secret.strip())
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


any_staff = roles(*ALL_ROLES)
manager_only = roles(Role.MANAGER)
