"""The manager's office: the dashboard, the reminder policy and pay plan editors, clinic settings, staff."""

from __future__ import annotations

from recall.web.console.pages import console_blueprint

blp = console_blueprint("manager", __name__, "/console/office")

from recall.web.console.manager import access_views, views  # noqa: E402,F401  (register the pages on blp)
