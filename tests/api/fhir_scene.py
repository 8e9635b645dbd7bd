"""What the FHIR API tests share: the operator named by the fixtures' booked-by extension, the EHR's wiring
issued over the API, and a Bundle posted as the EHR posts it."""

from __future__ import annotations

import json
from typing import Any

from recall.clinic.staff import Staff
from recall.common.db import Database
from tests.factories import World, api_as

OPERATOR_EMAIL = "operator@nordvik.example"  # appointment-booked.json's booked-by
FHIR_JSON = "application/fhir+json"


def name_the_operator(database: Database, world: World) -> int:
    with database.writer() as s:
        member = s.get(Staff, world.a.staff["operator"].id)
        member.email = OPERATOR_EMAIL
        s.commit()
        return member.id


def integration_token(client: Any, world: World) -> str:
    answer = api_as(client, world.a, "manager").post("/clinic/integration/tokens", json={"label": "EHR"})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["token"]


def post_bundle(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/fhir",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON},
    )
