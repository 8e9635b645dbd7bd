"""The manager's office: the dashboard, the reminder policy and pay plan editors, clinic settings; the team
pages (staff, invites, tokens, the CRM's launch secret) are a blueprint nested in it (``manager.team``)."""

from __future__ import annotations

from recall.web.console.manager import team
from recall.web.console.pages import console_blueprint

blp = console_blueprint("manager", __name__, "/console/office")
blp.register_blueprint(team.blp)

from recall.web.console.manager import views  # noqa: E402,F401  (registers the pages on blp)
