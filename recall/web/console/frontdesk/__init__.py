"""The front desk: today's schedule, check-in and checkout, patients, reminder calls, the desk's earnings.

``views`` holds the day and the earnings, ``arrivals`` the check-in, ``checkout`` the follow-up at checkout,
``patients`` the search and the new-patient form, ``calls`` the reminder calls; ``forms`` reads their input.
"""

from __future__ import annotations

from recall.web.console.pages import console_blueprint

blp = console_blueprint("frontdesk", __name__, "/console/front-desk")

from recall.web.console.frontdesk import arrivals, calls, checkout, patients, views  # noqa: E402, F401
