"""Story: personal data goes when its retention period is over, and nothing else does (docs/retention.md).

Notes and free-text answers of a campaign that ended long ago are blanked while its outcomes and
intentions still count; what the server knows of a phone unheard from for months goes, while its sync
receipts stay, so a phone that comes back and re-sends what it already delivered still lands it once;
old login attempts, uploaded import files and (after years) audit events go. A second run removes nothing.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from server.config import Config, ConfigError
from server.errors import Conflict
from server.extensions import db
from server.jobs import housekeeping
from server.jobs.retention import REMOVED_DEVICE_NAME, apply_retention
from server.models import (
    AuditEvent,
    AuditSubject,
    Channel,
    ContactRecord,
    Device,
    DeviceHolding,
    DeviceStorage,
    ImportBatch,
    ImportFile,
    LoginAttempt,
    QuestionKind,
    RecordSource,
    Revocation,
    Role,
    SurveyQuestion,
    SyncReceipt,
)
from server.orm import utcnow
from server.services import audit
from tests.factories import bearer, login, make_campaign, make_world
from tests.server.phone import HttpPhone
from tests.server.test_imports_exports import export_file
from tests.server.test_imports_helpers import run_job, upload

ZERO = {"contact_content": 0, "devices": 0, "login_attempts": 0, "import_files": 0, "audit_events": 0}


@pytest.fixture
def world(app):
    return make_world()


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _runs() -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.run")
                              .order_by(AuditEvent.id)).all()


def _fresh(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


# --------------------------------------------------------------------------------------------------- builders

def ended_campaign(name: str, ended_days_ago: int):
    campaign = make_campaign(name)
    campaign.ends_on = date.today() - timedelta(days=ended_days_ago)
    campaign.starts_on = campaign.ends_on - timedelta(days=60)
    db.session.add_all([
        SurveyQuestion(campaign_id=campaign.id, key="comments", text="Anything else?", kind=QuestionKind.TEXT),
        SurveyQuestion(campaign_id=campaign.id, key="poster", text="Window poster?", kind=QuestionKind.YES_NO),
    ])
    db.session.commit()
    return campaign


def record(world, campaign, elector, **values) -> uuid.UUID:
    row = ContactRecord(
        id=uuid.uuid4(), campaign_id=campaign.id, constituency_id=elector.constituency_id, elector_id=elector.id,
        channel=Channel.DOOR, outcome="SPOKE", intention="LAB", occurred_at=utcnow(),
        user_id=world.users[Role.CANVASSER].id, source=RecordSource.PWA,
        notes="Lives with her daughter; worried about the bus route",
        survey_answers={"comments": "Would like a call about the library", "poster": True}, **values)
    db.session.add(row)
    db.session.commit()
    return row.id


def device(world, *, days_idle: int, revoked: bool = True, user_agent: str = "Mozilla/5.0 (Android 9)",
           name: str = "Ava's old Samsung") -> uuid.UUID:
    now = utcnow()
    idle = now - timedelta(days=days_idle)
    made = Device(id=uuid.uuid4(), user_id=world.users[Role.CANVASSER].id, name=name,
                  token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), user_agent=user_agent,
                  token_expires_at=idle + timedelta(days=30) if not revoked else now + timedelta(days=1),
                  created_at=idle - timedelta(days=10), last_seen_at=idle,
                  revoked_at=idle if revoked else None,
                  revoked_reason=Revocation.ACCESS_WITHDRAWN.value if revoked else None)
    db.session.add(made)
    db.session.flush()
    storage = uuid.uuid4()
    db.session.add(DeviceStorage(device_id=made.id, storage_id=storage, last_seq=3, last_pull_at=idle))
    db.session.add(DeviceHolding(device_id=made.id, storage_id=storage, entity="elector",
                                 entity_id=world.home.electors[0].id, version=1))
    db.session.commit()
    return made.id


def audit_event(days_old: int, elector) -> int:
    event = audit.record("members.view", details={"note": "viewed"}, subjects=[("elector", elector.id)])
    event.at = utcnow() - timedelta(days=days_old)
    db.session.commit()
    return event.id


def exported_batch(client, world, admin: str, *, days_old: int, commit: bool = True) -> int:
    """A phone's export file uploaded (and committed) by the CLP admin ``days_old`` days ago."""
    phone = HttpPhone(client, Role.CANVASSER)
    mutations = [phone.contact(world, world.home.electors[0], "SPOKE", "LAB", notes="Spoke at the gate")]
    made = upload(client, admin, export_file(phone, world.users[Role.CANVASSER], mutations), "unsent.json")
    assert made.status_code == 201, made.get_json()
    batch_id = made.get_json()["id"]
    if commit:
        assert run_job(client, admin, batch_id, "commit")["status"] == "committed"
    db.session.get(ImportBatch, batch_id).created_at = utcnow() - timedelta(days=days_old)
    db.session.commit()
    return batch_id


