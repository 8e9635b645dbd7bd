"""The manager's editors: the reminder policy (saved as the API would save it, previewed in every language with
its SMS segments), the pay plan with its what-if before saving, and the clinic's settings; a bad field is named
beside itself and nothing is saved."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest

from recall.clinic.clinics import Clinic
from recall.credit.payplan import load_terms
from recall.reminders import replans
from recall.reminders.policy_versions import latest_version
from recall.visits.booking_outcomes import mark_attended
from tests.console.helpers import post, text
from tests.factories import actor_of, api_as, make_booking, row

pytestmark = pytest.mark.db

OFFICE = "/console/office"
RU = "Напоминаем: {clinic}, {date} в {time}."
ZH = "提醒：{clinic} {date} {time} 就诊。"


def policy_form(**changes: str) -> dict[str, str]:
    """The editor's fields as a browser sends them for a two-step policy with Russian and Chinese SMS texts."""
    form = {
        "steps.0.offset_minutes": "1440",
        "steps.0.channel": "sms",
        "steps.0.fallback": "none",
        "steps.0.on_machine": "fallback",
        "steps.0.routine": "1",
        "steps.1.offset_minutes": "",  # the spare row, left empty
        "steps.1.channel": "sms",
        "steps.1.fallback": "none",
        "steps.1.on_machine": "fallback",
        "steps.2.offset_minutes": "180",
        "steps.2.channel": "operator_call",
        "steps.2.fallback": "sms",
        "steps.2.on_machine": "voicemail",
        "steps.2.run_if_confirmed": "1",
        "overrides.0.service_id": "",
        "overrides.0.provider_id": "",
        "overrides.0.steps.0.offset_minutes": "",
        "overrides.0.steps.0.channel": "sms",
        "hours.weekday_start": "08:30",
        "hours.weekday_end": "19:00",
        "hours.weekend_start": "10:00",
        "hours.weekend_end": "14:00",
        "templates.sms.ru": RU,
        "templates.sms.zh": ZH,
        "templates.sms.en": "",
        "rate_limits.sms_per_second": "2",
        "rate_limits.calls_per_second": "",
        "sender.from_number": "",
        "sender.messaging_service_sid": "",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_a_saved_policy_is_the_document_the_api_would_have_saved(client, database, world, console):
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/reminder-policy", policy_form())
    assert answer.status_code == 302, text(answer)
    assert answer.headers["Location"].endswith("/reminder-policy?saved=1")
    saved = api_as(client, world.a, "manager").get("/clinic/reminder-policy").get_json()
    assert saved["version"] == 1
    body = saved["policy"]
    assert [(s["offset_minutes"], s["channel"], s["fallback"]) for s in body["steps"]] == [
        (1440, "sms", "none"),
        (180, "operator_call", "sms"),
    ]
    assert body["steps"][1]["run_if_confirmed"] is True and body["steps"][1]["routine"] is False
    assert body["steps"][1]["on_machine"] == "voicemail"
    assert body["hours"]["weekday_start"] == "08:30" and body["templates"]["sms"] == {"ru": RU, "zh": ZH}
    assert body["rate_limits"] == {"sms_per_second": 2.0, "calls_per_second": None}
    # The same document through the API, for the other clinic, is stored the same way.
    through_api = api_as(client, world.b, "manager").put("/clinic/reminder-policy", json=body)
    assert through_api.status_code == 200, through_api.get_json()
    assert through_api.get_json()["policy"] == body
    page = text(manager.get(f"{OFFICE}/reminder-policy?saved=1"))
    assert "Saved as version 1" in page and RU in page and 'value="180"' in page


def test_the_editor_shows_the_replan_under_way_and_refreshes_it_until_it_is_done(
    database, clock, world, console, monkeypatch
):
    monkeypatch.setattr(replans, "BATCH", 2)
    monkeypatch.setattr(replans, "INLINE", 2)
    for day in range(2, 7):
        make_booking(database, clock, world.a, days=day)
    manager = console("manager")
    assert post(manager, f"{OFFICE}/reminder-policy", policy_form()).status_code == 302
    page = text(manager.get(f"{OFFICE}/reminder-policy?saved=1"))
    assert "Re-planning the future bookings under version 1: 2 of 5 done." in page
    assert 'data-refresh="/console/office/reminder-policy/replan"' in page
    replans.work(database, clock)
    fragment = text(manager.get(f"{OFFICE}/reminder-policy/replan", headers={"X-Requested-With": "fetch"}))
    assert fragment.lstrip().startswith('<div id="replan-progress">')
    assert "All 5 future bookings are planned under version 1." in fragment and "data-refresh" not in fragment
    assert console("operator").get(f"{OFFICE}/reminder-policy/replan").status_code == 403


def test_an_override_for_a_service_is_saved_with_its_steps(client, world, console):
    manager = console("manager")
    service = world.a.services[1].id
    form = policy_form(
        **{
            "overrides.0.service_id": str(service),
            "overrides.0.steps.0.offset_minutes": "60",
            "overrides.0.steps.0.channel": "voice",
            "overrides.0.steps.0.fallback": "none",
            "overrides.0.steps.0.on_machine": "fallback",
        }
    )
    assert post(manager, f"{OFFICE}/reminder-policy", form).status_code == 302
    body = api_as(client, world.a, "manager").get("/clinic/reminder-policy").get_json()["policy"]
    assert [(o["service_id"], [s["offset_minutes"] for s in o["steps"]]) for o in body["overrides"]] == [
        (service, [60])
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("steps.2.offset_minutes", "2", "Must be greater than or equal to 5"),
        ("steps.2.offset_minutes", "soon", "must be a whole number"),
        ("steps.2.fallback", "operator_call", "must differ from the step's channel"),
        ("templates.sms.ru", "Ваш диагноз: {diagnosis}", "diagnosis"),
        ("hours.weekday_end", "7 pm", "HH:MM"),
        ("rate_limits.sms_per_second", "fast", "must be a number"),
    ],
)
def test_bad_policy_input_is_named_beside_its_field_and_nothing_is_saved(
    database, world, console, field, value, message
):
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/reminder-policy", policy_form(**{field: value}))
    assert answer.status_code == 422
    page = html.unescape(text(answer))
    beside = page.split(f'id="{field}-error" role="alert">', 1)
    assert len(beside) == 2, f"no message beside {field}"
    assert message.lower() in beside[1].split("</p>", 1)[0].lower()
    assert "Nothing was saved" in page
    assert f'value="{value}"' in page or value in page  # what was typed is kept
    with database.reader() as s:
        assert latest_version(s, world.a.clinic.id) is None


