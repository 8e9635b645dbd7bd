"""The operator's pages."""

from __future__ import annotations

from typing import Any

from recall.common.actors import Role
from recall.web.console.operator import blp
from recall.web.console.pages import page, render


@blp.get("/")
@page(Role.OPERATOR, Role.MANAGER)
def desk() -> Any:
    return render("operator/desk.html")


@blp.get("/callbacks")
@page(Role.OPERATOR, Role.MANAGER)
def callbacks() -> Any:
    return render("operator/desk.html")
