"""A CLP admin looks after the CLP's volunteers and its do-not-contact list.

A new volunteer gets a one-time password to be handed over in person; a volunteer who leaves has their
access ended with the hardening issue's choice (their phones may still deliver, held for review, or are
lost and wipe themselves). An objection that arrives by letter takes the person off every phone at its
next sync, and lifting it when they change their mind brings them back.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEvent, Device, Suppression, SuppressionKind, User, Role
from tests.factories import bearer, login, make_world
from tests.server.phone import HttpPhone


@pytest.fixture
def world(app):
    return make_world()


def _admin(client, role=Role.CLP_ADMIN):
    return bearer(login(client, role, device_name="Office laptop"))


def _sync(phone) -> None:
    while phone.pull().get_json()["has_more"]:
        pass


def test_a_new_volunteer_signs_in_with_the_password_shown_once(client, world):
    admin = _admin(client)
    made = client.post("/api/v1/volunteers", headers=admin, json={
        "email": "  Dee.Volunteer@Example.test ", "name": "Dee Volunteer", "role": "canvasser"})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    volunteer, password = body["volunteer"], body["password"]
    assert volunteer["email"] == "dee.volunteer@example.test" and volunteer["active"] is True
    assert volunteer["constituency_id"] == world.home.constituency.id and volunteer["devices"] == 0
    assert password not in str(db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "user.create")))
    assert login(client, "dee.volunteer@example.test", password=password)

    listed = client.get("/api/v1/volunteers", headers=admin).get_json()
    dee = next(v for v in listed if v["email"] == "dee.volunteer@example.test")
    assert dee["devices"] == 1 and "password" not in dee

    twice = client.post("/api/v1/volunteers", headers=admin, json={
        "email": "dee.volunteer@example.test", "name": "Dee again", "role": "canvasser"})
    assert twice.status_code == 409
    promoted = client.post("/api/v1/volunteers", headers=admin, json={
        "email": "boss@example.test", "name": "Boss", "role": "clp_admin"})
    assert promoted.status_code == 422 and "role" in promoted.get_json()["error"]["details"]

    reset = client.post(f"/api/v1/volunteers/{volunteer['id']}/password", headers=admin)
    assert reset.status_code == 200
    assert login(client, "dee.volunteer@example.test", password=reset.get_json()["password"])
    assert client.post("/api/v1/auth/login", json={"email": "dee.volunteer@example.test", "password": password,
                                                   "device_name": "x"}).status_code == 401


def test_ending_access_signs_out_every_phone_with_the_choice_of_what_they_may_still_deliver(client, world):
    admin = _admin(client)
    canvasser = world.users[Role.CANVASSER]
    phone = HttpPhone(client, Role.CANVASSER)
    _sync(phone)
    ended = client.post(f"/api/v1/volunteers/{canvasser.id}/deactivate", headers=admin, json={})
    assert ended.status_code == 200 and ended.get_json()["active"] is False
    device = db.session.scalar(select(Device).where(Device.user_id == canvasser.id))
    assert device.revoked_reason == "user_deactivated"
    held = phone.push([phone.contact(world, world.home.electors[0], "NH")])
    assert held.get_json()["results"][0]["status"] == "held", "what the phone holds is held for review"

    lost = client.post(f"/api/v1/volunteers/{canvasser.id}/deactivate", headers=admin, json={"phones_lost": True})
    assert lost.status_code == 200
    db.session.expire_all()
    assert db.session.get(Device, device.id).revoked_reason == "lost"
    assert phone.pull().get_json()["wipe"] is True

    back = client.post(f"/api/v1/volunteers/{canvasser.id}/reactivate", headers=admin)
    assert back.status_code == 200 and back.get_json()["active"] is True
    assert login(client, Role.CANVASSER), "they sign in afresh"
    assert client.post(f"/api/v1/volunteers/{world.users[Role.CLP_ADMIN].id}/deactivate", headers=admin,
                       json={}).status_code == 409, "not oneself"
    other = client.post(f"/api/v1/volunteers/{world.users[Role.REGIONAL_STAFF].id}/deactivate", headers=admin)
    assert other.status_code == 404, "regional staff are not a CLP's volunteers"


def test_an_objection_by_letter_takes_the_person_off_every_phone_and_lifting_it_brings_them_back(client, world):
    admin = _admin(client)
    ava = world.home.electors[0]
    phone = HttpPhone(client, Role.CANVASSER)
    _sync(phone)
    assert ("elector", ava.id) in phone.local

    recorded = client.post("/api/v1/suppressions", headers=admin, json={
        "elector_id": ava.id, "received_by": "letter", "reason": "Letter of 3 March: no canvassing, please"})
    assert recorded.status_code == 201, recorded.get_json()
    objection = recorded.get_json()
    assert (objection["name"], objection["channel"], objection["created_by"]) == (
        "Ava Ashfordson", "all", "Clp Admin")
    again = client.post("/api/v1/suppressions", headers=admin, json={
        "elector_id": ava.id, "received_by": "email", "channel": "phone", "reason": "Also emailed"})
    assert again.status_code == 200 and again.get_json()["id"] == objection["id"], "one objection, one row"
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 1

    _sync(phone)
    assert ("elector", ava.id) not in phone.local
    assert phone.push([phone.contact(world, ava, "SPOKE")]).get_json()["results"][0]["status"] == "suppressed"

    listed = client.get("/api/v1/suppressions?name=ava", headers=admin).get_json()
    assert listed["total"] == 1 and listed["items"][0]["address"]
    lifted = client.post(f"/api/v1/suppressions/{objection['id']}/lift", headers=admin,
                         json={"reason": "Rang on 5 April asking to hear from us again"})
    assert lifted.status_code == 200 and lifted.get_json()["lifted_by"] == "Clp Admin"
    _sync(phone)
    assert ("elector", ava.id) in phone.local
    assert client.get("/api/v1/suppressions", headers=admin).get_json()["total"] == 0
    assert client.get("/api/v1/suppressions?active=false", headers=admin).get_json()["total"] == 1
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "suppression")
                                      .order_by(AuditEvent.id)))
    assert actions == ["suppression.create", "suppression.lift"]


def test_do_not_contact_stays_inside_the_clp_and_an_erasure_is_for_good(client, world):
    admin = _admin(client)
    theirs = client.post("/api/v1/suppressions", headers=admin, json={
        "elector_id": world.neighbour.electors[0].id, "received_by": "letter", "reason": "x"})
    assert theirs.status_code == 422 and "elector_id" in theirs.get_json()["error"]["details"]
    erasure = Suppression(constituency_id=world.home.constituency.id, elector_id=world.home.electors[1].id,
                          kind=SuppressionKind.ERASURE, reason="Art. 17 request", source="elector_request")
    db.session.add(erasure)
    db.session.commit()
    refused = client.post(f"/api/v1/suppressions/{erasure.id}/lift", headers=admin, json={"reason": "oops"})
    assert refused.status_code == 409
    unsaid = client.post("/api/v1/suppressions", headers=admin, json={
        "elector_id": world.home.electors[0].id, "received_by": "pigeon", "reason": ""})
    assert unsaid.status_code == 422
    assert set(unsaid.get_json()["error"]["details"]) == {"received_by", "reason"}
    assert client.get("/api/v1/suppressions", headers=bearer(login(client, Role.CANVASSER))).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(False))) == 0