def test_a_step_below_a_blank_row_is_still_named_by_its_own_row(console, database, world):
    """The blank row 1 is no step, so the domain's steps.1 is the form's steps.2."""
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/reminder-policy", policy_form(**{"steps.2.offset_minutes": "1440"}))
    assert answer.status_code == 422
    assert 'id="steps.2.offset_minutes-error" role="alert">another step already runs 1440' in text(answer)


@pytest.mark.parametrize(
    ("lang", "expected"), [("ru", "Напоминаем: Nordvik Family Clinic"), ("zh", "提醒：Nordvik Family Clinic")]
)
def test_the_preview_renders_each_language_with_its_sms_segments_and_saves_nothing(
    database, world, console, lang, expected
):
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/reminder-policy/preview", {**policy_form(), "preview_channel": "sms"}, fetch=True)
    assert answer.status_code == 200, text(answer)
    fragment = text(answer)
    assert fragment.lstrip().startswith('<div id="policy-preview"') and "<html" not in fragment
    article = fragment.split(f'data-language="{lang}"', 1)[1].split("</article>", 1)[0]
    assert expected in article
    assert "UCS-2" in article and "SMS segment" in article
    for language in ("en", "pl", "ru", "sv", "zh"):
        assert f'data-language="{language}"' in fragment
    with database.reader() as s:
        assert latest_version(s, world.a.clinic.id) is None


def test_the_preview_names_a_broken_template_in_its_language(console):
    manager = console("manager")
    form = {**policy_form(**{"templates.sms.zh": "{clinic} {secret}"}), "preview_channel": "sms"}
    answer = post(manager, f"{OFFICE}/reminder-policy/preview", form, fetch=True)
    assert answer.status_code == 422
    assert "templates.sms.zh" in text(answer) and "secret" in text(answer)


def test_the_preview_without_script_is_the_editor_with_the_preview_in_it(console):
    answer = post(
        console("manager"), f"{OFFICE}/reminder-policy/preview", {**policy_form(), "preview_channel": "voice"}
    )
    assert answer.status_code == 200
    page = text(answer)
    assert "<html" in page and "Preview of the voice texts" in page and 'data-language="sv"' in page


@pytest.fixture
def realized(database, clock, world):
    """An operator's booking attended yesterday (earned at the default plan's 10.00) in clinic a."""
    booking = make_booking(database, clock, world.a, days=1, hour=9)
    clock.advance(timedelta(days=1, hours=2))
    with database.writer() as s:
        mark_attended(s, clock, actor_of(world.a.staff["frontdesk"]), booking.id)
    return booking


def plan_form(**changes: str) -> dict[str, str]:
    form = {
        "frontdesk_base_cents": "20.00",
        "operator_base_cents": "25.00",
        "recall_multiplier": "2",
        "from": "2026-03-01",
        "to": "2026-03-31",
    }
    form.update(changes)
    return form