# ----------------------------------------------------------------------------------------------------- stories

def test_retention_removes_what_has_expired_and_nothing_else(app, client, world):
    electors = world.home.electors
    long_ago = ended_campaign("General Election 2019", ended_days_ago=3 * 365)
    lately = ended_campaign("By-election last month", ended_days_ago=30)
    old_record = record(world, long_ago, electors[0], strength="1")
    recent_record = record(world, lately, electors[1])
    current_record = record(world, world.campaign, electors[2])

    old_device = device(world, days_idle=200)
    expired_device = device(world, days_idle=200, revoked=False, name="Ben's tablet")
    recent_device = device(world, days_idle=10)
    import_device = device(world, days_idle=400, revoked=False, user_agent="groundwork-import",
                           name="Imports (clp_admin@example.test)")
    db.session.add(SyncReceipt(mutation_id=uuid.uuid4(), device_id=old_device, seq=1, status="applied",
                               content_hash="0" * 64, created_at=utcnow() - timedelta(days=300)))

    db.session.add_all([
        LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow() - timedelta(days=3)),
        LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=True, at=utcnow() - timedelta(hours=1)),
    ])
    db.session.commit()

    admin = login(client, Role.CLP_ADMIN)
    old_batch = exported_batch(client, world, admin, days_old=45)
    new_batch = exported_batch(client, world, admin, days_old=5)
    forgotten_batch = exported_batch(client, world, admin, days_old=60, commit=False)

    ancient_event = audit_event(7 * 365, electors[0])
    year_old_event = audit_event(365, electors[1])

    counts = apply_retention()
    assert counts == {"contact_content": 1, "devices": 2, "login_attempts": 1, "import_files": 2,
                      "audit_events": 1}

    # A campaign that ended three years ago: its words are gone, its counts are not.
    old = _fresh(ContactRecord, old_record)
    assert old.notes is None and old.survey_answers == {"poster": True} and old.personal_removed_at is not None
    assert (old.outcome, old.intention, old.strength, old.channel) == ("SPOKE", "LAB", "1", Channel.DOOR)
    for kept in (recent_record, current_record):
        row = db.session.get(ContactRecord, kept)
        assert row.notes and row.survey_answers["comments"] and row.personal_removed_at is None

    # Phones silent for 200 days lose their name, agent and sync state; the device row and receipt stay.
    for gone in (old_device, expired_device):
        row = db.session.get(Device, gone)
        assert (row.name, row.user_agent) == (REMOVED_DEVICE_NAME, None)
        assert _count(DeviceStorage, DeviceStorage.device_id == gone) == 0
        assert _count(DeviceHolding, DeviceHolding.device_id == gone) == 0
    assert db.session.get(Device, old_device).revoked_at is not None  # still told to wipe if it turns up
    assert _count(SyncReceipt, SyncReceipt.device_id == old_device) == 1
    for kept in (recent_device, import_device):
        row = db.session.get(Device, kept)
        assert row.name != REMOVED_DEVICE_NAME and row.user_agent is not None
        assert _count(DeviceStorage, DeviceStorage.device_id == kept) == 1

    assert [a.succeeded for a in db.session.scalars(select(LoginAttempt).where(LoginAttempt.ip == "10.0.0.1"))] \
        == [True]

    # The old upload's bytes are gone; the import history still reads, and the batch can still be undone.
    assert db.session.get(ImportFile, old_batch).data == b""
    assert db.session.get(ImportFile, new_batch).data != b""
    shown = client.get(f"/api/v1/imports/{old_batch}", headers=bearer(admin)).get_json()
    assert shown["status"] == "committed" and shown["result"]["counts"]["rows"] == 1 and shown["size"] > 0
    assert shown["export"]["records"] == 1
    assert run_job(client, admin, old_batch, "undo")["status"] == "undone"
    # One uploaded and never committed cannot be now: the admin is told to upload it again.
    for action in ("preview", "commit"):
        refused = client.post(f"/api/v1/imports/{forgotten_batch}/{action}", headers=bearer(admin))
        assert refused.status_code == 409 and "Upload the file again" in refused.get_json()["error"]["message"]
    assert client.get(f"/api/v1/imports/{forgotten_batch}", headers=bearer(admin)).get_json()["status"] == "uploaded"

    # Audit events go after six years, with the people they named; a year-old one stays.
    assert db.session.get(AuditEvent, ancient_event) is None
    assert _count(AuditSubject, AuditSubject.event_id == ancient_event) == 0
    assert db.session.get(AuditEvent, year_old_event) is not None
    assert _count(AuditSubject, AuditSubject.event_id == year_old_event) == 1


