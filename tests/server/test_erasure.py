"""Story: an elector asks to be forgotten (UK GDPR art. 17) while a canvasser's phone holding them is offline.

The phone's next push about them comes back "suppressed" and stores nothing; its next pull removes them. What
the server held about them (names, phone, notes, free-text answers, a phone number a volunteer sent, a review
item naming them, their row in an uploaded canvass sheet) is gone, while the counts stay. The next register
edition lists them again and they stay erased, under their old number or a new one. Only CLP admins (their own
CLP) and national admins may do it; a member's erasure needs a national admin.
"""
from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    AssignmentKind,
    AuditEvent,
    AuditSubject,
    Channel,
    ContactRecord,
    Elector,
    ElectorUpdate,
    ImportFile,
    Member,
    MemberStatus,
    QuestionKind,
    RecordSource,
    ReviewItem,
    Role,
    Suppression,
    SuppressionKind,
    SurveyQuestion,
    SyncReceipt,
)
from server.services import accounts
from server.services.register_address import address_key
from server.services.register_import import import_register
from tests.factories import NOW, assign, bearer, login, make_world
from tests.server.phone import HttpPhone
from tests.server.test_imports_helpers import csv_bytes, days_ago, row, run_job, upload

# What the server must not keep once Zebedee is erased.
NAME, SURNAME = "Zebedee", "Quillfeather"
PHONE = "07700 900461"
NOTE = "Mentioned the hip operation at St Mary's"
LATER_NOTE = "Says to ring his daughter instead"
FREE_TEXT = "Worried about the bus route to the surgery"
PERSONAL = (NAME, SURNAME, PHONE, NOTE, LATER_NOTE, FREE_TEXT)
HEADER_14 = ("Elector Number Prefix,Elector Number,Elector Number Suffix,Elector Markers,Elector DOB,"
             "Elector Surname,Elector Forename,PostCode,Address1,Address2,Address3,Address4,Address5,Address6")
LETTER = {"reason": "Letter of 3 March asking to be forgotten", "received_via": "letter"}


@pytest.fixture
def world(app):
    w = make_world()
    zeb = w.home.electors[0]  # lives at the canvasser's walk list's first house, with Ben
    zeb.surname, zeb.forenames = SURNAME, NAME
    w.campaign.questions.append(SurveyQuestion(key="said", text="Anything else they said?", kind=QuestionKind.TEXT,
                                               position=1))
    # The register's own address keys, so a register file finds these homes again.
    for prop in w.home.properties:
        prop.address_key = address_key(prop.address_lines, prop.postcode)
    db.session.commit()
    w.zeb = zeb
    return w


def _erase(client, token, elector_id, body=LETTER):
    return client.post(f"/api/v1/rights/electors/{elector_id}/erasure", json=body, headers=bearer(token))


def _everything() -> str:
    """Every row of every table, as text: what a database dump would show."""
    db.session.expire_all()
    out = []
    for table in db.metadata.sorted_tables:
        for found in db.session.execute(select(table)):
            out.append(repr(tuple(found)))
            for value in found:
                if isinstance(value, (bytes, memoryview)):
                    out.append(bytes(value).decode("utf-8", "replace"))
    return "\n".join(out)


def _register(path: Path, rows: list[tuple[int, str, str, int]]) -> Path:
    path.write_text(HEADER_14 + "\n" + "\n".join(
        f"AA1,{n},0,,,{surname},{forename},EF1 1AA,{house},High Street,Ashford North,,,"
        for n, surname, forename, house in rows) + "\n")
    return path


def _pull_all(phone) -> list[dict]:
    changes = []
    while True:
        body = phone.pull().get_json()
        changes += body["changes"]
        if not body["has_more"]:
            return changes


