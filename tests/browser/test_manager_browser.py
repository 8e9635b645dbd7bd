"""The manager's office in a real browser: the dashboard's charts load as images under the CSP, the manager
changes the reminder policy, previews it in Russian and Chinese, runs a what-if and sees its chart."""

from __future__ import annotations

import re
from datetime import timedelta

from recall.reminders import replans
from recall.visits.booking_outcomes import mark_attended
from tests.factories import actor_of, make_booking, make_task

RU = "Напоминаем: {clinic}, {date} в {time}."
ZH = "提醒：{clinic} {date} {time} 就诊。"


def _loaded(page, selector):
    """Every image under ``selector`` has loaded and drawn something (an SVG the browser could render)."""
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].every(i => i.complete && i.naturalWidth > 0)", arg=selector
    )


def test_a_manager_changes_the_policy_previews_it_in_russian_and_chinese_and_runs_a_what_if(live, page, shot):
    world = live.world
    make_task(live.database, live.clock, world.a.clinic.id, world.a.patients[0].id, service_id=world.a.services[0].id)
    booking = make_booking(live.database, live.clock, world.a, days=1, hour=9)
    live.clock.advance(timedelta(days=1, hours=2))
    with live.database.writer() as s:
        mark_attended(s, live.clock, actor_of(world.a.staff["frontdesk"]), booking.id)

    live.sign_in(page, "manager")
    page.wait_for_url(re.compile(r"/console/office/$"))
    _loaded(page, ".dashboard img")
    assert page.locator("table[data-table=queue]").get_by_text("General check-up").is_visible()
    shot(page, "dashboard")
    page.get_by_role("link", name="By week").click()
    page.wait_for_url(re.compile(r"group=week"))
    _loaded(page, ".dashboard img")
    shot(page, "dashboard-by-week")

    page.get_by_role("link", name="Reminder policy").click()
    page.wait_for_url(re.compile(r"/reminder-policy$"))
    shot(page, "policy")
    page.get_by_label("Minutes before the visit").first.fill("1500")
    page.get_by_label("SMS text in Русский").fill(RU)
    page.get_by_label("SMS text in 中文").fill(ZH)
    page.get_by_role("button", name="Preview the SMS texts").click()
    russian = page.locator("#policy-preview article[data-language=ru]")
    russian.wait_for()
    assert "Напоминаем: Nordvik Family Clinic" in russian.inner_text()
    assert "SMS segment" in russian.inner_text()
    chinese = page.locator("#policy-preview article[data-language=zh]")
    assert "提醒：Nordvik Family Clinic" in chinese.inner_text()
    assert page.get_by_label("SMS text in Русский").input_value() == RU, "the preview leaves the form as typed"
    shot(page, "policy-preview")
    page.get_by_role("button", name="Save policy").first.click()
    page.wait_for_url(re.compile(r"saved=1"))
    assert page.get_by_text("Saved as version 1").is_visible()
    assert page.get_by_label("SMS text in Русский").input_value() == RU
    shot(page, "policy-saved")

    page.get_by_role("link", name="Pay plan").click()
    page.wait_for_url(re.compile(r"/pay-plan$"))
    shot(page, "pay-plan")
    page.get_by_label("Operator, per booking (SEK)").fill("25.00")
    page.get_by_label("From", exact=True).fill("2026-03-01")
    page.get_by_label("To", exact=True).fill("2026-03-31")
    page.get_by_role("button", name="Run the what-if").click()
    result = page.locator("#what-if table[data-table=what-if]")
    result.wait_for()
    _loaded(page, "#what-if img")
    operator = result.locator("tr", has_text="operator").first.inner_text()
    assert "SEK10.00" in operator and "SEK25.00" in operator
    shot(page, "what-if")

    page.get_by_role("link", name="Clinic").click()
    page.wait_for_url(re.compile(r"/console/office/clinic$"))
    page.get_by_label("A surge starts when this many tasks are due").fill("1")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url(re.compile(r"saved=1"))
    shot(page, "settings-saved")
    page.get_by_role("link", name="Dashboard").click()
    assert page.locator("#surge").is_visible()
    _loaded(page, ".dashboard img")
    shot(page, "dashboard-surge")


def test_the_policy_page_follows_the_replan_without_a_reload_until_it_is_done(live, page, shot, monkeypatch):
    monkeypatch.setattr(replans, "BATCH", 2)
    monkeypatch.setattr(replans, "INLINE", 2)
    for day in range(2, 7):
        make_booking(live.database, live.clock, live.world.a, days=day)
    live.sign_in(page, "manager")
    page.wait_for_url(re.compile(r"/console/office/$"))
    page.get_by_role("link", name="Reminder policy").click()
    page.get_by_label("Minutes before the visit").first.fill("1500")
    page.get_by_role("button", name="Save policy").first.click()
    page.wait_for_url(re.compile(r"saved=1"))
    progress = page.locator("#replan-progress")
    assert "2 of 5 done" in progress.inner_text()
    shot(page, "policy-replanning")
    page.evaluate("window.reloaded = false")  # a reload would drop this flag
    with live.database.writer() as s:
        replans.run_batch(s, replans.latest(s, live.world.a.clinic.id).id, live.clock.now())
    progress.get_by_text("4 of 5 done").wait_for(timeout=15_000)
    replans.work(live.database, live.clock)  # a second refresh: the fresh element goes on refreshing itself
    progress.get_by_text("All 5 future bookings are planned under version 1.").wait_for(timeout=15_000)
    assert page.evaluate("window.reloaded") is False
    assert page.locator("#replan-progress[data-refresh]").count() == 0
    shot(page, "policy-replanned")


def test_the_office_works_on_a_tablet(live, page, shot):
    page.set_viewport_size({"width": 768, "height": 1024})
    live.sign_in(page, "manager")
    _loaded(page, ".dashboard img")
    shot(page, "dashboard-tablet")
    for name, link in (
        ("policy-tablet", "Reminder policy"),
        ("pay-plan-tablet", "Pay plan"),
        ("settings-tablet", "Clinic"),
    ):
        page.get_by_role("link", name=link).click()
        page.wait_for_load_state()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 768 + 1, f"{link} scrolls sideways at 768 px ({width})"
        shot(page, name)
