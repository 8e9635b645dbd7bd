"""The operator's desk in a real browser: take the next patient with the keyboard, book them with another
specialist than the one suggested, and see the pending amount appear beside the card, without a reload."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.factories import make_task


def test_an_operator_takes_the_next_patient_books_another_specialist_and_sees_the_pending_amount(live, page, shot):
    a = live.world.a
    make_task(
        live.database,
        live.clock,
        a.clinic.id,
        a.patients[0].id,
        service_id=a.services[0].id,
        provider_id=a.providers[0].id,
    )
    live.sign_in(page, "operator")
    page.wait_for_url(re.compile(r"/console/desk/$"))
    expect(page.locator("[data-pending]")).to_have_text("SEK0.00")
    shot(page, "desk-empty")

    page.keyboard.press("n")  # the shortcut for "Take the next patient"
    expect(page.locator("[data-patient]")).to_have_text("Astrid Andersson")
    expect(page.locator("a.phone")).to_have_attribute("href", "tel:+46701234567")
    expect(page.locator("[data-worth]")).to_have_text("SEK15.00")
    expect(page.locator(".outcome-book select[name='booking.provider_id']")).to_have_value(str(a.providers[0].id))
    shot(page, "patient-card")

    page.get_by_label("Provider").select_option(label="Dr. Piotr Zieliński (ENT)")
    page.get_by_label("Service", exact=True).select_option(label="ENT consultation")
    page.get_by_label("Date and time (the clinic's time, Europe/Stockholm)").fill("2026-03-05T10:00")
    page.get_by_label("Note (operational remarks only, never a diagnosis)").fill("asked for the ENT today")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("[data-pending]")).to_have_text("SEK15.00")
    expect(page.locator(".queue-empty")).to_contain_text("The queue is empty")
    assert page.url.endswith("/console/desk/"), "no page reload, no navigation"
    shot(page, "booked-pending-shown")

    page.get_by_role("link", name="Earnings by day").click()
    page.wait_for_url(re.compile(r"/console/desk/earnings$"))
    expect(page.locator("table.earnings-days")).to_contain_text("SEK15.00")
    shot(page, "earnings-by-day")

    page.get_by_role("link", name="My attempts").first.click()
    page.wait_for_url(re.compile(r"/console/desk/attempts$"))
    expect(page.locator("table.my-attempts")).to_contain_text("asked for the ENT today")
    shot(page, "my-attempts")

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="My callbacks").click()
    page.wait_for_url(re.compile(r"/console/desk/callbacks$"))
    expect(page.locator("h1")).to_have_text("My callbacks")
    shot(page, "my-callbacks")


def test_on_a_tablet_a_callback_outside_calling_hours_is_refused_beside_its_field(live, browser, shot):
    """Its own page: the shared ``page`` fixture counts any 4xx fragment as a failure, and this refusal is one
    (422). Anything else going wrong (a script error, a CSP violation, another failed request) still fails."""
    a = live.world.a
    make_task(live.database, live.clock, a.clinic.id, a.patients[1].id, service_id=a.services[0].id)
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    refused: list[int] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None,
    )

    def answered(r):
        if r.status == 422 and r.url.endswith("/attempts"):
            refused.append(r.status)
        elif r.status >= 400:
            errors.append(f"{r.status} {r.url}")

    page.on("response", answered)
    try:
        live.sign_in(page, "operator")
        shot(page, "tablet-desk-empty")
        page.get_by_role("button", name="Take the next patient").click()
        expect(page.locator("[data-patient]")).to_have_text("Katarzyna Kowalska")
        shot(page, "tablet-card")
        when = page.get_by_label("When (the patient's time, Europe/Stockholm)")
        when.fill("2026-03-02T22:00")
        page.get_by_role("button", name="Schedule the callback").click()
        expect(page.locator("#callback_at-error")).to_contain_text("calling hours")
        expect(page.locator("[data-patient]")).to_have_text("Katarzyna Kowalska")
        shot(page, "tablet-callback-refused")
        page.get_by_label("When (the patient's time, Europe/Stockholm)").fill("2026-03-02T15:00")
        page.get_by_role("button", name="Schedule the callback").click()
        expect(page.locator(".callbacks-panel")).to_contain_text("Katarzyna Kowalska")
        shot(page, "tablet-callback-scheduled")
        page.get_by_role("link", name="All my callbacks").click()
        expect(page.locator("table.callbacks")).to_contain_text("Katarzyna Kowalska")
        shot(page, "tablet-my-callbacks")
    finally:
        context.close()
    assert refused == [422]
    assert not errors, f"the page logged errors: {errors}"
