"""Wires the pure sync engine to the server: its store, its limits from config, and who is syncing."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError

from server.auth.policy import ASSIGNMENT_SCOPED_ROLES, Principal
from server.errors import DeviceRevoked
from server.extensions import db
from server.models import (
    CLP_ROLES,
    ContactRecord,
    Device,
    DeviceHolding,
    DeviceStorage,
    ElectorUpdate,
    ReconcileQueue,
    Revocation,
)
from server.models.sync import PullSnapshotChunk
from server.orm import utcnow
from server.services.sync_store import SqlStore
from sync.engine import Limits, SyncEngine
from sync.store import DeviceContext

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL's "deadlock detected" and "could not serialize": nothing was committed, so try again.
RETRYABLE = {"40P01", "40001"}


def limits() -> Limits:
    cfg = current_app.config
    return Limits(
        max_mutations=cfg["SYNC_MAX_MUTATIONS"], max_bytes=cfg["SYNC_MAX_PUSH_BYTES"],
        page_size=cfg["SYNC_PAGE_SIZE"], max_page_size=cfg["SYNC_MAX_PAGE_SIZE"],
        tombstone_retention=timedelta(days=cfg["SYNC_RETENTION_DAYS"]),
        conflict_window=timedelta(hours=cfg["SYNC_CONFLICT_WINDOW_HOURS"]),
        reconcile_inline_max=cfg["SYNC_RECONCILE_INLINE_MAX"],
        assignment_grace=timedelta(days=cfg["SYNC_ASSIGNMENT_GRACE_DAYS"]),
        # Off only to measure the old way side by side (bench/sync_bench.py); not a setting to deploy with.
        pull_snapshots=cfg.get("SYNC_PULL_SNAPSHOTS", True),
    )


def engine() -> SyncEngine:
    return SyncEngine(SqlStore(db.session), limits())


def access_ended_at(device: Device):
    """When the device's access ended (revoked, or its user deactivated), or None while it lasts."""
    ended = [t for t in (device.revoked_at, device.user.deactivated_at) if t is not None]
    if not device.user.active and not ended:
        ended = [device.user.created_at]  # disabled without a date: treat access as long ended
    return min(ended) if ended else None


def device_context(principal: Principal, device: Device) -> DeviceContext:
    """The engine's view of the caller: scope, whether they write only about their lists, whether their
    access has ended (their deliveries are then held for review, and pulls say wipe), and from when their
    CLP's access is suspended (the suspension in effect or the next one scheduled, for the people of a CLP:
    what they made from then on is held for review; nothing is wiped).

    The device's own end of access is not folded into ``suspended_from``: it holds everything, whatever a
    record claims about when it was made (docs/sync-protocol.md 4.3), so it is the stricter of the two."""
    return DeviceContext(device.id, principal.user_id, principal.constituency_ids,
                         access_ended_at=access_ended_at(device),
                         suspended_from=principal.access.suspended_from if principal.role in CLP_ROLES else None,
                         lists_only=principal.role in ASSIGNMENT_SCOPED_ROLES)


def with_retry(work: Callable[[], T], attempts: int = 3) -> T:
    """Run a transaction, retrying when PostgreSQL chose it as a deadlock victim."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as exc:
            db.session.rollback()
            code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
            if code not in RETRYABLE or attempt == attempts:
                raise
            log.warning("sync transaction retried after %s (attempt %d)", code, attempt)
    raise AssertionError("unreachable")


def hello() -> dict:
    return engine().hello()


def push(principal: Principal, device: Device, body) -> dict:
    if device.revoked_reason == Revocation.LOST.value:
        # Nothing from a phone reported lost or stolen is accepted; it must forget what it holds.
        raise DeviceRevoked("This device was reported lost or stolen. Nothing from it is accepted.",
                            {"revoked_at": device.revoked_at.isoformat(), "reason": device.revoked_reason,
                             "wipe": True})
    ctx = device_context(principal, device)
    return with_retry(lambda: engine().push(ctx, body))


def pull(principal: Principal, device: Device, *, storage_id, cursor, limit) -> dict:
    ctx = device_context(principal, device)
    response = with_retry(lambda: engine().pull(ctx, storage_id=storage_id, cursor=cursor, limit=limit))
    if response["wipe"] and device.wiped_at is None:
        # Admins see when a lost phone was told to forget its data.
        device.wiped_at = response["server_time"]
        db.session.commit()
    return response


def electors_with_events() -> list[int]:
    contacted = select(ContactRecord.elector_id).where(ContactRecord.elector_id.is_not(None))
    flagged = select(ElectorUpdate.elector_id)
    return sorted(set(db.session.scalars(contacted.union(flagged))))


def rebuild(chunk: int = 10000, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every elector's derived state from scratch, in chunks; returns how many.

    Each chunk is the engine's own reconcile (lock, read every event, fold, save), so the result is the
    incremental path's; the store reads the outcome meanings once instead of per record."""
    ids = electors_with_events()
    sync_engine = engine()
    sync_engine.store.load_meanings()
    for start in range(0, len(ids), chunk):
        with sync_engine.store.transaction():
            sync_engine.reconcile(set(ids[start:start + chunk]))
        if progress:
            progress(min(start + chunk, len(ids)), len(ids))
    return len(ids)


def reconcile_queued(batch: int = 2000) -> int:
    """The scheduled job: fold the electors left by large catch-ups. Several workers never take the same ones."""
    stmt = select(ReconcileQueue.elector_id).order_by(ReconcileQueue.queued_at).limit(batch)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    sync_engine = engine()
    with sync_engine.store.transaction():
        ids = set(db.session.scalars(stmt))
        if ids:
            sync_engine.reconcile(ids)
    return len(ids)


def purge_stale_storage() -> int:
    """Forget the pull state of devices silent for longer than the retention; they start afresh."""
    cutoff = utcnow() - timedelta(days=current_app.config["SYNC_RETENTION_DAYS"])
    stale = db.session.execute(select(DeviceStorage.device_id, DeviceStorage.storage_id)
                               .where(DeviceStorage.last_pull_at < cutoff)).all()
    for device_id, storage_id in stale:
        db.session.execute(delete(DeviceHolding).where(DeviceHolding.device_id == device_id,
                                                       DeviceHolding.storage_id == storage_id))
        # A download left unfinished (its snapshot: ids and versions). The foreign key cascades too.
        db.session.execute(delete(PullSnapshotChunk).where(PullSnapshotChunk.device_id == device_id,
                                                           PullSnapshotChunk.storage_id == storage_id))
        db.session.execute(delete(DeviceStorage).where(DeviceStorage.device_id == device_id,
                                                       DeviceStorage.storage_id == storage_id))
    db.session.commit()
    return len(stale)
