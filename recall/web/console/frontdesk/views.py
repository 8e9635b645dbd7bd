"""The front desk's pages."""

from __future__ import annotations

from typing import Any

from recall.common.actors import Role
from recall.web.console.frontdesk import blp
from recall.web.console.pages import page, render

DESK = (Role.FRONTDESK, Role.MANAGER)


@blp.get("/")
@page(*DESK)
def today() -> Any:
    return render("frontdesk/today.html")


@blp.get("/patients")
@page(*DESK)
def patients() -> Any:
    return render("frontdesk/today.html")


@blp.get("/reminder-calls")
@page(*DESK)
def reminder_calls() -> Any:
    return render("frontdesk/today.html")
