"""How the console says no: a page gets the error page with its status; a fetch from console.js gets an alert
fragment (marked by a header) that the script shows above what is on screen, so the card or the form stays."""

from __future__ import annotations

from tests.console.helpers import post, text


def test_a_refused_fetch_answers_an_alert_fragment_not_a_page(console, world):
    stranger = console("operator", clinic="b")
    other_clinics_task = 10**6  # no task of clinic b's has this id
    answer = post(stranger, f"/console/desk/tasks/{other_clinics_task}/release", fetch=True)
    assert answer.status_code == 404
    assert answer.headers["X-Recall-Alert"] == "1"
    body = text(answer)
    assert "data-alert" in body and "<html" not in body and "Not found" in body


def test_a_refused_page_is_the_error_page_with_its_status(console):
    answer = console("frontdesk").get("/console/desk/")
    assert answer.status_code == 403
    assert "X-Recall-Alert" not in answer.headers
    assert "<html" in text(answer) and "Not for your role" in text(answer)


def test_a_fetch_without_the_csrf_token_is_an_alert_too(console):
    client = console("operator")
    answer = client.post("/console/desk/next", headers={"X-Requested-With": "fetch"})
    assert answer.status_code == 400 and answer.headers["X-Recall-Alert"] == "1"
