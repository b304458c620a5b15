"""A regional officer makes a volunteer the CLP's membership secretary until a date: they can read members at
once, are told a week before it ends, and lose it by themselves when it does. Every grant and lapse is audited.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.auth.policy import Permission, principal_for
from server.extensions import db
from server.models import AuditEvent, Notice, Role, RoleGrant, User
from server.services import accounts
from server.services.grants import lapse_and_warn
from tests.factories import PASSWORD, bearer, login, make_world


@pytest.fixture
def world(app):
    world = make_world()
    accounts.create_user(email="south@example.test", name="South Officer", password=PASSWORD,
                         role=Role.REGIONAL_STAFF, region_code=world.south.code)
    accounts.create_user(email="bramley@example.test", name="Bramley Volunteer", password=PASSWORD,
                         role=Role.CANVASSER, constituency_code=world.neighbour.constituency.code)
    return world


def now() -> datetime:
    return datetime.now(timezone.utc)


def grant(client, token, **body):
    return client.post("/api/v1/role-grants", json=body, headers=bearer(token))


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["code"] == code, body
    return body


def audited(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def reads_members(client, token) -> int:
    """GET a members page that needs members:read; its status."""
    return client.get("/api/v1/members/new", headers=bearer(token),
                      query_string={"since": (date.today() - timedelta(days=7)).isoformat(),
                                    "purpose": "Welcoming new members"}).status_code


def test_a_volunteer_granted_the_membership_secretary_role_reads_members_until_it_lapses_by_itself(client, world):
    regional = login(client, Role.REGIONAL_STAFF)
    volunteer = world.users[Role.CANVASSER]
    token = login(client, Role.CANVASSER)
    assert reads_members(client, token) == 403
    ends = now() + timedelta(days=10)
    made = grant(client, regional, user_id=volunteer.id, constituency_id=world.home.constituency.id,
                 role="membership_secretary", ends_at=ends.isoformat(), reason="Covering while Sam is away")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["status"], body["user_name"], body["constituency_name"]) == ("active", "Canvasser", "Ashford North")
    [event] = audited("grants.grant")
    assert (event.details["user_id"], event.details["role"], event.constituency_id) == (
        volunteer.id, "membership_secretary", world.home.constituency.id)

    # At once: the permissions of both roles, in their own CLP only, and the app is told what they hold.
    assert reads_members(client, token) == 200
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert "members:read" in me["permissions"] and "sync" in me["permissions"]
    [held] = me["grants"]
    assert (held["role"], held["constituency_name"]) == ("membership_secretary", "Ashford North")
    assert datetime.fromisoformat(held["ends_at"]) == ends
    principal = principal_for(db.session, db.session.get(User, volunteer.id))
    assert principal.can(Permission.MEMBERS_READ) and principal.constituency_ids == {world.home.constituency.id}

    # A week before the end, the holder is told, once.
    assert lapse_and_warn() == {"lapsed": 0, "warned": 0}
    week_before = ends - timedelta(days=6)
    assert lapse_and_warn(week_before) == {"lapsed": 0, "warned": 1}
    assert lapse_and_warn(week_before + timedelta(days=1)) == {"lapsed": 0, "warned": 0}
    [notice] = db.session.scalars(select(Notice).where(Notice.user_id == volunteer.id)).all()
    assert notice.kind == "grant_ending" and notice.link == "#/account"
    assert notice.text.startswith("Your membership secretary role for Ashford North ends on ")

    # It lapses by itself at its end: no job needed for the effect.
    after = ends + timedelta(minutes=1)
    assert not principal_for(db.session, db.session.get(User, volunteer.id), now=after).can(Permission.MEMBERS_READ)
    db.session.execute(RoleGrant.__table__.update().values(ends_at=now() - timedelta(seconds=1)))
    db.session.commit()
    assert reads_members(client, token) == 403
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["grants"] == []
    # The job records the lapse once, audited.
    assert lapse_and_warn() == {"lapsed": 1, "warned": 0}
    assert lapse_and_warn() == {"lapsed": 0, "warned": 0}
    [lapse] = audited("grants.lapse")
    assert lapse.target_id == str(body["id"]) and lapse.constituency_id == world.home.constituency.id
    listed = client.get("/api/v1/role-grants", headers=bearer(regional)).get_json()
    assert [(g["id"], g["status"]) for g in listed["items"]] == [(body["id"], "ended")]
    assert listed["items"][0]["lapsed_at"] is not None


def test_a_grant_revoked_early_ends_at_once_and_never_lapses(client, world):
    regional = login(client, Role.REGIONAL_STAFF)
    token = login(client, Role.PHONE_BANKER)
    made = grant(client, regional, user_id=world.users[Role.PHONE_BANKER].id,
                 constituency_id=world.home.constituency.id, ends_at=(now() + timedelta(days=3)).isoformat(),
                 reason="Welcome calls this weekend").get_json()
    assert made["role"] == "membership_secretary", "the role granted unless another is named"
    assert reads_members(client, token) == 200
    revoked = client.post(f"/api/v1/role-grants/{made['id']}/revoke", json={"reason": "Sam is back"},
                          headers=bearer(regional))
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert reads_members(client, token) == 403
    assert audited("grants.revoke")[0].details["reason"] == "Sam is back"
    assert lapse_and_warn(now() + timedelta(days=5)) == {"lapsed": 0, "warned": 0}
    again = client.post(f"/api/v1/role-grants/{made['id']}/revoke", headers=bearer(regional))
    assert again.status_code == 200, "revoking twice changes nothing"
    assert len(audited("grants.revoke")) == 1


def test_only_the_clps_own_region_grants_and_only_to_its_own_people(client, world):
    home = world.home.constituency.id
    volunteer = world.users[Role.CANVASSER].id
    body = {"user_id": volunteer, "constituency_id": home, "ends_at": (now() + timedelta(days=30)).isoformat(),
            "reason": "Cover"}
    error(grant(client, login(client, "south@example.test"), **body), 404, "not_found")
    error(grant(client, login(client, Role.CLP_ADMIN), **body), 403, "forbidden")
    regional = login(client, Role.REGIONAL_STAFF)
    bramley = db.session.scalar(select(User.id).where(User.email == "bramley@example.test"))
    cases = [
        ({"user_id": bramley}, "user_id"),  # an account of another CLP (in the same region)
        ({"ends_at": (now() - timedelta(days=1)).isoformat()}, "ends_at"),
        ({"ends_at": (now() + timedelta(days=400)).isoformat()}, "ends_at"),
        ({"role": "regional_staff"}, "role"),
        ({"role": "canvasser"}, "role"),  # what they already are
        ({"reason": "  "}, "reason"),
    ]
    for change, field in cases:
        refused = error(grant(client, regional, **{**body, **change}), 422, "validation_failed")
        assert field in refused["details"], (change, refused)
    regional_user = world.users[Role.REGIONAL_STAFF].id
    error(grant(client, regional, **{**body, "user_id": regional_user}), 404, "not_found")
    no_person = {k: v for k, v in body.items() if k != "user_id"}
    assert "email" in error(grant(client, regional, **no_person), 422, "validation_failed")["details"]
    error(grant(client, regional, **no_person, email="nobody@example.test"), 404, "not_found")
    # The regional officer may know the person by their login email rather than an id.
    made = grant(client, regional, **no_person, email="  Canvasser@Example.test ").get_json()
    assert made["user_id"] == volunteer
    error(grant(client, regional, **body), 409, "conflict")
    south = login(client, "south@example.test")
    assert client.get("/api/v1/role-grants", headers=bearer(south)).get_json()["items"] == []
    error(client.post(f"/api/v1/role-grants/{made['id']}/revoke", headers=bearer(south)), 404, "not_found")
    assert db.session.scalar(select(func.count()).select_from(RoleGrant)) == 1
    assert len(audited("grants.grant")) == 1, "refusals grant nothing and audit nothing"


def test_a_grant_adds_nothing_while_the_clp_is_suspended(client, world):
    regional = login(client, Role.REGIONAL_STAFF)
    token = login(client, Role.CANVASSER)
    grant(client, regional, user_id=world.users[Role.CANVASSER].id, constituency_id=world.home.constituency.id,
          ends_at=(now() + timedelta(days=30)).isoformat(), reason="Cover")
    assert client.post("/api/v1/access-changes", headers=bearer(regional), json={
        "constituency_id": world.home.constituency.id, "kind": "suspend", "reason": "Levy"}).status_code == 201
    error(client.get("/api/v1/members/new", headers=bearer(token),
                     query_string={"since": date.today().isoformat(), "purpose": "Welcome"}), 403, "access_suspended")
