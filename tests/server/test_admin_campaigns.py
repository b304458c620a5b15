"""A CLP admin edits a campaign's codes, survey questions and phone script, and phones follow.

A code already used by records is retired, never deleted: phones stop offering it, the records keep it,
and a phone that used it offline before hearing of the retirement still delivers it.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AssignmentKind, AuditEvent, Campaign, ContactRecord, Role
from tests.factories import assign, bearer, login, make_world
from tests.server.phone import HttpPhone


@pytest.fixture
def world(app):
    return make_world()


def _admin(client, role=Role.CLP_ADMIN):
    return bearer(login(client, role, device_name="Office laptop"))


def _sync(phone) -> None:
    while phone.pull().get_json()["has_more"]:
        pass


def _campaign_on(phone, campaign_id) -> dict:
    return phone.local[("campaign", campaign_id)]


def test_a_clp_starts_a_local_drive_from_the_national_campaign_and_edits_it(client, world):
    admin = _admin(client)
    national = client.patch(f"/api/v1/campaigns/{world.campaign.id}", json={"call_script": "Hi"}, headers=admin)
    assert national.status_code == 409, "the national office sets a national campaign"
    assert "local drive" in national.get_json()["error"]["message"]

    drive = client.post("/api/v1/campaigns", headers=admin, json={
        "name": "Spring surgery survey", "starts_on": date.today().isoformat(),
        "ends_on": (date.today() + timedelta(days=30)).isoformat(), "based_on_id": world.campaign.id})
    assert drive.status_code == 201, drive.get_json()
    drive = drive.get_json()
    assert drive["kind"] == "local_drive" and drive["constituency_id"] == world.home.constituency.id
    assert [o["code"] for o in drive["outcomes"]] == ["SPOKE", "NH"]

    script = client.patch(f"/api/v1/campaigns/{drive['id']}", headers=admin,
                          json={"call_script": "Hello, I'm calling from the local party about the surgery."})
    assert script.status_code == 200 and script.get_json()["version"] == drive["version"] + 1
    question = client.post(f"/api/v1/campaigns/{drive['id']}/questions", headers=admin, json={
        "key": "surgery", "text": "Have you had trouble getting a GP appointment?", "kind": "yes_no"})
    assert question.status_code == 201, question.get_json()
    assert question.get_json()["questions"][-1]["options"] == [{"code": "yes", "label": "Yes"},
                                                               {"code": "no", "label": "No"}]
    again = client.post(f"/api/v1/campaigns/{drive['id']}/questions", headers=admin, json={
        "key": "surgery", "text": "Again", "kind": "text"})
    assert again.status_code == 409
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "campaign")))
    assert actions == {"campaign.create", "campaign.update", "campaign.question_add"}

    someone_elses = client.patch(f"/api/v1/campaigns/{world.away_drive.id}", json={"name": "Mine"}, headers=admin)
    assert someone_elses.status_code == 404
    canvasser = client.patch(f"/api/v1/campaigns/{drive['id']}", json={"name": "x"},
                             headers=bearer(login(client, Role.CANVASSER)))
    assert canvasser.status_code == 403


def test_a_retired_code_leaves_the_phones_buttons_but_never_breaks_a_record(client, world):
    admin = _admin(client)
    drive_id = world.local_drive.id
    elector = world.home.electors[0]
    list_ = assign(world, Role.CANVASSER, AssignmentKind.WALK, property=world.home.properties[0])
    list_.campaign_id = drive_id
    db.session.commit()
    phone = HttpPhone(client, Role.CANVASSER)
    _sync(phone)
    offline_record = phone.contact(world, elector, "NH")
    offline_record["data"]["campaign_id"] = drive_id
    first = phone.push([{**offline_record}])
    assert first.get_json()["results"][0]["status"] == "applied"

    added = client.post(f"/api/v1/campaigns/{drive_id}/codes", headers=admin, json={
        "code_set": "outcome", "code": "AWAY", "label": "Away on holiday", "meaning": "not_home",
        "channels": ["door"]})
    assert added.status_code == 201, added.get_json()
    retired = client.patch(f"/api/v1/campaigns/{drive_id}/codes/outcome/NH", headers=admin, json={"retired": True})
    assert retired.status_code == 200
    codes = {o["code"]: o for o in retired.get_json()["outcomes"]}
    assert codes["NH"]["retired"] is True and codes["AWAY"]["retired"] is False

    _sync(phone)
    on_phone = {o["code"]: o for o in _campaign_on(phone, drive_id)["outcomes"]}
    assert on_phone["NH"].get("retired") is True, "kept, to name the old record, but flagged"
    assert "retired" not in on_phone["AWAY"]

    # A record made offline with the old code, before the phone heard: still delivered.
    late = phone.contact(world, world.home.electors[1], "NH")
    late["data"]["campaign_id"] = drive_id
    assert phone.push([late]).get_json()["results"][0]["status"] == "applied"
    assert {r.outcome for r in db.session.scalars(select(ContactRecord))} == {"NH"}

    restored = client.patch(f"/api/v1/campaigns/{drive_id}/codes/outcome/NH", headers=admin, json={"retired": False})
    assert {o["code"]: o["retired"] for o in restored.get_json()["outcomes"]}["NH"] is False
    last_outcome = client.patch(f"/api/v1/campaigns/{drive_id}/codes/outcome/SPOKE", headers=admin,
                                json={"retired": True})
    assert last_outcome.status_code == 200
    client.patch(f"/api/v1/campaigns/{drive_id}/codes/outcome/AWAY", headers=admin, json={"retired": True})
    none_left = client.patch(f"/api/v1/campaigns/{drive_id}/codes/outcome/NH", headers=admin, json={"retired": True})
    assert none_left.status_code == 409, "a campaign keeps at least one outcome in use"


def test_answers_already_given_keep_their_meaning(client, world):
    admin = _admin(client, Role.NATIONAL_ADMIN)
    cid = world.campaign.id
    made = client.post(f"/api/v1/campaigns/{cid}/questions", headers=admin, json={
        "key": "issue", "text": "Top issue?", "kind": "choice",
        "options": [{"code": "nhs", "label": "NHS"}, {"code": "housing", "label": "Housing"}]})
    assert made.status_code == 201, made.get_json()
    dropped = client.patch(f"/api/v1/campaigns/{cid}/questions/issue", headers=admin,
                           json={"options": [{"code": "nhs", "label": "NHS"}, {"code": "jobs", "label": "Jobs"}]})
    assert dropped.status_code == 422 and "housing" in str(dropped.get_json()["error"]["details"])
    grown = client.patch(f"/api/v1/campaigns/{cid}/questions/issue", headers=admin, json={
        "text": "What matters most to you?", "options": [
            {"code": "nhs", "label": "The NHS"}, {"code": "housing", "label": "Housing"},
            {"code": "jobs", "label": "Jobs"}]})
    assert grown.status_code == 200
    question = grown.get_json()["questions"][-1]
    assert question["text"] == "What matters most to you?" and len(question["options"]) == 3
    scale = client.post(f"/api/v1/campaigns/{cid}/questions", headers=admin, json={
        "key": "likely", "text": "How likely to vote?", "kind": "scale", "options": {"min": 1, "max": 5}})
    assert scale.status_code == 201
    narrower = client.patch(f"/api/v1/campaigns/{cid}/questions/likely", headers=admin,
                            json={"options": {"min": 2, "max": 5}})
    assert narrower.status_code == 422
    wrong_shape = client.post(f"/api/v1/campaigns/{cid}/questions", headers=admin, json={
        "key": "bad", "text": "?", "kind": "choice", "options": "yes,no"})
    assert wrong_shape.status_code == 422 and "options" in wrong_shape.get_json()["error"]["details"]
    retired = client.patch(f"/api/v1/campaigns/{cid}/questions/issue", headers=admin, json={"retired": True})
    assert retired.get_json()["questions"][-2]["retired"] is True
    moved = client.patch(f"/api/v1/campaigns/{cid}/questions/likely", headers=admin, json={"position": 0})
    assert [q["key"] for q in moved.get_json()["questions"]] == ["likely", "issue"]
    assert db.session.get(Campaign, cid).version > 1
