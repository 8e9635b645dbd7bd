"""The stored reminder policy on SQLite and PostgreSQL: versions, concurrent saves, validation and warnings."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recall.clinic.clinics import get_clinic
from recall.common.actors import Actor, Role
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.common.errors import Conflict, Forbidden, ValidationError
from recall.reminders.planning import DEFAULT_POLICY, Channel
from recall.reminders.policy import replace_policy
from recall.reminders.policy_validation import validate_policy
from recall.reminders.policy_versions import ReminderPolicy, current_policy, get_version, list_versions
from tests.factories import World, actor_of, make_staff

THREE_SEGMENTS = (
    "Reminder: your appointment at {clinic} is on {date} at {time}. Please arrive 15 minutes early and "
    "bring your ID card, your insurance card and a list of the medicines you take. Reply 1 to confirm "
    "or 2 to cancel. If you need to move the visit, call us during opening hours. Parking is free "
    "behind the building; use the side entrance."
)


def steps(*offsets: int, channel: str = "sms") -> list[dict[str, Any]]:
    return [{"offset_minutes": minutes, "channel": channel} for minutes in offsets]


def save(database: Database, clock: FixedClock, actor: Actor, raw: Any) -> tuple[ReminderPolicy, list[str]]:
    with database.writer() as s:
        return replace_policy(s, clock, actor, raw)


def refusal(database: Database, world: World, raw: Any) -> dict[str, list[str]]:
    with database.writer() as s, pytest.raises(ValidationError) as caught:
        validate_policy(s, get_clinic(s, world.a.clinic.id), raw)
    return caught.value.fields


# --- versions -----------------------------------------------------------------------------------------------------


def test_a_clinic_that_never_saved_a_policy_runs_on_the_default_as_version_0(database, world):
    with database.reader() as s:
        assert current_policy(s, world.a.clinic.id) == (0, DEFAULT_POLICY)


def test_each_save_is_a_new_version_and_the_old_one_stays_readable(database, clock, world, people):
    first, _ = save(database, clock, people["manager"], {"steps": steps(1440)})
    second, _ = save(database, clock, people["manager"], {"steps": steps(120, channel="voice")})
    assert (first.version, second.version) == (1, 2)
    with database.reader() as s:
        version, doc = current_policy(s, world.a.clinic.id)
        assert version == 2 and [st.channel for st in doc.steps] == [Channel.VOICE]
        old = get_version(s, world.a.clinic.id, 1)
        assert [st.offset_minutes for st in old.doc.steps] == [1440]
        assert old.created_by_id == people["manager"].staff_id and old.created_at == clock.now()
        assert [r.version for r in s.scalars(list_versions(world.a.clinic.id))] == [2, 1]


def test_versions_are_counted_per_clinic_and_another_clinics_version_is_not_found(database, clock, world, people):
    save(database, clock, people["manager"], {"steps": steps(1440)})
    save(database, clock, people["manager"], {"steps": steps(1440)})
    theirs, _ = save(database, clock, actor_of(world.b.staff["manager"]), {"steps": []})
    assert theirs.version == 1
    with database.reader() as s:
        assert current_policy(s, world.b.clinic.id)[1].steps == ()
        with pytest.raises(Exception, match="not found"):
            get_version(s, world.b.clinic.id, 2)


def test_managers_saving_at_the_same_moment_all_get_distinct_versions(database, clock, world):
    managers = [
        actor_of(make_staff(database, clock, world.a.clinic.id, Role.MANAGER, name=f"m{i}")[0]) for i in range(4)
    ]
    barrier = threading.Barrier(len(managers))
    results: list[Any] = []

    def run(actor: Actor, offset: int) -> None:
        barrier.wait()
        try:
            results.append(save(database, clock, actor, {"steps": steps(offset)})[0].version)
        except Conflict as exc:  # allowed by the contract, though the clinic lock should prevent it
            results.append(exc)

    threads = [threading.Thread(target=run, args=(m, 60 * (i + 1))) for i, m in enumerate(managers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    versions = [r for r in results if isinstance(r, int)]
    assert len(results) == len(managers) and len(versions) == len(set(versions))
    assert sorted(versions) == [1, 2, 3, 4], results
    with database.reader() as s:
        rows = s.scalars(list_versions(world.a.clinic.id)).all()
    assert sorted(r.version for r in rows) == [1, 2, 3, 4]
    assert sorted(r.created_by_id for r in rows) == sorted(m.staff_id for m in managers)


def test_the_database_refuses_a_second_row_with_the_same_version(database, clock, world, people):
    row, _ = save(database, clock, people["manager"], {"steps": []})
    with database.writer() as s, pytest.raises(IntegrityError):
        s.add(ReminderPolicy(clinic_id=world.a.clinic.id, version=row.version, body=row.body, created_at=clock.now()))
        s.flush()


@pytest.mark.parametrize("who", ["operator", "frontdesk"])
def test_only_a_manager_may_change_the_policy(database, clock, world, people, who):
    with pytest.raises(Forbidden):
        save(database, clock, people[who], {"steps": []})
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ReminderPolicy)) == 0


# --- the document as saved --------------------------------------------------------------------------------------


def test_steps_are_stored_earliest_first_and_keys_left_out_take_the_defaults(database, clock, people):
    row, warnings = save(database, clock, people["manager"], {"steps": steps(120, 2880, 1440)})
    assert [st["offset_minutes"] for st in row.body["steps"]] == [2880, 1440, 120]
    assert row.body["steps"][0] == {
        "offset_minutes": 2880,
        "channel": "sms",
        "run_if_confirmed": False,
        "routine": True,
        "fallback": "none",
        "on_machine": "fallback",
    }
    default = DEFAULT_POLICY.to_json()
    assert {k: row.body[k] for k in ("hours", "templates", "show_provider", "sender", "rate_limits")} == {
        k: default[k] for k in ("hours", "templates", "show_provider", "sender", "rate_limits")
    }
    assert warnings == []


def test_a_sender_number_is_read_with_the_clinics_region_and_stored_in_e164(database, clock, people):
    sid = "MG" + "0123456789abcdef" * 2
    row, _ = save(
        database,
        clock,
        people["manager"],
        {"steps": [], "sender": {"from_number": "08-500 000 00", "messaging_service_sid": sid}},
    )
    assert row.body["sender"] == {"from_number": "+46850000000", "messaging_service_sid": sid}


def test_a_null_rate_means_no_limit_and_a_rate_left_out_means_one_per_second(database, clock, people):
    row, _ = save(database, clock, people["manager"], {"steps": [], "rate_limits": {"sms_per_second": None}})
    assert row.body["rate_limits"] == {"sms_per_second": None, "calls_per_second": 1.0}
    assert (row.doc.sms_per_second, row.doc.calls_per_second) == (None, 1.0)


def test_overrides_name_services_and_providers_of_the_clinic(database, clock, world, people):
    raw = {
        "steps": steps(1440),
        "overrides": [
            {"service_id": world.a.services[1].id, "steps": steps(60)},
            {"provider_id": world.a.providers[0].id, "steps": []},
        ],
    }
    row, _ = save(database, clock, people["manager"], raw)
    with database.reader() as s:
        doc = current_policy(s, world.a.clinic.id)[1]
    assert doc == row.doc
    assert [st.offset_minutes for st in doc.steps_for(world.a.services[1].id, None)] == [60]
    assert doc.steps_for(world.a.services[1].id, world.a.providers[0].id) == ()


def test_an_sms_template_longer_than_two_segments_is_saved_with_a_warning(database, clock, people):
    row, warnings = save(
        database, clock, people["manager"], {"steps": steps(1440), "templates": {"sms": {"en": THREE_SEGMENTS}}}
    )
    assert row.body["templates"]["sms"] == {"en": THREE_SEGMENTS}
    assert len(warnings) == 1 and warnings[0].startswith("templates.sms.en: renders to 3 segments"), warnings


def test_polish_diacritics_in_a_template_warn_that_it_costs_ucs_2(database, clock, people):
    _, warnings = save(
        database,
        clock,
        people["manager"],
        {"steps": [], "templates": {"sms": {"pl": "Wizyta w {clinic}: {date}, godz. {time}. Odwołanie: 2"}}},
    )
    assert any(w.startswith("templates.sms.pl:") and "UCS-2" in w for w in warnings), warnings


# --- what is refused ----------------------------------------------------------------------------------------------


def test_a_bad_document_names_every_problem_by_its_path(database, world):
    fields = refusal(
        database,
        world,
        {
            "steps": [
                {"offset_minutes": 1440, "channel": "fax"},
                {"offset_minutes": 1440, "channel": "sms"},
                {"offset_minutes": 2, "channel": "voice", "fallback": "voice"},
            ],
            "overrides": [
                {"service_id": world.b.services[0].id, "steps": []},
                {"service_id": world.a.services[0].id, "provider_id": world.a.providers[0].id, "steps": []},
            ],
            "hours": {"weekday_start": "20:00", "weekday_end": "09:00", "weekend_start": "9"},
            "templates": {"sms": {"pl": "Wizyta {date} {diagnosis}", "xx": "hi"}, "fax": {}},
            "sender": {"from_number": "12", "messaging_service_sid": "MG123"},
            "rate_limits": {"sms_per_second": 1000, "calls_per_second": True},
            "colour": "blue",
        },
    )
    assert set(fields) == {
        "steps.0.channel",
        "steps.1.offset_minutes",
        "steps.2.offset_minutes",
        "steps.2.fallback",
        "overrides.0.service_id",
        "overrides.1.service_id",
        "hours.weekday_end",
        "hours.weekend_start",
        "templates.sms.pl",
        "templates.sms.xx",
        "templates.fax",
        "sender.from_number",
        "sender.messaging_service_sid",
        "rate_limits.sms_per_second",
        "rate_limits.calls_per_second",
        "colour",
    }, fields
    assert fields["overrides.0.service_id"] == [f"no service {world.b.services[0].id} in this clinic"]
    assert "another step already runs 1440 minutes before" in fields["steps.1.offset_minutes"]


@pytest.mark.parametrize(
    "raw,field",
    [
        (None, "body"),
        ([], "body"),
        ("steps", "body"),
        ({}, "steps"),
        ({"steps": None}, "steps"),
        ({"steps": steps(*range(10, 120, 10))}, "steps"),
        ({"steps": [5]}, "steps.0"),
        ({"steps": [{"channel": "sms"}]}, "steps.0.offset_minutes"),
        ({"steps": [{"offset_minutes": 60.0, "channel": "sms"}]}, "steps.0.offset_minutes"),
        ({"steps": [{"offset_minutes": 43201, "channel": "sms"}]}, "steps.0.offset_minutes"),
        ({"steps": [{"offset_minutes": 60, "channel": "sms", "run_if_confirmed": 1}]}, "steps.0.run_if_confirmed"),
        ({"steps": [], "overrides": [{"steps": []}]}, "overrides.0.service_id"),
        ({"steps": [], "overrides": [{"service_id": 2**63, "steps": []}]}, "overrides.0.service_id"),
        ({"steps": [], "overrides": [{"provider_id": 1}, None]}, "overrides.0.steps"),
        ({"steps": [], "overrides": [None]}, "overrides.0"),
        ({"steps": [], "hours": {"weekend_start": "16:00"}}, "hours.weekend_end"),
        ({"steps": [], "hours": {"weekday_end": "24:01"}}, "hours.weekday_end"),
        ({"steps": [], "templates": {"voice": {"en": ""}}}, "templates.voice.en"),
        ({"steps": [], "templates": {"sms": {"en": 42}}}, "templates.sms.en"),
        ({"steps": [], "templates": {"sms": {"en": "Hi {clinic.__class__} {date}"}}}, "templates.sms.en"),
        ({"steps": [], "templates": {"sms": {"sv": "Hej\x00 {date}"}}}, "templates.sms.sv"),
        ({"steps": [], "show_provider": "yes"}, "show_provider"),
        ({"steps": [], "sender": {"from_number": 46850000000}}, "sender.from_number"),
        ({"steps": [], "rate_limits": {"calls_per_second": float("nan")}}, "rate_limits.calls_per_second"),
        ({"steps": [], "rate_limits": {"sms_per_second": 0.05}}, "rate_limits.sms_per_second"),
        ({"steps": [], "rate_limits": {"sms_per_second": 10**400}}, "rate_limits.sms_per_second"),
        ({"steps": [{"offset_minutes": 10**400, "channel": "sms"}]}, "steps.0.offset_minutes"),
        ({"steps": [{"channel": "sms"}, {"channel": "voice"}]}, "steps.1.offset_minutes"),
    ],
)
def test_a_malformed_document_is_refused_naming_the_field(database, world, raw, field):
    assert field in refusal(database, world, raw)


def test_a_template_naming_the_provider_needs_the_clinic_to_show_the_provider(database, clock, world, people):
    raw = {"steps": [], "templates": {"sms": {"en": "{clinic}: {provider} sees you {date} at {time}"}}}
    assert "not allowed" in refusal(database, world, raw)["templates.sms.en"][0]
    row, _ = save(database, clock, people["manager"], {**raw, "show_provider": True})
    assert row.doc.template("sms", "en").startswith("{clinic}: {provider}")


def test_a_second_override_for_the_same_service_is_refused(database, world):
    service = world.a.services[0].id
    fields = refusal(
        database,
        world,
        {"steps": [], "overrides": [{"service_id": service, "steps": []}, {"service_id": service, "steps": steps(60)}]},
    )
    assert fields == {"overrides.1.service_id": [f"a second override for service {service}"]}