def test_a_second_run_removes_nothing_and_only_runs_that_removed_something_are_audited(app, world, caplog):
    long_ago = ended_campaign("County council 2021", ended_days_ago=3 * 365)
    record(world, long_ago, world.home.electors[0])
    device(world, days_idle=120)
    db.session.add(LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False,
                                at=utcnow() - timedelta(days=2)))
    db.session.commit()

    with caplog.at_level(logging.INFO, logger="server.jobs.retention"):
        first = apply_retention()
        second = apply_retention()
    assert first == {**ZERO, "contact_content": 1, "devices": 1, "login_attempts": 1}
    assert second == ZERO
    lines = [r.getMessage() for r in caplog.records if r.name == "server.jobs.retention"]
    assert lines == ["retention removed contact_content=1, devices=1, login_attempts=1, import_files=0, "
                     "audit_events=0",
                     "retention removed contact_content=0, devices=0, login_attempts=0, import_files=0, "
                     "audit_events=0"]
    runs = _runs()
    assert len(runs) == 1  # the no-op run is logged, not audited
    assert runs[0].details["counts"] == first
    assert runs[0].details["days"] == {"contact_content": 365, "device": 90, "login_attempt": 1, "export": 30,
                                       "audit": 2192}


def test_retention_works_through_a_backlog_in_chunks(app, world, monkeypatch):
    from server.jobs import retention

    long_ago = ended_campaign("Locals 2020", ended_days_ago=4 * 365)
    ids = [record(world, long_ago, world.home.electors[i % 3]) for i in range(7)]
    for _ in range(5):
        device(world, days_idle=100)
    for days in range(2500, 2505):
        audit_event(days, world.home.electors[0])
    commits = []
    count_commit = lambda _session: commits.append(1)  # noqa: E731
    monkeypatch.setattr(retention, "CHUNK", 2)
    monkeypatch.setattr(retention, "DEVICE_CHUNK", 2)
    event.listen(Session, "after_commit", count_commit)
    try:
        counts = apply_retention()
    finally:
        event.remove(Session, "after_commit", count_commit)
    assert (counts["contact_content"], counts["devices"], counts["audit_events"]) == (7, 5, 5)
    assert len(commits) >= 4 + 3 + 3  # a transaction per chunk, then the audit event
    assert all(_fresh(ContactRecord, i).notes is None for i in ids)


def test_a_phone_whose_data_was_cleared_resends_what_it_delivered_and_it_lands_once(app, client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    sent = [phone.contact(world, world.home.electors[0], "SPOKE", "LAB", notes="Has a dog; knock loudly")]
    assert [r["status"] for r in phone.push(sent).get_json()["results"]] == ["applied"]
    assert phone.pull().status_code == 200

    # The phone goes in a drawer: its token expires, nobody hears from it for months, the campaign ends.
    old = utcnow() - timedelta(days=400)
    row = db.session.get(Device, uuid.UUID(phone.device_id))
    row.created_at = row.last_seen_at = old
    row.token_expires_at = old + timedelta(days=30)
    world.campaign.starts_on, world.campaign.ends_on = date.today() - timedelta(days=500), old.date()
    db.session.query(DeviceStorage).filter_by(device_id=row.id).update({"last_pull_at": old})
    db.session.commit()
    assert apply_retention()["devices"] == 1
    assert _count(DeviceStorage, DeviceStorage.device_id == uuid.UUID(phone.device_id)) == 0
    assert _count(SyncReceipt) == 1
    stored = _fresh(ContactRecord, uuid.UUID(sent[0]["id"]))
    assert stored.notes is None and stored.intention == "LAB"

    # Its old token is refused; the volunteer logs in again (a new device) and the outbox goes again.
    assert phone.push(sent).status_code == 401
    again = HttpPhone(client, Role.CANVASSER)
    again.storage_id = phone.storage_id
    answer = again.push(sent)
    assert [r["status"] for r in answer.get_json()["results"]] == ["duplicate"]
    assert _count(ContactRecord) == 1
    assert _fresh(ContactRecord, uuid.UUID(sent[0]["id"])).notes is None  # the resend brings nothing back


def test_a_revoked_phone_delivering_after_its_data_was_cleared_is_answered_from_its_receipts(app, client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    sent = [phone.contact(world, world.home.electors[0], "SPOKE", "LAB")]
    assert phone.push(sent).get_json()["results"][0]["status"] == "applied"
    old = utcnow() - timedelta(days=200)
    row = db.session.get(Device, uuid.UUID(phone.device_id))
    row.created_at = row.last_seen_at = row.revoked_at = old
    row.revoked_reason = Revocation.ACCESS_WITHDRAWN.value
    db.session.commit()
    assert apply_retention()["devices"] == 1

    # Its access ended, so it may still deliver: what it already delivered is a duplicate, not held again.
    answer = phone.push(sent)
    assert answer.status_code == 200, answer.get_json()
    assert [r["status"] for r in answer.get_json()["results"]] == ["duplicate"]
    assert _count(ContactRecord) == 1
    assert phone.pull().get_json()["wipe"] is True  # and it is still told to wipe


def test_login_attempts_are_kept_for_their_configured_period(app):
    app.config["RETENTION_LOGIN_ATTEMPT_DAYS"] = 7
    db.session.add_all([
        LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow() - timedelta(days=3)),
        LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow() - timedelta(days=8)),
        AuditEvent(action="auth.login_failed", ip="10.0.0.1", details={"email": "a@b.test"},
                   at=utcnow() - timedelta(days=3)),
        AuditEvent(action="auth.login_failed", ip="10.0.0.1", details={"email": "a@b.test"},
                   at=utcnow() - timedelta(days=8)),
    ])
    db.session.commit()
    assert housekeeping.prune_login_attempts() == 1
    assert _count(LoginAttempt) == 1
    # The audit log keeps that the failures happened, and forgets the email and address at the same age.
    kept = {e.at.date(): (e.ip, e.details) for e in db.session.scalars(select(AuditEvent))}
    assert sorted(kept.values(), key=str) == [("10.0.0.1", {"email": "a@b.test"}), (None, {})]
    # Never inside the failure window, however short the period.
    app.config["RETENTION_LOGIN_ATTEMPT_DAYS"] = 1
    app.config["LOGIN_FAILURE_WINDOW"] = timedelta(days=5)
    assert housekeeping.prune_login_attempts() == 0


