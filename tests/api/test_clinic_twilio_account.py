"""A clinic's own Twilio account: set through the API (its token write-only and sealed), sent through by the
worker's real gateway, and the only account whose webhooks act on the clinic.

Over real HTTP: the app on a socket, the Twilio stand-in serving the service-wide account and the clinic's own,
the real SDK in between (``recall.worker.build_dispatcher``, as the worker builds it).
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from integrations.twilio.standin import StandIn
from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.clock import FixedClock
from recall.reminders.accounts import Sealer
from recall.reminders.planning import Channel
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.reminders.sending import SenderIdentity
from recall.visits.bookings import Booking, BookingStatus
from recall.worker import WorkerSettings, build_dispatcher
from tests.api.checks import assert_error, assert_rejected, nothing_written
from tests.api.test_webhooks import post, receipt, text_form
from tests.api.webhooking import ACCOUNT as SERVICE
from tests.api.webhooking import CLINIC_NUMBER, HOOKS, TOKEN, serving, webhook_app
from tests.conftest import T0
from tests.factories import api_as, future, make_booking, row
from tests.integration.inbound_scene import (  # noqa: F401 - world: clinic a sends from CLINIC_NUMBER
    SV_PHONE,
    make_reminder,
    new_sid,
    status_of,
    world,
)

OWN = "AC" + "a1" * 16  # clinic a's own account
OWN_TOKEN = secrets.token_hex(16)
KEY = Fernet.generate_key().decode()


@pytest.fixture
def app(database, clock):
    return webhook_app(database, clock, TWILIO_CREDENTIALS_KEY=KEY)


def own_account(app: Any, world: Any, sid: str = OWN, token: str = OWN_TOKEN) -> Any:
    return api_as(app.test_client(), world.a, "manager").patch(
        "/clinic", json={"twilio_account_sid": sid, "twilio_auth_token": token}
    )


def sealed(database: Any, clinic_id: int) -> tuple[str | None, str | None]:
    with database.reader() as s:
        clinic = s.get(Clinic, clinic_id)
        return clinic.twilio_account_sid, clinic.twilio_auth_token_sealed


# --- the API ---------------------------------------------------------------------------------------------------------


def test_a_manager_sets_the_clinics_own_account_and_its_token_is_sealed_and_never_shown(app, database, world):
    answer = own_account(app, world)
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["twilio_account_sid"], answer.get_json()["has_own_twilio_account"]) == (OWN, True)
    shown = api_as(app.test_client(), world.a, "operator").get("/clinic")
    assert shown.get_json()["has_own_twilio_account"] is True
    for response in (answer, shown):
        assert OWN_TOKEN not in response.get_data(as_text=True) and "twilio_auth_token" not in response.get_json()
    sid, stored = sealed(database, world.a.clinic.id)
    assert sid == OWN and stored and OWN_TOKEN not in stored and Sealer(KEY).open(stored) == OWN_TOKEN
    other = api_as(app.test_client(), world.b, "manager").get("/clinic").get_json()
    assert (other["twilio_account_sid"], other["has_own_twilio_account"]) == (None, False)


def test_a_new_token_alone_replaces_the_accounts_and_null_goes_back_to_the_service_account(app, database, world):
    own_account(app, world)
    manager = api_as(app.test_client(), world.a, "manager")
    assert manager.patch("/clinic", json={"twilio_auth_token": "b" * 32}).status_code == 200
    assert Sealer(KEY).open(sealed(database, world.a.clinic.id)[1]) == "b" * 32
    assert (
        manager.patch("/clinic", json={"twilio_account_sid": None, "name": "Nordvik"}).get_json()[
            "has_own_twilio_account"
        ]
        is False
    )
    assert sealed(database, world.a.clinic.id) == (None, None)


@pytest.mark.parametrize(
    "body,field,status",
    [
        ({"twilio_account_sid": "AC123", "twilio_auth_token": "a" * 32}, "twilio_account_sid", 422),
        ({"twilio_account_sid": SERVICE, "twilio_auth_token": "a" * 32}, "twilio_account_sid", 422),
        ({"twilio_account_sid": OWN}, "twilio_auth_token", 422),
        ({"twilio_auth_token": "a" * 32}, "twilio_account_sid", 422),
        ({"twilio_account_sid": OWN, "twilio_auth_token": "short"}, "twilio_auth_token", 422),
        ({"twilio_account_sid": OWN, "twilio_auth_token": "a" * 31 + "!"}, "twilio_auth_token", 422),
        ({"twilio_account_sid": None, "twilio_auth_token": "a" * 32}, "twilio_auth_token", 422),
    ],
)
def test_an_account_that_is_not_whole_or_not_the_clinics_is_refused_and_nothing_changes(
    app, database, world, body, field, status
):
    manager = api_as(app.test_client(), world.a, "manager")
    with nothing_written(database):
        assert_rejected(manager.patch("/clinic", json={**body, "name": "Renamed"}), field, status=status)


def test_two_clinics_cannot_share_an_account_and_no_token_is_stored_without_a_key(app, database, world):
    own_account(app, world)
    with nothing_written(database):
        taken = assert_error(
            api_as(app.test_client(), world.b, "manager").patch(
                "/clinic", json={"twilio_account_sid": OWN, "twilio_auth_token": OWN_TOKEN}
            ),
            409,
            "conflict",
        )
        assert "twilio_account_sid" in taken["fields"]
    app.config["TWILIO_CREDENTIALS_KEY"] = None
    with nothing_written(database):
        assert_rejected(
            api_as(app.test_client(), world.b, "manager").patch(
                "/clinic", json={"twilio_account_sid": "AC" + "b" * 32, "twilio_auth_token": OWN_TOKEN}
            ),
            "twilio_auth_token",
            422,
        )
    assert (
        api_as(app.test_client(), world.a, "frontdesk").patch("/clinic", json={"twilio_account_sid": None}).status_code
        == 403
    )


# --- sends and webhooks over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def twilio() -> Iterator[StandIn]:
    """The stand-in serving the service-wide account (only) and, once added, the clinic's own."""
    with StandIn(auth_token=TOKEN, account_sid=SERVICE) as standin:
        standin.add_account(OWN, OWN_TOKEN)
        yield standin