def test_an_elector_erased_while_a_phone_is_offline_is_gone_from_it_and_from_the_server(client, world, tmp_path):
    zeb, ben = world.zeb, world.home.electors[1]
    assign(world, Role.CANVASSER, AssignmentKind.WALK, property=world.home.properties[1])  # next door too
    phone = HttpPhone(client, Role.CANVASSER)
    _pull_all(phone)
    assert ("elector", zeb.id) in phone.local
    answers = phone.push([
        phone.contact(world, zeb, "SPOKE", "LAB", notes=NOTE, survey_answers={"said": FREE_TEXT}),
        phone.update(zeb, {"phone": PHONE}, base_version=phone.local[("elector", zeb.id)]["version"]),
        phone.contact(world, ben, "SPOKE", "UND", notes="Ben likes the new bus lane"),
    ]).get_json()["results"]
    assert [a["status"] for a in answers] == ["applied"] * 3
    # Someone of his name found at his door, reported as not on the register, waits in the review queue.
    phone.push([phone._mutation("elector_new", {"property_id": zeb.property_id, "surname": SURNAME,
                                                "forenames": NAME, "phone": PHONE, "notes": NOTE})])
    # The phone goes offline with one more record about him in its outbox.
    pending = phone.contact(world, zeb, "SPOKE", "LAB", notes=LATER_NOTE)

    admin = login(client, Role.CLP_ADMIN)
    erased = _erase(client, admin, zeb.id)
    assert erased.status_code == 200, erased.get_json()
    body = erased.get_json()
    assert body["subject_type"] == "elector" and body["subject_id"] == zeb.id
    assert body["removed"]["contact_records"] == 1 and body["removed"]["review_items"] == 1

    # Back online: the pending record is refused as suppressed, and the next pull removes him.
    result = phone.push([pending]).get_json()["results"][0]
    assert result["status"] == "suppressed"
    deletes = [c for c in _pull_all(phone) if c["op"] == "delete"]
    assert {"entity": "elector", "id": zeb.id, "op": "delete", "reason": "erased"} in deletes
    assert ("elector", zeb.id) not in phone.local and ("elector", ben.id) in phone.local

    # Counts stay; nothing personal does.
    db.session.expire_all()
    records = db.session.scalars(select(ContactRecord).where(ContactRecord.elector_id == zeb.id)).all()
    assert [(r.outcome, r.intention, r.notes, r.survey_answers) for r in records] == [("SPOKE", "LAB", None, {})]
    assert records[0].personal_removed_at is not None
    assert db.session.get(ContactRecord, uuid.UUID(pending["id"])) is None
    receipt = db.session.get(SyncReceipt, uuid.UUID(pending["id"]))
    assert (receipt.status, receipt.details) == ("suppressed", None)
    assert db.session.scalar(select(ElectorUpdate.value).where(ElectorUpdate.elector_id == zeb.id)) is None
    row_ = db.session.get(Elector, zeb.id)
    assert (row_.surname, row_.forenames, row_.phone, row_.erased_at is not None) == ("", "", None, True)
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.kind == "new_elector"))
    assert item.status == "resolved" and item.resolution["choice"] == "erased"
    assert db.session.get(ContactRecord, records[0].id).user_id == world.users[Role.CANVASSER].id
    suppression = db.session.scalar(select(Suppression).where(Suppression.elector_id == zeb.id))
    assert (suppression.kind, suppression.channel.value, suppression.source) == (
        SuppressionKind.ERASURE, "all", "elector_request")
    assert len(suppression.fingerprint) == 64
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rights.erasure"))
    assert event.details["received_via"] == "letter"
    assert db.session.scalar(select(AuditSubject.subject_id).where(AuditSubject.event_id == event.id)) == zeb.id
    assert "Ben likes the new bus lane" in _everything(), "only his data goes"
    dump = _everything()
    for text in PERSONAL:
        assert text not in dump, text

    # The next register edition lists him again under his number, moved next door: he stays erased.
    summary = import_register(_register(tmp_path / "register-2027-02-01.csv", [
        (1, SURNAME, NAME, 2), (2, ben.surname, "Ben", 1), (3, world.home.electors[2].surname, "Cara", 2)]),
        world.home.constituency.code, edition_date=date(2027, 2, 1))
    assert summary.erased_kept == 1 and summary.removed == 0 and summary.updated == 1
    db.session.expire_all()
    row_ = db.session.get(Elector, zeb.id)
    assert (row_.surname, row_.forenames, row_.erased_at is not None) == ("", "", True)
    assert row_.property_id == world.home.properties[1].id
    assert db.session.scalar(select(ContactRecord.notes).where(ContactRecord.elector_id == zeb.id)) is None
    assert not [c for c in _pull_all(phone) if c["entity"] == "elector" and c["id"] == zeb.id]
    assert phone.push([phone.contact(world, zeb, "NH")]).get_json()["results"][0]["status"] == "suppressed"

    # A subject access request afterwards finds his record, and nothing personal in it.
    export = client.get(f"/api/v1/rights/electors/{zeb.id}/subject-access", headers=bearer(admin))
    assert export.status_code == 200
    text = export.get_data(as_text=True)
    assert export.get_json()["contact_records"][0]["outcome"] == "SPOKE"
    for personal in PERSONAL:
        assert personal not in text, personal
    assert NAME not in _everything()


