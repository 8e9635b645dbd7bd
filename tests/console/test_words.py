"""The domain's refusals in the member's language: a message the domain or the API's schema says in English
appears beside its field on the operator's and the front desk's forms in Russian and in Chinese for a member
who picked those, while the JSON API answers the same refusal in English; and the words package's catalog holds
every literal message the domain and the schemas refuse with."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest

from recall.clinic.staff import Staff
from recall.queue.attempts import OUT_OF_PLACE_MESSAGES, REQUIRED_MESSAGES
from recall.queue.tasks import RecallTask, TaskStatus
from recall.visits import visits
from recall.visits.booking import Booking
from recall.web.console.catalog_files import CATALOG_DIRS, WORDS
from tests.console.helpers import post, text
from tests.factories import actor_of, api_as, iso, make_task, row
from tools import refusals
from tools.catalogs import TRANSLATED, extract, po_path, read

pytestmark = pytest.mark.db

IN_THE_PAST = {"ru": "не может быть в прошлом", "zh": "不能是过去的时间"}
CALLING_HOURS = {"ru": "вне часов, когда пациенту можно звонить", "zh": "不在该患者可接听电话的时段内"}
NO_REASON = {"ru": "обязательно, если итог — отказ", "zh": "当结果为拒绝时为必填项"}
YEARS = {"ru": "должно быть в пределах 1970–2200 годов", "zh": "必须在 1970 年到 2200 年之间"}
TOO_LONG = {"ru": "Длина должна быть от 1 до 200.", "zh": "长度必须在 1 到 200 之间。"}


@pytest.fixture
def task(database, clock, world):
    a = world.a
    return make_task(
        database, clock, a.clinic.id, a.patients[0].id, service_id=a.services[0].id, provider_id=a.providers[0].id
    )


def speaking(console, database, world, name, language):
    """``name`` of clinic a, having picked ``language``, signed in to the console."""
    with database.writer() as s:
        s.get_one(Staff, world.a.staff[name].id).language = language
        s.commit()
    return console(name)


def beside(page, field):
    """The message box beside ``field`` (the form's own markup: ``id="<field>-error"``)."""
    return unescape(page.split(f'id="{field}-error" role="alert">')[1].split("</p>")[0]).strip()


def desk_attempt(client, task_id, fields):
    claimed = post(client, "/console/desk/next", fetch=True)
    assert claimed.status_code == 200, text(claimed)
    return post(client, f"/console/desk/tasks/{task_id}/attempts", fields, fetch=True)


@pytest.mark.parametrize("language", ["ru", "zh"])
@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"outcome": "callback_requested", "callback_at": "2026-03-02T22:00"}, "callback_at", CALLING_HOURS),
        ({"outcome": "callback_requested", "callback_at": "1900-03-02T10:00"}, "callback_at", YEARS),
        ({"outcome": "declined", "decline_reason": ""}, "decline_reason", NO_REASON),
        ({"outcome": "declined", "decline_reason": "x" * 201}, "decline_reason", TOO_LONG),
    ],
)
def test_the_operators_refusal_stands_beside_its_field_in_the_members_language(
    console, database, world, task, language, fields, field, words
):
    client = speaking(console, database, world, "operator", language)
    answer = desk_attempt(client, task.id, fields)
    assert answer.status_code == 422, text(answer)
    assert beside(text(answer), field) == words[language]
    still = row(database, RecallTask, task.id)
    assert still.status is TaskStatus.OPEN and still.attempt_count == 0


@pytest.mark.parametrize(
    ("body", "field", "english"),
    [
        ({"outcome": "declined"}, "decline_reason", "is required when the outcome is declined"),
        ({"outcome": "declined", "decline_reason": "x" * 201}, "decline_reason", "Length must be between 1 and 200."),
    ],
)
def test_the_api_answers_the_same_refusal_in_english_whatever_the_member_picked(
    client, database, world, task, body, field, english
):
    with database.writer() as s:
        s.get_one(Staff, world.a.staff["operator"].id).language = "ru"
        s.commit()
    operator = api_as(client, world.a, "operator")
    operator.headers["Accept-Language"] = "ru, zh;q=0.9"
    assert operator.post("/recall-queue/claim").json["task"]["id"] == task.id
    answer = operator.post(f"/recall-tasks/{task.id}/attempts", json=body)
    assert answer.status_code == 422
    assert answer.json["fields"][field] == [english]


