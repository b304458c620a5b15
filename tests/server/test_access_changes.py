"""A CLP's access is never withdrawn silently: a suspension is announced when it is scheduled, records made
before it count whenever they arrive, records made after it wait for review, and phones keep their work.

Time moves by moving the changes into the past (``days_pass``): the records carry their own times, and the
server's clock stays real, as it is for the sync engine.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    AccessChange,
    AssignmentKind,
    AuditEvent,
    ContactRecord,
    Notice,
    ReviewItem,
    Role,
    Suppression,
    SyncReceipt,
    User,
)
from server.services import accounts
from tests.factories import PASSWORD, assign, bearer, login, make_world
from tests.server.phone import HttpPhone

CLP_PEOPLE = (Role.CANVASSER, Role.PHONE_BANKER, Role.CLP_ADMIN, Role.MEMBERSHIP_SECRETARY)


@pytest.fixture
def world(app):
    world = make_world()
    accounts.create_user(email="south@example.test", name="South Officer", password=PASSWORD,
                         role=Role.REGIONAL_STAFF, region_code=world.south.code)
    return world


def now() -> datetime:
    return datetime.now(timezone.utc)


def days_pass(days: float) -> None:
    """As if ``days`` went by: every access change moves that far into the past."""
    by = timedelta(days=days)
    for row in db.session.scalars(select(AccessChange)):
        row.effective_at, row.created_at = row.effective_at - by, row.created_at - by
        if row.cancelled_at is not None:
            row.cancelled_at -= by
    db.session.commit()


def change(client, token, **body):
    return client.post("/api/v1/access-changes", json=body, headers=bearer(token))


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["code"] == code, body
    return body


def actions(prefix: str) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.startswith(prefix))
                                   .order_by(AuditEvent.id)))


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def statuses(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["status"] for r in response.get_json()["results"]]


def test_a_suspension_from_friday_is_announced_and_only_what_is_made_after_it_waits_for_review(client, world):
    regional = login(client, Role.REGIONAL_STAFF)
    phone = HttpPhone(client, Role.CANVASSER)
    assert phone.pull().status_code == 200
    ava, ben = world.home.electors[:2]

    # Monday: the region schedules a suspension from Friday, with its reason.
    friday = now() + timedelta(days=4)
    reason = "Data protection training not completed"
    made = change(client, regional, constituency_id=world.home.constituency.id, kind="suspend",
                  effective_at=friday.isoformat(), reason=reason)
    assert made.status_code == 201, made.get_json()
    scheduled = made.get_json()
    assert (scheduled["status"], scheduled["kind"], scheduled["reason"]) == ("scheduled", "suspend", reason)
    assert actions("access.") == ["access.schedule"]

    # The volunteers see the warning from now on, and every account of the CLP has a notice.
    mine = client.get("/api/v1/access-changes/mine", headers=bearer(phone.token)).get_json()
    assert mine["access"] == "normal" and mine["constituency_name"] == "Ashford North"
    [warning] = mine["changes"]
    assert (warning["kind"], warning["reason"], warning["created_by_role"]) == ("suspend", reason, "regional_staff")
    assert datetime.fromisoformat(warning["effective_at"]) == friday
    notices = db.session.scalars(select(Notice).where(Notice.key == f"access:{scheduled['id']}")).all()
    assert {n.user_id for n in notices} == {world.users[r].id for r in CLP_PEOPLE}
    assert all(n.kind == "access_change" and n.link == "#/account" for n in notices)
    assert notices[0].text.startswith("Ashford North's access to Groundwork will be suspended from ")
    assert notices[0].text.endswith(f": {reason}")
    # Until Friday everything works as before.
    assert client.get("/api/v1/campaigns", headers=bearer(phone.token)).status_code == 200

    # Saturday. A record made on Thursday and one made on Saturday arrive together.
    days_pass(5)
    thursday_record = phone.contact(world, ava, "SPOKE", "LAB", at=now() - timedelta(days=2))
    saturday_record = phone.contact(world, ben, "SPOKE", "UND", at=now() - timedelta(minutes=5))
    assert statuses(phone.push([thursday_record, saturday_record])) == ["applied", "held"]
    assert db.session.scalar(select(ContactRecord.id)) == uuid.UUID(thursday_record["id"])
    receipt = db.session.get(SyncReceipt, uuid.UUID(saturday_record["id"]))
    assert receipt.details == {"reason": "access_suspended"}
    [held] = db.session.scalars(select(ReviewItem).where(ReviewItem.kind == "held_delivery")).all()
    assert [m["id"] for m in held.data["mutations"]] == [saturday_record["id"]]
    assert held.data["suspended"] is True

    # Sync still works and nothing is wiped; every other call says why it is refused.
    pulled = phone.pull()
    assert pulled.status_code == 200 and pulled.get_json()["wipe"] is False
    for role, path in ((Role.CANVASSER, "/api/v1/campaigns"), (Role.CLP_ADMIN, "/api/v1/review-items"),
                       (Role.CLP_ADMIN, "/api/v1/volunteers"), (Role.MEMBERSHIP_SECRETARY, "/api/v1/regions")):
        token = phone.token if role == Role.CANVASSER else login(client, role)  # signing in still works
        refused = error(client.get(path, headers=bearer(token)), 403, "access_suspended")
        assert refused["details"]["reason"] == reason
        assert datetime.fromisoformat(refused["details"]["since"]) < now()
    # Their own account, notices and the CLP's announcements keep working.
    assert client.get("/api/v1/me", headers=bearer(phone.token)).status_code == 200
    assert client.get("/api/v1/notices", headers=bearer(phone.token)).status_code == 200
    mine = client.get("/api/v1/access-changes/mine", headers=bearer(phone.token)).get_json()
    assert (mine["access"], mine["reason"], mine["changes"][0]["status"]) == ("suspended", reason, "in_effect")

    # The region restores access: at once, audited, and everything works again.
    restored = change(client, regional, constituency_id=world.home.constituency.id, kind="restore",
                      reason="Training completed")
    assert restored.status_code == 201 and restored.get_json()["status"] == "in_effect"
    assert actions("access.") == ["access.schedule", "access.restore"]
    assert client.get("/api/v1/campaigns", headers=bearer(phone.token)).status_code == 200
    mine = client.get("/api/v1/access-changes/mine", headers=bearer(phone.token)).get_json()
    assert mine["access"] == "normal" and mine["changes"][0]["kind"] == "restore"

    # The CLP admin now decides what was held, told it was made during the suspension (not after access
    # ended): the Saturday record is accepted and counts.
    admin = login(client, Role.CLP_ADMIN)
    queue = client.get("/api/v1/review-items", headers=bearer(admin)).get_json()["items"]
    assert next(i for i in queue if i["id"] == held.id)["described"]["suspended"] is True
    resolved = client.post(f"/api/v1/review-items/{held.id}/resolve", json={"choice": "accept"},
                           headers=bearer(admin))
    assert resolved.status_code == 200, resolved.get_json()
    assert count(ContactRecord) == 2


def test_while_suspended_a_phone_is_sent_removals_but_nothing_new_and_catches_up_after(client, world):
    regional = login(client, Role.REGIONAL_STAFF)
    phone = HttpPhone(client, Role.CANVASSER)
    assert phone.pull().get_json()["changes"]
    ava = world.home.electors[0]
    held_before = set(phone.local)
    assert ("elector", ava.id) in held_before
    change(client, regional, constituency_id=world.home.constituency.id, kind="suspend", reason="Unpaid levy")

    # A new list for the canvasser, and an objection from someone on the old one.
    assign(world, Role.CANVASSER, AssignmentKind.WALK, property=world.home.properties[1])
    db.session.add(Suppression(constituency_id=ava.constituency_id, elector_id=ava.id, kind="do_not_contact",
                               reason="Wrote in", source="letter"))
    db.session.commit()
    body = phone.pull().get_json()
    assert body["wipe"] is False and body["reset_required"] is False
    assert {(c["entity"], c["op"]) for c in body["changes"]} == {("elector", "delete")}
    assert ("elector", ava.id) not in phone.local, "an objection reaches the phone even while suspended"
    assert ("property", world.home.properties[1].id) not in phone.local, "nothing new is sent"

    change(client, regional, constituency_id=world.home.constituency.id, kind="restore", reason="Levy paid")
    while phone.pull().get_json()["has_more"]:
        pass
    assert ("property", world.home.properties[1].id) in phone.local, "after the restore it catches up"


def test_an_immediate_suspension_is_shown_to_the_clp_admin_at_once_with_its_reason(client, world):
    national = login(client, Role.NATIONAL_ADMIN)
    admin = login(client, Role.CLP_ADMIN)
    reason = "Register data shared outside the party: under investigation"
    made = change(client, national, constituency_id=world.home.constituency.id, kind="suspend", reason=reason)
    assert made.status_code == 201 and made.get_json()["status"] == "in_effect"
    assert actions("access.") == ["access.suspend_now"]
    refused = error(client.get("/api/v1/volunteers", headers=bearer(admin)), 403, "access_suspended")
    assert refused["details"]["reason"] == reason
    mine = client.get("/api/v1/access-changes/mine", headers=bearer(admin)).get_json()
    assert (mine["access"], mine["reason"]) == ("suspended", reason)
    assert mine["changes"][0]["created_by_role"] == "national_admin"
    notice = db.session.scalar(select(Notice).where(Notice.user_id == world.users[Role.CLP_ADMIN].id))
    assert notice.text.startswith("Ashford North's access to Groundwork is suspended from ")
    # Only the people of that CLP are affected: the neighbour's and the region's work goes on.
    assert client.get("/api/v1/volunteers", headers=bearer(national)).status_code == 200
    regional = login(client, Role.REGIONAL_STAFF)
    assert client.get("/api/v1/devices", headers=bearer(regional)).status_code == 200
    mine = client.get("/api/v1/access-changes/mine", headers=bearer(regional)).get_json()
    assert (mine["access"], mine["changes"], mine["constituency_id"]) == ("normal", [], None)
    # Logging out still works, and a suspended admin cannot revoke their volunteers' phones.
    phone = HttpPhone(client, Role.CANVASSER)
    revoke = client.post(f"/api/v1/devices/{phone.device_id}/revoke", headers=bearer(admin))
    assert revoke.status_code == 404
    assert client.post("/api/v1/auth/logout", headers=bearer(admin)).status_code == 204


def test_only_regional_staff_of_the_clps_region_and_national_admins_change_its_access(client, world):
    home = world.home.constituency.id
    body = {"constituency_id": home, "kind": "suspend", "reason": "Levy unpaid"}
    error(change(client, login(client, Role.CLP_ADMIN), **body), 403, "forbidden")
    error(client.get("/api/v1/access-changes", headers=bearer(login(client, Role.CANVASSER))), 403, "forbidden")
    south = login(client, "south@example.test")
    error(change(client, south, **body), 404, "not_found")
    regional = login(client, Role.REGIONAL_STAFF)
    error(change(client, regional, **{**body, "constituency_id": world.away.constituency.id}), 404, "not_found")
    made = change(client, regional, **{**body, "effective_at": (now() + timedelta(days=7)).isoformat()}).get_json()
    assert client.get("/api/v1/access-changes", headers=bearer(south)).get_json()["items"] == []
    error(client.post(f"/api/v1/access-changes/{made['id']}/cancel", json={"reason": "x"}, headers=bearer(south)),
          404, "not_found")
    assert count(Notice) == len(CLP_PEOPLE), "refused attempts tell nobody anything"


def test_a_scheduled_suspension_can_be_called_off_until_it_takes_effect(client, world):
    regional = login(client, Role.REGIONAL_STAFF)
    home = world.home.constituency.id
    later = (now() + timedelta(days=3)).isoformat()
    first = change(client, regional, constituency_id=home, kind="suspend", effective_at=later, reason="Levy").get_json()
    cancelled = client.post(f"/api/v1/access-changes/{first['id']}/cancel", json={"reason": "Levy paid"},
                            headers=bearer(regional))
    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["cancel_reason"]) == ("cancelled", "Levy paid")
    canvasser = login(client, Role.CANVASSER)
    assert client.get("/api/v1/access-changes/mine", headers=bearer(canvasser)).get_json()["changes"] == []
    told = db.session.scalar(select(Notice.text).where(Notice.key == f"access:{first['id']}:cancelled",
                                                       Notice.user_id == world.users[Role.CANVASSER].id))
    assert told.startswith("The suspension of Ashford North's access planned from ") and told.endswith("Levy paid")
    error(client.post(f"/api/v1/access-changes/{first['id']}/cancel", json={"reason": "again"},
                      headers=bearer(regional)), 409, "conflict")

    second = change(client, regional, constituency_id=home, kind="suspend", effective_at=later,
                    reason="Levy, again").get_json()
    days_pass(4)
    late = error(client.post(f"/api/v1/access-changes/{second['id']}/cancel", json={"reason": "Paid"},
                             headers=bearer(regional)), 409, "conflict")
    assert "restore" in late["message"]
    assert actions("access.") == ["access.schedule", "access.cancel", "access.schedule"]
    listed = client.get(f"/api/v1/access-changes?constituency_id={home}", headers=bearer(regional)).get_json()
    assert [(c["id"], c["status"]) for c in listed["items"]] == [(second["id"], "in_effect"),
                                                                 (first["id"], "cancelled")]
    [clp] = listed["clps"]
    assert (clp["constituency_name"], clp["access"], clp["reason"]) == ("Ashford North", "suspended", "Levy, again")


def test_bad_changes_are_refused_with_the_field_named(client, world):
    regional = login(client, Role.REGIONAL_STAFF)
    home = world.home.constituency.id
    cases = [
        ({"kind": "suspend", "reason": "   "}, "reason"),
        ({"kind": "suspend", "reason": "Levy", "effective_at": (now() - timedelta(hours=1)).isoformat()},
         "effective_at"),
        ({"kind": "restore", "reason": "Paid", "effective_at": (now() + timedelta(days=1)).isoformat()},
         "effective_at"),
        ({"kind": "pause", "reason": "Levy"}, "kind"),
        ({"reason": "Levy"}, "kind"),
        ({"kind": "suspend"}, "reason"),
    ]
    for body, field in cases:
        refused = error(change(client, regional, constituency_id=home, **body), 422, "validation_failed")
        assert field in refused["details"], (body, refused)
    error(change(client, regional, constituency_id=home, kind="restore", reason="Nothing to restore"), 409,
          "conflict")
    soon = (now() + timedelta(days=2)).isoformat()
    assert change(client, regional, constituency_id=home, kind="suspend", effective_at=soon,
                  reason="Levy").status_code == 201
    twice = error(change(client, regional, constituency_id=home, kind="suspend", reason="Levy"), 409, "conflict")
    assert "already scheduled" in twice["message"]
    assert count(AccessChange) == 1


def test_regional_staff_see_which_clps_are_suspended_in_their_region(client, world):
    regional, national = login(client, Role.REGIONAL_STAFF), login(client, Role.NATIONAL_ADMIN)
    change(client, regional, constituency_id=world.home.constituency.id, kind="suspend", reason="Levy")
    change(client, regional, constituency_id=world.neighbour.constituency.id, kind="suspend", reason="Audit",
           effective_at=(now() + timedelta(days=9)).isoformat())
    change(client, national, constituency_id=world.away.constituency.id, kind="suspend", reason="Elsewhere")
    listed = client.get("/api/v1/access-changes", headers=bearer(regional)).get_json()
    assert listed["total"] == 2
    states = {c["constituency_name"]: (c["access"], c["upcoming"] and c["upcoming"]["reason"]) for c in listed["clps"]}
    assert states == {"Ashford North": ("suspended", None), "Bramley": ("normal", "Audit")}
    assert client.get("/api/v1/access-changes", headers=bearer(national)).get_json()["total"] == 3
    # A regional officer's own account is not a CLP's: their devices keep working, whatever happens.
    assert db.session.scalar(select(User.constituency_id).where(User.role == Role.REGIONAL_STAFF)) is None
