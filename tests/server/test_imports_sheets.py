"""Story: a CLP kept a spreadsheet during an outage and imports it (docs/imports.md).

2,000 rows: 5% with typos in names (matched by score), 3% repeating records phones already synced, 1% about
electors who objected, 10 rows with a code nobody mapped, and 20 rows whose intention contradicts what a
volunteer recorded the day before. The preview's counts are exactly what the sheet was built to hold; the
commit lands those records, a second import of the same file adds nothing, and undo restores the derived
state exactly as `flask sync rebuild` computes it, even with later records on top.
"""
from __future__ import annotations

import random
from datetime import datetime, time, timezone

from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEvent, ContactRecord, ImportBatch, RecordSource, ReviewItem, Role
from tests.factories import login, make_world
from tests.server.phone import HttpPhone
from tests.server.test_imports_helpers import (build_register, csv_bytes, days_ago, object_to, row, run_job, states,
                                               typo, upload)


def _outage_sheet(world, client):
    rng = random.Random(7)
    electors = build_register(world.home, 2000)
    day = days_ago(5)
    order = list(range(2000))
    rng.shuffle(order)
    typos, synced, objected, unknown, conflicted = (order[:100], order[100:160], order[160:180], order[180:190],
                                                    order[190:210])
    phone = HttpPhone(client, Role.NATIONAL_ADMIN)
    at = datetime.combine(day, time(10, 0), tzinfo=timezone.utc)
    before = datetime.combine(days_ago(6), time(18, 0), tzinfo=timezone.utc)
    pushed = [phone.contact(world, electors[i], "SPOKE", "LAB", at=at) for i in synced]
    pushed += [phone.contact(world, electors[i], "SPOKE", "LAB", at=before) for i in conflicted]
    for start in range(0, len(pushed), 200):
        assert phone.push(pushed[start:start + 200]).status_code == 200
    for i in objected:
        object_to(world, electors[i])
    rows = []
    for i, elector in enumerate(electors):
        if i in typos:
            rows.append(row(elector, day, number=False, name=typo(elector.surname, rng)))
        elif i in unknown:
            rows.append(row(elector, day, result="ZZ"))
        elif i in conflicted:
            rows.append(row(elector, day, vi="U"))
        else:
            rows.append(row(elector, day))
    expected = {"rows": 2000, "new": 2000 - 60 - 20 - 10, "duplicates": 60, "suppressed": 20, "rejected": 10,
                "conflicts": 20, "choose": 0, "unmatched": 0, "skipped": 0, "held": 0, "new_electors": 0,
                "warnings": 0}
    return electors, csv_bytes(rows), expected, set(objected)


def test_an_outage_spreadsheet_previews_exactly_commits_once_and_undoes_to_a_rebuild(app, client, runner):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    electors, data, expected, objected = _outage_sheet(world, client)
    before = states()

    made = upload(client, token, data, "outage.csv", campaign_id=world.campaign.id)
    assert made.status_code == 201, made.get_json()
    batch = made.get_json()
    assert batch["kind"] == "sheet" and batch["status"] == "uploaded"
    assert {"elector_number", "surname", "date", "outcome", "intention"} <= set(batch["proposal"]["columns"])
    assert batch["proposal"]["codes"]["outcome"]["unknown"][0]["token"] == "ZZ"

    previewed = run_job(client, token, batch["id"], "preview")
    assert previewed["status"] == "previewed"
    assert previewed["result"]["counts"] == expected
    assert {r["line"] for r in previewed["result"]["rejected"]} and all(
        r["reasons"][0]["code"] == "unknown_code" for r in previewed["result"]["rejected"])
    shown = {e["elector_id"] for name in ("new", "duplicates", "conflicts") for e in previewed["result"][name]}
    assert not shown & {electors[i].id for i in objected}  # objectors are counted, never listed
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)
                             .where(ContactRecord.source == RecordSource.IMPORT)) == 0  # rolled back
    assert states() == before

    committed = run_job(client, token, batch["id"], "commit")
    assert committed["status"] == "committed"
    assert committed["result"]["counts"] == expected
    imported = db.session.scalars(select(ContactRecord).where(ContactRecord.import_batch_id == batch["id"])).all()
    assert len(imported) == expected["new"]
    assert all(r.source == RecordSource.IMPORT for r in imported)
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)
                             .where(ReviewItem.kind == "intention_conflict")) == 20
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "import.committed")) == 1

    again = upload(client, token, data, "outage (copy).csv", campaign_id=world.campaign.id).get_json()
    second = run_job(client, token, again["id"], "commit")
    assert second["result"]["counts"]["new"] == 0
    assert second["result"]["counts"]["duplicates"] == expected["new"] + expected["duplicates"]
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == len(imported) + 80

    # Later records arrive on top of imported ones; undo must keep them and refold.
    phone = HttpPhone(client, Role.NATIONAL_ADMIN)
    assert phone.push([phone.contact(world, electors[i], "NH") for i in range(0, 2000, 97)]).status_code == 200
    undone = run_job(client, token, batch["id"], "undo")
    assert undone["status"] == "undone"
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)
                             .where(ContactRecord.import_batch_id == batch["id"])) == 0
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)
                             .where(ReviewItem.kind == "intention_conflict", ReviewItem.status == "open")) == 0
    after_undo = states()
    assert runner.invoke(args=["sync", "rebuild"]).exit_code == 0
    assert states() == after_undo
    untouched = {e.id for i, e in enumerate(electors) if i % 97}
    assert {k: v for k, v in after_undo.items() if k in untouched} == {k: v for k, v in before.items()
                                                                          if k in untouched}
    assert db.session.get(ImportBatch, batch["id"]).undone_at is not None
