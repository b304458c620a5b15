"""The push's answer is written without marshmallow (server.schemas.dump_push), for speed: its bytes must stay
exactly those PushResponseSchema's dump gave, for every status a phone can be told."""
from __future__ import annotations

import collections
from datetime import datetime, timedelta, timezone

import pytest
from flask import jsonify

import server.api.sync as sync_api
from server.extensions import db
from server.models import AssignmentKind, Role, Suppression
from server.schemas import PushResponseSchema, dump_push
from tests.factories import assign, make_world
from tests.server.phone import HttpPhone


@pytest.fixture
def seen(monkeypatch):
    """Every push answered while the test runs is also dumped the old way, and the bytes compared."""
    statuses = collections.Counter()
    direct = sync_api.push_response

    def checked(result):
        response = direct(result)
        assert response.get_data() == jsonify(PushResponseSchema().dump(result)).get_data()
        statuses.update(r["status"] for r in result["results"])
        statuses["skewed"] += result["clock"]["skewed"]
        return response

    monkeypatch.setattr(sync_api, "push_response", checked)
    return statuses


def test_every_push_status_has_the_schemas_bytes(client, seen):
    world = make_world()
    canvasser, banker = HttpPhone(client, Role.CANVASSER), HttpPhone(client, Role.PHONE_BANKER)
    first, second = world.home.electors[0], world.home.electors[1]
    assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=first)
    db.session.add(Suppression(constituency_id=second.constituency_id, elector_id=second.id,
                               kind="do_not_contact", reason="Wrote in", source="elector_request"))
    db.session.commit()

    knock = canvasser.contact(world, first, "SPOKE", "LAB")
    batch = [knock,
             canvasser.contact(world, second, "NH"),                              # suppressed
             canvasser.contact(world, world.away.electors[0], "NH"),              # forbidden: not theirs
             {**canvasser.contact(world, first, "NH"), "occurred_at": "yesterday"},  # rejected, with details
             42]                                                                  # rejected, no id at all
    assert canvasser.push(batch).status_code == 200
    # The lost acknowledgement: the same batch again, then the same id for something else.
    assert canvasser.push(batch[:1]).status_code == 200
    assert canvasser.push([{**knock, "data": {**knock["data"], "outcome": "NH"}}]).status_code == 200
    # A phone bank's different intention an hour later, from a phone whose clock is a day out.
    later = datetime.now(timezone.utc) + timedelta(days=1)
    assert banker.push([banker.contact(world, first, "SPOKE", "UND")], device_time=later.isoformat()
                       ).status_code == 200

    for status in ("applied", "suppressed", "forbidden", "rejected", "duplicate", "id_reused", "conflict",
                   "skewed"):
        assert seen[status], (status, seen)


def test_dump_push_is_the_schemas_dump_for_every_shape_of_result():
    now = datetime(2026, 11, 30, 1, 45, 0, 123456, tzinfo=timezone.utc)
    results = [{"id": "0b6f3c1e-1c1a-4a53-9d0e-6f0a3b1f1e01", "seq": 1, "status": "applied"},
               {"id": None, "seq": None, "status": "rejected", "details": {"mutation": ["Must be an object."]}},
               {"id": "0b6f3c1e-1c1a-4a53-9d0e-6f0a3b1f1e02", "seq": 2**53, "status": "held",
                "details": {"message": "Delivered after the CLP\u2019s access ended \u2603"}}]
    for clock in ({"offset_seconds": 0.0, "skewed": False}, {"offset_seconds": -86399.875, "skewed": True}):
        result = {"server_time": now, "results": results, "last_seq": 7, "clock": clock}
        assert dump_push(result) == PushResponseSchema().dump(result)
        assert list(dump_push(result)) == list(PushResponseSchema().dump(result))
