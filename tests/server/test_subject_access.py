"""Story: an elector, and a member, ask what the party holds about them (UK GDPR art. 15).

The CLP admin (or, for a member, a national admin) downloads one JSON file with everything held: the register
entry, every contact record with its notes, the derived state, phone numbers volunteers sent, objections,
review items, the lists they are on, whose phones hold them, and who accessed their data and when. The export
is itself audited. After an erasure the same export holds nothing personal.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, AuditSubject, Member, MemberStatus, Role
from server.services import accounts, audit
from tests.factories import bearer, login, make_world
from tests.server.phone import HttpPhone

NOTE = "Keen on the library staying open"
PHONE = "07700 900333"


@pytest.fixture
def world(app):
    w = make_world()
    w.ava = w.home.electors[0]
    return w


def _export(client, token, kind, person_id):
    return client.get(f"/api/v1/rights/{kind}/{person_id}/subject-access", headers=bearer(token))


def test_an_elector_gets_everything_held_about_them_and_who_accessed_it(client, world):
    ava = world.ava
    phone = HttpPhone(client, Role.CANVASSER)
    while phone.pull().get_json()["has_more"]:
        pass
    phone.pull()  # confirms what it holds
    version = phone.local[("elector", ava.id)]["version"]
    assert [r["status"] for r in phone.push([
        phone.contact(world, ava, "SPOKE", "LAB", notes=NOTE),
        phone.update(ava, {"phone": PHONE}, base_version=version),
    ]).get_json()["results"]] == ["applied", "applied"]
    admin = login(client, Role.CLP_ADMIN)
    objection = client.post("/api/v1/suppressions", headers=bearer(admin), json={
        "elector_id": ava.id, "channel": "phone", "received_by": "email", "reason": "Email: no phone calls"})
    assert objection.status_code == 201

    response = _export(client, admin, "electors", ava.id)
    assert response.status_code == 200, response.get_json()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"elector-{ava.id}-{date.today().isoformat()}.json" in disposition
    assert response.headers["Cache-Control"] == "no-store"
    doc = response.get_json()
    assert doc["format"] == "groundwork.subject-access" and doc["subject"] == {"type": "elector", "id": ava.id}
    assert doc["register"]["forenames"] == "Ava" and doc["register"]["phone"] == PHONE
    assert doc["register"]["address"]["postcode"] == "EF1 1AA"
    [record] = doc["contact_records"]
    assert (record["outcome"], record["intention"], record["notes"]) == ("SPOKE", "LAB", NOTE)
    assert record["recorded_by"] == {"name": "Canvasser", "role": "canvasser"}
    assert doc["derived_state"]["intention"] == "LAB"
    assert [(u["field"], u["value"]) for u in doc["elector_updates"]] == [("phone", PHONE)]
    assert [(s["kind"], s["channel"], s["reason"]) for s in doc["suppressions"]] == [
        ("do_not_contact", "phone", "Email: no phone calls")]
    assert doc["lists"] == [] and doc["held_on_phones_of"] == [{"name": "Canvasser", "role": "canvasser"}]
    assert doc["erased_at"] is None
    assert [a["action"] for a in doc["access"]] == ["rights.subject_access"], "this export is on record"
    assert doc["access"][0]["by"] == {"name": "Clp Admin", "role": "clp_admin"}

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rights.subject_access"))
    assert (event.target_type, event.target_id) == ("elector", str(ava.id))
    assert db.session.scalar(select(AuditSubject.subject_id).where(AuditSubject.event_id == event.id)) == ava.id
    assert _export(client, admin, "electors", ava.id).get_json()["access"][0]["action"] == "rights.subject_access"


def test_after_an_erasure_the_export_holds_nothing_personal(client, world):
    ava = world.ava
    phone = HttpPhone(client, Role.PHONE_BANKER)
    ava_surname = ava.surname
    cara = world.home.electors[2]
    name, surname = cara.forenames, cara.surname
    phone.pull()
    version = phone.local[("elector", cara.id)]["version"]
    phone.push([phone.update(cara, {"phone": PHONE}, base_version=version),
                phone._mutation("contact", {"campaign_id": world.campaign.id, "elector_id": cara.id,
                                            "channel": "phone", "outcome": "SPOKE", "notes": NOTE})])
    admin = login(client, Role.CLP_ADMIN)
    assert client.post(f"/api/v1/rights/electors/{cara.id}/erasure", headers=bearer(admin),
                       json={"reason": "Phoned asking to be forgotten", "received_via": "phone"}).status_code == 200
    response = _export(client, admin, "electors", cara.id)
    text = response.get_data(as_text=True)
    for personal in (name, surname, PHONE, NOTE):
        assert personal not in text, personal
    doc = response.get_json()
    assert doc["erased_at"] is not None and doc["register"]["elector_number"] == "AA1-3"
    assert [s["kind"] for s in doc["suppressions"]] == ["erasure"]
    assert [c["outcome"] for c in doc["contact_records"]] == ["SPOKE"], "the count stays"
    assert [a["action"] for a in doc["access"]] == ["rights.erasure", "rights.subject_access"]
    assert len(doc["lists"]) == 1, "his call list still counts him (phones no longer see him)"
    assert ava_surname in _export(client, admin, "electors", ava.id).get_data(as_text=True), "others untouched"


def test_a_member_gets_their_membership_and_who_viewed_it(client, world):
    member = Member(membership_number="L0000555", constituency_id=world.home.constituency.id,
                    joined_on=date.today() - timedelta(days=2), status=MemberStatus.NEW, first_name="Ola",
                    last_name="Ndiaye", email="ola@example.test", phone=PHONE, address_lines=["5 Mill Lane"],
                    postcode="AB1 2CD", consent_phone=True, consent_email=True)
    db.session.add(member)
    db.session.commit()
    secretary = login(client, Role.MEMBERSHIP_SECRETARY)
    viewed = client.get("/api/v1/members/new", headers=bearer(secretary), query_string={
        "since": (date.today() - timedelta(days=7)).isoformat(), "purpose": "Welcoming new members"})
    assert viewed.status_code == 200

    assert _export(client, login(client, Role.CLP_ADMIN), "members", member.id).status_code == 403
    assert _export(client, secretary, "members", member.id).status_code == 403
    national = login(client, Role.NATIONAL_ADMIN)
    response = _export(client, national, "members", member.id)
    assert response.status_code == 200, response.get_json()
    assert re.search(rf'filename="subject-access-member-{member.id}-\d{{4}}-\d\d-\d\d\.json"',
                     response.headers["Content-Disposition"])
    doc = response.get_json()
    assert doc["membership"]["email"] == "ola@example.test" and doc["membership"]["membership_number"] == "L0000555"
    assert "register" not in doc
    assert [(a["action"], a["by"]["role"], a["purpose"]) for a in doc["access"]] == [
        ("members.view", "membership_secretary", "Welcoming new members"),
        ("rights.subject_access", "national_admin", None)]

    assert client.post(f"/api/v1/rights/members/{member.id}/erasure", headers=bearer(national),
                       json={"reason": "Email of 4 May", "received_via": "email"}).status_code == 200
    text = _export(client, national, "members", member.id).get_data(as_text=True)
    for personal in ("Ola", "Ndiaye", "ola@example.test", PHONE, "Mill Lane", "AB1 2CD"):
        assert personal not in text, personal


def test_who_may_ask_for_an_elector_export(client, world):
    ava = world.ava
    assert _export(client, login(client, Role.CANVASSER), "electors", ava.id).status_code == 403
    assert _export(client, login(client, Role.REGIONAL_STAFF), "electors", ava.id).status_code == 403
    accounts.create_user(email="bramley-admin@example.test", name="Bramley Admin",
                         password="correct horse battery staple", role=Role.CLP_ADMIN,
                         constituency_code=world.neighbour.constituency.code)
    other = _export(client, login(client, "bramley-admin@example.test"), "electors", ava.id)
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    assert _export(client, login(client, Role.NATIONAL_ADMIN), "electors", ava.id).status_code == 200
    assert _export(client, login(client, Role.CLP_ADMIN), "electors", 2**31 - 1).status_code == 404
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rights.subject_access")
                             .order_by(AuditEvent.id.desc())).actor_user_id == world.users[Role.NATIONAL_ADMIN].id
    # What an audit event records about someone is what the export shows as their access history.
    audit.record("electors.view", actor_user_id=world.users[Role.CLP_ADMIN].id, target_type="constituency",
                 constituency_id=ava.constituency_id, details={"purpose": "Checking the register"},
                 subjects=[("elector", ava.id)])
    db.session.commit()
    doc = _export(client, login(client, Role.CLP_ADMIN), "electors", ava.id).get_json()
    assert ("electors.view", "Checking the register") in [(a["action"], a["purpose"]) for a in doc["access"]]