@pytest.fixture
def live(app) -> Iterator[str]:
    with serving(app) as base:
        yield base


def sms_due(database: Any, clock: FixedClock, world: Any, days: int = 2) -> dict[str, int]:
    """A booking in each clinic ``days`` after T0, for the patient both share a phone with, and the clock at its
    SMS reminder's time; returns clinic -> that reminder's id."""
    start = future(FixedClock(T0), days=days)
    ids = {}
    for name in ("a", "b"):
        cw = getattr(world, name)
        booking = make_booking(database, clock, cw, start_at=start)
        with database.reader() as s:
            ids[name] = s.scalar(
                sa.select(Reminder.id).where(Reminder.booking_id == booking.id, Reminder.channel == Channel.SMS)
            )
    clock.set(start - timedelta(hours=24))
    return ids


def drain(app: Any, database: Any, clock: FixedClock, twilio: StandIn, live: str) -> dict[str, int]:
    config = {
        **app.config,
        "TWILIO_BASE_URL": twilio.base_url,
        "PUBLIC_BASE_URL": live,
        "WORKER_CONCURRENCY": 2,
        "TWILIO_TIMEOUT_SECONDS": 5.0,
    }
    dispatcher, gateway = build_dispatcher(WorkerSettings.from_settings(config), database, clock)
    try:
        return dispatcher.drain(max_seconds=30).outcomes
    finally:
        gateway.close()


def reminder(database: Any, reminder_id: int) -> Reminder:
    with database.reader() as s:
        row = s.get(Reminder, reminder_id)
        assert row is not None
        return row


