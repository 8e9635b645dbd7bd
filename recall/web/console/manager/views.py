"""The manager's pages."""

from __future__ import annotations

from typing import Any

from recall.common.actors import Role
from recall.web.console.manager import blp
from recall.web.console.pages import page, render


@blp.get("/")
@page(Role.MANAGER)
def dashboard() -> Any:
    return render("manager/dashboard.html")


@blp.get("/reminder-policy")
@page(Role.MANAGER)
def policy() -> Any:
    return render("manager/dashboard.html")


@blp.get("/pay-plan")
@page(Role.MANAGER)
def pay_plan() -> Any:
    return render("manager/dashboard.html")


@blp.get("/clinic")
@page(Role.MANAGER)
def settings() -> Any:
    return render("manager/dashboard.html")
