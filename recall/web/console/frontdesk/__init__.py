"""The front desk: today's schedule, check-in and checkout, patients, reminder calls, the desk's earnings."""

from __future__ import annotations

from recall.web.console.pages import console_blueprint

blp = console_blueprint("frontdesk", __name__, "/console/front-desk")

from recall.web.console.frontdesk import views  # noqa: E402,F401  (registers the pages on blp)