def test_a_clinics_reminders_go_out_through_its_own_account_and_the_others_through_the_service_account(
    app, database, clock, world, twilio, live
):
    assert own_account(app, world).status_code == 200
    ids = sms_due(database, clock, world)
    assert drain(app, database, clock, twilio, live) == {"sent": 2}
    account_of = {m["sid"]: m["account_sid"] for m in twilio.messages()}
    assert account_of[reminder(database, ids["a"]).provider_sid] == OWN
    assert account_of[reminder(database, ids["b"]).provider_sid] == SERVICE
    paths = {r.path for r in twilio.requests}
    assert paths == {f"/2010-04-01/Accounts/{OWN}/Messages.json", f"/2010-04-01/Accounts/{SERVICE}/Messages.json"}


def test_a_replaced_token_is_picked_up_by_a_running_sender(app, database, clock, world, twilio, live):
    own_account(app, world)
    sms_due(database, clock, world)
    config = {**app.config, "TWILIO_BASE_URL": twilio.base_url, "PUBLIC_BASE_URL": live, "WORKER_CONCURRENCY": 2}
    dispatcher, gateway = build_dispatcher(WorkerSettings.from_settings(config), database, clock)
    try:
        assert dispatcher.drain(max_seconds=30).outcomes == {"sent": 2}
        new_token = secrets.token_hex(16)
        twilio.add_account(OWN, new_token)  # replaced at Twilio: the old token is refused from now on
        assert own_account(app, world, token=new_token).status_code == 200
        later = sms_due(database, clock, world, days=5)
        assert dispatcher.drain(max_seconds=30).outcomes.get("sent") == 2
    finally:
        gateway.close()
    assert reminder(database, later["a"]).status is ReminderStatus.SENT
    refused = [r for r in twilio.requests if r.status == 401]
    assert [r.path for r in refused] == [f"/2010-04-01/Accounts/{OWN}/Messages.json"]


def test_the_clinics_webhooks_are_signed_with_its_token_and_act_only_when_they_name_its_account(
    app, database, clock, world, twilio, live
):
    own_account(app, world)
    ids = sms_due(database, clock, world)
    drain(app, database, clock, twilio, live)
    mine, theirs = reminder(database, ids["a"]), reminder(database, ids["b"])
    hooks = app.test_client()
    with nothing_written(database):  # the service-wide account's word about the clinic's send: not ours to take
        assert (
            post(
                hooks, f"/message-status?r={mine.id}", receipt(mine.provider_sid, "undelivered", 30003), token=TOKEN
            ).status_code
            == 200
        )
        forged = receipt(mine.provider_sid, "delivered") | {"AccountSid": OWN}  # names it, signed with another
        assert post(hooks, f"/message-status?r={mine.id}", forged, token=TOKEN).status_code == 403
        unknown = receipt(theirs.provider_sid, "delivered") | {"AccountSid": "AC" + "e" * 32}
        assert post(hooks, f"/message-status?r={theirs.id}", unknown, token=TOKEN).status_code == 403
        assert (
            post(
                hooks,
                f"/message-status?r={theirs.id}",
                receipt(theirs.provider_sid, "delivered") | {"AccountSid": OWN},
                token=OWN_TOKEN,
            ).status_code
            == 200
        )  # the clinic's account, about b's send
    for sent in (mine, theirs):  # the stand-in signs each with its own account's token
        assert twilio.deliver(sent.provider_sid, "delivered").status == 200
    assert reminder(database, mine.id).status is reminder(database, theirs.id).status is ReminderStatus.DELIVERED


