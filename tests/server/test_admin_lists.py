"""A CLP admin makes walk lists and call lists, gives them to volunteers, and follows their progress.

Phones learn of every change at their next sync: a new list, a renamed or re-dated one, one taken away.
What a volunteer recorded stays when their list is taken away or ended.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    AuditEvent,
    ContactRecord,
    ElectorState,
    Member,
    Property,
    Role,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
)
from tests.factories import add_street, bearer, login, make_world
from tests.server.phone import HttpPhone

NOW = datetime.now(timezone.utc)
LATER = (NOW + timedelta(days=7)).isoformat()


@pytest.fixture
def world(app):
    world = make_world()
    add_street(world.home, 6, "Acacia Avenue")
    _block_of_flats(world.home, "Beech Court", flats=4)
    return world


def _block_of_flats(clp, building: str, flats: int) -> None:
    from server.models import Elector

    for flat in range(1, flats + 1):
        prop = Property(constituency_id=clp.constituency.id, polling_district_id=clp.district.id,
                        address_lines=[f"Flat {flat}", building, "3 Cedar Road"], postcode="EF1 3CC",
                        street="Cedar Road", house_number=3, building=building, flat=str(flat),
                        sort_key=f"cedar road|00003|{flat:04d}", address_key=f"x|{building}|{flat}")
        db.session.add(prop)
        db.session.flush()
        clp.properties.append(prop)
        elector = Elector(constituency_id=clp.constituency.id, polling_district_id=clp.district.id,
                          property_id=prop.id, prefix=clp.district.code, number=500 + flat, surname="Flatson",
                          forenames=f"Flat{flat}")
        db.session.add(elector)
        clp.electors.append(elector)
    db.session.commit()


def _admin(client):
    return bearer(login(client, Role.CLP_ADMIN, device_name="Office laptop"))


def _sync(phone) -> None:
    while True:
        body = phone.pull().get_json()
        if not body["has_more"]:
            return


def _lists_on(phone) -> dict[int, dict]:
    return {key[1]: data for key, data in phone.local.items() if key[0] == "assignment"}


def test_walk_lists_follow_the_streets_keep_blocks_whole_and_the_preview_is_what_is_made(client, world):
    admin = _admin(client)
    selection = {"campaign_id": world.campaign.id, "polling_district_ids": [world.home.district.id],
                 "size": 4, "split_by": "households", "name": "Saturday"}
    plan = client.post("/api/v1/lists/walk-plans", json=selection, headers=admin)
    assert plan.status_code == 200, plan.get_json()
    planned = plan.get_json()
    # 6 houses on Acacia Avenue, a block of 4 flats on Cedar Road, 2 High Street houses: 12 addresses.
    assert (planned["households"], planned["electors"]) == (12, 13)
    assert [p["households"] for p in planned["lists"]] == [4, 2, 6], "three lists, the block never split"
    assert planned["lists"][0]["name"] == "Saturday: Acacia Avenue (1 of 3)"
    assert planned["lists"][2]["streets"] == ["Cedar Road", "High Street"]

    made = client.post("/api/v1/lists/walk", json={**selection, "ends_at": LATER,
                                                   "assignee_ids": [world.users[Role.CANVASSER].id]}, headers=admin)
    assert made.status_code == 201, made.get_json()
    lists = made.get_json()
    assert [(x["name"], x["households"], x["electors"]) for x in lists] == [
        (p["name"], p["households"], p["electors"]) for p in planned["lists"]]
    assert all(x["assignees"] == [{"id": world.users[Role.CANVASSER].id, "name": "Canvasser", "role": "canvasser"}]
               for x in lists)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lists.create"))
    assert event.details["lists"] == 3 and event.details["items"] == 12

    phone = HttpPhone(client, Role.CANVASSER)
    _sync(phone)
    on_phone = _lists_on(phone)
    assert {x["id"] for x in lists} <= set(on_phone)
    first = on_phone[lists[0]["id"]]
    streets = [phone.local[("property", i["property_id"])]["street"] for i in first["items"]]
    assert streets == ["Acacia Avenue"] * 4, "stops are in walking order"


def test_a_list_edited_later_reaches_the_phone_and_one_taken_away_leaves_it_with_its_records(client, world):
    admin = _admin(client)
    canvasser = world.users[Role.CANVASSER].id
    made = client.post("/api/v1/lists/walk", headers=admin, json={
        "campaign_id": world.campaign.id, "streets": [{"polling_district_id": world.home.district.id,
                                                       "street": "Acacia Avenue"}],
        "size": 50, "ends_at": LATER, "assignee_ids": [canvasser]}).get_json()
    (walk,) = made
    assert walk["name"] == "Acacia Avenue" and walk["households"] == 6
    phone = HttpPhone(client, Role.CANVASSER)
    _sync(phone)
    assert _lists_on(phone)[walk["id"]]["name"] == "Acacia Avenue"

    renamed = client.patch(f"/api/v1/lists/{walk['id']}", json={"name": "Acacia Avenue, Sunday"}, headers=admin)
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Acacia Avenue, Sunday"
    _sync(phone)
    assert _lists_on(phone)[walk["id"]]["name"] == "Acacia Avenue, Sunday"

    street = [e for e in world.home.electors if e.surname.startswith("Street")]
    pushed = phone.push([phone.contact(world, street[0], "SPOKE", "LAB"), phone.contact(world, street[1], "NH")])
    assert [r["status"] for r in pushed.get_json()["results"]] == ["applied", "applied"]
    progress = client.get(f"/api/v1/lists/{walk['id']}", headers=admin).get_json()
    assert (progress["reached"], progress["spoke"], progress["electors"]) == (2, 1, 6)
    assert progress["contact_rate"] == round(1 / 6, 3)

    taken = client.put(f"/api/v1/lists/{walk['id']}/assignees", json={"user_ids": []}, headers=admin)
    assert taken.status_code == 200 and taken.get_json()["assignees"] == []
    _sync(phone)
    assert walk["id"] not in _lists_on(phone)
    assert ("elector", street[2].id) not in phone.local, "the people on it left the phone too"
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == 2, "what was recorded stays"


def test_ending_a_list_takes_it_off_every_phone_at_their_next_sync(client, world):
    admin = _admin(client)
    (walk,) = client.post("/api/v1/lists/walk", headers=admin, json={
        "campaign_id": world.campaign.id, "polling_district_ids": [world.home.district.id], "size": 100,
        "ends_at": LATER, "assignee_ids": [world.users[Role.CANVASSER].id, world.users[Role.CLP_ADMIN].id]}).get_json()
    assert len(walk["assignees"]) == 2, "a team shares one list"
    phone = HttpPhone(client, Role.CANVASSER)
    _sync(phone)
    assert walk["id"] in _lists_on(phone)
    ended = client.post(f"/api/v1/lists/{walk['id']}/end", headers=admin)
    assert ended.status_code == 200
    _sync(phone)
    assert walk["id"] not in _lists_on(phone)
    current = client.get("/api/v1/lists", headers=admin).get_json()
    assert walk["id"] not in [x["id"] for x in current]
    assert walk["id"] in [x["id"] for x in client.get("/api/v1/lists?include_ended=true", headers=admin).get_json()]


def test_call_lists_hold_electors_with_numbers_chosen_by_intention_and_never_an_objector(client, world):
    electors = world.home.electors
    for i, e in enumerate(electors[:8]):
        e.phone = f"07700 900{i:03d}"
    db.session.add_all([ElectorState(elector_id=electors[0].id, intention="LAB", last_contact_at=NOW - timedelta(days=40)),
                        ElectorState(elector_id=electors[1].id, intention="UND", last_contact_at=NOW - timedelta(days=40)),
                        ElectorState(elector_id=electors[2].id, intention="UND", last_contact_at=NOW - timedelta(days=2)),
                        ElectorState(elector_id=electors[3].id, intention="UND")])
    db.session.add(Suppression(constituency_id=world.home.constituency.id, elector_id=electors[3].id,
                               kind=SuppressionKind.DO_NOT_CONTACT, channel=SuppressionChannel.PHONE,
                               reason="Asked by letter", source="letter"))
    db.session.commit()
    admin = _admin(client)
    wanted = {"campaign_id": world.campaign.id, "source": "electors", "intentions": ["UND"],
              "not_contacted_since": (date.today() - timedelta(days=30)).isoformat()}
    plan = client.post("/api/v1/lists/call-plans", json=wanted, headers=admin).get_json()
    assert plan["electors"] == 1, "undecided, not spoken to for a month, not objecting: only the second"
    everyone = client.post("/api/v1/lists/call-plans", json={"campaign_id": world.campaign.id,
                                                              "source": "electors"}, headers=admin).get_json()
    assert everyone["electors"] == 7, "eight with numbers, one objected to calls"

    made = client.post("/api/v1/lists/call", json={**wanted, "ends_at": LATER,
                                                  "assignee_ids": [world.users[Role.PHONE_BANKER].id]}, headers=admin)
    assert made.status_code == 201, made.get_json()
    (call,) = made.get_json()
    assert call["kind"] == "call" and call["name"] == "Phone bank"
    phone = HttpPhone(client, Role.PHONE_BANKER)
    _sync(phone)
    assert [i["elector_id"] for i in _lists_on(phone)[call["id"]]["items"]] == [electors[1].id]


def test_welcome_calls_go_to_new_members_who_agreed_to_calls(client, world):
    constituency_id = world.home.constituency.id
    db.session.add_all([
        Member(membership_number="M1", constituency_id=constituency_id, joined_on=date.today() - timedelta(days=3),
               first_name="Nia", last_name="Jones", phone="07700 900555", consent_phone=True),
        Member(membership_number="M2", constituency_id=constituency_id, joined_on=date.today() - timedelta(days=3),
               first_name="Omar", last_name="Khan", phone="07700 900556", consent_phone=False),
        Member(membership_number="M3", constituency_id=constituency_id, joined_on=date.today() - timedelta(days=90),
               first_name="Pat", last_name="Lee", phone="07700 900557", consent_phone=True),
    ])
    db.session.commit()
    admin = _admin(client)
    made = client.post("/api/v1/lists/call", headers=admin, json={
        "campaign_id": world.campaign.id, "source": "members",
        "joined_since": (date.today() - timedelta(days=30)).isoformat(), "ends_at": LATER,
        "assignee_ids": [world.users[Role.PHONE_BANKER].id]})
    assert made.status_code == 201, made.get_json()
    (call,) = made.get_json()
    assert call["name"] == "Welcome calls" and call["households"] == 1
    phone = HttpPhone(client, Role.PHONE_BANKER)
    _sync(phone)
    (item,) = _lists_on(phone)[call["id"]]["items"]
    member = phone.local[("member", item["member_id"])]
    assert (member["first_name"], member["phone"]) == ("Nia", "07700 900555")
    assert member["reason"].startswith("Welcome call: joined")

    mixed = client.post("/api/v1/lists/call-plans", headers=admin, json={
        "campaign_id": world.campaign.id, "source": "members", "intentions": ["LAB"]})
    assert mixed.status_code == 422 and "source" in mixed.get_json()["error"]["details"]


def test_lists_stay_inside_the_admins_clp_and_only_admins_make_them(client, world):
    admin = _admin(client)
    theirs = client.post("/api/v1/lists/walk-plans", headers=admin, json={
        "campaign_id": world.campaign.id, "polling_district_ids": [world.neighbour.district.id], "size": 10})
    assert theirs.status_code == 422
    assert "polling_district_ids" in theirs.get_json()["error"]["details"]
    other_drive = client.post("/api/v1/lists/walk-plans", headers=admin, json={
        "campaign_id": world.away_drive.id, "polling_district_ids": [world.home.district.id], "size": 10})
    assert other_drive.status_code == 422 and "campaign_id" in other_drive.get_json()["error"]["details"]
    stranger = client.post("/api/v1/lists/walk", headers=admin, json={
        "campaign_id": world.campaign.id, "polling_district_ids": [world.home.district.id], "size": 10,
        "ends_at": LATER, "assignee_ids": [world.users[Role.REGIONAL_STAFF].id]})
    assert stranger.status_code == 422 and "assignee_ids" in stranger.get_json()["error"]["details"]
    backwards = client.post("/api/v1/lists/walk", headers=admin, json={
        "campaign_id": world.campaign.id, "polling_district_ids": [world.home.district.id], "size": 10,
        "starts_at": LATER, "ends_at": NOW.isoformat()})
    assert backwards.status_code == 422 and "ends_at" in backwards.get_json()["error"]["details"]

    canvasser = bearer(login(client, Role.CANVASSER))
    assert client.get("/api/v1/lists", headers=canvasser).status_code == 403
    existing = client.get("/api/v1/lists", headers=bearer(login(client, Role.NATIONAL_ADMIN))).get_json()
    assert len(existing) == 2, "the national admin sees every CLP's lists"
    away_admin_view = client.get(f"/api/v1/lists/{existing[0]['id']}",
                                 headers=bearer(login(client, Role.MEMBERSHIP_SECRETARY)))
    assert away_admin_view.status_code == 403
    streets = client.get(f"/api/v1/lists/streets?polling_district_id={world.home.district.id}", headers=admin)
    assert [(s["street"], s["addresses"]) for s in streets.get_json()] == [
        ("Acacia Avenue", 6), ("Cedar Road", 4), ("High Street", 2)]
