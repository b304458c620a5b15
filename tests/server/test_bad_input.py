"""No input gives a 500: numbers past a column's range, text no database can hold, JSON nested to exhaust a
parser, and bodies past the limit, whatever their framing, each get a 4xx in the one error shape.

They are refused where requests are read (server.transport) and where schemas load them (server.schemas),
never by checks scattered through views, so every route inherits them.
"""
from __future__ import annotations

import io
import json

import pytest

from server.models import Role
from tests.factories import bearer, login, make_world


@pytest.fixture
def admin(client):
    make_world()
    return login(client, Role.NATIONAL_ADMIN)


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]


@pytest.mark.parametrize("path", ["/api/v1/electors/2147483648", "/api/v1/electors/99999999999999999999",
                                  "/api/v1/electors/0", "/api/v1/regions/2147483648",
                                  "/api/v1/campaigns/9223372036854775808", "/api/v1/review-items/2147483648/resolve"])
def test_an_id_no_database_row_can_have_is_a_json_404(client, admin, path):
    method = client.post if path.endswith("resolve") else client.get
    _error(method(path, headers=bearer(admin), json={"choice": "first"}), 404, "not_found")


@pytest.mark.parametrize("query, field", [
    ("page=4611686018427387904", "page"), ("page=2147483648", "page"), ("per_page=100000", "per_page"),
    ("polling_district_id=2147483648", "polling_district_id"), ("polling_district_id=-1", "polling_district_id"),
    ("name=a%00b", "name"), ("street=%ED%A0%80", None), ("postcode=%00%00", "postcode"),
])
def test_query_values_out_of_range_or_unstorable_are_422_with_the_field(client, admin, query, field):
    response = client.get(f"/api/v1/electors?{query}", headers=bearer(admin))
    if field is None:  # bytes that are not UTF-8 are decoded with replacement characters: a harmless search
        assert response.status_code == 200
        return
    error = _error(response, 422, "validation_failed")
    assert field in error["details"]


@pytest.mark.parametrize("path, query, field", [
    ("/api/v1/constituencies", "region_id=2147483648", "region_id"),
    ("/api/v1/wards", "constituency_id=99999999999", "constituency_id"),
    ("/api/v1/polling-districts", "ward_id=2147483648", "ward_id"),
    ("/api/v1/audit-events", "actor_user_id=2147483648&action=a%00", "actor_user_id"),
    ("/api/v1/devices", "user_id=2147483648", "user_id"),
    ("/api/v1/review-items", "page=2147483648", "page"),
])
def test_every_filter_is_bounded(client, admin, path, query, field):
    assert field in _error(client.get(f"{path}?{query}", headers=bearer(admin)), 422, "validation_failed")["details"]


@pytest.mark.parametrize("field, value", [("email", "sam\x00@example.test"), ("email", "sam\ud800@example.test"),
                                          ("device_name", "phone\x00"), ("device_name", "\udfff"),
                                          ("password", "pass\ud800word")])
def test_login_text_no_database_can_hold_is_422(client, field, value):
    body = {"email": "sam@example.test", "password": "correct horse", "device_name": "Sam's phone", field: value}
    error = _error(client.post("/api/v1/auth/login", data=json.dumps(body), content_type="application/json"),
                   422, "validation_failed")
    assert field in error["details"]


def test_json_nested_five_thousand_deep_is_a_400(client):
    deep = '{"email": ' + "[" * 5000 + "]" * 5000 + "}"
    error = _error(client.post("/api/v1/auth/login", data=deep, content_type="application/json"), 400, "bad_request")
    assert error["details"] == {"max_depth": 32}


@pytest.mark.parametrize("body", ['{"email": NaN}', '{"email": Infinity}', '{"email": "\\ud800', '\xff\xfe'])
def test_json_that_is_not_standard_json_is_a_400(client, body):
    _error(client.post("/api/v1/auth/login", data=body, content_type="application/json"), 400, "bad_request")


def test_a_body_over_the_limit_is_413_with_the_limit_whatever_its_framing(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    big = json.dumps({"email": "x" * 2000, "password": "p", "device_name": "d"}).encode()
    error = _error(client.post("/api/v1/auth/login", data=big, content_type="application/json"), 413,
                   "payload_too_large")
    assert error["details"] == {"max_bytes": 1000}
    # Chunked: no Content-Length, the server terminates the stream (as gunicorn does).
    chunked = client.post("/api/v1/auth/login", input_stream=io.BytesIO(big), content_type="application/json",
                          headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert _error(chunked, 413, "payload_too_large")["details"] == {"max_bytes": 1000}


def test_a_push_over_its_own_limit_is_413_however_it_is_framed(app, client):
    make_world()
    token = login(client, Role.CANVASSER)
    app.config["SYNC_MAX_PUSH_BYTES"] = 500
    body = json.dumps({"mutations": [], "padding": "x" * 1000}).encode()
    for kwargs in ({"data": body}, {"input_stream": io.BytesIO(body), "headers": {"Transfer-Encoding": "chunked"},
                                    "environ_overrides": {"wsgi.input_terminated": True}}):
        headers = {**bearer(token), **kwargs.pop("headers", {})}
        response = client.post("/api/v1/sync/push", content_type="application/json", headers=headers, **kwargs)
        assert _error(response, 413, "payload_too_large")["details"] == {"max_push_bytes": 500}


def test_api_answers_are_never_cached_sniffed_framed_or_referred(client, admin):
    for response in (client.get("/api/v1/me", headers=bearer(admin)), client.get("/api/v1/nowhere"),
                     client.get("/api/v1/electors"), client.post("/api/v1/auth/login", data="{")):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    page = client.get("/")
    assert "no-store" not in page.headers.get("Cache-Control", ""), "the app's own files keep their caching"