@pytest.mark.parametrize("name, value, message", [
    ("RETENTION_DEVICE_DAYS", "ninety", "RETENTION_DEVICE_DAYS must be a whole number"),
    ("RETENTION_EXPORT_DAYS", "0", "RETENTION_EXPORT_DAYS must be a whole number of days from 1"),
    ("RETENTION_CONTACT_CONTENT_DAYS", "-5", "RETENTION_CONTACT_CONTENT_DAYS must be a whole number of days"),
    ("RETENTION_LOGIN_ATTEMPT_DAYS", "99999999", "from 1 to 36500"),
    ("RETENTION_AUDIT_DAYS", "100", "RETENTION_AUDIT_DAYS (100) must be the longest retention period, but "
                                    "RETENTION_CONTACT_CONTENT_DAYS=365 is longer"),
])
def test_a_bad_retention_period_stops_the_start_with_a_clear_message(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as excinfo:
        Config()
    assert message in str(excinfo.value)


def test_the_defaults_follow_the_documented_periods(monkeypatch):
    for name in ("RETENTION_CONTACT_CONTENT_DAYS", "RETENTION_DEVICE_DAYS", "RETENTION_LOGIN_ATTEMPT_DAYS",
                 "RETENTION_EXPORT_DAYS", "RETENTION_AUDIT_DAYS"):
        monkeypatch.delenv(name, raising=False)
    config = Config()
    assert (config.RETENTION_CONTACT_CONTENT_DAYS, config.RETENTION_DEVICE_DAYS, config.RETENTION_LOGIN_ATTEMPT_DAYS,
            config.RETENTION_EXPORT_DAYS, config.RETENTION_AUDIT_DAYS) == (365, 90, 1, 30, 2192)


def test_an_upload_with_a_job_waiting_keeps_its_file_until_the_job_has_run(app, client, world):
    from server.jobs import imports as import_jobs

    admin = login(client, Role.CLP_ADMIN)
    batch_id = exported_batch(client, world, admin, days_old=60, commit=False)
    assert client.post(f"/api/v1/imports/{batch_id}/preview", headers=bearer(admin)).status_code == 202
    assert apply_retention()["import_files"] == 0
    assert import_jobs.run_pending() == 1
    assert apply_retention()["import_files"] == 1

    # Had the bytes gone between the queueing and the run, the job fails saying so, and changes nothing.
    db.session.get(ImportBatch, batch_id).status = "uploaded"
    db.session.commit()
    job = client.post(f"/api/v1/imports/{batch_id}/commit", headers=bearer(admin))
    assert job.status_code == 409  # refused at once: nothing left to commit
    from server.services.imports import pipeline

    with pytest.raises(Conflict, match="Upload the file again"):
        pipeline.run(batch_id, "commit")
    assert _fresh(ImportBatch, batch_id).status == "uploaded" and _count(ContactRecord) == 0
