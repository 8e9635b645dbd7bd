"""The OpenAPI document is valid and tells the truth.

A real validator (openapi-spec-validator) accepts it. Every operation has a one-line summary and declares, with the
error schema, each error status it answers; response properties that are always there are required; an optional
nested object is that object or null, nothing else. Then the document is held against real answers: every
endpoint of the access table (tests/api/endpoints.py) is called for success and for each way it refuses, and each
answer's status must be declared for that operation and its body must match the declared schema
(openapi-schema-validator, OpenAPI 3.0 rules). The Twilio webhooks are described in ``x-twilio-webhooks``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from openapi_spec_validator import validate as validate_spec

from tests.api.endpoints import ENDPOINTS, ROLES, Endpoint
from tests.factories import Api, api_as

PREFIX = "/api/v1"


@pytest.fixture(scope="module")
def spec(_shared_app: Any) -> dict[str, Any]:
    app, _config = _shared_app
    with app.test_client() as client:
        return client.get(f"{PREFIX}/openapi.json").get_json()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _path_of(rule: str) -> str:
    return PREFIX + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = spec["components"][kind][name]
    return node


def _schema_of(spec: dict[str, Any], op: dict[str, Any], status: int) -> dict[str, Any] | None:
    response = op["responses"].get(str(status))
    if response is None:
        return None
    content = _resolve(spec, response).get("content", {}).get("application/json")
    return content and content["schema"]


def assert_matches(spec: dict[str, Any], schema: dict[str, Any], body: Any, where: str) -> None:
    """``body`` is valid against ``schema`` (which may $ref the document's components), by OpenAPI 3.0 rules."""
    validator = OAS30ReadValidator({**schema, "components": spec["components"]}, format_checker=oas30_format_checker)
    problems = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not problems, f"{where}: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message[:200]}" for e in problems[:5]
    )


# --- the document on its own ----------------------------------------------------------------------------------------


def test_a_real_openapi_validator_accepts_the_document(spec):
    validate_spec(spec)  # raises on the first problem, e.g. string bounds on a number
    assert spec["openapi"] == "3.0.3"
    multiplier = spec["components"]["schemas"]["PayPlanInput"]["properties"]["recall_multiplier"]
    assert multiplier["type"] == "number" and (multiplier["minimum"], multiplier["maximum"]) == (1, 100)


def test_every_operation_has_a_one_line_summary(spec):
    for path, method, op in _operations(spec):
        summary = op.get("summary", "")
        assert summary and "\n" not in summary and len(summary) <= 160, (method, path, summary)


def test_every_operation_declares_its_error_statuses_with_the_error_schema(spec):
    error = {"$ref": "#/components/schemas/Error"}
    for path, method, op in _operations(spec):
        statuses = set(op["responses"])
        where = f"{method.upper()} {path}"
        assert "default" in statuses, where
        assert "401" in statuses, where  # every operation under /api/v1 needs a token
        if "{" in path:
            assert "404" in statuses, where
        if "requestBody" in op:
            assert {"400", "413", "415", "422"} <= statuses, where
        if any(p["in"] == "query" for p in op.get("parameters", [])):
            assert "422" in statuses, where
        if method in ("put", "patch", "delete"):
            assert "409" in statuses, where
        for status in statuses - {"200", "201"}:
            assert _schema_of(spec, op, status if status == "default" else int(status)) == error, (where, status)
        assert "description" in _resolve(spec, op["responses"]["401"])


def _components_under(spec: dict[str, Any], node: Any, seen: set[str]) -> set[str]:
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/components/schemas/"):
            name = node["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                _components_under(spec, spec["components"]["schemas"][name], seen)
        for value in node.values():
            _components_under(spec, value, seen)
    elif isinstance(node, list):
        for value in node:
            _components_under(spec, value, seen)
    return seen


def test_response_properties_that_are_always_present_are_required(spec):
    answers: set[str] = set()
    bodies: set[str] = set()
    for _path, _method, op in _operations(spec):
        for status, response in op["responses"].items():
            if status.startswith("2"):
                _components_under(spec, response, answers)
        _components_under(spec, op.get("requestBody", {}), bodies)
    assert {"Booking", "Patient", "Claim", "RecallTask", "CheckoutResult", "BookingPage"} <= answers
    for name in sorted(answers - bodies):  # an input schema echoed back (the policy) keeps its input's rules
        schema = spec["components"]["schemas"][name]
        missing = set(schema.get("properties", {})) - set(schema.get("required", []))
        assert not missing, f"{name}: always written but not required: {sorted(missing)}"
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "error", "message"}  # fields: only with bad input


@pytest.mark.parametrize(
    "schema,prop",
    [
        ("CheckoutResult", "booking"),
        ("CheckoutResult", "recall_task"),
        ("Claim", "task"),
        ("PreviewResult", "segments"),
    ],
)
def test_an_optional_nested_object_is_that_object_or_null_and_nothing_else(spec, schema, prop):
    declared = spec["components"]["schemas"][schema]["properties"][prop]
    assert_matches(spec, declared, None, f"{schema}.{prop} = null")
    validator = OAS30ReadValidator({**declared, "components": spec["components"]})
    assert not validator.is_valid({}), f"{schema}.{prop} admits an empty object"
    assert not validator.is_valid({"anything": "at all"}), f"{schema}.{prop} admits any object"


