"""Logging in and out: a named device gets a token that is hashed at rest, expires, and can be revoked."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, Device, Role
from server.orm import utcnow
from tests.factories import PASSWORD, bearer, login, make_world


def test_a_volunteer_logs_in_on_their_phone_and_sees_who_they_are(client):
    world = make_world()
    response = client.post("/api/v1/auth/login", json={
        "email": "  Canvasser@Example.TEST ", "password": PASSWORD, "device_name": "Sam's phone"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"].startswith("gw1_")
    assert body["device"]["name"] == "Sam's phone"
    assert body["user"]["role"] == "canvasser"
    assert body["user"]["scope"] == {"kind": "constituency", "region_id": world.north.id,
                                     "constituency_id": world.home.constituency.id}
    me = client.get("/api/v1/me", headers=bearer(body["token"])).get_json()
    assert me["email"] == "canvasser@example.test"
    assert "electors:read" in me["permissions"]


def test_the_token_is_stored_only_as_a_hash(client):
    make_world()
    token = login(client, Role.CANVASSER)
    stored = db.session.scalars(select(Device.token_hash)).all()
    assert token not in stored
    assert all(len(h) == 64 for h in stored)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    make_world()
    wrong_password = client.post("/api/v1/auth/login", json={
        "email": "canvasser@example.test", "password": "nope", "device_name": "x"})
    unknown_email = client.post("/api/v1/auth/login", json={
        "email": "nobody@example.test", "password": "nope", "device_name": "x"})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")) is not None


def test_logout_revokes_the_token_for_good(client):
    make_world()
    token = login(client, Role.CANVASSER)
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    again = client.get("/api/v1/me", headers=bearer(token))
    assert again.status_code == 401
    assert again.get_json()["error"]["code"] == "device_revoked"


def test_an_expired_token_asks_the_volunteer_to_log_in_again(client):
    make_world()
    token = login(client, Role.CANVASSER)
    for device in db.session.scalars(select(Device)):
        device.token_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_expired"


def test_a_clp_admin_signs_out_a_lost_phone_in_their_clp(client):
    world = make_world()
    volunteer = login(client, Role.CANVASSER, device_name="Lost phone")
    admin = login(client, Role.CLP_ADMIN)
    lost = next(d for d in client.get("/api/v1/devices", headers=bearer(admin)).get_json() if d["name"] == "Lost phone")
    response = client.post(f"/api/v1/devices/{lost['id']}/revoke", json={"reason": "lost"}, headers=bearer(admin))
    assert response.status_code == 200
    assert response.get_json()["revoked_reason"] == "lost"
    assert client.get("/api/v1/me", headers=bearer(volunteer)).get_json()["error"]["code"] == "device_revoked"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "device.revoke"))
    assert event.actor_user_id == world.users[Role.CLP_ADMIN].id
    assert event.constituency_id == world.home.constituency.id


def test_an_admin_cannot_revoke_a_device_outside_their_clp(client):
    from server.services import accounts

    world = make_world()
    accounts.create_user(email="far@example.test", name="Far Away", password=PASSWORD, role=Role.CANVASSER,
                         constituency_code=world.away.constituency.code)
    login(client, "far@example.test", device_name="Far phone")
    far_device = db.session.scalar(select(Device).where(Device.name == "Far phone"))
    admin = login(client, Role.CLP_ADMIN)
    response = client.post(f"/api/v1/devices/{far_device.id}/revoke", headers=bearer(admin))
    assert response.status_code == 404
    db.session.refresh(far_device)
    assert far_device.revoked_at is None


def test_a_volunteer_cannot_revoke_someone_elses_device(client):
    make_world()
    login(client, Role.PHONE_BANKER, device_name="Phone banker's laptop")
    other = db.session.scalar(select(Device).where(Device.name == "Phone banker's laptop"))
    canvasser = login(client, Role.CANVASSER)
    assert client.post(f"/api/v1/devices/{other.id}/revoke", headers=bearer(canvasser)).status_code == 404


def test_repeated_wrong_passwords_are_throttled_with_retry_after(app, client):
    make_world()
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        r = client.post("/api/v1/auth/login", json={"email": "canvasser@example.test", "password": "guess",
                                                    "device_name": "x"})
        assert r.status_code == 401
    blocked = client.post("/api/v1/auth/login", json={"email": "canvasser@example.test", "password": PASSWORD,
                                                      "device_name": "x"})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.get_json()["error"]["details"]["retry_after_seconds"] > 0
    # Another volunteer at the same address is not locked out by someone else's typos.
    assert client.post("/api/v1/auth/login", json={"email": "clp_admin@example.test", "password": PASSWORD,
                                                   "device_name": "x"}).status_code == 201


def test_a_deactivated_volunteer_cannot_log_in_and_their_devices_are_signed_out(client):
    from server.services import accounts

    make_world()
    token = login(client, Role.CANVASSER)
    accounts.deactivate_user("canvasser@example.test")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    response = client.post("/api/v1/auth/login", json={"email": "canvasser@example.test", "password": PASSWORD,
                                                       "device_name": "x"})
    assert response.status_code == 401
    assert "disabled" in response.get_json()["error"]["message"]


def test_a_malformed_authorization_header_is_a_clear_401(client):
    for header in ("", "Bearer", "Basic abc", "Bearer    ", "Bearer gw1_notarealtoken"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "not_authenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
