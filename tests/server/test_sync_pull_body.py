"""The pull's answer is written without marshmallow (server.schemas.dump_pull), for speed: its bytes must stay
exactly those PullResponseSchema's dump gave, for every kind of answer a phone can get."""
from __future__ import annotations

import collections
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from flask import jsonify

import server.api.sync as sync_api
from server.extensions import db
from server.models import (
    Assignment,
    AssignmentItem,
    AssignmentKind,
    AssignmentUser,
    Member,
    MemberStatus,
    Role,
    Suppression,
)
from server.schemas import PullResponseSchema, dump_pull
from tests.factories import add_street, assign, bearer, login, make_world
from tests.server.phone import HttpPhone

NOW = datetime.now(timezone.utc)


@pytest.fixture
def seen(monkeypatch):
    """Every pull answered while the test runs is also dumped the old way, and the bytes compared."""
    kinds = collections.Counter()
    direct = sync_api.pull_response

    def checked(result):
        response = direct(result)
        assert response.get_data() == jsonify(PullResponseSchema().dump(result)).get_data()
        kinds["answers"] += 1
        for change in result["changes"]:
            kinds[(change["entity"], change["op"], change.get("reason"))] += 1
        kinds.update(key for key in ("has_more", "wipe", "reset_required") if result[key])
        kinds["empty"] += not result["changes"]
        if "reason" in result:
            kinds[result["reason"]] += 1
        return response

    monkeypatch.setattr(sync_api, "pull_response", checked)
    return kinds


def _pull_all(phone: HttpPhone, limit: int = 5) -> None:
    while True:
        response = phone.pull(limit)
        assert response.status_code == 200, response.get_data(as_text=True)
        if not response.get_json()["has_more"]:
            return


def test_every_kind_of_pull_answer_has_the_schemas_bytes(client, seen):
    world = make_world()
    street = add_street(world.home, 12)
    walk = Assignment(campaign_id=world.campaign.id, constituency_id=world.home.constituency.id,
                      kind=AssignmentKind.WALK, name="Long Street \u00e9\u00e8 \u2603",  # escaped as before
                      starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=14))
    walk.items = [AssignmentItem(property_id=e.property_id, position=i) for i, e in enumerate(street)]
    walk.assignees = [AssignmentUser(user_id=world.users[Role.CANVASSER].id)]
    db.session.add(walk)
    member = Member(membership_number="L0000777", constituency_id=world.home.constituency.id,
                    joined_on=date.today() - timedelta(days=3), status=MemberStatus.NEW, first_name="Zoë",
                    last_name="Zebedee", email="zoe@example.test", phone="07700 900777",
                    address_lines=["7 Mill Lane", "Ashford"], postcode="AB1 2CD", consent_phone=True)
    db.session.add(member)
    db.session.commit()
    welcome = assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=world.home.electors[2])
    welcome.items[0].elector_id, welcome.items[0].member_id = None, member.id
    welcome.items[0].reason = "Welcome call: joined this week"
    db.session.commit()

    # The team's work: another phone knocks, so this one is sent the electors' activity.
    other = HttpPhone(client, Role.CANVASSER)
    _pull_all(other)
    assert other.push([other.contact(world, street[0], "NH"), other.contact(world, street[1], "SPOKE", "LAB")]
                      ).status_code == 200

    phone = HttpPhone(client, Role.CANVASSER)
    _pull_all(phone)  # pages of a download, from its snapshot
    _pull_all(phone)  # nothing new: an empty page
    db.session.add(Suppression(constituency_id=street[3].constituency_id, elector_id=street[3].id,
                               kind="do_not_contact", reason="Wrote in", source="elector_request"))
    db.session.commit()
    _pull_all(phone)  # a delete, suppressed
    walk.ends_at = NOW - timedelta(minutes=1)
    walk.version += 1
    db.session.commit()
    _pull_all(phone)  # deletes, out of scope

    caller = HttpPhone(client, Role.PHONE_BANKER)
    _pull_all(caller, limit=1000)  # a member, in one page of everything

    params = {"storage_id": phone.storage_id}
    for cursor in ("not ours", ""):  # reset_required, with a reason
        assert client.get("/api/v1/sync/pull", query_string={**params, "cursor": cursor},
                          headers=bearer(phone.token)).status_code == 200
    assert client.get("/api/v1/sync/pull", query_string={"storage_id": str(uuid.uuid4()), "cursor": phone.cursor},
                      headers=bearer(phone.token)).get_json()["reason"] == "unknown_storage"
    admin = login(client, Role.CLP_ADMIN)
    assert client.post(f"/api/v1/devices/{phone.device_id}/revoke", json={"reason": "lost"},
                       headers=bearer(admin)).status_code == 200
    assert phone.pull().get_json()["wipe"] is True

    entities = {kind[0] for kind in seen if isinstance(kind, tuple) and kind[1] == "upsert"}
    assert entities == {"campaign", "assignment", "property", "elector", "member", "activity"}, seen
    reasons = {kind[2] for kind in seen if isinstance(kind, tuple) and kind[1] == "delete"}
    assert {"suppressed", "out_of_scope"} <= reasons, seen
    for kind in ("has_more", "empty", "reset_required", "invalid_cursor", "unknown_storage", "wipe"):
        assert seen[kind], (kind, seen)


def test_dump_pull_is_the_schemas_dump_for_every_shape_of_result():
    now = datetime(2026, 11, 29, 14, 30, 1, 123456, tzinfo=timezone.utc)
    base = {"server_time": now, "changes": [], "has_more": False, "wipe": False, "reset_required": False}
    changes = [{"entity": "elector", "id": 7, "op": "delete", "reason": "erased"},
               {"entity": "elector", "id": 8, "op": "upsert", "version": 3,
                "data": {"id": 8, "surname": "Ng\u00fcyen", "activity": None, "tags": ["a", 1, None]}}]
    for result in ({**base, "wipe": True, "cursor": None},
                   {**base, "reset_required": True, "reason": "stale_cursor", "cursor": None},
                   {**base, "changes": changes, "has_more": True, "cursor": "v1.abc"},
                   {**base, "cursor": "v1.abc"}):
        assert dump_pull(result) == PullResponseSchema().dump(result)
        assert list(dump_pull(result)) == list(PullResponseSchema().dump(result))