def test_the_twilio_webhooks_are_described_and_valid(app, spec):
    hooks = spec["x-twilio-webhooks"]
    served = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/webhooks/twilio/")}
    described = {re.search(r"POST (/webhooks/twilio/[\w-]+)", item["summary"]).group(1) for item in hooks.values()}
    assert described == served
    assert "## Twilio webhooks" in spec["info"]["description"]
    # Each is a Path Item Object: a document whose paths are the webhooks must be valid OpenAPI 3.0.3 too.
    as_paths = {re.search(r"POST (/webhooks/twilio/[\w-]+)", item["summary"]).group(1): item for item in hooks.values()}
    validate_spec(
        {
            "openapi": "3.0.3",
            "info": {"title": "webhooks", "version": "1"},
            "paths": as_paths,
            "components": spec["components"],
        }
    )
    for item in hooks.values():
        op = item["post"]
        assert op["security"] == [] and op["parameters"][0]["name"] == "X-Twilio-Signature"
        assert "application/x-www-form-urlencoded" in op["requestBody"]["content"]
        assert {"200", "400", "403"} <= set(op["responses"])


# --- the document against real answers -----------------------------------------------------------------------------


def _operation(spec: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    return spec["paths"][_path_of(endpoint.rule)][endpoint.method.lower()]


def assert_declared(spec: dict[str, Any], endpoint: Endpoint, response: Any, case: str) -> None:
    where = f"{endpoint.name} ({case}): {response.status_code}"
    op = _operation(spec, endpoint)
    assert str(response.status_code) in op["responses"], f"{where} is not declared"
    if response.mimetype == "text/csv":  # an export: declared as CSV text, and CSV it is
        assert "text/csv" in op["responses"][str(response.status_code)]["content"], f"{where} declares no CSV"
        assert response.get_data(as_text=True).startswith("\ufeff"), where
        return
    schema = _schema_of(spec, op, response.status_code)
    assert schema is not None, f"{where} declares no JSON schema"
    assert response.is_json, where
    assert_matches(spec, schema, response.get_json(), where)


def _first_allowed(endpoint: Endpoint) -> str:
    return next(who for who in ROLES if who in endpoint.allowed)


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.name) for e in ENDPOINTS])
def test_every_endpoints_answer_matches_the_document(client, spec, scene, world, endpoint):
    who = _first_allowed(endpoint)
    response = endpoint.call(api_as(client, world.a, who), scene.a, who)
    assert 200 <= response.status_code < 300, (response.status_code, response.get_json())
    assert_declared(spec, endpoint, response, f"as {who}")


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.name) for e in ENDPOINTS])
def test_every_refusal_is_declared_for_its_operation_and_has_the_error_shape(client, spec, scene, world, endpoint):
    assert_declared(spec, endpoint, endpoint.call(Api(client, None), scene.a, "manager"), "no token")
    denied = [who for who in ROLES if who not in endpoint.allowed]
    if denied:
        api = api_as(client, world.a, denied[0])
        assert_declared(spec, endpoint, endpoint.call(api, scene.a, denied[0]), f"as {denied[0]}")
    who = _first_allowed(endpoint)
    api = api_as(client, world.a, who)
    if endpoint.takes_id:
        assert_declared(spec, endpoint, endpoint.call(api, scene.a, who, path_from=scene.b), "another clinic's id")
    url = endpoint.path(scene.a, who)
    if endpoint.body is not None:
        body = json.dumps(endpoint.body(scene.a, who))
        for case, kwargs in (
            ("a text body", {"data": body, "content_type": "text/plain"}),
            ("no body", {}),
            ("broken JSON", {"data": body[:-1], "content_type": "application/json"}),
            ("a list for a body", {"json": []}),
            ("a body over 1 MiB", {"json": {"note": "x" * (1024 * 1024)}}),
        ):
            response = api._call(endpoint.method, url, **kwargs)
            assert response.status_code in (400, 413, 415, 422), (case, response.status_code)
            assert_declared(spec, endpoint, response, case)
    elif endpoint.method == "GET" and _operation(spec, endpoint).get("parameters"):
        names = [p["name"] for p in _operation(spec, endpoint)["parameters"] if p["in"] == "query"]
        response = api._call("GET", url.split("?")[0] + f"?{names[0]}=%00" + "&no_such_argument=1")
        assert response.status_code == 422, (response.status_code, response.get_json())
        assert_declared(spec, endpoint, response, "a bad query")


def test_a_405_names_the_allowed_methods(client, world):
    api = api_as(client, world.a, "manager")
    response = api.delete("/clinic")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "PATCH"}
    assert response.get_json()["error"] == "method_not_allowed"
    assert "POST" in client.get("/webhooks/twilio/message-status").headers.get("Allow", "")
