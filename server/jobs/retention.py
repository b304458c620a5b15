"""Retention: personal data is removed once its period (server/config.py RETENTION_*; docs/retention.md) is over.

``apply_retention`` runs nightly in the scheduler (``flask jobs run retention`` runs it now). Each category is
removed in chunks, each chunk its own transaction, so a large backlog never holds one huge transaction or
long locks. Every step selects only what still holds something to remove, so a second run removes nothing.
The run is always logged with its counts; the audit log gets a ``retention.run`` event only when something
was removed, so nightly no-op runs do not fill it.

What is never removed here, and why:

- **Sync receipts** (``sync_receipt``: one row per mutation id ever received). They are the claim that makes
  a push take effect exactly once. A phone whose token expired keeps its outbox, logs in again (as a new
  device) and re-pushes; only the receipt, looked up by mutation id, tells the server the mutation already
  landed. A receipt holds no personal content: ids (mutation, device, and for corrections the elector and
  the superseded record), the device's sequence number, a status, a SHA-256 of the mutation and ``details``
  written by the server (a refusal's reason or field errors, clock flags, the id of a conflicting record),
  never the notes or answers themselves. So receipts are kept, whole, as long as the records they guard.
- **Device rows**. Receipts and contact records reference them, and a revoked device must still be told to
  wipe if it turns up years later. Only what describes the phone goes: its name and user agent, its sync
  storage state and the list of what it holds (a returning phone is told to reset and download afresh).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, exists, func, or_, select, update

from server.config import RETENTION_KEYS
from server.extensions import db
from server.jobs.housekeeping import forget_login_attempts
from server.models import (
    AuditEvent,
    AuditSubject,
    Campaign,
    ContactRecord,
    Device,
    DeviceHolding,
    DeviceStorage,
    ImportBatch,
    ImportFile,
    ImportJob,
)
from server.models.imports import JOB_ACTIVE
from server.orm import utcnow
from server.services import audit
from server.services.scrub import remove_contact_content

log = logging.getLogger(__name__)

CHUNK = 1000
DEVICE_CHUNK = 100  # a device may hold thousands of holdings rows
# What a device is called once its name is removed (the column is required).
REMOVED_DEVICE_NAME = "(removed under retention)"
# The admin's import device (server/services/imports/store.py): not a phone, found again by name and agent.
IMPORT_AGENT = "groundwork-import"


def _days(name: str) -> timedelta:
    return timedelta(days=current_app.config[name])


# ------------------------------------------------------------------------------------------- contact content

def remove_expired_contact_content(now: datetime, chunk: int | None = None) -> int:
    """Blank notes and free-text answers of records whose campaign ended over RETENTION_CONTACT_CONTENT_DAYS
    ago (outcome, intention, channel and choice answers stay for the counts); returns how many records."""
    last_day = now.date() - _days("RETENTION_CONTACT_CONTENT_DAYS")
    ended = select(Campaign.id).where(Campaign.ends_on < last_day)
    pending = and_(ContactRecord.campaign_id.in_(ended), ContactRecord.personal_removed_at.is_(None))
    chunk = chunk or CHUNK
    done = 0
    while True:
        ids = db.session.scalars(select(ContactRecord.id).where(pending).order_by(ContactRecord.id)
                                 .limit(chunk)).all()
        if not ids:
            return done
        done += remove_contact_content(ContactRecord.id.in_(ids), chunk=chunk)
        db.session.commit()


# ----------------------------------------------------------------------------------------------------- devices

def _idle_devices(now: datetime):
    """Devices with no sign of life (made, seen, revoked, told to wipe) for RETENTION_DEVICE_DAYS, that can no
    longer sync on their token (revoked, or expired), and that still hold something to remove."""
    cutoff = now - _days("RETENTION_DEVICE_DAYS")
    quiet = and_(Device.created_at < cutoff,
                 *(or_(column.is_(None), column < cutoff)
                   for column in (Device.last_seen_at, Device.revoked_at, Device.wiped_at)))
    ended = or_(Device.revoked_at.is_not(None), Device.token_expires_at < now)
    phone = or_(Device.user_agent.is_(None), Device.user_agent != IMPORT_AGENT)
    holds = or_(Device.user_agent.is_not(None), Device.name != REMOVED_DEVICE_NAME,
                exists().where(DeviceStorage.device_id == Device.id),
                exists().where(DeviceHolding.device_id == Device.id))
    return and_(quiet, ended, phone, holds)


def clear_idle_devices(now: datetime, chunk: int | None = None) -> int:
    """Remove what the server holds about idle devices: name, user agent, sync storage and holdings. The
    device row and every sync receipt stay (see the module's docstring); returns how many devices."""
    where = _idle_devices(now)
    chunk = chunk or DEVICE_CHUNK
    done = 0
    while True:
        ids = db.session.scalars(select(Device.id).where(where).order_by(Device.id).limit(chunk)).all()
        if not ids:
            return done
        db.session.execute(delete(DeviceHolding).where(DeviceHolding.device_id.in_(ids)))
        db.session.execute(delete(DeviceStorage).where(DeviceStorage.device_id.in_(ids)))
        db.session.execute(update(Device).where(Device.id.in_(ids))
                           .values(name=REMOVED_DEVICE_NAME, user_agent=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        done += len(ids)


# ------------------------------------------------------------------------------------------------ import files

def remove_old_import_files(now: datetime, chunk: int | None = None) -> int:
    """Empty the stored bytes of files uploaded over RETENTION_EXPORT_DAYS ago (raw sheets and phones' export
    files). The batch, its summary, the file's size and the proposal shown at upload stay, so the import
    history still reads; undo needs none of the file. A batch with a job queued or running is left for the
    next run. Returns how many files."""
    cutoff = now - _days("RETENTION_EXPORT_DAYS")
    busy = exists().where(ImportJob.batch_id == ImportFile.batch_id, ImportJob.status.in_(JOB_ACTIVE))
    stmt = (select(ImportFile.batch_id).join(ImportBatch, ImportBatch.id == ImportFile.batch_id)
            .where(ImportBatch.created_at < cutoff, func.length(ImportFile.data) > 0, ~busy)
            .order_by(ImportFile.batch_id).limit(chunk or CHUNK))
    done = 0
    while True:
        ids = db.session.scalars(stmt).all()
        if not ids:
            return done
        db.session.execute(update(ImportFile).where(ImportFile.batch_id.in_(ids)).values(data=b"")
                           .execution_options(synchronize_session=False))
        db.session.commit()
        done += len(ids)


# --------------------------------------------------------------------------------------------------- audit log

def prune_audit_log(now: datetime, chunk: int | None = None) -> int:
    """Delete audit events older than RETENTION_AUDIT_DAYS with their subjects; returns how many events.

    The subjects are deleted explicitly: their foreign key cascades on PostgreSQL, but a SQLite database
    whose foreign keys are not enforced would otherwise keep them."""
    cutoff = now - _days("RETENTION_AUDIT_DAYS")
    chunk = chunk or CHUNK
    done = 0
    while True:
        ids = db.session.scalars(select(AuditEvent.id).where(AuditEvent.at < cutoff).order_by(AuditEvent.id)
                                 .limit(chunk)).all()
        if not ids:
            return done
        db.session.execute(delete(AuditSubject).where(AuditSubject.event_id.in_(ids)))
        db.session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
        db.session.commit()
        done += len(ids)


# ------------------------------------------------------------------------------------------------------- the job

def apply_retention(now: datetime | None = None) -> dict[str, int]:
    """Apply every retention period; returns how many of each kind were removed (all zero on a second run)."""
    now = now or utcnow()
    counts = {
        "contact_content": remove_expired_contact_content(now),
        "devices": clear_idle_devices(now),
        "login_attempts": forget_login_attempts(now),
        "import_files": remove_old_import_files(now),
        "audit_events": prune_audit_log(now),
    }
    log.info("retention removed %s", ", ".join(f"{name}={count}" for name, count in counts.items()))
    if any(counts.values()):
        periods = {name.removeprefix("RETENTION_").removesuffix("_DAYS").lower(): current_app.config[name]
                   for name in RETENTION_KEYS}
        audit.record("retention.run", target_type="retention", details={"counts": counts, "days": periods})
        db.session.commit()
    return counts
