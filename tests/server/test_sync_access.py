"""Nothing is written without valid access, and the device's own clock never decides what counts.

Three ways access ends, three outcomes: a volunteer who logs out kills their token; a volunteer whose access an
admin withdraws (or whose account is deactivated) may still deliver what their phone holds, held for a CLP
admin to accept or reject; a phone reported lost delivers nothing and is told to wipe.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEvent, ContactRecord, Device, ReviewItem, Role, Suppression, SyncReceipt
from server.services import accounts
from tests.factories import bearer, login, make_world
from tests.server.phone import HttpPhone


@pytest.fixture
def world(app):
    return make_world()


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _statuses(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["status"] for r in response.get_json()["results"]]


def test_after_logout_the_token_is_dead_for_everything_push_included(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    assert client.post("/api/v1/auth/logout", headers=bearer(phone.token)).status_code == 204
    for response in (phone.push([phone.contact(world, world.home.electors[0], "NH")]), phone.pull()):
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "device_revoked"
    assert _count(ContactRecord) == 0


def test_a_volunteer_cut_off_by_an_admin_delivers_everything_held_and_the_admin_decides(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    phone.pull()
    ava, ben = world.home.electors[:2]
    admin = login(client, Role.CLP_ADMIN)
    assert client.post(f"/api/v1/devices/{phone.device_id}/revoke", headers=bearer(admin)).get_json()[
        "revoked_reason"] == "access_withdrawn"
    long_ago = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat()
    batch = [phone.contact(world, ava, "SPOKE", "LAB", at=datetime.now(timezone.utc) - timedelta(days=30)),
             phone.update(ben, {"do_not_contact": True}),
             phone.contact(world, world.home.electors[2], "NH")]  # not on this canvasser's list
    batch[1]["occurred_at"] = long_ago  # backdated: the device's clock must not decide
    assert _statuses(phone.push(batch)) == ["held", "held", "forbidden"]
    assert _count(ContactRecord) == 0 and _count(Suppression) == 0, "nothing is applied directly"
    assert phone.pull().get_json()["wipe"] is True

    queue = client.get("/api/v1/review-items?kind=held_delivery", headers=bearer(admin)).get_json()
    assert queue["total"] == 1, "one review item for the batch"
    item = queue["items"][0]
    assert [m["id"] for m in item["data"]["mutations"]] == [batch[0]["id"], batch[1]["id"]]
    assert item["data"]["user_id"] == world.users[Role.CANVASSER].id

    # One by one: accept the canvass record, then reject the objection.
    accepted = client.post(f"/api/v1/review-items/{item['id']}/resolve", headers=bearer(admin),
                           json={"choice": "accept", "mutation_ids": [batch[0]["id"]]})
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "open", "one record is still to decide"
    record = db.session.scalar(select(ContactRecord))
    assert (record.id, record.user_id, record.intention) == (uuid.UUID(batch[0]["id"]),
                                                             world.users[Role.CANVASSER].id, "LAB")
    again = client.post(f"/api/v1/review-items/{item['id']}/resolve", headers=bearer(admin),
                        json={"choice": "accept", "mutation_ids": [batch[0]["id"]]})
    assert again.status_code == 422 and "already decided" in str(again.get_json()["error"]["details"])
    rejected = client.post(f"/api/v1/review-items/{item['id']}/resolve", headers=bearer(admin),
                           json={"choice": "reject", "note": "Checked with Ben: not his wish"})
    assert rejected.get_json()["status"] == "resolved"
    assert rejected.get_json()["resolution"]["decisions"] == {batch[0]["id"]: "applied", batch[1]["id"]: "rejected"}
    assert _count(Suppression) == 0 and _count(ContactRecord) == 1
    kept = rejected.get_json()["data"]["mutations"][1]
    assert kept["data"] == {"elector_id": ben.id}, "a decided record keeps what it was about, not what it said"
    receipts = {str(r.mutation_id): r.status for r in db.session.scalars(select(SyncReceipt))}
    assert receipts[batch[0]["id"]] == "applied" and receipts[batch[1]["id"]] == "forbidden"
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review.resolve"))]
    assert actions == ["review.resolve", "review.resolve"], "every decision is audited"


def test_a_deactivated_volunteer_whose_token_has_expired_can_still_hand_over_their_work(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    record = phone.contact(world, world.home.electors[0], "SPOKE", "LAB")
    accounts.deactivate_user(f"{Role.CANVASSER.value}@example.test")
    device = db.session.get(Device, uuid.UUID(phone.device_id))
    device.token_expires_at = datetime.now(timezone.utc) - timedelta(days=1)
    db.session.commit()
    assert _statuses(phone.push([record])) == ["held"]
    assert client.get("/api/v1/me", headers=bearer(phone.token)).status_code == 401, "and nothing else"
    admin = login(client, Role.CLP_ADMIN)
    item = client.get("/api/v1/review-items", headers=bearer(admin)).get_json()["items"][0]
    assert client.post(f"/api/v1/review-items/{item['id']}/resolve", json={"choice": "accept"},
                       headers=bearer(admin)).get_json()["status"] == "resolved"
    assert _count(ContactRecord) == 1


def test_a_phone_reported_lost_delivers_nothing_and_is_told_to_wipe(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    phone.pull()
    admin = login(client, Role.CLP_ADMIN)
    response = client.post(f"/api/v1/devices/{phone.device_id}/revoke", json={"reason": "lost"}, headers=bearer(admin))
    assert response.get_json()["revoked_reason"] == "lost"
    pushed = phone.push([phone.contact(world, world.home.electors[0], "SPOKE", "LAB")])
    assert pushed.status_code == 401
    error = pushed.get_json()["error"]
    assert error["code"] == "device_revoked" and error["details"]["wipe"] is True
    assert phone.pull().get_json()["wipe"] is True
    assert _count(ContactRecord) == 0 and _count(ReviewItem) == 0 and _count(SyncReceipt) == 0


def test_a_withdrawn_phone_later_reported_lost_stops_delivering(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    admin = login(client, Role.CLP_ADMIN)
    client.post(f"/api/v1/devices/{phone.device_id}/revoke", headers=bearer(admin))
    client.post(f"/api/v1/devices/{phone.device_id}/revoke", json={"reason": "lost"}, headers=bearer(admin))
    assert phone.push([]).status_code == 401
    bad = client.post(f"/api/v1/devices/{phone.device_id}/revoke", json={"reason": "found"}, headers=bearer(admin))
    assert bad.status_code == 422 and "reason" in bad.get_json()["error"]["details"]


def test_a_canvasser_cannot_write_about_electors_off_their_lists_nor_learn_who_has_objected(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    off_list = world.home.electors[2]  # same CLP, on the phone banker's list only
    db.session.add(Suppression(constituency_id=off_list.constituency_id, elector_id=off_list.id,
                               kind="do_not_contact", reason="Wrote in", source="elector_request"))
    db.session.commit()
    answers = phone.push([phone.contact(world, off_list, "NH"), phone.contact(world, world.home.electors[0], "NH"),
                          phone.update(off_list, {"do_not_contact": True}),
                          {**phone.contact(world, world.home.electors[0], "NH"), "data": {
                              **phone.contact(world, world.home.electors[0], "NH")["data"], "elector_id": 999999}},
                          phone.contact(world, world.away.electors[0], "NH")]).get_json()["results"]
    assert [a["status"] for a in answers] == ["forbidden", "applied", "forbidden", "forbidden", "forbidden"]
    assert {str(a.get("details")) for i, a in enumerate(answers) if i != 1} == {"{'reason': 'not_on_your_lists'}"}
