"""The manager's team pages, nested in the manager's blueprint: staff members, invite and reset links, API
tokens, and the CRM wiring (the launch-link secret and the origins that may frame the console).

``staff`` lists and adds members (and the CSV); ``member`` is one member's page (rename, deactivate, invite or
reset link); ``tokens`` issues and revokes their API tokens; ``crm`` the clinic's launch secret and frame origins.
Each calls the same use cases as the JSON API (``recall/web/staff``), in-process.
"""

from __future__ import annotations

from recall.web.console.pages import console_blueprint

blp = console_blueprint("team", __name__, "/staff")

from recall.web.console.manager.team import crm, member, staff, tokens  # noqa: E402,F401  (registers the pages)
