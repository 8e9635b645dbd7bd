"""A patient's privacy rights over HTTP: the export, and an erasure that asks to be confirmed."""

from __future__ import annotations

from tests.factories import api_as


def test_a_manager_exports_a_patient_and_erases_them_once_confirmed(client, world):
    manager = api_as(client, world.a, "manager")
    patient = world.a.patients[1]
    exported = manager.get(f"/patients/{patient.id}/export")
    assert exported.status_code == 200 and exported.json["patient"]["full_name"] == patient.full_name
    unconfirmed = manager.post(f"/patients/{patient.id}/erase", json={"confirm": False})
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.json["fields"]
    assert manager.post(f"/patients/{patient.id}/erase", json={}).status_code == 422
    erased = manager.post(f"/patients/{patient.id}/erase", json={"confirm": True})
    assert erased.status_code == 200 and erased.json["patient_id"] == patient.id
    assert manager.get(f"/patients/{patient.id}").json["full_name"] == "(erased)"
    assert manager.post(f"/patients/{patient.id}/erase", json={"confirm": True}).status_code == 409
    assert patient.full_name not in manager.get(f"/patients/{patient.id}/export").get_data(as_text=True)


def test_only_the_clinics_manager_may_export_or_erase(client, world):
    patient = world.a.patients[0]
    for who in ("operator", "frontdesk"):
        api = api_as(client, world.a, who)
        assert api.get(f"/patients/{patient.id}/export").status_code == 403
        assert api.post(f"/patients/{patient.id}/erase", json={"confirm": True}).status_code == 403
    other = api_as(client, world.b, "manager")
    assert other.get(f"/patients/{patient.id}/export").status_code == 404
    assert other.post(f"/patients/{patient.id}/erase", json={"confirm": True}).status_code == 404
