"""What the sync protocol remembers: receipts per mutation, each device's storage and holdings, device
changes to electors, derived elector state, the review queue and the reconciliation queue."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import JSONType, utcnow


class SyncReceipt(db.Model):
    """One per mutation id ever received: the claim that makes a mutation take effect exactly once."""

    __tablename__ = "sync_receipt"

    mutation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    status: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    details: Mapped[Any | None] = mapped_column(JSONType)
    # Corrections and retractions only: the record superseded, kept even when this one was refused so
    # that later corrections of it still join the original conversation (sync.engine.chain_link).
    elector_id: Mapped[int | None] = mapped_column(index=True)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceStorage(db.Model):
    """One storage instance of a device's app (a wiped phone gets a new one): seq, pull tokens, clock."""

    __tablename__ = "device_storage"

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id"), primary_key=True)
    storage_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    # Random 62-bit page tokens (see sync.engine.new_token).
    acked_token: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    pending_token: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # The page sent but not yet confirmed: [[entity, id, version or null], ...].
    pending: Mapped[list] = mapped_column(default=list)
    clock_offset_seconds: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_push_at: Mapped[datetime | None] = mapped_column()
    last_pull_at: Mapped[datetime | None] = mapped_column(index=True)
    # What the app last reported of its outbox (with a hello or a push): records not yet delivered, when the
    # oldest of them was made, and the app's version. Regional staff see stuck work before it is lost.
    unsent_count: Mapped[int | None] = mapped_column()
    oldest_unsent_at: Mapped[datetime | None] = mapped_column()
    app_version: Mapped[str | None] = mapped_column(String(32))
    reported_at: Mapped[datetime | None] = mapped_column()
    # The download in progress, if any (sync.store.Snapshot): the random token of its chunks, the page token
    # it continues from, the position of the next item, how many items, and what would make it out of date
    # (the user's lists, and the suppressions it already accounts for). Ids and versions only.
    snapshot: Mapped[dict | None] = mapped_column()


class PullSnapshotChunk(db.Model):
    """A slice of a download's work list (sync.store.Snapshot): the entities still to send, in page order, as
    [[entity, id, version or null, delete reason or null], ...]. Ids, versions and reasons, nothing personal.
    Replaced by the next download, dropped when the download completes, and gone with its storage."""

    __tablename__ = "pull_snapshot_chunk"
    __table_args__ = (
        ForeignKeyConstraint(["device_id", "storage_id"], ["device_storage.device_id", "device_storage.storage_id"],
                             ondelete="CASCADE"),
    )

    device_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    storage_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Random per snapshot, so two downloads of one storage racing each other never collide.
    token: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chunk: Mapped[int] = mapped_column(primary_key=True)
    items: Mapped[list] = mapped_column()


class DeviceHolding(db.Model):
    """An entity a device has confirmed it stores, at a version. Pull sends the difference."""

    __tablename__ = "device_holding"

    device_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    storage_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16), primary_key=True)
    entity_id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column()


class ElectorUpdate(db.Model):
    """A device's change to an elector (new phone number) or a flag it raised (moved, do not contact)."""

    __tablename__ = "elector_update"
    __table_args__ = (Index("ix_elector_update_elector_field", "elector_id", "field", "applied_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elector_id: Mapped[int] = mapped_column(ForeignKey("elector.id"))
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any | None] = mapped_column(JSONType)
    base_version: Mapped[int | None] = mapped_column()
    applied_version: Mapped[int] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column()


class ElectorState(db.Model):
    """The fold of an elector's events. Derived: `flask sync rebuild` recomputes it from scratch."""

    __tablename__ = "elector_state"

    elector_id: Mapped[int] = mapped_column(ForeignKey("elector.id"), primary_key=True)
    intention: Mapped[str | None] = mapped_column(String(32))
    strength: Mapped[str | None] = mapped_column(String(32))
    intention_at: Mapped[datetime | None] = mapped_column()
    last_contact_at: Mapped[datetime | None] = mapped_column()
    last_spoke_at: Mapped[datetime | None] = mapped_column()
    contacts: Mapped[dict] = mapped_column(default=dict)  # by channel
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    presence: Mapped[str] = mapped_column(String(16), default="unknown")
    # The latest effective door knock and call (their outcome's meaning), and a call-back asked for: what
    # the other volunteers on the same list are shown (sync.views.activity).
    last_door_at: Mapped[datetime | None] = mapped_column()
    last_door_outcome: Mapped[str | None] = mapped_column(String(32))
    last_call_at: Mapped[datetime | None] = mapped_column()
    last_call_outcome: Mapped[str | None] = mapped_column(String(32))
    call_back_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewItem(db.Model):
    """Something a CLP admin must decide: a conflict between volunteers, or a person not on the register."""

    __tablename__ = "review_item"
    __table_args__ = (Index("ix_review_item_clp_status", "constituency_id", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"))
    kind: Mapped[str] = mapped_column(String(24))  # intention_conflict, field_conflict, new_elector
    elector_id: Mapped[int | None] = mapped_column(ForeignKey("elector.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved
    data: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolution: Mapped[dict | None] = mapped_column()


class ReconcileQueue(db.Model):
    """Electors whose derived state awaits the scheduled job (after a large catch-up)."""

    __tablename__ = "reconcile_queue"

    elector_id: Mapped[int] = mapped_column(ForeignKey("elector.id"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
