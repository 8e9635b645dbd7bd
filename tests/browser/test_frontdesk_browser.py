"""The front desk in a real browser: a front-desk admin checks four patients in and out, one with each follow-up
choice (booked now, declined, undecided, not needed): two came for today's bookings, two walk in (one new, whose
phone the server checks as it is typed). A screenshot of every page visited."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from recall.common.actors import Role
from recall.queue.tasks import RecallTask, TaskReason
from recall.visits.booking import Booking, Channel
from recall.visits.visit import FollowUp, Visit
from tests.factories import make_booking, make_call, make_patient


def _check_out(page, shot, name, choice, label):
    page.get_by_role("link", name=f"Check out {name}").click()
    page.wait_for_url(re.compile(r"/visits/\d+/checkout$"))
    shot(page, f"checkout-{choice}")
    page.get_by_label(label).check()
    page.get_by_role("button", name="Check out").click()
    page.wait_for_selector(f'.desk-result[data-follow-up="{choice}"]')
    shot(page, f"checked-out-{choice}")
    with page.expect_navigation(url=re.compile(r"/console/front-desk/$")):
        page.get_by_role("link", name="Back to today").click()


def test_a_front_desk_admin_checks_four_patients_in_and_out_with_each_follow_up(live, page, shot):
    cw = live.world.a
    make_booking(live.database, live.clock, cw, days=0, hour=10)  # Astrid, 11:00 in Stockholm
    make_booking(live.database, live.clock, cw, days=0, hour=9, patient_id=cw.patients[1].id)  # Katarzyna
    make_patient(live.database, live.clock, cw.clinic.id, full_name="Erik Lindqvist", phone="073-555 12 34")

    live.sign_in(page, "frontdesk")
    page.wait_for_url(re.compile(r"/console/front-desk/$"))
    shot(page, "today")

    # 1. Astrid came for her booking, and books her follow-up on the spot.
    with page.expect_navigation(url=re.compile(r"/console/front-desk/$")):
        page.get_by_role("button", name="Check in Astrid Andersson").click()
    shot(page, "astrid-checked-in")
    page.get_by_role("link", name="Check out Astrid Andersson").first.click()
    page.wait_for_url(re.compile(r"/visits/\d+/checkout$"))
    shot(page, "checkout-booked")
    page.get_by_label("Booked now").check()
    assert page.get_by_label("Date", exact=True).input_value() == "2026-04-01"  # the check-up's 30 days
    page.get_by_label("Time", exact=True).fill("14:30")
    page.get_by_role("button", name="Check out").click()
    page.wait_for_selector('.desk-result[data-follow-up="booked"]')
    assert page.locator(".desk-booked").is_visible()
    shot(page, "checked-out-booked")
    with page.expect_navigation(url=re.compile(r"/console/front-desk/$")):
        page.get_by_role("link", name="Back to today").click()

    # 2. Katarzyna came for hers, and declines a follow-up for now.
    with page.expect_navigation(url=re.compile(r"/console/front-desk/$")):
        page.get_by_role("button", name="Check in Katarzyna Kowalska").click()
    shot(page, "katarzyna-checked-in")
    _check_out(page, shot, "Katarzyna Kowalska", "declined", "Declined")

    # 3. A new patient walks in: the phone is checked as it is typed, then they are checked in.
    page.get_by_role("link", name="Patients", exact=True).click()
    page.wait_for_url(re.compile(r"/console/front-desk/patients"))
    shot(page, "patients")
    page.get_by_label("Full name").fill("Li Wei")
    phone = page.locator("#f-phone")
    phone.press_sequentially("070-12")
    page.wait_for_selector("#phone-error:not([hidden])")
    shot(page, "phone-invalid-as-typed")
    phone.press_sequentially("3 45 99")
    expect(page.locator("#phone-hint")).to_have_text("+46701234599")
    expect(page.locator("#phone-error")).to_be_hidden()
    shot(page, "phone-normalized-as-typed")
    page.get_by_label("Language").last.select_option("zh")
    page.get_by_role("button", name="Add and check in").click()
    page.wait_for_url(re.compile(r"/console/front-desk/check-in\?patient_id=\d+"))
    shot(page, "walk-in-check-in")
    page.get_by_label("Provider").select_option(label="Dr. Anna Berg (general practice)")
    page.get_by_label("Service").select_option(label="General check-up")
    with page.expect_navigation(url=re.compile(r"/console/front-desk/$")):
        page.get_by_role("button", name="Check in").click()
    shot(page, "li-checked-in")
    _check_out(page, shot, "Li Wei", "undecided", "Undecided")

    # 4. A known patient walks in, found by phone; the visit needs no follow-up.
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Phone").first.fill("0735551234")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("table.patients")
    shot(page, "search-by-phone")
    page.get_by_role("link", name="Check in Erik Lindqvist").click()
    page.wait_for_url(re.compile(r"/console/front-desk/check-in\?patient_id=\d+"))
    shot(page, "erik-check-in")
    with page.expect_navigation(url=re.compile(r"/console/front-desk/$")):
        page.get_by_role("button", name="Check in").click()
    _check_out(page, shot, "Erik Lindqvist", "not_needed", "Follow-up not needed")
    shot(page, "today-at-the-end")
    assert page.locator("table.checked-out tbody tr").count() == 4

    with live.database.reader() as s:
        visits = {v.patient_id: v for v in s.scalars(sa.select(Visit))}
        assert len(visits) == 4 and {v.follow_up for v in visits.values()} == set(FollowUp)
        booked = s.scalars(sa.select(Booking).where(Booking.source_visit_id.is_not(None))).one()
        assert booked.channel is Channel.IN_PERSON and booked.credited_role is Role.FRONTDESK
        assert booked.credited_staff_id == cw.staff["frontdesk"].id
        tasks = {t.reason for t in s.scalars(sa.select(RecallTask))}
        assert tasks == {TaskReason.DECLINED, TaskReason.UNDECIDED}

    page.get_by_role("link", name="Day by day").click()
    page.wait_for_url(re.compile(r"/console/front-desk/earnings$"))
    shot(page, "my-earnings")


def test_the_reminder_call_list_records_an_outcome(live, page, shot):
    booking = make_booking(live.database, live.clock, live.world.a, days=1, hour=9)
    make_call(live.database, live.clock, booking.id)
    live.sign_in(page, "frontdesk")
    page.get_by_role("link", name="Reminder calls", exact=True).first.click()
    page.wait_for_url(re.compile(r"/console/front-desk/reminder-calls$"))
    shot(page, "reminder-calls")
    page.get_by_role("link", name="Call Astrid Andersson").click()
    shot(page, "reminder-call")
    page.get_by_role("button", name="Confirmed").click()
    page.wait_for_url(re.compile(r"/console/front-desk/reminder-calls$"))
    assert page.locator("table.reminder-calls").count() == 0
    shot(page, "reminder-calls-after")


def test_the_desk_works_on_a_tablet_in_chinese(live, page, shot):
    cw = live.world.a
    make_booking(live.database, live.clock, cw, days=0, hour=10)
    page.set_viewport_size({"width": 768, "height": 1024})
    live.sign_in(page, "frontdesk")
    with page.expect_navigation():
        page.get_by_label("Language").select_option("zh")
    assert page.locator("html").get_attribute("lang") == "zh"
    shot(page, "today-zh-tablet")
    with page.expect_navigation(url=re.compile(r"/console/front-desk/$")):
        page.get_by_role("button", name="为 Astrid Andersson 登记到诊").click()
    page.get_by_role("link", name="为 Astrid Andersson 办理离院").click()
    page.wait_for_url(re.compile(r"/visits/\d+/checkout$"))
    shot(page, "checkout-zh-tablet")
    page.get_by_role("button", name="离院登记").click()  # no choice made: the browser asks for one first
    page.get_by_label("未决定").check()
    page.get_by_label("建议复诊日期").fill("2026-03-01")  # before the visit: the server says no, beside the field
    page.get_by_role("button", name="离院登记").click()
    page.wait_for_selector("#follow_up_date-error:not([hidden])")
    shot(page, "checkout-zh-refused-beside-the-date")
    page.get_by_role("link", name="患者", exact=True).click()
    page.wait_for_url(re.compile(r"/console/front-desk/patients"))
    shot(page, "patients-zh-tablet")
