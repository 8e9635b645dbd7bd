"""The operator's desk: the next patient's card with every outcome, earnings beside it, callbacks due.

- `views`: the desk and its actions (take the next patient, renew, release, log an outcome).
- `card`: what the desk shows (the claim sheet, the outcome form's choices, the earnings panel).
- `forms`: the outcome form read as the API's attempt body.
- `tables`: callbacks due today, attempts and earnings, each a page and a CSV.
"""

from __future__ import annotations

from recall.web.console.pages import console_blueprint

blp = console_blueprint("operator", __name__, "/console/desk")

from recall.web.console.operator import tables, views  # noqa: E402,F401  (registers the pages on blp)
