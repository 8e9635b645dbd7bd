"""The operator's desk: the next patient's card with every outcome, earnings beside it, callbacks due."""

from __future__ import annotations

from recall.web.console.pages import console_blueprint

blp = console_blueprint("operator", __name__, "/console/desk")

from recall.web.console.operator import views  # noqa: E402,F401  (registers the pages on blp)