def test_a_later_edition_listing_them_under_a_new_number_enters_them_already_erased(client, world, tmp_path):
    zeb = world.zeb
    admin = login(client, Role.CLP_ADMIN)
    assert _erase(client, admin, zeb.id).status_code == 200
    others = [(2, world.home.electors[1].surname, "Ben", 1), (3, world.home.electors[2].surname, "Cara", 2)]
    # Renumbered: the council lists him as AA1-9 (accents and capitals are no disguise), and AA1-1 has gone.
    summary = import_register(_register(tmp_path / "register-2027-02-01.csv",
                                        others + [(9, SURNAME.upper(), "Zébedee", 1)]),
                              world.home.constituency.code, edition_date=date(2027, 2, 1), force=True)
    assert summary.added == 1 and summary.erased_kept == 1
    db.session.expire_all()
    new = db.session.scalar(select(Elector).where(Elector.constituency_id == world.home.constituency.id,
                                                  Elector.number == 9))
    assert (new.surname, new.forenames, new.erased_at is not None) == ("", "", True)
    kept = db.session.scalar(select(Suppression).where(Suppression.elector_id == new.id))
    assert kept.kind == SuppressionKind.ERASURE
    assert kept.fingerprint == db.session.scalar(select(Suppression.fingerprint)
                                                 .where(Suppression.elector_id == zeb.id))
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rights.erasure_kept")).target_id == str(new.id)
    phone = HttpPhone(client, Role.CANVASSER)
    assert not any(c["id"] == new.id for c in _pull_all(phone) if c["entity"] == "elector")
    assert SURNAME.upper() not in _everything()


def test_the_canvass_sheet_rows_about_them_are_blanked_in_stored_import_files(client, world):
    zeb, ben = world.zeb, world.home.electors[1]
    admin = login(client, Role.CLP_ADMIN)
    day = days_ago(2)
    sheet = csv_bytes([row(ben, day), row(zeb, day), row(world.home.electors[2], day)])
    uploaded = upload(client, admin, sheet, "doorstep.csv", campaign_id=world.campaign.id).get_json()
    committed = run_job(client, admin, uploaded["id"], "commit")
    assert committed["result"]["counts"]["new"] == 3
    book = openpyxl.Workbook()
    book.active.append(["Elector No", "Surname", "Forenames", "House", "Street", "Postcode", "Date", "Result", "VI"])
    for person in (zeb, ben):
        book.active.append(row(person, day, result="NH", vi=""))
    data = io.BytesIO()
    book.save(data)
    waiting = upload(client, admin, data.getvalue(), "later.xlsx", campaign_id=world.campaign.id).get_json()

    erased = _erase(client, admin, zeb.id)
    assert erased.get_json()["removed"]["import_files"] == 2
    db.session.expire_all()
    csv_text = db.session.get(ImportFile, uploaded["id"]).data.decode()
    assert SURNAME not in csv_text and ben.surname in csv_text
    assert csv_text.splitlines()[2] == "", "his record is blank, so the rows keep their numbers"
    book = openpyxl.load_workbook(io.BytesIO(db.session.get(ImportFile, waiting["id"]).data))
    cells = [[c.value for c in r] for r in book.active.iter_rows()]
    assert all(v is None for v in cells[1]) and cells[2][1] == ben.surname
    # The sheet not yet imported still imports, without him.
    later = run_job(client, admin, waiting["id"], "commit")
    assert later["result"]["counts"]["rows"] == 1 and later["result"]["counts"]["new"] == 1


