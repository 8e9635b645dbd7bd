from tests.factories import Api, api_as


def test_health_answers_without_a_token(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readiness_checks_the_database(client, database):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["database"] == database.dialect


def test_the_caller_sees_their_own_clinic(client, world):
    response = api_as(client, world.a, "operator").get("/clinic")
    assert response.status_code == 200
    assert response.json["name"] == "Nordvik Family Clinic"


def test_a_request_without_a_token_is_401(client, world):
    response = Api(client, None).get("/clinic")
    assert response.status_code == 401
    assert response.json["error"] == "unauthenticated"