def test_replies_and_key_presses_through_the_clinics_account_reach_it_and_no_other_account_does(
    app, database, clock, world, twilio, live
):
    own_account(app, world)
    ids = sms_due(database, clock, world)
    drain(app, database, clock, twilio, live)
    booking = reminder(database, ids["a"]).booking_id
    url = f"{live}{HOOKS}/inbound-sms"
    with nothing_written(database):  # clinic a's number, but through the service-wide account
        assert twilio.inbound_sms(SV_PHONE, CLINIC_NUMBER, "2", url, account_sid=SERVICE).status == 200
    assert status_of(database, booking) is BookingStatus.BOOKED
    answer = twilio.inbound_sms(SV_PHONE, CLINIC_NUMBER, "1", url, account_sid=OWN)
    assert ET.fromstring(answer.body)[0].text == "Tack, din tid är bekräftad."
    assert status_of(database, booking) is BookingStatus.CONFIRMED
    with database.reader() as s:
        assert not s.get(Patient, world.b.patients[0].id).opted_out
    hooks = app.test_client()
    call = make_reminder(database, clock, row(database, Booking, booking), channel=Channel.VOICE, sid=new_sid("CA"))
    with nothing_written(database):
        form = {"CallSid": call.provider_sid, "AccountSid": SERVICE, "Digits": "2"}
        say, _ = ET.fromstring(post(hooks, f"/gather?r={call.id}", form, token=TOKEN).get_data(as_text=True))
        assert say.text == "Goodbye."
    form = {"CallSid": call.provider_sid, "AccountSid": OWN, "Digits": "2"}
    assert post(hooks, f"/gather?r={call.id}", form, token=OWN_TOKEN).status_code == 200
    assert status_of(database, booking) is BookingStatus.CANCELLED


def test_a_message_form_without_an_account_is_a_400_once_signed(app, database, world):
    form = {k: v for k, v in text_form("1").items() if k != "AccountSid"}
    with nothing_written(database):
        assert_rejected(post(app.test_client(), "/inbound-sms", form), "AccountSid", status=400)


def test_without_the_key_a_clinics_account_cannot_be_used_its_sends_wait_and_its_webhooks_are_refused(
    app, database, clock, world, twilio, live
):
    own_account(app, world)
    ids = sms_due(database, clock, world)
    app.config["TWILIO_CREDENTIALS_KEY"] = None  # e.g. a deploy that lost it
    assert drain(app, database, clock, twilio, live) == {"retry": 1, "sent": 1}
    waiting = reminder(database, ids["a"])
    assert (waiting.status, waiting.outcome, waiting.provider_sid) == (
        ReminderStatus.PLANNED,
        "account_unavailable",
        None,
    )
    assert {m["account_sid"] for m in twilio.messages()} == {SERVICE}
    form = receipt(new_sid(), "delivered") | {"AccountSid": OWN}
    with nothing_written(database):
        assert post(app.test_client(), f"/message-status?r={waiting.id}", form, token=OWN_TOKEN).status_code == 403


def test_a_lost_send_is_looked_up_in_the_account_it_went_out_through(app, database, clock, world, twilio, live):
    """The worker's recovery asks Twilio what it has sent: for a clinic with its own account, that account."""
    own_account(app, world)
    ids = sms_due(database, clock, world)
    assert drain(app, database, clock, twilio, live) == {"sent": 2}
    config = {**app.config, "TWILIO_BASE_URL": twilio.base_url, "PUBLIC_BASE_URL": live}
    dispatcher, gateway = build_dispatcher(WorkerSettings.from_settings(config), database, clock)
    try:
        assert dispatcher.lookup is not None  # recovery is on in the worker as built for production
        with database.reader() as s:
            patient = s.get(Patient, reminder(database, ids["a"]).patient_id)
            assert patient is not None
            phone = patient.phone_e164
        own = [m["sid"] for m in twilio.messages() if m["account_sid"] == OWN]
        found = dispatcher.lookup.messages_since(
            to=phone,
            sender=SenderIdentity(from_number=CLINIC_NUMBER, account_sid=OWN),
            since=clock.now() - timedelta(hours=1),
        )
        assert [f.sid for f in found] == own
    finally:
        gateway.close()
    assert {r.path for r in twilio.requests if r.method == "GET"} == {f"/2010-04-01/Accounts/{OWN}/Messages.json"}