def test_a_held_delivery_about_them_keeps_what_it_was_about_and_is_decided_suppressed(client, world):
    zeb = world.zeb
    phone = HttpPhone(client, Role.CANVASSER)
    _pull_all(phone)
    admin = login(client, Role.CLP_ADMIN)
    device = phone.device_id
    assert client.post(f"/api/v1/devices/{device}/revoke", json={"reason": "access_withdrawn"},
                       headers=bearer(admin)).status_code in (200, 204)
    late = phone.contact(world, zeb, "SPOKE", "LAB", notes=NOTE)
    other = phone.contact(world, world.home.electors[1], "NH")
    assert [r["status"] for r in phone.push([late, other]).get_json()["results"]] == ["held", "held"]

    assert _erase(client, admin, zeb.id).status_code == 200
    db.session.expire_all()
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.kind == "held_delivery"))
    assert item.status == "open", "the other record still waits for a decision"
    assert item.data["decisions"] == {late["id"]: "suppressed"}
    assert NOTE not in repr(item.data)
    assert db.session.get(SyncReceipt, uuid.UUID(late["id"])).status == "suppressed"


def test_who_may_erase_an_elector(client, world):
    zeb = world.zeb
    assert _erase(client, login(client, Role.CANVASSER), zeb.id).status_code == 403
    assert _erase(client, login(client, Role.MEMBERSHIP_SECRETARY), zeb.id).status_code == 403
    accounts.create_user(email="away-admin@example.test", name="Away Admin", password="correct horse battery staple",
                         role=Role.CLP_ADMIN, constituency_code=world.away.constituency.code)
    away = login(client, "away-admin@example.test")
    missing = _erase(client, away, zeb.id)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert db.session.get(Elector, zeb.id).erased_at is None
    assert _erase(client, login(client, Role.NATIONAL_ADMIN), zeb.id).status_code == 200
    again = _erase(client, login(client, Role.CLP_ADMIN), zeb.id)
    assert again.status_code == 409 and set(again.get_json()["error"]) == {"code", "message", "details"}
    bad = _erase(client, login(client, Role.CLP_ADMIN), world.home.electors[1].id,
                 {"reason": "", "received_via": "carrier pigeon"})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["details"]) == {"reason", "received_via"}


def _member(world) -> Member:
    m = Member(membership_number="L0000777", constituency_id=world.home.constituency.id,
               joined_on=date.today() - timedelta(days=3), status=MemberStatus.NEW, first_name=NAME,
               last_name=SURNAME, email="zebedee@example.test", phone=PHONE,
               address_lines=["7 Mill Lane", "Ashford"], postcode="AB1 2CD", consent_phone=True,
               elector_id=world.zeb.id)
    db.session.add(m)
    db.session.commit()
    return m


