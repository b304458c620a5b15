"""Story: a volunteer's phone could not deliver, so they exported their unsent records and handed the file to
the CLP admin. Imported, each record keeps its volunteer, device, id and time, and lands exactly once
whichever comes first: the file, the phone's own later sync, or the same file imported again. A volunteer
whose access had ended has their records held for review, as the sync engine holds their pushes."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEvent, ContactRecord, Device, RecordSource, ReviewItem, Role
from server.orm import utcnow
from tests.factories import bearer, login, make_world
from tests.server.phone import HttpPhone
from tests.server.test_imports_helpers import run_job, upload


def export_file(phone: HttpPhone, user, mutations: list[dict]) -> bytes:
    """The file the app writes (pwa/README.md, "groundwork.unsent-records")."""
    return json.dumps({
        "format": "groundwork.unsent-records", "format_version": 1,
        "exported_at": datetime.now(timezone.utc).isoformat(), "protocol_version": 1, "schema_version": 1,
        "user": {"id": user.id, "email": user.email, "name": user.name},
        "device": {"id": phone.device_id, "name": "Android phone"}, "storage_id": phone.storage_id,
        "records": [{"status": "pending", "failure": None, "mutation": m, "context": None} for m in mutations],
    }).encode()


def _records():
    db.session.expire_all()
    return db.session.scalars(select(ContactRecord)).all()


def test_an_export_imported_then_the_phone_syncing_lands_every_record_once_credited_to_the_volunteer(app, client):
    world = make_world()
    admin = login(client, Role.CLP_ADMIN)
    phone = HttpPhone(client, Role.CANVASSER)
    canvasser = world.users[Role.CANVASSER]
    mutations = [phone.contact(world, e, "SPOKE", "LAB") for e in world.home.electors[:2]]
    data = export_file(phone, canvasser, mutations)

    made = upload(client, admin, data, "unsent-records.json")
    assert made.status_code == 201, made.get_json()
    batch = made.get_json()
    assert batch["kind"] == "export" and batch["export"]["records"] == 2
    assert batch["export"]["user_id"] == canvasser.id

    previewed = run_job(client, admin, batch["id"], "preview")
    assert previewed["result"]["counts"]["new"] == 2 and _records() == []
    committed = run_job(client, admin, batch["id"], "commit")
    assert committed["result"]["counts"]["new"] == 2
    records = _records()
    assert {str(r.id) for r in records} == {m["id"] for m in mutations}
    assert all(r.user_id == canvasser.id and str(r.device_id) == phone.device_id and r.source == RecordSource.IMPORT
               and r.import_batch_id == batch["id"] for r in records)
    assert {r.device_occurred_at for r in records} == {datetime.fromisoformat(m["occurred_at"]) for m in mutations}

    # The phone gets its signal back and sends the same records: duplicates, nothing new.
    answer = phone.push(mutations).get_json()
    assert [r["status"] for r in answer["results"]] == ["duplicate", "duplicate"]
    # And the same file imported again adds nothing.
    again = run_job(client, admin, upload(client, admin, data, "unsent-records.json").get_json()["id"], "commit")
    assert again["result"]["counts"]["new"] == 0 and again["result"]["counts"]["duplicates"] == 2
    assert len(_records()) == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.in_(("import.uploaded", "import.committed")))) == 4


def test_a_phone_that_synced_first_makes_the_file_a_duplicate(app, client):
    world = make_world()
    admin = login(client, Role.CLP_ADMIN)
    phone = HttpPhone(client, Role.CANVASSER)
    mutations = [phone.contact(world, world.home.electors[0], "SPOKE", "LAB")]
    assert phone.push(mutations).get_json()["results"][0]["status"] == "applied"
    data = export_file(phone, world.users[Role.CANVASSER], mutations)
    done = run_job(client, admin, upload(client, admin, data, "unsent.json").get_json()["id"], "commit")
    assert done["result"]["counts"]["duplicates"] == 1 and done["result"]["counts"]["new"] == 0
    assert [r.source for r in _records()] == [RecordSource.PWA]


def test_records_of_a_volunteer_whose_access_ended_are_held_for_review_and_undo_withdraws_them(app, client):
    world = make_world()
    admin = login(client, Role.CLP_ADMIN)
    phone = HttpPhone(client, Role.CANVASSER)
    mutations = [phone.contact(world, world.home.electors[0], "SPOKE", "LAB")]
    device = db.session.get(Device, __import__("uuid").UUID(phone.device_id))
    device.revoked_at = utcnow()
    db.session.commit()
    batch = upload(client, admin, export_file(phone, world.users[Role.CANVASSER], mutations), "x.json").get_json()
    done = run_job(client, admin, batch["id"], "commit")
    assert done["result"]["counts"]["held"] == 1 and _records() == []
    held = db.session.scalars(select(ReviewItem).where(ReviewItem.kind == "held_delivery")).all()
    assert len(held) == 1 and held[0].data["import_batch_id"] == batch["id"]
    assert run_job(client, admin, batch["id"], "undo")["status"] == "undone"
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)) == 0


def test_a_file_from_an_unknown_device_or_another_clp_is_refused(app, client):
    world = make_world()
    admin = login(client, Role.CLP_ADMIN)
    phone = HttpPhone(client, Role.CANVASSER)
    data = json.loads(export_file(phone, world.users[Role.CANVASSER],
                                  [phone.contact(world, world.home.electors[0])]))
    data["device"]["id"] = "00000000-0000-4000-8000-000000000000"
    response = upload(client, admin, json.dumps(data).encode(), "x.json")
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["reason"] == "unknown_device"
    assert client.get("/api/v1/imports", headers=bearer(admin)).get_json()["total"] == 0
