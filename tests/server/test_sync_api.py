"""Sync over HTTP: what a phone sees when it pushes and pulls, including every way a request can be wrong."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AssignmentKind, AuditEvent, ContactRecord, ElectorState, Role
from tests.factories import assign, bearer, login, make_world
from tests.server.phone import HttpPhone

NOW = datetime.now(timezone.utc)


@pytest.fixture
def world(app):
    return make_world()


def _error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"]["code"] == code
    return body["error"]


def test_hello_tells_the_app_the_protocol_limits_and_server_time(client):
    body = client.get("/api/v1/sync/hello").get_json()
    assert body["protocol_version"] == 1
    assert body["limits"]["max_mutations_per_push"] == 500
    assert body["tombstone_retention_days"] == 90
    assert abs(datetime.fromisoformat(body["server_time"]) - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_a_canvasser_downloads_their_walk_list_records_contacts_and_a_lost_ack_is_harmless(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    assert phone.pull().status_code == 200
    electors = {i for (entity, i) in phone.local if entity == "elector"}
    assert electors == {world.home.electors[0].id, world.home.electors[1].id}
    campaign = phone.local[("campaign", world.campaign.id)]
    assert {o["code"] for o in campaign["outcomes"]} == {"SPOKE", "NH"}
    batch = [phone.contact(world, world.home.electors[0], "SPOKE", "LAB"),
             phone.contact(world, world.home.electors[1], "NH")]
    first = phone.push(batch)
    assert [r["status"] for r in first.get_json()["results"]] == ["applied", "applied"]
    # The phone lost the response and sends the same batch again.
    again = phone.push(batch)
    assert [r["status"] for r in again.get_json()["results"]] == ["duplicate", "duplicate"]
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == 2
    state = db.session.get(ElectorState, world.home.electors[0].id)
    assert state.intention == "LAB" and state.contacts == {"door": 1}


def test_bad_push_requests_get_clear_4xx_errors_and_never_a_500(app, client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    headers = bearer(phone.token)
    _error(client.post("/api/v1/sync/push", data="{not json", content_type="application/json", headers=headers),
           400, "bad_request")
    error = _error(phone.push([], storage_id="nope", surprise=True), 422, "validation_failed")
    assert set(error["details"]) == {"storage_id", "surprise"}
    error = _error(phone.push("not a list"), 422, "validation_failed")
    assert "mutations" in error["details"]
    error = _error(phone.push([], protocol_version=0), 400, "unsupported_version")
    assert error["details"]["supported_protocol_versions"] == [1]
    _error(phone.push([], device_id=str(uuid.uuid4())), 403, "forbidden")
    too_many = [phone.contact(world, world.home.electors[0], "NH") for _ in range(501)]
    error = _error(phone.push(too_many), 413, "payload_too_large")
    assert error["details"]["max_mutations_per_push"] == 500
    app.config["SYNC_MAX_PUSH_BYTES"] = 2000
    _error(phone.push([phone.contact(world, world.home.electors[0], "NH", notes="x" * 1900)]),
           413, "payload_too_large")
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == 0


def test_wrongly_typed_mutations_are_rejected_one_by_one_with_field_details(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    good = phone.contact(world, world.home.electors[0], "NH")
    wrong_types = {**phone.contact(world, world.home.electors[1], "NH"), "seq": "seven", "occurred_at": 5}
    unknown = {**phone.contact(world, world.home.electors[1], "NH"), "colour": "red"}
    body = phone.push([good, wrong_types, unknown, 42]).get_json()
    assert [r["status"] for r in body["results"]] == ["applied", "rejected", "rejected", "rejected"]
    assert set(body["results"][1]["details"]) == {"seq", "occurred_at"}
    assert "colour" in body["results"][2]["details"]


def test_pull_needs_a_storage_id_and_a_sane_limit(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    error = _error(client.get("/api/v1/sync/pull", headers=bearer(phone.token)), 422, "validation_failed")
    assert "storage_id" in error["details"]
    error = _error(client.get("/api/v1/sync/pull", query_string={"storage_id": phone.storage_id, "limit": 0},
                              headers=bearer(phone.token)), 422, "validation_failed")
    assert "limit" in error["details"]
    body = client.get("/api/v1/sync/pull", query_string={"storage_id": phone.storage_id, "cursor": "garbage"},
                      headers=bearer(phone.token)).get_json()
    assert body["reset_required"] is True and body["reason"] == "invalid_cursor"


def test_roles_that_do_not_canvass_cannot_sync(client, world):
    for role in (Role.MEMBERSHIP_SECRETARY, Role.REGIONAL_STAFF):
        token = login(client, role)
        response = client.get("/api/v1/sync/pull", query_string={"storage_id": str(uuid.uuid4())},
                              headers=bearer(token))
        _error(response, 403, "forbidden")


def test_a_clp_admin_works_through_a_conflict_and_the_decision_is_audited(client, world):
    canvasser, banker = HttpPhone(client, Role.CANVASSER), HttpPhone(client, Role.PHONE_BANKER)
    target = world.home.electors[0]
    assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=target)
    canvasser.push([canvasser.contact(world, target, "SPOKE", "LAB")])
    body = banker.push([banker.contact(world, target, "SPOKE", "UND")]).get_json()
    assert body["results"][0]["status"] == "conflict"
    admin = login(client, Role.CLP_ADMIN)
    queue = client.get("/api/v1/review-items", headers=bearer(admin)).get_json()
    assert queue["total"] == 1
    item = queue["items"][0]
    assert item["kind"] == "intention_conflict" and item["data"]["intentions"] == ["LAB", "UND"]
    resolved = client.post(f"/api/v1/review-items/{item['id']}/resolve", json={"choice": "first"},
                           headers=bearer(admin))
    assert resolved.status_code == 200, resolved.get_json()
    assert resolved.get_json()["status"] == "resolved"
    db.session.expire_all()
    state = db.session.get(ElectorState, target.id)
    assert state.intention == "LAB"
    assert state.contacts == {"door": 2}, "the decision is not counted as a contact"
    assert client.get("/api/v1/review-items", headers=bearer(admin)).get_json()["total"] == 0
    again = client.post(f"/api/v1/review-items/{item['id']}/resolve", json={"choice": "second"}, headers=bearer(admin))
    _error(again, 409, "conflict")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.resolve")) is not None


def test_an_admin_can_enter_a_value_but_only_a_valid_code(client, world):
    canvasser, banker = HttpPhone(client, Role.CANVASSER), HttpPhone(client, Role.PHONE_BANKER)
    target = world.home.electors[0]
    assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=target)
    canvasser.push([canvasser.contact(world, target, "SPOKE", "LAB")])
    banker.push([banker.contact(world, target, "SPOKE", "UND")])
    admin = login(client, Role.CLP_ADMIN)
    item = client.get("/api/v1/review-items", headers=bearer(admin)).get_json()["items"][0]
    bad = client.post(f"/api/v1/review-items/{item['id']}/resolve", json={"choice": "value", "intention": "XYZ"},
                      headers=bearer(admin))
    assert _error(bad, 422, "validation_failed")["details"] == {"intention": ["Not a voting intention code of this campaign."]}
    good = client.post(f"/api/v1/review-items/{item['id']}/resolve",
                       json={"choice": "value", "intention": "UND", "note": "Spoke to her myself"},
                       headers=bearer(admin))
    assert good.status_code == 200


def test_the_review_queue_is_scoped_to_the_admins_clp(client, world):
    from server.models import ReviewItem

    db.session.add(ReviewItem(constituency_id=world.away.constituency.id, kind="new_elector", data={"surname": "X"}))
    db.session.commit()
    admin = login(client, Role.CLP_ADMIN)
    assert client.get("/api/v1/review-items", headers=bearer(admin)).get_json()["total"] == 0
    away_item = db.session.scalar(select(ReviewItem.id))
    _error(client.post(f"/api/v1/review-items/{away_item}/resolve", json={"choice": "dismiss"}, headers=bearer(admin)),
           404, "not_found")
    _error(client.get("/api/v1/review-items", headers=bearer(login(client, Role.CANVASSER))), 403, "forbidden")


def test_flask_sync_rebuild_recomputes_the_same_state(client, runner, world):
    phone = HttpPhone(client, Role.CANVASSER)
    phone.push([phone.contact(world, world.home.electors[0], "SPOKE", "LAB"),
                phone.contact(world, world.home.electors[1], "NH")])
    before = {s.elector_id: (s.intention, s.contacts, s.presence) for s in db.session.scalars(select(ElectorState))}
    db.session.execute(ElectorState.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["sync", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt the state of 2 electors" in result.output
    db.session.expire_all()
    after = {s.elector_id: (s.intention, s.contacts, s.presence) for s in db.session.scalars(select(ElectorState))}
    assert after == before

    # One elector per chunk: each chunk its own transaction, the same state.
    db.session.execute(ElectorState.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["sync", "rebuild", "--chunk", "1"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert {s.elector_id: (s.intention, s.contacts, s.presence)
            for s in db.session.scalars(select(ElectorState))} == before


def test_a_large_catch_up_is_reconciled_by_the_scheduled_job(app, client, world):
    from server.services import sync

    app.config["SYNC_RECONCILE_INLINE_MAX"] = 1
    phone = HttpPhone(client, Role.CANVASSER)
    phone.push([phone.contact(world, world.home.electors[0], "SPOKE", "LAB"),
                phone.contact(world, world.home.electors[1], "NH")])
    assert db.session.scalar(select(func.count()).select_from(ElectorState)) == 0
    assert sync.reconcile_queued() == 2
    assert db.session.get(ElectorState, world.home.electors[0].id).intention == "LAB"


def test_a_device_silent_beyond_the_retention_is_forgotten_and_must_reset(app, client, world):
    from server.models import DeviceStorage
    from server.services import sync

    phone = HttpPhone(client, Role.CANVASSER)
    phone.pull()
    storage = db.session.scalar(select(DeviceStorage))
    storage.last_pull_at = datetime.now(timezone.utc) - timedelta(days=91)
    db.session.commit()
    assert sync.purge_stale_storage() == 1
    body = phone.pull().get_json()
    assert body["reset_required"] is True


def test_the_openapi_document_describes_the_sync_protocol(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    push = spec["paths"]["/api/v1/sync/push"]["post"]
    assert "requestBody" in push
    assert {p["name"] for p in spec["paths"]["/api/v1/sync/pull"]["get"]["parameters"]} >= {"storage_id", "cursor"}



def test_a_clp_admin_confirms_or_dismisses_a_report_that_someone_moved_away(client, world):
    canvasser = HttpPhone(client, Role.CANVASSER)
    ava, ben = world.home.electors[:2]
    canvasser.push([canvasser.update(ava, {"moved": True}), canvasser.update(ben, {"deceased": True})])
    admin = login(client, Role.CLP_ADMIN)
    queue = client.get("/api/v1/review-items?kind=presence_report", headers=bearer(admin)).get_json()
    reports = {item["elector_id"]: item for item in queue["items"]}
    assert {e: r["data"]["flag"] for e, r in reports.items()} == {ava.id: "moved", ben.id: "deceased"}
    wrong = client.post(f"/api/v1/review-items/{reports[ava.id]['id']}/resolve", json={"choice": "first"},
                        headers=bearer(admin))
    assert _error(wrong, 422, "validation_failed")["details"]["choice"]
    for elector, choice in ((ava, "accept"), (ben, "dismiss")):
        done = client.post(f"/api/v1/review-items/{reports[elector.id]['id']}/resolve", json={"choice": choice},
                           headers=bearer(admin))
        assert done.status_code == 200 and done.get_json()["resolution"]["choice"] == choice