@pytest.mark.parametrize("language", ["ru", "zh"])
def test_a_follow_up_booking_in_the_past_is_refused_beside_the_date_in_the_members_language(
    console, client, database, clock, world, language
):
    a = world.a
    with database.writer() as s:
        visit = visits.check_in(
            s,
            clock,
            actor_of(a.staff["frontdesk"]),
            patient_id=a.patients[0].id,
            provider_id=a.providers[0].id,
            service_id=a.services[0].id,
        )
    desk = speaking(console, database, world, "frontdesk", language)
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    answer = post(
        desk,
        f"/console/front-desk/visits/{visit.id}/checkout",
        {"follow_up": "booked", "booking_date": yesterday, "booking_time": "10:00", "booking_service": ""},
    )
    assert answer.status_code == 422
    assert beside(text(answer), "booking_date") == IN_THE_PAST[language]
    with database.reader() as s:
        assert s.query(Booking).count() == 0

    desk_api = api_as(client, a, "frontdesk")
    desk_api.headers["Accept-Language"] = language
    api = desk_api.post(
        f"/visits/{visit.id}/checkout",
        json={"follow_up": "booked", "booking": {"start_at": iso(clock.now() - timedelta(days=1))}},
    )
    assert api.status_code == 422 and api.json["fields"]["booking.start_at"] == ["must not be in the past"]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", "пациент всё ещё отмечен на другом визите; сначала оформите выписку по нему"),
        ("zh", "该患者仍在另一次就诊中签到；请先为那次就诊办理结账"),
    ],
)
def test_a_refusal_with_its_detail_in_parentheses_is_said_in_the_members_language_with_the_detail_kept(
    console, client, database, clock, world, language, words
):
    a = world.a
    with database.writer() as s:
        visit = visits.check_in(s, clock, actor_of(a.staff["frontdesk"]), patient_id=a.patients[0].id)
    desk = speaking(console, database, world, "frontdesk", language)
    answer = post(desk, "/console/front-desk/check-in", {"patient_id": str(a.patients[0].id)})
    assert answer.status_code == 409
    assert beside(text(answer), "patient_id").startswith(
        f"{words} (patient {a.patients[0].id}, visit {visit.id}, since "
    )

    desk_api = api_as(client, a, "frontdesk")
    again = desk_api.post("/visits", json={"patient_id": a.patients[0].id})
    assert again.status_code == 409, again.json
    assert again.json["fields"]["patient_id"][0].startswith(
        "the patient is still checked in for another visit; check that visit out first (patient "
    )


def test_the_phone_check_as_it_is_typed_says_why_in_the_members_language(console, database, world):
    desk = speaking(console, database, world, "frontdesk", "ru")
    answer = desk.get("/console/front-desk/patients/check-phone?phone=")
    assert answer.json == {"valid": False, "error": "нужен номер телефона", "normalized": None}
    wrong = desk.get("/console/front-desk/patients/check-phone?phone=12").json["error"]
    assert wrong.startswith("не является действительным номером телефона ('12' read with default region ")
    letters = desk.get("/console/front-desk/patients/check-phone?phone=call me").json["error"]
    assert (
        letters == "не является номером телефона: используйте только цифры, пробелы, + в начале и ( ) - . ('call me')"
    )


# --- the catalog ----------------------------------------------------------------------------------------------


def test_every_literal_message_of_the_domain_and_the_schemas_is_in_the_words_catalog():
    literal = {message for _where, _line, message in refusals.literal_messages()}
    assert {"must not be in the past", "is outside the patient's calling hours", "must not be empty"} <= literal
    for language in TRANSLATED:
        catalog = read(po_path(WORDS, language), language)
        gaps = [m for m in sorted(literal) if catalog.get(m) is None or not catalog.get(m).string]
        assert not gaps, f"{language}: {gaps}"
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        assert not fuzzy, f"{language}: {fuzzy}"


def test_marshmallows_messages_come_from_the_installed_marshmallow_filled_in_as_it_fills_them():
    messages = refusals.schema_messages()
    assert "Missing data for required field." in messages and "Not a valid datetime." in messages
    assert "Length must be between 1 and 200." in messages  # AttemptCreateSchema's decline_reason
    assert "Must be one of: phone, chat, sms." in messages
    assert not [m for m in messages if "{" in m or "None" in m]
    assert set(messages) <= {m.id for m in extract(WORDS)}


def test_the_error_classes_are_found_in_the_domain_not_listed():
    found = refusals.error_classes()
    assert {"ValidationError", "Conflict", "NotFound", "Forbidden", "Unauthenticated", "RateLimited"} <= found
    assert {"BadOrigins", "LaunchRefused"} <= found  # defined in recall.clinic


def test_an_f_string_is_counted_as_left_in_english_and_a_join_is_no_message():
    dynamic = refusals.dynamic()
    assert dynamic and all(call.message is None for call in dynamic)
    assert "is required when the outcome is {data.outcome.value}" not in {c.source for c in dynamic}
    ids = {m.id for m in extract(WORDS)}
    assert "; " not in ids and not any(i.startswith("invalid policy") for i in ids)


def test_an_f_string_of_its_modules_constants_is_the_one_message_it_makes():
    literal = {message for _where, _line, message in refusals.literal_messages()}
    assert {"must be between the years 1970 and 2200", "must be at least 10 characters"} <= literal
    assert not [m for m in literal if "{" in m]


def test_the_attempts_messages_said_in_full_are_the_english_they_were():
    for outcome, message in REQUIRED_MESSAGES.items():
        assert message == f"is required when the outcome is {outcome.value}"
    assert OUT_OF_PLACE_MESSAGES == {
        "decline_reason": "only goes with the outcome declined",
        "callback_at": "only goes with the outcome callback_requested",
        "booking": "only goes with the outcome booked or rescheduled",
    }


def test_a_pages_own_catalog_wins_over_the_words_for_the_same_english():
    assert CATALOG_DIRS[0] == WORDS, "flask-babel merges in order: the later catalog's translation wins"


def test_a_refusal_shown_as_an_alert_is_in_the_readers_language_too(client):
    answer = client.get("/console/desk/", headers={"X-Requested-With": "fetch", "Accept-Language": "ru"})
    assert answer.status_code == 401 and "сначала войдите" in text(answer)