def test_a_what_if_shows_actual_against_proposed_per_staff_member_without_saving(
    client, database, world, console, realized
):
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/pay-plan/what-if", plan_form(), fetch=True)
    assert answer.status_code == 200, text(answer)
    fragment = text(answer)
    assert fragment.lstrip().startswith('<div id="what-if"')
    api = (
        api_as(client, world.a, "manager")
        .post(
            "/earnings/what-if",
            json={
                "from": "2026-03-01",
                "to": "2026-03-31",
                "plan": {"frontdesk_base_cents": 2000, "operator_base_cents": 2500, "recall_multiplier": 2},
            },
        )
        .get_json()
    )
    assert (api["actual_cents"], api["proposed_cents"]) == (1000, 2500)
    operator_row = fragment.split("<td>operator</td>", 1)[1].split("</tr>", 1)[0]
    assert "SEK10.00" in operator_row and "SEK25.00" in operator_row and "SEK15.00" in operator_row
    chart_url = fragment.split('<img src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    chart = manager.get(chart_url)
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    svg = text(chart)
    assert "operator" in svg and "SEK25.00" in svg and "SEK10.00" in svg and "Proposed" in svg
    csv_url = fragment.split('class="csv" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    table = text(manager.get(csv_url)).lstrip("\ufeff").splitlines()
    assert table == ["Staff member,Visits attended,Actual,Proposed,Difference", "operator,1,10.00,25.00,15.00"]
    with database.reader() as s:
        terms = load_terms(s, world.a.clinic.id)
    assert (terms.operator_base_cents, terms.version) == (1000, 1)


def test_a_what_if_names_a_bad_field_beside_it(console, realized):
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/pay-plan/what-if", plan_form(to="2026-02-01"))
    assert answer.status_code == 422
    assert 'id="to-error" role="alert">must not be before from' in text(answer)
    answer = post(manager, f"{OFFICE}/pay-plan/what-if", plan_form(recall_multiplier="0.5"), fetch=True)
    assert answer.status_code == 422 and "recall_multiplier" in text(answer)


def test_the_pay_plan_is_saved_with_its_per_service_amounts(client, database, world, console):
    manager = console("manager")
    service = world.a.services[1].id
    form = plan_form(**{f"service_rates.{service}.operator.amount_cents": "40.50"})
    answer = post(manager, f"{OFFICE}/pay-plan", form)
    assert answer.status_code == 302, text(answer)
    plan = api_as(client, world.a, "manager").get("/clinic/pay-plan").get_json()
    assert (plan["frontdesk_base_cents"], plan["operator_base_cents"], plan["recall_multiplier"]) == (2000, 2500, 2.0)
    assert plan["service_rates"] == [{"service_id": service, "role": "operator", "amount_cents": 4050}]
    page = text(manager.get(f"{OFFICE}/pay-plan?saved=2"))
    assert "Saved as version 2" in page and 'value="40.50"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("recall_multiplier", "0.5", "greater than or equal to 1"),
        ("operator_base_cents", "12.345", "at most two decimals"),
        ("frontdesk_base_cents", "ten", "must be an amount"),
    ],
)
def test_a_bad_pay_plan_is_named_beside_its_field_and_not_saved(database, world, console, field, value, message):
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/pay-plan", plan_form(**{field: value}))
    assert answer.status_code == 422
    assert message in text(answer).split(f'id="{field}-error" role="alert">', 1)[1].split("</p>", 1)[0]
    with database.reader() as s:
        assert load_terms(s, world.a.clinic.id).version == 1


def settings_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "Nordvik Clinic",
        "timezone": "Europe/Stockholm",
        "phone_region": "SE",
        "currency": "SEK",
        "calling_weekday_start": "08:00",
        "calling_weekday_end": "19:00",
        "calling_weekend_start": "10:00",
        "calling_weekend_end": "15:00",
        "recall_cooling_off_hours": "48",
        "recall_lease_minutes": "20",
        "recall_max_attempts": "4",
        "recall_backoff_minutes": "120, 1440",
        "recall_callback_hold_minutes": "30",
        "surge_backlog": "500",
        "surge_overdue_tasks": "50",
        "surge_overdue_days": "",
    }
    form.update(changes)
    return form


