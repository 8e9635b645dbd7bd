"""The manager's office: the dashboard (``views``: figures from ``figures`` and ``report_tables``, the no-show
report's statement in the manager's words from ``no_show_words``, charts drawn by ``charts``), the
reminder policy editor (``policy``, its form in ``policy_form``), the pay plan with its what-if (``payplan``),
clinic settings (``settings``) and the payroll download (``exports``); the team pages (staff, invites, tokens,
the CRM's launch secret) are a blueprint nested in it (``manager.team``)."""

from __future__ import annotations

from recall.web.console.manager import team
from recall.web.console.pages import console_blueprint

blp = console_blueprint("manager", __name__, "/console/office")
blp.register_blueprint(team.blp)

from recall.web.console.manager import exports, payplan, policy, settings, views  # noqa: E402,F401  (register the pages)