def test_a_national_admin_erases_a_member_and_their_welcome_calls_lose_their_notes(client, world):
    member = _member(world)
    welcome = assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=world.home.electors[2])
    welcome.items[0].elector_id, welcome.items[0].member_id = None, member.id
    welcome.items[0].reason = "Welcome call: joined this week"
    db.session.add(ContactRecord(id=uuid.uuid4(), campaign_id=world.campaign.id,
                                 constituency_id=member.constituency_id, member_id=member.id, channel=Channel.PHONE,
                                 outcome="SPOKE", notes=NOTE, occurred_at=NOW, source=RecordSource.PWA))
    db.session.commit()
    phone = HttpPhone(client, Role.PHONE_BANKER)
    _pull_all(phone)
    assert ("member", member.id) in phone.local
    pending = phone._mutation("contact", {"campaign_id": world.campaign.id, "member_id": member.id,
                                          "channel": "phone", "outcome": "SPOKE", "notes": LATER_NOTE})

    url = f"/api/v1/rights/members/{member.id}/erasure"
    assert client.post(url, json=LETTER, headers=bearer(login(client, Role.CLP_ADMIN))).status_code == 403
    assert client.post(url, json=LETTER, headers=bearer(login(client, Role.MEMBERSHIP_SECRETARY))).status_code == 403
    done = client.post(url, json={**LETTER, "received_via": "email"}, headers=bearer(login(client, Role.NATIONAL_ADMIN)))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["subject_type"] == "member"

    assert phone.push([pending]).get_json()["results"][0]["status"] == "suppressed"
    _pull_all(phone)
    assert ("member", member.id) not in phone.local
    db.session.expire_all()
    m = db.session.get(Member, member.id)
    assert (m.first_name, m.last_name, m.email, m.phone, m.address_lines, m.postcode, m.elector_id) == (
        "", "", None, None, [], None, None)
    assert (m.membership_number, m.status, m.erased_at is not None) == ("L0000777", MemberStatus.NEW, True)
    assert db.session.scalar(select(ContactRecord.notes).where(ContactRecord.member_id == member.id)) is None
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)
                             .where(ContactRecord.member_id == member.id)) == 1
    suppression = db.session.scalar(select(Suppression).where(Suppression.member_id == member.id))
    assert (suppression.kind, suppression.source) == (SuppressionKind.ERASURE, "member_request")
    dump = _everything()
    for text in (PHONE, NOTE, LATER_NOTE, "zebedee@example.test", "Mill Lane", "joined this week"):
        assert text not in dump, text
    assert world.zeb.surname == SURNAME, "the elector he also is was not asked about, so stays"
    again = client.post(url, json=LETTER, headers=bearer(login(client, Role.NATIONAL_ADMIN)))
    assert again.status_code == 409


def test_later_pushes_queue_nothing_personal_about_them_for_review(client, world):
    zeb = world.zeb
    phone = HttpPhone(client, Role.CANVASSER)
    _pull_all(phone)
    found = phone._mutation("elector_new", {"property_id": zeb.property_id, "surname": SURNAME,
                                            "forenames": NAME, "notes": NOTE})
    admin = login(client, Role.CLP_ADMIN)
    assert _erase(client, admin, zeb.id).status_code == 200
    # Found at his door again by an offline phone, as not on the register: not queued by name.
    assert phone.push([found]).get_json()["results"][0]["status"] == "applied"
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)) == 0
    # A phone whose access ended delivers a record about him: decided suppressed, held by no one.
    assert client.post(f"/api/v1/devices/{phone.device_id}/revoke", json={"reason": "access_withdrawn"},
                       headers=bearer(admin)).status_code in (200, 204)
    late = phone.contact(world, zeb, "SPOKE", "LAB", notes=LATER_NOTE)
    answer = phone.push([late, phone.contact(world, world.home.electors[1], "NH")]).get_json()["results"]
    assert [a["status"] for a in answer] == ["held", "held"]
    db.session.expire_all()
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.kind == "held_delivery"))
    assert item.data["decisions"] == {late["id"]: "suppressed"}
    assert phone.push([late]).get_json()["results"][0]["status"] == "suppressed", "a resend learns the outcome"
    dump = _everything()
    for text in PERSONAL:
        assert text not in dump, text


def test_a_review_item_closed_by_an_erasure_cannot_be_reopened(client, world):
    zeb = world.zeb
    item = ReviewItem(constituency_id=zeb.constituency_id, kind="field_conflict", elector_id=zeb.id,
                      data={"field": "phone", "values": ["07700 900111", "07700 900222"]})
    db.session.add(item)
    db.session.commit()
    admin = login(client, Role.CLP_ADMIN)
    assert _erase(client, admin, zeb.id).status_code == 200
    db.session.expire_all()
    assert db.session.get(ReviewItem, item.id).resolution["choice"] == "erased"
    undo = client.post(f"/api/v1/review-items/{item.id}/undo", json={}, headers=bearer(admin))
    assert undo.status_code == 409, undo.get_json()
    assert "erased" in undo.get_json()["error"]["message"]
    db.session.expire_all()
    assert db.session.get(ReviewItem, item.id).status == "resolved"