def test_clinic_settings_and_queue_rules_are_saved_as_the_api_shows_them(client, world, console):
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/clinic", settings_form())
    assert answer.status_code == 302, text(answer)
    clinic = api_as(client, world.a, "manager").get("/clinic").get_json()
    assert clinic["name"] == "Nordvik Clinic" and clinic["calling_weekday_end"] == "19:00"
    assert clinic["recall_backoff_minutes"] == [120, 1440] and clinic["recall_lease_minutes"] == 20
    assert (clinic["surge_backlog"], clinic["surge_overdue_days"], clinic["surge_overdue_tasks"]) == (500, None, 50)
    assert "Saved." in text(manager.get(f"{OFFICE}/clinic?saved=1"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("calling_weekday_end", "07:00", "must be after calling_weekday_start"),
        ("timezone", "Mars/Olympus", "time zone"),
        ("recall_backoff_minutes", "120, 1", "43200"),
        ("recall_max_attempts", "many", "must be a whole number"),
        ("currency", "XYZ", "ISO 4217"),
    ],
)
def test_bad_settings_are_named_beside_their_field_and_nothing_is_saved(
    database, world, console, field, value, message
):
    manager = console("manager")
    answer = post(manager, f"{OFFICE}/clinic", settings_form(**{field: value}))
    assert answer.status_code == 422
    beside = text(answer).split(f'id="{field}-error" role="alert">', 1)[1].split("</p>", 1)[0]
    assert message.lower() in beside.lower()
    assert row(database, Clinic, world.a.clinic.id).name == "Nordvik Family Clinic"  # all or nothing


def test_another_clinics_manager_edits_only_their_own_clinic(client, database, world, console):
    other = console("manager", clinic="b")
    assert post(other, f"{OFFICE}/reminder-policy", policy_form()).status_code == 302
    assert post(other, f"{OFFICE}/clinic", settings_form(name="Other Clinic AB")).status_code == 302
    with database.reader() as s:
        assert latest_version(s, world.a.clinic.id) is None
        assert latest_version(s, world.b.clinic.id).version == 1
    assert row(database, Clinic, world.a.clinic.id).name == "Nordvik Family Clinic"
    service_of_a = world.a.services[1].id
    answer = post(
        other, f"{OFFICE}/pay-plan", plan_form(**{f"service_rates.{service_of_a}.operator.amount_cents": "5"})
    )
    assert answer.status_code == 302  # clinic a's service is not on b's form: ignored, never b's rate
    assert api_as(client, world.b, "manager").get("/clinic/pay-plan").get_json()["service_rates"] == []


NASTY = ["Infinity", "sNaN", "nan", "1e400", "-0", "9" * 40, "\x00", "１２", " ", "12,5"]


@pytest.mark.parametrize("value", NASTY)
def test_no_input_makes_a_server_error(console, value):
    manager = console("manager")
    answers = [
        post(manager, f"{OFFICE}/pay-plan", plan_form(operator_base_cents=value, recall_multiplier=value)),
        post(manager, f"{OFFICE}/pay-plan/what-if", plan_form(frontdesk_base_cents=value, to=value), fetch=True),
        post(
            manager,
            f"{OFFICE}/reminder-policy",
            policy_form(**{"steps.0.offset_minutes": value, "rate_limits.sms_per_second": value}),
        ),
        post(
            manager,
            f"{OFFICE}/reminder-policy/preview",
            {**policy_form(**{"templates.sms.ru": value}), "preview_channel": value},
            fetch=True,
        ),
        post(manager, f"{OFFICE}/clinic", settings_form(recall_max_attempts=value, surge_backlog=value, name=value)),
        manager.get(f"{OFFICE}/?from={value}&to={value}&target_days={value}&occupancy={value}"),
        manager.get(f"{OFFICE}/charts/kpis.svg?group={value}"),
        manager.get(f"{OFFICE}/tables/staffing.csv?hours_per_day={value}"),
        manager.get(f"{OFFICE}/pay-plan/what-if.svg?from={value}"),
    ]
    for answer in answers:
        assert answer.status_code < 500, (value, answer.request.path, text(answer)[-500:])


@pytest.mark.parametrize("which", ["foreign", "both"])
def test_a_bad_override_is_named_beside_its_service(database, world, console, which):
    service = world.b.services[0].id if which == "foreign" else world.a.services[0].id
    form = policy_form(
        **{
            "overrides.0.service_id": str(service),
            "overrides.0.provider_id": str(world.a.providers[0].id) if which == "both" else "",
            "overrides.0.steps.0.offset_minutes": "60",
            "overrides.0.steps.0.channel": "voice",
        }
    )
    answer = post(console("manager"), f"{OFFICE}/reminder-policy", form)
    assert answer.status_code == 422
    beside = text(answer).split('id="overrides.0.service_id-error" role="alert">', 1)[1].split("</p>", 1)[0]
    expected = (
        f"no service {service} in this clinic" if which == "foreign" else "exactly one of service_id and provider_id"
    )
    assert expected in beside
    with database.reader() as s:
        assert latest_version(s, world.a.clinic.id) is None
