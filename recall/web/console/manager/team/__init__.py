"""The manager's team pages, nested in the manager's blueprint: staff members, invite and reset links, API
tokens, and the CRM wiring (the launch-link secret and the origins that may frame the console)."""

from __future__ import annotations

from recall.web.console.pages import console_blueprint

blp = console_blueprint("team", __name__, "/staff")

from recall.web.console.manager.team import views  # noqa: E402,F401  (registers the pages on blp)
