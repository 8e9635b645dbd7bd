"""The team pages."""

from __future__ import annotations

from typing import Any

from recall.common.actors import Role
from recall.web.console.manager.team import blp
from recall.web.console.pages import page, render


@blp.get("/")
@page(Role.MANAGER)
def staff() -> Any:
    return render("team/staff.html")
