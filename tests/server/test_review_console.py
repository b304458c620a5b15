"""The review queue, worked by a person: each item in words, filters, many decided by one rule, and every
decision undone, including a person not on the register who became a provisional elector and the register
import that later links or retires them."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import (AssignmentKind, AuditEvent, Channel, ContactRecord, Elector, ElectorState, ElectorStatus,
                           Property, RecordKind, RecordSource, ReviewItem, Role)
from server.services import provisional
from server.services.register_import import import_register
from tests.factories import assign, bearer, login, make_campaign, make_world
from tests.server.phone import HttpPhone
from tests.server.test_register_import import HEADER_14, make_constituency


@pytest.fixture
def world(app):
    return make_world()


def _conflict(client, world, elector, first="LAB", second="UND"):
    """A canvasser hears one intention, then a phone banker another: a conflict for the CLP admin."""
    assign(world, Role.CANVASSER, AssignmentKind.WALK, property=elector.property)
    assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=elector)
    canvasser, banker = HttpPhone(client, Role.CANVASSER), HttpPhone(client, Role.PHONE_BANKER)
    assert canvasser.push([canvasser.contact(world, elector, "SPOKE", first)]).get_json()["results"][0]["status"] == "applied"
    assert banker.push([banker.contact(world, elector, "SPOKE", second)]).get_json()["results"][0]["status"] == "conflict"


def _found(client, world, prop, surname="Newcomer", forenames="Nia"):
    """A canvasser at ``prop`` meets someone not on the register."""
    assign(world, Role.CANVASSER, AssignmentKind.WALK, property=prop)
    phone = HttpPhone(client, Role.CANVASSER)
    mutation = phone._mutation("elector_new", {"property_id": prop.id, "surname": surname, "forenames": forenames})
    assert phone.push([mutation]).get_json()["results"][0]["status"] == "applied"
    return phone


def _queue(client, admin, **query):
    response = client.get("/api/v1/review-items", query_string=query, headers=bearer(admin))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _state(elector_id):
    db.session.expire_all()
    state = db.session.get(ElectorState, elector_id)
    return (state.intention, state.strength, dict(state.contacts)) if state else None


def test_the_queue_says_who_heard_what_and_when_in_words_and_filters_by_kind_ward_and_day(client, world):
    target = world.home.electors[0]
    _conflict(client, world, target)
    _found(client, world, world.home.properties[1])
    admin = login(client, Role.CLP_ADMIN)

    items = {i["kind"]: i for i in _queue(client, admin)["items"]}
    conflict = items["intention_conflict"]["described"]
    assert conflict["title"] == "Two contacts disagree on how they will vote"
    assert conflict["elector"]["name"] == target.full_name and conflict["elector"]["address"] == target.property.address
    assert conflict["elector"]["ward"] == world.home.ward.name
    sides = conflict["sides"]
    assert [s["who"] for s in sides] == ["Canvasser", "Phone Banker"]
    assert sides[0]["what"] == "Spoke: Labour, at the door" and sides[1]["what"] == "Spoke: Undecided, at the door"
    assert all(s["when"] for s in sides)
    found = items["new_elector"]["described"]
    assert found["person"]["name"] == "Nia Newcomer"
    assert found["person"]["address"] == world.home.properties[1].address
    assert found["sides"][0]["who"] == "Canvasser"

    assert [i["kind"] for i in _queue(client, admin, kind="new_elector")["items"]] == ["new_elector"]
    assert _queue(client, admin, ward_id=world.home.ward.id)["total"] == 2
    assert _queue(client, admin, ward_id=world.neighbour.ward.id)["total"] == 0
    today = date.today()
    assert _queue(client, admin, since=today.isoformat(), until=today.isoformat())["total"] == 2
    assert _queue(client, admin, since=(today + timedelta(days=1)).isoformat())["total"] == 0
    assert _queue(client, admin, until=(today - timedelta(days=1)).isoformat())["total"] == 0
    bad = client.get("/api/v1/review-items?since=29-11-2026", headers=bearer(admin))
    assert bad.status_code == 422 and "since" in bad.get_json()["error"]["details"]


def test_the_newest_contact_wins_for_many_at_once_and_items_the_rule_does_not_fit_are_left(client, world):
    electors = world.home.electors[:3]
    for elector in electors:
        _conflict(client, world, elector, first="UND", second="LAB")
    _found(client, world, world.home.properties[1])
    admin = login(client, Role.CLP_ADMIN)
    ids = [i["id"] for i in _queue(client, admin)["items"]]
    assert len(ids) == 4

    done = client.post("/api/v1/review-items/resolve-many", json={"item_ids": ids, "rule": "newest",
                                                                  "note": "Later calls win"}, headers=bearer(admin))
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert len(body["resolved"]) == 3
    assert [s["reason"] for s in body["skipped"]] == ["the rule 'newest' does not decide this kind of item"]
    for elector in electors:
        assert _state(elector.id)[0] == "LAB", "the phone banker's later contact won"
    assert [i["kind"] for i in _queue(client, admin)["items"]] == ["new_elector"]
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.resolve_many"))
    assert audit.details["rule"] == "newest" and sorted(audit.details["resolved"]) == sorted(body["resolved"])

    # Another CLP's item, or one that does not exist, spoils the whole request: nothing is decided.
    away = ReviewItem(constituency_id=world.away.constituency.id, kind="new_elector", data={"surname": "X"})
    db.session.add(away)
    db.session.commit()
    open_ids = [i["id"] for i in _queue(client, admin)["items"]]
    refused = client.post("/api/v1/review-items/resolve-many", json={"item_ids": open_ids + [away.id], "rule": "dismiss"},
                          headers=bearer(admin))
    assert refused.status_code == 422 and "item_ids" in refused.get_json()["error"]["details"]
    assert _queue(client, admin)["total"] == 1
    for bad in ({"item_ids": [], "rule": "newest"}, {"item_ids": ids, "rule": "coin toss"},
                {"item_ids": list(range(1, 502)), "rule": "newest"}):
        assert client.post("/api/v1/review-items/resolve-many", json=bad, headers=bearer(admin)).status_code == 422


def test_a_decision_undone_leaves_the_elector_as_if_it_was_never_taken(client, runner, world):
    target = world.home.electors[0]
    _conflict(client, world, target)
    before = _state(target.id)
    admin = login(client, Role.CLP_ADMIN)
    item = _queue(client, admin)["items"][0]
    decided = client.post(f"/api/v1/review-items/{item['id']}/resolve", json={"choice": "second"}, headers=bearer(admin))
    assert decided.status_code == 200 and _state(target.id)[0] == "UND"

    undone = client.post(f"/api/v1/review-items/{item['id']}/undo", json={"note": "Wrong one"}, headers=bearer(admin))
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json()["status"] == "open" and undone.get_json()["resolution"] is None
    assert _state(target.id) == before
    assert db.session.scalar(select(ContactRecord).where(ContactRecord.kind == RecordKind.RESOLUTION)) is None
    # What was undone stays on the item, and both steps are in the audit log.
    db.session.expire_all()
    kept = db.session.get(ReviewItem, item["id"]).data["undone"]
    assert kept[0]["resolution"]["choice"] == "second" and kept[0]["note"] == "Wrong one"
    assert {a.action for a in db.session.scalars(select(AuditEvent))} >= {"review.resolve", "review.undo"}
    # The state after the undo is what a rebuild from every event gives.
    db.session.execute(ElectorState.__table__.delete())
    db.session.commit()
    assert runner.invoke(args=["sync", "rebuild"]).exit_code == 0
    assert _state(target.id) == before

    again = client.post(f"/api/v1/review-items/{item['id']}/undo", headers=bearer(admin))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert client.post(f"/api/v1/review-items/{item['id']}/resolve", json={"choice": "first"},
                       headers=bearer(admin)).status_code == 200


def test_a_phone_number_decision_undone_puts_the_number_back(client, world):
    target = world.home.electors[0]
    assign(world, Role.CANVASSER, AssignmentKind.WALK, property=target.property)
    canvasser, admin_phone = HttpPhone(client, Role.CANVASSER), HttpPhone(client, Role.CLP_ADMIN)
    assert canvasser.push([canvasser.update(target, {"phone": "07700900001"}, base_version=1)]).status_code == 200
    assert admin_phone.push([admin_phone.update(target, {"phone": "07700900002"}, base_version=1)]
                            ).get_json()["results"][0]["status"] == "conflict"
    admin = login(client, Role.CLP_ADMIN)
    item = _queue(client, admin, kind="field_conflict")["items"][0]
    assert [s["what"] for s in item["described"]["sides"]] == ["phone number 07700900001", "phone number 07700900002"]
    assert client.post(f"/api/v1/review-items/{item['id']}/resolve", json={"choice": "first"},
                       headers=bearer(admin)).status_code == 200
    db.session.expire_all()
    assert db.session.get(Elector, target.id).phone == "07700900001"
    assert client.post(f"/api/v1/review-items/{item['id']}/undo", headers=bearer(admin)).status_code == 200
    db.session.expire_all()
    assert db.session.get(Elector, target.id).phone == "07700900002", "as it was before the decision"


def test_someone_not_on_the_register_accepted_becomes_a_provisional_elector_on_the_phones(client, world):
    prop = world.home.properties[1]
    phone = _found(client, world, prop)
    admin = login(client, Role.CLP_ADMIN)
    item = _queue(client, admin, kind="new_elector")["items"][0]
    accepted = client.post(f"/api/v1/review-items/{item['id']}/resolve", json={"choice": "accept"}, headers=bearer(admin))
    assert accepted.status_code == 200, accepted.get_json()
    elector = db.session.scalar(select(Elector).where(Elector.provisional.is_(True)))
    assert (elector.full_name, elector.property_id, elector.status) == ("Nia Newcomer", prop.id, ElectorStatus.CURRENT)
    assert elector.elector_number == f"{world.home.district.code}-0/{item['id']}"
    assert accepted.get_json()["described"]["elector"]["provisional"] is True

    while phone.pull().get_json()["has_more"]:
        pass
    assert ("elector", elector.id) in phone.local, "canvassed like anyone else at that address"
    # A contact recorded with them is kept when the decision is undone; they leave the phones.
    assert phone.push([phone.contact(world, elector, "SPOKE", "LAB")]).get_json()["results"][0]["status"] == "applied"
    assert client.post(f"/api/v1/review-items/{item['id']}/undo", headers=bearer(admin)).status_code == 200
    db.session.expire_all()
    assert db.session.get(Elector, elector.id).status == ElectorStatus.REMOVED
    assert db.session.scalar(select(ContactRecord.elector_id).where(ContactRecord.outcome == "SPOKE")) == elector.id
    while phone.pull().get_json()["has_more"]:
        pass
    assert ("elector", elector.id) not in phone.local
    assert _queue(client, admin, kind="new_elector")["items"][0]["status"] == "open"


def _register(path, rows):
    path.write_text(HEADER_14 + "\n" + "\n".join(
        f"AA1,{n},0,,,{surname},{forename},EF1 1AA,{house},High Street,Elmford,,," for n, surname, forename, house in rows))
    return path


def test_the_next_register_links_a_provisional_elector_to_their_entry_or_retires_them(app, tmp_path):
    constituency = make_constituency("E14000009", prefixes=("AA1",))
    first = [(1, "Kowalski", "Margaret", 1), (2, "Okafor", "Tunde", 2)]
    import_register(_register(tmp_path / "register-2026-12.csv", first), "E14000009", edition_date=date(2026, 12, 1))
    homes = {p.address_lines[0]: p for p in db.session.scalars(select(Property))}
    campaign = make_campaign("Local drive", constituency)
    found = []
    for house, surname, forename in (("1", "Newcomer", "Nia"), ("2", "Nobody", "Zed")):
        item = ReviewItem(constituency_id=constituency.id, kind="new_elector",
                          data={"property_id": homes[house].id, "surname": surname, "forenames": forename})
        db.session.add(item)
        db.session.flush()
        found.append(provisional.create_from_review(item, None))
    db.session.add(ContactRecord(id=uuid.uuid4(), campaign_id=campaign.id, constituency_id=constituency.id,
                                 elector_id=found[0].id, channel=Channel.DOOR, outcome="SPOKE", intention="LAB",
                                 occurred_at=datetime.now(timezone.utc), source=RecordSource.PWA))
    db.session.commit()
    nia, zed = found[0].id, found[1].id

    second = first + [(3, "Newcomer", "Nia Ann", 1)]
    summary = import_register(_register(tmp_path / "register-2027-01.csv", second), "E14000009",
                              edition_date=date(2027, 1, 1))
    assert summary.removed == 0, "provisional electors are not counted as removed from the register"
    db.session.expire_all()
    entry = db.session.scalar(select(Elector).where(Elector.number == 3))
    assert db.session.get(Elector, nia).status == ElectorStatus.REMOVED
    assert db.session.get(Elector, zed).status == ElectorStatus.REMOVED, "a full register that does not name them"
    assert db.session.scalar(select(ContactRecord.elector_id)) == entry.id, "their history moved to their entry"
    assert db.session.get(ElectorState, entry.id).intention == "LAB"
    linked = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "elector.provisional_linked"))
    assert linked.details["linked_to"] == entry.id
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "register.import")
                              .order_by(AuditEvent.id.desc()))
    assert audit.details["provisional"] == {"linked": 1, "retired": 1}


def test_records_sent_after_access_ended_are_shown_in_words_and_an_acceptance_is_withdrawn_by_undo(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    phone.pull()
    ava, ben = world.home.electors[:2]
    admin = login(client, Role.CLP_ADMIN)
    assert client.post(f"/api/v1/devices/{phone.device_id}/revoke", headers=bearer(admin)).status_code == 200
    batch = [phone.contact(world, ava, "SPOKE", "LAB"), phone.contact(world, ben, "NH")]
    assert [r["status"] for r in phone.push(batch).get_json()["results"]] == ["held", "held"]

    item = _queue(client, admin, kind="held_delivery")["items"][0]
    words = item["described"]
    assert words["volunteer"] == "Canvasser" and words["access_ended_at"]
    assert [(r["elector"], r["what"], r["decision"]) for r in words["records"]] == [
        (ava.full_name, "Spoke: Labour, at the door", None), (ben.full_name, "Not home, at the door", None)]
    # Accept Ava's record only, then reject the rest.
    client.post(f"/api/v1/review-items/{item['id']}/resolve", headers=bearer(admin),
                json={"choice": "accept", "mutation_ids": [batch[0]["id"]]})
    decided = client.post(f"/api/v1/review-items/{item['id']}/resolve", headers=bearer(admin), json={"choice": "reject"})
    assert [r["decision"] for r in decided.get_json()["described"]["records"]] == ["applied", "rejected"]
    assert _state(ava.id)[0] == "LAB"

    undone = client.post(f"/api/v1/review-items/{item['id']}/undo", headers=bearer(admin))
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json()["status"] == "resolved" and undone.get_json()["resolution"]["withdrawn"] is True
    assert _state(ava.id)[0] is None, "the accepted record is withdrawn"
    retraction = db.session.scalar(select(ContactRecord).where(ContactRecord.kind == RecordKind.RETRACTION))
    assert str(retraction.supersedes_id) == batch[0]["id"] and retraction.user_id == world.users[Role.CLP_ADMIN].id
    again = client.post(f"/api/v1/review-items/{item['id']}/undo", headers=bearer(admin))
    assert again.status_code == 409
