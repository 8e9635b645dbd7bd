"""Twilio's webhooks through the test client: signatures, form checks and TwiML.

These sign with ``signatures.sign`` over the URL the test client requests; the same webhooks over real HTTP,
posted by the Twilio stand-in, are in test_webhooks_live.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from integrations.twilio import signatures
from recall.credit.ledger import CreditKind
from recall.queue.tasks import TaskReason
from recall.reminders.planning import Channel, Fallback
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.bookings import BookingStatus
from tests.api.checks import assert_error, assert_rejected, nothing_written
from tests.api.webhooking import ACCOUNT, CLINIC_NUMBER, HOOKS, TOKEN, webhook_app
from tests.factories import actor_of, make_booking, make_patient
from tests.integration.inbound_scene import (  # noqa: F401 - world: clinic a sends from CLINIC_NUMBER
    DEFAULT_FROM,
    OFFSET,
    SV_PHONE,
    credit_kinds,
    make_reminder,
    new_sid,
    reminders_of,
    send_from,
    status_of,
    tasks_of,
    world,
)


@pytest.fixture
def hooks(database, clock) -> FlaskClient:
    return webhook_app(database, clock).test_client()


def post(
    client: FlaskClient,
    path: str,
    form: dict[str, str],
    *,
    token: str = TOKEN,
    signature: str | None = None,
    signed_path: str | None = None,
) -> Any:
    """POST a form as Twilio would: signed over the URL requested (or ``signed_path``), unless told otherwise."""
    if signature is None:
        signature = signatures.sign(token, f"http://localhost{HOOKS}{signed_path or path}", form)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(HOOKS + path, data=form, headers=headers)


def twiml(response: Any) -> ET.Element:
    assert (response.status_code, response.mimetype) == (200, "text/xml"), response.get_data(as_text=True)
    return ET.fromstring(response.get_data(as_text=True))


def receipt(sid: str, status: str, code: int | None = None) -> dict[str, str]:
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "MessageStatus": status, "SmsStatus": status}
    return form | ({"ErrorCode": str(code)} if code is not None else {})


def call_form(sid: str, **extra: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": ACCOUNT, "From": CLINIC_NUMBER, "To": SV_PHONE, **extra}


def text_form(
    body: str, sid: str | None = None, sender: str = SV_PHONE, to: str = CLINIC_NUMBER, **extra: str
) -> dict[str, str]:
    sid = sid or new_sid()
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": sender, "To": to, "Body": body, **extra}


@pytest.fixture
def scene(database, clock, world) -> dict[str, Any]:
    """A booking with a sent SMS reminder and a voice reminder mid-call."""
    booking = make_booking(database, clock, world.a, days=3)
    return {
        "booking": booking,
        "sms": make_reminder(database, clock, booking, sid=new_sid(), fallback=Fallback.VOICE),
        "call": make_reminder(database, clock, booking, channel=Channel.VOICE, sid=new_sid("CA")),
    }


def every_webhook(scene: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    sms, call = scene["sms"], scene["call"]
    return [
        (f"/message-status?r={sms.id}", receipt(sms.provider_sid, "undelivered", 30003)),
        (f"/call-status?r={call.id}", call_form(call.provider_sid, CallStatus="no-answer")),
        (f"/voice?r={call.id}", call_form(call.provider_sid, CallStatus="in-progress")),
        (f"/gather?r={call.id}", call_form(call.provider_sid, Digits="2")),
        ("/inbound-sms", text_form("2")),
    ]


# --- who may call ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("forgery", ["another token", "missing", "garbage", "another url", "tampered form"])
def test_every_webhook_refuses_a_forged_or_missing_signature_and_writes_nothing(hooks, database, scene, forgery):
    for path, form in every_webhook(scene):
        kw: dict[str, Any] = {
            "another token": {"token": "not-our-token"},
            "missing": {"signature": ""},
            "garbage": {"signature": "AAAA" * 7},
            "another url": {"signed_path": path + ("&x=1" if "?" in path else "?r=1")},
            "tampered form": {"signature": signatures.sign(TOKEN, f"http://localhost{HOOKS}{path}", form)},
        }[forgery]
        sent = form | {"Body": "STOP", "Digits": "2"} if forgery == "tampered form" else form
        with nothing_written(database):
            assert_error(post(hooks, path, sent, **kw), 403, "forbidden")


def test_a_webhook_naming_an_account_we_do_not_serve_is_refused_though_signed_with_our_token(hooks, database, scene):
    for path, form in every_webhook(scene):
        with nothing_written(database):
            assert_error(post(hooks, path, form | {"AccountSid": "AC" + "e" * 32}), 403, "forbidden")


def test_without_an_auth_token_configured_every_webhook_is_refused(database, clock, scene):
    client = webhook_app(database, clock, TWILIO_AUTH_TOKEN="").test_client()
    for path, form in every_webhook(scene):
        with nothing_written(database):
            assert_error(post(client, path, form, token=""), 403, "forbidden")


@pytest.mark.parametrize(
    "path,form,field",
    [
        ("/message-status", {"MessageStatus": "delivered"}, "MessageSid"),
        ("/message-status", receipt("SM' OR 1=1", "delivered"), "MessageSid"),
        ("/message-status", receipt("SM" + "0" * 32, "failed") | {"ErrorCode": "-1"}, "ErrorCode"),
        ("/message-status", receipt("SM" + "0" * 32, "failed") | {"ErrorCode": str(2**40)}, "ErrorCode"),
        ("/message-status?r=abc", receipt("SM" + "0" * 32, "delivered"), "r"),
        ("/message-status?r=99999999999", receipt("SM" + "0" * 32, "delivered"), "r"),
        ("/message-status", {"MessageSid": "SM" + "0" * 32}, "MessageStatus"),
        ("/call-status", {"CallSid": "CA" + "0" * 32}, "CallStatus"),
        ("/call-status", {"CallStatus": "completed"}, "CallSid"),
        ("/voice", call_form("CA" + "0" * 32), "r"),
        ("/gather?r=1", call_form("CA" + "0" * 32, Digits="1 OR 2"), "Digits"),
        ("/gather?r=1", {"Digits": "1"}, "CallSid"),
        ("/inbound-sms", {"MessageSid": "SM" + "0" * 32, "Body": "1"}, "From"),
        ("/inbound-sms", text_form("1", sender="+4670\x00"), "From"),
    ],
)
def test_a_malformed_field_is_a_400_naming_it_and_writes_nothing(hooks, database, world, path, form, field):
    with nothing_written(database):
        assert_rejected(post(hooks, path, form), field, status=400)


# --- receipts and call progress -------------------------------------------------------------------------------------


def test_an_undelivered_receipt_fails_the_sms_and_plans_its_fallback_and_a_late_sent_is_ignored(
    hooks, database, scene, clock
):
    sms = scene["sms"]
    for status in ("undelivered", "sent", "delivered"):
        assert post(hooks, f"/message-status?r={sms.id}", receipt(sms.provider_sid, status, 30003)).status_code == 200
    rows = [r for r in reminders_of(database, sms.booking_id) if r.channel is Channel.SMS or r.fallback_of_id]
    assert [(r.status, r.error_code, r.outcome, r.fallback_of_id) for r in rows] == [
        (ReminderStatus.FAILED, 30003, "unreachable", None),
        (ReminderStatus.PLANNED, None, None, sms.id),
    ]
    assert rows[1].channel is Channel.VOICE and rows[1].due_at == clock.now()


def test_a_receipt_for_a_sid_we_never_recorded_is_answered_200_and_writes_nothing(hooks, database, scene):
    with nothing_written(database):
        assert post(hooks, "/message-status", receipt(new_sid(), "delivered")).status_code == 200
        assert post(hooks, "/call-status", call_form(new_sid("CA"), CallStatus="completed")).status_code == 200
        assert post(hooks, "/message-status", receipt(new_sid(), "some-new-status")).status_code == 200


def test_a_signed_receipt_naming_a_planned_reminder_or_carrying_another_sid_changes_nothing(
    hooks, database, scene, clock
):
    planned = make_reminder(database, clock, scene["booking"], status=ReminderStatus.PLANNED)
    with nothing_written(database):
        assert post(hooks, f"/message-status?r={planned.id}", receipt(new_sid(), "delivered")).status_code == 200
        assert (
            post(hooks, f"/message-status?r={planned.id}", receipt(scene["sms"].provider_sid, "delivered")).status_code
            == 200
        )
        assert (
            post(
                hooks, f"/call-status?r={scene['call'].id}", call_form(new_sid("CA"), CallStatus="completed")
            ).status_code
            == 200
        )


def test_a_key_press_or_a_script_request_from_another_call_changes_nothing(hooks, database, scene):
    call = scene["call"]
    with nothing_written(database):
        say, hangup = twiml(post(hooks, f"/gather?r={call.id}", call_form(new_sid("CA"), Digits="2")))
        assert (say.text, hangup.tag) == ("Goodbye.", "Hangup")
        assert [e.tag for e in twiml(post(hooks, f"/voice?r={call.id}", call_form(new_sid("CA"))))] == ["Hangup"]
    assert status_of(database, call.booking_id) is BookingStatus.BOOKED


def test_an_answering_machine_on_another_call_than_the_reminders_own_is_left_no_voicemail(
    hooks, database, clock, world
):
    step = {"offset_minutes": OFFSET, "channel": "voice", "on_machine": "voicemail"}
    with database.writer() as s:
        policy, _ = replace_policy(s, clock, actor_of(world.a.staff["manager"]), {"steps": [step]})
    call = make_reminder(
        database, clock, make_booking(database, clock, world.a, days=3), channel=Channel.VOICE, sid=new_sid("CA")
    )
    with database.writer() as s:
        s.execute(sa.update(Reminder).where(Reminder.id == call.id).values(policy_version=policy.version))
        s.commit()
    machine = {"AnsweredBy": "machine_end_beep"}
    assert [e.tag for e in twiml(post(hooks, f"/voice?r={call.id}", call_form(call.provider_sid, **machine)))] == [
        "Say",
        "Hangup",
    ]
    assert [e.tag for e in twiml(post(hooks, f"/voice?r={call.id}", call_form(new_sid("CA"), **machine)))] == ["Hangup"]


def test_a_completed_call_is_delivered_as_answered(hooks, database, scene):
    call = scene["call"]
    form = call_form(call.provider_sid, CallStatus="completed", AnsweredBy="human")
    assert post(hooks, f"/call-status?r={call.id}", form).status_code == 200
    with database.reader() as s:
        assert (s.get(Reminder, call.id).status, s.get(Reminder, call.id).outcome) == (
            ReminderStatus.DELIVERED,
            "answered",
        )


# --- the call -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language,say,voice,words",
    [
        ("sv", "sv-SE", "Polly.Astrid", "tryck 1"),
        ("pl", "pl-PL", "Polly.Ewa", "naciśnij 1"),
        ("en", "en-GB", "Polly.Amy", "press 1"),
        ("ru", "ru-RU", "Polly.Tatyana", "нажмите 1"),
        ("zh", "cmn-CN", "Polly.Zhiyu", "确认请按1"),
    ],
)
def test_the_call_speaks_the_patients_language_and_repeats_once_when_nothing_is_pressed(
    hooks, database, clock, world, language, say, voice, words
):
    patient = make_patient(database, clock, world.a.clinic.id, phone="+46701112233", language=language)
    call = make_reminder(
        database,
        clock,
        make_booking(database, clock, world.a, days=3, patient_id=patient.id),
        channel=Channel.VOICE,
        sid=new_sid("CA"),
    )
    first = twiml(post(hooks, f"/voice?r={call.id}", call_form(call.provider_sid)))
    gather, redirect = first
    assert (gather.tag, gather.get("action"), gather.get("numDigits")) == (
        "Gather",
        f"http://localhost{HOOKS}/gather?r={call.id}",
        "1",
    )
    assert gather[0].get("language") == say and gather[0].get("voice") == voice and words in gather[0].text
    assert (redirect.tag, redirect.text) == ("Redirect", f"http://localhost{HOOKS}/voice?r={call.id}&repeat=1")
    again = twiml(post(hooks, f"/voice?r={call.id}&repeat=1", call_form(call.provider_sid)))
    assert [e.tag for e in again] == ["Gather", "Hangup"]
    assert again[0].get("action") == f"http://localhost{HOOKS}/gather?r={call.id}&repeat=1"


def test_a_call_about_a_booking_that_was_cancelled_meanwhile_just_hangs_up(hooks, scene, database, clock, world):
    post(hooks, "/inbound-sms", text_form("2"))
    voice = post(hooks, f"/voice?r={scene['call'].id}", call_form(scene["call"].provider_sid))
    assert [e.tag for e in twiml(voice)] == ["Hangup"]


def test_pressing_1_confirms_and_says_so_in_the_patients_language(hooks, database, scene):
    call = scene["call"]
    say, hangup = twiml(post(hooks, f"/gather?r={call.id}", call_form(call.provider_sid, Digits="1")))
    assert (say.text, say.get("language"), hangup.tag) == ("Tack, din tid är bekräftad. Hej då.", "sv-SE", "Hangup")
    assert status_of(database, call.booking_id) is BookingStatus.CONFIRMED


def test_pressing_2_twice_in_a_retry_cancels_once_and_voids_the_credit(hooks, database, scene):
    call = scene["call"]
    for _ in range(2):
        assert (
            twiml(post(hooks, f"/gather?r={call.id}", call_form(call.provider_sid, Digits="2")))[0].text
            == "Tack, din tid är avbokad. Hej då."
        )
    assert credit_kinds(database, call.booking_id) == [CreditKind.PENDING, CreditKind.VOID]
    assert [t.reason for t in tasks_of(database, call.patient_id)] == [TaskReason.BOOKING_CANCELLED]


def test_pressing_3_leaves_a_task_for_an_operator(hooks, database, scene):
    call = scene["call"]
    assert (
        twiml(post(hooks, f"/gather?r={call.id}", call_form(call.provider_sid, Digits="3")))[0].text
        == "Tack. Någon från kliniken ringer upp dig. Hej då."
    )
    [task] = tasks_of(database, call.patient_id)
    assert (task.reason, task.origin_booking_id) == (TaskReason.PATIENT_REQUEST, call.booking_id)


def test_another_key_repeats_the_message_once_then_says_goodbye(hooks, database, scene):
    call = scene["call"]
    with nothing_written(database):
        [redirect] = twiml(post(hooks, f"/gather?r={call.id}", call_form(call.provider_sid, Digits="9")))
        assert redirect.text == f"http://localhost{HOOKS}/voice?r={call.id}&repeat=1"
        say, hangup = twiml(post(hooks, f"/gather?r={call.id}&repeat=1", call_form(call.provider_sid, Digits="9")))
        assert (say.text, hangup.tag) == ("Hej då.", "Hangup")


# --- SMS replies ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,reply,status",
    [
        ("1", "Tack, din tid är bekräftad.", BookingStatus.CONFIRMED),
        ("C", "Tack, din tid är bekräftad.", BookingStatus.CONFIRMED),
        ("2", "Tack, din tid är avbokad.", BookingStatus.CANCELLED),
    ],
)
def test_a_reply_confirms_or_cancels_and_is_acknowledged_by_sms(hooks, database, scene, body, reply, status):
    [message] = twiml(post(hooks, "/inbound-sms", text_form(body)))
    assert (message.tag, message.text) == ("Message", reply)
    assert status_of(database, scene["booking"].id) is status


@pytest.mark.parametrize("body", ["STOP", "START"])
def test_stop_and_start_are_answered_by_twilio_not_by_us(hooks, database, scene, body):
    assert list(twiml(post(hooks, "/inbound-sms", text_form(body)))) == []


def test_a_retried_free_text_makes_one_task_that_carries_the_text(hooks, database, scene):
    form = text_form("Can I come on Friday afternoon instead?")
    for _ in range(2):
        assert post(hooks, "/inbound-sms", form).status_code == 200
    [task] = tasks_of(database, scene["booking"].patient_id)
    assert (task.request_text, task.origin_booking_id) == (form["Body"], scene["booking"].id)


def test_a_body_with_a_nul_character_is_stored_without_it(hooks, database, scene):
    assert post(hooks, "/inbound-sms", text_form("Fri\x00day please")).status_code == 200
    assert tasks_of(database, scene["booking"].patient_id)[0].request_text == "Friday please"


def test_a_reply_to_another_clinics_number_or_service_never_touches_the_booking_it_did_not_answer(
    hooks, database, scene, clock, world
):
    booking, service = scene["booking"], "MG" + "5" * 32
    send_from(database, clock, world.b, from_number="+46850000099", messaging_service_sid=service)
    for form in (
        text_form("2", to="+46850000099"),
        text_form("STOP", to="+46850000099"),
        text_form("2", to="+46769999999", MessagingServiceSid=service),
    ):
        assert post(hooks, "/inbound-sms", form).status_code == 200
    assert status_of(database, booking.id) is BookingStatus.BOOKED
    assert tasks_of(database, booking.patient_id) == []
    with database.reader() as s:
        assert not s.get(type(world.a.patients[0]), booking.patient_id).opted_out
        assert s.get(type(world.b.patients[0]), world.b.patients[0].id).opted_out
    assert {t.clinic_id for t in tasks_of(database, world.b.patients[0].id)} == {world.b.clinic.id}


def test_a_reply_to_a_number_no_clinic_owns_changes_nothing_and_says_nothing(hooks, database, scene):
    for body in ("2", "STOP", "Call me"):
        with nothing_written(database):
            assert list(twiml(post(hooks, "/inbound-sms", text_form(body, to="+46850000077")))) == []
    assert status_of(database, scene["booking"].id) is BookingStatus.BOOKED
