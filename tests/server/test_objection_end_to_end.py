"""Story: an elector writes to object to campaigning contact (UK GDPR art. 21), and no phone, sheet or register
brings them back.

The CLP admin records the letter. A phone holding them drops them at its next pull; a record another phone made
offline comes back "suppressed" and is not stored; a canvass sheet typed up later counts their row as
suppressed and imports nothing about them; the next register edition lists them again and they stay
suppressed, off every phone.
"""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AssignmentKind, ContactRecord, Elector, Role, Suppression, SuppressionKind, SyncReceipt
from server.services.register_address import address_key
from server.services.register_import import import_register
from tests.factories import assign, bearer, login, make_world
from tests.server.phone import HttpPhone
from tests.server.test_imports_helpers import csv_bytes, days_ago, row, run_job, upload

HEADER_14 = ("Elector Number Prefix,Elector Number,Elector Number Suffix,Elector Markers,Elector DOB,"
             "Elector Surname,Elector Forename,PostCode,Address1,Address2,Address3,Address4,Address5,Address6")


@pytest.fixture
def world(app):
    w = make_world()
    for prop in w.home.properties:  # the register's own keys, so a register file finds these homes
        prop.address_key = address_key(prop.address_lines, prop.postcode)
    db.session.commit()
    return w


def _pull_all(phone) -> list[dict]:
    changes = []
    while True:
        body = phone.pull().get_json()
        changes += body["changes"]
        if not body["has_more"]:
            return changes


def _records_about(elector_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ContactRecord).where(ContactRecord.elector_id == elector_id))


def test_an_objection_by_letter_reaches_every_phone_and_nothing_brings_the_person_back(client, world, tmp_path):
    ava, ben = world.home.electors[:2]
    # Two canvassers share the walk list of Ava's house; both phones hold her.
    assign(world, Role.CLP_ADMIN, AssignmentKind.WALK, property=world.home.properties[0])
    first, second = HttpPhone(client, Role.CANVASSER), HttpPhone(client, Role.CLP_ADMIN)
    for phone in (first, second):
        _pull_all(phone)
        assert ("elector", ava.id) in phone.local
    offline = second.contact(world, ava, "SPOKE", "LAB", notes="Asked about the council tax")

    admin = login(client, Role.CLP_ADMIN)
    recorded = client.post("/api/v1/suppressions", headers=bearer(admin), json={
        "elector_id": ava.id, "channel": "all", "received_by": "letter",
        "reason": "Letter of 2 May: no canvassing or calls"})
    assert recorded.status_code == 201, recorded.get_json()

    deletes = [c for c in _pull_all(first) if c["op"] == "delete"]
    assert deletes == [{"entity": "elector", "id": ava.id, "op": "delete", "reason": "suppressed"}]
    assert ("elector", ava.id) not in first.local and ("elector", ben.id) in first.local

    before = _records_about(ava.id)
    answer = second.push([offline]).get_json()["results"][0]
    assert answer["status"] == "suppressed"
    assert _records_about(ava.id) == before
    assert db.session.get(SyncReceipt, uuid.UUID(offline["id"])).details is None
    assert {"entity": "elector", "id": ava.id, "op": "delete", "reason": "suppressed"} in _pull_all(second)

    # A canvass sheet typed up from paper afterwards names her: her row is counted, never imported.
    day = days_ago(1)
    sheet = csv_bytes([row(ava, day), row(ben, day)])
    batch = upload(client, admin, sheet, "sheet.csv", campaign_id=world.campaign.id).get_json()
    committed = run_job(client, admin, batch["id"], "commit")
    assert committed["result"]["counts"]["suppressed"] == 1 and committed["result"]["counts"]["new"] == 1
    assert _records_about(ava.id) == before and _records_about(ben.id) == 1

    # The next register edition lists her again: still suppressed, still off every phone.
    path = tmp_path / "register-2027-02-01.csv"
    path.write_text(HEADER_14 + "\n" + "\n".join(
        f"AA1,{e.number},0,,,{e.surname},{e.forenames},EF1 1AA,{house},High Street,Ashford North,,,"
        for e, house in ((ava, 1), (ben, 1), (world.home.electors[2], 2))) + "\n")
    summary = import_register(path, world.home.constituency.code, edition_date=date(2027, 2, 1))
    assert summary.removed == 0
    db.session.expire_all()
    assert db.session.get(Elector, ava.id).last_seen_edition_id == summary.edition_id
    active = db.session.scalar(select(Suppression).where(Suppression.elector_id == ava.id))
    assert (active.kind, active.lifted_at) == (SuppressionKind.DO_NOT_CONTACT, None)
    for phone in (first, second):
        assert not any(c["entity"] == "elector" and c["id"] == ava.id and c["op"] == "upsert"
                       for c in _pull_all(phone))
        assert ("elector", ava.id) not in phone.local
    again = first.push([first.contact(world, ava, "NH")]).get_json()["results"][0]
    assert again["status"] == "suppressed" and _records_about(ava.id) == before
