"""/clinic/reminder-policy over HTTP: who may read and edit it, versions, refusals by field path, the preview.

A refused request writes nothing, and no body, however odd, gets a 5xx.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from recall.reminders import replans
from recall.reminders.planning import DEFAULT_POLICY
from tests.api.checks import assert_error, assert_rejected, nothing_written
from tests.factories import api_as, iso, make_booking

URL = "/clinic/reminder-policy"
THREE_SEGMENTS = (
    "Reminder: your appointment at {clinic} is on {date} at {time}. Please arrive 15 minutes early and "
    "bring your ID card, your insurance card and a list of the medicines you take. Reply 1 to confirm "
    "or 2 to cancel. If you need to move the visit, call us during opening hours. Parking is free "
    "behind the building; use the side entrance."
)


def document(world: Any) -> dict[str, Any]:
    """A whole policy using every key, for clinic a."""
    return {
        "steps": [
            {"offset_minutes": 120, "channel": "voice", "fallback": "sms", "on_machine": "voicemail"},
            {"offset_minutes": 2880, "channel": "operator_call", "routine": True, "run_if_confirmed": False},
            {"offset_minutes": 1440, "channel": "sms", "run_if_confirmed": True},
        ],
        "overrides": [
            {"service_id": world.a.services[1].id, "steps": [{"offset_minutes": 60, "channel": "sms"}]},
            {"provider_id": world.a.providers[0].id, "steps": []},
        ],
        "hours": {"weekday_start": "08:30", "weekday_end": "19:00", "weekend_start": "10:00", "weekend_end": "14:00"},
        "templates": {
            "sms": {
                "pl": "{clinic}: wizyta {date}, godz. {time}. Odpisz 1 lub 2.",
                "zh": "{clinic}提醒您：{date} {time}。回复1确认。",
            },
            "voice": {"en": "Hello from {clinic}. Your visit is on {date} at {time}. Press 1 to confirm."},
        },
        "show_provider": False,
        "sender": {"from_number": "08-500 000 00", "messaging_service_sid": None},
        "rate_limits": {"sms_per_second": 5, "calls_per_second": 0.5},
    }


# --- who may do what ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["operator", "frontdesk", "manager"])
def test_every_staff_member_reads_the_policy_in_force_and_a_new_clinic_is_on_the_default(client, world, who):
    response = api_as(client, world.a, who).get(URL)
    assert response.status_code == 200, response.get_json()
    assert response.json == {
        "version": 0,
        "policy": DEFAULT_POLICY.to_json(),
        "warnings": [],
        "created_at": None,
        "created_by_id": None,
        "replan": None,
    }


@pytest.mark.parametrize("who", ["operator", "frontdesk"])
def test_front_desk_and_operators_may_not_edit_the_policy_or_see_its_history(client, database, world, who):
    api = api_as(client, world.a, who)
    with nothing_written(database):
        assert_error(api.put(URL, json=document(world)), 403, "forbidden")
        assert_error(api.get(f"{URL}/versions"), 403, "forbidden")
        assert_error(api.get(f"{URL}/versions/1"), 403, "forbidden")
        assert_error(api.post(f"{URL}/preview", json={}), 403, "forbidden")


# --- saving and versions ----------------------------------------------------------------------------------------------


def test_a_manager_saves_the_whole_document_and_everyone_reads_it_back(client, world, clock):
    manager = api_as(client, world.a, "manager")
    saved = manager.put(URL, json=document(world))
    assert saved.status_code == 200, saved.get_json()
    body = saved.json
    assert body["version"] == 1 and body["created_by_id"] == world.a.staff["manager"].id
    assert body["created_at"].startswith(clock.now().isoformat()[:19])
    policy = body["policy"]
    assert [s["offset_minutes"] for s in policy["steps"]] == [2880, 1440, 120]
    assert policy["steps"][2] == {
        "offset_minutes": 120,
        "channel": "voice",
        "run_if_confirmed": False,
        "routine": True,
        "fallback": "sms",
        "on_machine": "voicemail",
    }
    assert policy["sender"] == {"from_number": "+46850000000", "messaging_service_sid": None}
    assert policy["rate_limits"] == {"sms_per_second": 5.0, "calls_per_second": 0.5}
    assert policy["overrides"][1] == {"service_id": None, "provider_id": world.a.providers[0].id, "steps": []}
    assert policy["templates"]["voice"] == document(world)["templates"]["voice"]
    read = api_as(client, world.a, "operator").get(URL)
    assert read.json["version"] == 1 and read.json["policy"] == policy


def test_a_save_answers_with_the_replan_under_way_and_staff_read_its_progress(
    client, database, clock, world, monkeypatch
):
    monkeypatch.setattr(replans, "BATCH", 2)
    monkeypatch.setattr(replans, "INLINE", 2)
    for day in range(2, 7):
        make_booking(database, clock, world.a, days=day)
    saved = api_as(client, world.a, "manager").put(URL, json={"steps": [{"offset_minutes": 1500, "channel": "sms"}]})
    assert saved.status_code == 200, saved.get_json()
    progress = saved.json["replan"]
    assert {k: progress[k] for k in ("policy_version", "status", "total", "done")} == {
        "policy_version": 1,
        "status": "running",
        "total": 5,
        "done": 2,
    }
    assert progress["finished_at"] is None
    assert api_as(client, world.a, "operator").get(URL).json["replan"] == progress
    replans.work(database, clock)
    after = api_as(client, world.a, "frontdesk").get(URL).json["replan"]
    assert (after["status"], after["done"], after["total"]) == ("done", 5, 5)
    assert after["finished_at"] is not None
    assert api_as(client, world.b, "manager").get(URL).json["replan"] is None  # the other clinic saved nothing


def test_each_save_is_a_new_version_listed_newest_first_and_old_ones_stay_readable(client, world):
    manager = api_as(client, world.a, "manager")
    assert manager.put(URL, json=document(world)).json["version"] == 1
    assert manager.put(URL, json={"steps": []}).json["version"] == 2
    assert manager.get(URL).json["policy"]["steps"] == []
    listed = manager.get(f"{URL}/versions")
    assert listed.status_code == 200
    assert [v["version"] for v in listed.json["items"]] == [2, 1] and listed.json["total"] == 2
    first = manager.get(f"{URL}/versions/1")
    assert first.status_code == 200 and len(first.json["policy"]["steps"]) == 3
    assert manager.get(f"{URL}/versions?page_size=1&page=2").json["items"][0]["version"] == 1


@pytest.mark.parametrize("version", [0, 3, 2**31, 2**63])
def test_a_version_that_was_never_saved_is_404(client, world, version):
    manager = api_as(client, world.a, "manager")
    manager.put(URL, json={"steps": []})
    manager.put(URL, json={"steps": []})
    assert_error(manager.get(f"{URL}/versions/{version}"), 404, "not_found")


def test_another_clinics_versions_are_not_seen(client, world):
    assert api_as(client, world.a, "manager").put(URL, json={"steps": []}).status_code == 200
    theirs = api_as(client, world.b, "manager")
    assert theirs.get(f"{URL}/versions").json["items"] == []
    assert_error(theirs.get(f"{URL}/versions/1"), 404, "not_found")
    assert theirs.get(URL).json["version"] == 0


def test_a_save_answers_with_a_warning_for_an_sms_longer_than_two_segments(client, world):
    response = api_as(client, world.a, "manager").put(
        URL, json={"steps": [], "templates": {"sms": {"en": THREE_SEGMENTS}}}
    )
    assert response.status_code == 200, response.get_json()
    assert any(w.startswith("templates.sms.en: renders to 3 segments") for w in response.json["warnings"])
    assert response.json["warnings"] == api_as(client, world.a, "operator").get(URL).json["warnings"]


# --- refusals ---------------------------------------------------------------------------------------------------------

STEP = {"offset_minutes": 1440, "channel": "sms"}
BAD: list[tuple[str, Any, str]] = [
    ("no steps", {}, "steps"),
    ("steps that are not a list", {"steps": {"a": 1}}, "steps"),
    ("eleven steps", {"steps": [{"offset_minutes": 10 * (i + 1), "channel": "sms"} for i in range(11)]}, "steps"),
    ("an offset under 5 minutes", {"steps": [{**STEP, "offset_minutes": 4}]}, "steps.0.offset_minutes"),
    ("an offset over 30 days", {"steps": [{**STEP, "offset_minutes": 43201}]}, "steps.0.offset_minutes"),
    ("an offset as text", {"steps": [{**STEP, "offset_minutes": "1440"}]}, "steps.0.offset_minutes"),
    ("two steps at one offset", {"steps": [STEP, {**STEP, "channel": "voice"}]}, "steps.1.offset_minutes"),
    ("an unknown channel", {"steps": [{**STEP, "channel": "fax"}]}, "steps.0.channel"),
    ("a fallback to the same channel", {"steps": [{**STEP, "fallback": "sms"}]}, "steps.0.fallback"),
    ("a fallback to the front desk", {"steps": [{**STEP, "fallback": "frontdesk_call"}]}, "steps.0.fallback"),
    ("run_if_confirmed as a string", {"steps": [{**STEP, "run_if_confirmed": "yes"}]}, "steps.0.run_if_confirmed"),
    ("an unknown answer to a machine", {"steps": [{**STEP, "on_machine": "hang_up"}]}, "steps.0.on_machine"),
    ("an unknown key in a step", {"steps": [{**STEP, "colour": "red"}]}, "steps.0.colour"),
    ("an override naming nothing", {"steps": [], "overrides": [{"steps": []}]}, "overrides.0.service_id"),
    ("an override without steps", {"steps": [], "overrides": [{"service_id": 1}]}, "overrides.0.steps"),
    (
        "a service that does not exist",
        {"steps": [], "overrides": [{"service_id": 999_999, "steps": []}]},
        "overrides.0.service_id",
    ),
    (
        "hours ending before they start",
        {"steps": [], "hours": {"weekday_start": "20:00", "weekday_end": "09:00"}},
        "hours.weekday_end",
    ),
    ("hours not as HH:MM", {"steps": [], "hours": {"weekend_start": "9:00"}}, "hours.weekend_start"),
    (
        "a placeholder that is not allowed",
        {"steps": [], "templates": {"sms": {"pl": "{date} {diagnosis}"}}},
        "templates.sms.pl",
    ),
    (
        "the provider when the clinic hides it",
        {"steps": [], "templates": {"voice": {"sv": "{provider} {date}"}}},
        "templates.voice.sv",
    ),
    ("an unknown language", {"steps": [], "templates": {"sms": {"de": "{date}"}}}, "templates.sms.de"),
    ("an unknown template channel", {"steps": [], "templates": {"fax": {}}}, "templates.fax"),
    ("a NUL in a template", {"steps": [], "templates": {"sms": {"en": "Hi\x00 {date}"}}}, "templates.sms.en"),
    ("an empty template", {"steps": [], "templates": {"sms": {"en": "  "}}}, "templates.sms.en"),
    ("a sender number that is not one", {"steps": [], "sender": {"from_number": "12"}}, "sender.from_number"),
    (
        "a bad Messaging Service SID",
        {"steps": [], "sender": {"messaging_service_sid": "MG123"}},
        "sender.messaging_service_sid",
    ),
    ("a rate of zero", {"steps": [], "rate_limits": {"sms_per_second": 0}}, "rate_limits.sms_per_second"),
    ("a rate too high", {"steps": [], "rate_limits": {"calls_per_second": 101}}, "rate_limits.calls_per_second"),
    ("an unknown key", {"steps": [], "colour": "blue"}, "colour"),
    ("show_provider as 1", {"steps": [], "show_provider": 1}, "show_provider"),
    ("a body that is a list", [STEP], "body"),
]


@pytest.mark.parametrize("body,field", [pytest.param(b, f, id=name) for name, b, f in BAD])
def test_a_bad_policy_is_422_naming_the_field_and_saves_nothing(client, database, world, body, field):
    with nothing_written(database):
        response = api_as(client, world.a, "manager").put(URL, json=body)
    assert_rejected(response, field)


def test_an_override_for_another_clinics_service_or_provider_is_422_on_that_field(client, database, world):
    manager = api_as(client, world.a, "manager")
    for key, ident in (("service_id", world.b.services[0].id), ("provider_id", world.b.providers[0].id)):
        with nothing_written(database):
            response = manager.put(URL, json={"steps": [], "overrides": [{key: ident, "steps": []}]})
        body = assert_rejected(response, f"overrides.0.{key}")
        assert body["fields"][f"overrides.0.{key}"] == [f"no {key[:-3]} {ident} in this clinic"]


def test_a_body_that_is_not_json_is_400(client, database, world):
    headers = api_as(client, world.a, "manager").headers
    for raw in ['{"steps": [', "steps=1", "\x00\xff"]:
        with nothing_written(database):
            response = client.put(f"/api/v1{URL}", data=raw, content_type="application/json", headers=headers)
        assert_rejected(response, "body", status=400)


def _garbage(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    keys = [
        "steps",
        "overrides",
        "hours",
        "templates",
        "sms",
        "voice",
        "en",
        "pl",
        "offset_minutes",
        "channel",
        "service_id",
        "provider_id",
        "weekday_end",
        "sender",
        "from_number",
        "rate_limits",
        "policy",
        "template",
        "start_at",
        "timezone",
        "x",
        "",
    ]
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 2**63, 10**30, 1e308, 0.5, float("nan")])
    if kind in (1, 2):
        return rng.choice(
            [
                "",
                "sms",
                "voice",
                "09:00",
                "24:00",
                "{date}",
                "{provider}",
                "\x00",
                "\ud800",
                "x" * 5000,
                "2026-03-09T09:00:00Z",
                "9999-12-31T23:59:59Z",
                "Europe/Stockholm",
                "Mars/Olympus",
            ]
        )
    if kind in (3, 4):
        return rng.choice([1440, 5, 4, 43200, 43201, 1, "1440", [], {}])
    if kind == 5:
        return [_garbage(rng, depth + 1) for _ in range(rng.randrange(12))]
    return {rng.choice(keys): _garbage(rng, depth + 1) for _ in range(rng.randrange(1, 7))}


@pytest.mark.parametrize("method,path", [("PUT", URL), ("POST", f"{URL}/preview")])
def test_garbage_never_gets_a_5xx(client, world, method, path):
    headers = api_as(client, world.a, "manager").headers
    rng = random.Random(path)
    payloads: list[Any] = [
        None,
        [],
        "x",
        42,
        {"steps": [None, 1, "x", {}, []]},
        {"policy": {"steps": [{"offset_minutes": 2**63, "channel": ["sms"]}]}},
        {"template": "{date}", "language": "de", "channel": "fax"},
        {"start_at": "0001-01-01T00:00:00Z"},
        {"timezone": "\x00"},
    ]
    payloads += [_garbage(rng) for _ in range(300)]
    failures = []
    for payload in payloads:
        data = json.dumps(payload, allow_nan=True)
        response = client.open(
            f"/api/v1{path}", method=method, data=data, content_type="application/json", headers=headers
        )
        if response.status_code >= 500 or (
            response.status_code >= 400 and not {"code", "status", "error", "message"} <= set(response.get_json() or {})
        ):
            failures.append(f"{response.status_code} <- {data[:200]}")
    assert not failures, "\n".join(failures[:20])


# --- the preview ------------------------------------------------------------------------------------------------------


def test_a_preview_renders_a_text_with_its_sms_cost_and_plans_a_sample_visit(client, database, world, clock):
    start = "2026-03-09T08:00:00Z"  # Monday 09:00 in Stockholm
    with nothing_written(database):
        response = api_as(client, world.a, "manager").post(
            f"{URL}/preview",
            json={"template": "{clinic}: wizyta {date}, godz. {time}.", "language": "pl", "start_at": start},
        )
    assert response.status_code == 200, response.get_json()
    body = response.json
    assert body["text"] == "Nordvik Family Clinic: wizyta poniedziałek, 9 marca, godz. 09:00."
    assert body["segments"] == {"encoding": "UCS-2", "units": len(body["text"]), "segments": 1}
    assert body["worst_case"]["segments"] >= 1 and body["version"] == 0 and body["timezone"] == "Europe/Stockholm"
    assert [(p["channel"], p["local_send_at"], p["moved"], p["skipped_reason"]) for p in body["plan"]] == [
        ("sms", "2026-03-07T15:59+01:00", True, None),
        ("voice", "2026-03-08T15:59+01:00", True, None),
    ]


def test_a_preview_without_a_body_shows_the_current_policys_english_sms(client, world):
    manager = api_as(client, world.a, "manager")
    manager.put(URL, json={"steps": [STEP], "templates": {"sms": {"en": "{clinic} {date} {time}"}}})
    body = manager.post(f"{URL}/preview", json={}).json
    assert body["version"] == 1 and body["text"].startswith("Nordvik Family Clinic ")
    assert body["warnings"] == [] and len(body["plan"]) == 1


def test_a_preview_of_a_voice_text_has_no_sms_cost(client, world):
    body = api_as(client, world.a, "manager").post(f"{URL}/preview", json={"channel": "voice", "language": "zh"}).json
    assert body["segments"] is None and body["worst_case"] is None and body["text"].startswith("您好")


def test_a_preview_of_an_unsaved_policy_plans_by_it_and_names_its_problems_under_policy(client, database, world):
    manager = api_as(client, world.a, "manager")
    with nothing_written(database):
        ok = manager.post(
            f"{URL}/preview",
            json={
                "policy": {"steps": [{"offset_minutes": 30, "channel": "frontdesk_call"}]},
                "surge": True,
                "start_at": iso(world.clock.now().replace(hour=13)),
            },
        )
        assert ok.status_code == 200, ok.get_json()
        assert ok.json["version"] is None and [p["channel"] for p in ok.json["plan"]] == ["voice"]
        assert_rejected(
            manager.post(f"{URL}/preview", json={"policy": {"steps": [{"offset_minutes": 1}]}}),
            "policy.steps.0.offset_minutes",
        )
        assert_rejected(
            manager.post(
                f"{URL}/preview",
                json={"policy": {"steps": [], "overrides": [{"service_id": world.b.services[0].id, "steps": []}]}},
            ),
            "policy.overrides.0.service_id",
        )


@pytest.mark.parametrize(
    "body,field",
    [
        ({"template": "{date} {diagnosis}"}, "template"),
        ({"template": "{provider} {date}"}, "template"),
        ({"language": "de"}, "language"),
        ({"channel": "operator_call"}, "channel"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"start_at": "2026-03-09T09:00:00"}, "start_at"),
        ({"provider_id": 999_999}, "provider_id"),
        ({"confirmed": "yes"}, "confirmed"),
    ],
)
def test_a_bad_preview_request_is_422_naming_the_field(client, database, world, body, field):
    with nothing_written(database):
        assert_rejected(api_as(client, world.a, "manager").post(f"{URL}/preview", json=body), field)
