"""One error shape everywhere, 422 with field details, no 500s for bad input, and a generated OpenAPI document."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.models import Role
from tests.factories import bearer, login, make_world


def _is_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_health_reports_the_database(client):
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["scheduler"] == "never_started"  # an uptime monitor can alert on it; the web is healthy


def test_an_unknown_api_path_is_a_json_404(client):
    _is_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(client):
    error = _is_error(client.delete("/api/v1/auth/login"), 405, "method_not_allowed")
    assert error["message"]


def test_malformed_json_is_a_400_not_a_500(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    _is_error(response, 400, "bad_request")


def test_missing_and_wrongly_typed_fields_are_422_with_field_details(client):
    error = _is_error(client.post("/api/v1/auth/login", json={"email": 42}), 422, "validation_failed")
    assert set(error["details"]) == {"email", "password", "device_name"}


def test_unknown_fields_are_refused_not_ignored(client):
    error = _is_error(client.post("/api/v1/auth/login", json={
        "email": "a@b.test", "password": "x", "device_name": "x", "admin": True}), 422, "validation_failed")
    assert "admin" in error["details"]


def test_bad_query_parameters_are_422_with_details(client):
    make_world()
    token = login(client, Role.CLP_ADMIN)
    error = _is_error(client.get("/api/v1/electors?page=0&per_page=100000", headers=bearer(token)),
                      422, "validation_failed")
    assert set(error["details"]) == {"page", "per_page"}
    error = _is_error(client.get("/api/v1/electors?polling_district_id=abc", headers=bearer(token)),
                      422, "validation_failed")
    assert "polling_district_id" in error["details"]


def test_an_oversized_request_is_a_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/api/v1/auth/login", data=json.dumps({"email": "x" * 4096}),
                           content_type="application/json")
    _is_error(response, 413, "payload_too_large")


def test_the_openapi_document_is_generated_from_the_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/electors" in spec["paths"]
    assert "/api/v1/auth/login" in spec["paths"]
    electors = spec["paths"]["/api/v1/electors"]["get"]
    assert {p["name"] for p in electors["parameters"]} >= {"polling_district_id", "street", "name", "page"}
    assert electors["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    assert "Error" in spec["components"]["schemas"]
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error"}


def test_a_failure_inside_a_view_is_a_500_without_internals(app, client):
    @app.route("/api/v1/_boom")
    def boom():  # registered late, only for this test
        raise RuntimeError("secret database password in a traceback")

    boom._gw_access = "public"
    response = client.get("/api/v1/_boom")
    error = _is_error(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert error["details"] is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
))
def test_no_json_body_whatsoever_makes_login_answer_500(client, body):
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code in {400, 401, 422, 429}
    assert set(response.get_json()["error"]) == {"code", "message", "details"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(
    st.sampled_from(["page", "per_page", "polling_district_id", "street", "name", "postcode", "include_removed",
                     "bogus"]),
    st.text(max_size=20), max_size=5))
def test_no_query_string_whatsoever_makes_the_elector_search_answer_500(client, params):
    from server.extensions import db
    from server.models import Region

    if db.session.query(Region).count() == 0:
        make_world()
    token = login(client, Role.CLP_ADMIN)
    response = client.get("/api/v1/electors", query_string=params, headers=bearer(token))
    assert response.status_code in {200, 400, 422}, response.get_data(as_text=True)


def test_an_unknown_api_path_is_a_json_404_whatever_the_method(client):
    for method in ("GET", "POST", "PUT", "DELETE"):
        _is_error(client.open("/api/v1/nothing-here", method=method), 404, "not_found")
