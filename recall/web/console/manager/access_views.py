"""The manager's staff pages: staff members, invites and resets, API tokens, the CRM's launch secret."""

from __future__ import annotations

from typing import Any

from recall.common.actors import Role
from recall.web.console.manager import blp
from recall.web.console.pages import page, render


@blp.get("/staff")
@page(Role.MANAGER)
def staff() -> Any:
    return render("manager/dashboard.html")
