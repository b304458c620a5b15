"""Contact records: the append-only log of every door knocked and call made.

A record is never updated or deleted by the application. A correction or retraction is a new record
that names the one it supersedes; an elector's current state is derived from the whole log.
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import str_enum, utcnow



class Channel(str, enum.Enum):
    DOOR = "door"
    PHONE = "phone"
    OTHER = "other"


class RecordKind(str, enum.Enum):
    RECORD = "record"
    CORRECTION = "correction"
    RETRACTION = "retraction"
    RESOLUTION = "resolution"  # a CLP admin's decision on a conflict: settles the intention, is not a contact


class RecordSource(str, enum.Enum):
    PWA = "pwa"
    IMPORT = "import"
    API = "api"


class ImportBatch(db.Model):
    """One merge of outside data (a spreadsheet, an exported outbox) into the dataset; undoable as a unit."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # "sheet" (CSV, .xlsx) or "export" (unsent records)
    filename: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="previewed")  # uploaded, previewed, committed, undone
    summary: Mapped[dict] = mapped_column(default=dict)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Added by the import pipeline (migration 0009): the campaign a sheet's codes belong to, the admin's
    # decisions (columns, codes, batch header, per-row choices), and when it was committed and undone.
    campaign_id: Mapped[int | None] = mapped_column()  # no FK: added in place to a referenced table
    settings: Mapped[dict | None] = mapped_column()
    committed_at: Mapped[datetime | None] = mapped_column()
    undone_at: Mapped[datetime | None] = mapped_column()


class ContactRecord(db.Model):
    __tablename__ = "contact_record"
    __table_args__ = (
        Index("ix_contact_record_elector_occurred", "elector_id", "occurred_at"),
        Index("ix_contact_record_clp_received", "constituency_id", "received_at"),
        Index("ix_contact_record_user_occurred", "user_id", "occurred_at"),
        # The monitoring rollups job reads what arrived since its last run (server/services/rollups.py).
        Index("ix_contact_record_received_at", "received_at"),
    )

    # Made by the client, so a retried upload is recognised as the same record.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"))
    # Null when an imported row could not be matched to an elector (it waits in review), and for a call
    # to a member on a member call list (a welcome call), who is named by member_id instead.
    elector_id: Mapped[int | None] = mapped_column(ForeignKey("elector.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind, 16), default=RecordKind.RECORD)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # no FK: a correction may arrive first
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    outcome: Mapped[str | None] = mapped_column(String(32))
    intention: Mapped[str | None] = mapped_column(String(32))
    strength: Mapped[str | None] = mapped_column(String(32))
    survey_answers: Mapped[dict] = mapped_column(default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    # When the person asked to be called back (outcome meaning call_back): data, not a note.
    call_back_at: Mapped[datetime | None] = mapped_column()
    # When it happened, corrected for the device's clock error; the device's own claim, kept as data;
    # and the server's time of arrival. Ordering decisions use occurred_at, never the raw claim.
    occurred_at: Mapped[datetime] = mapped_column()
    device_occurred_at: Mapped[datetime | None] = mapped_column()
    clock_flags: Mapped[list] = mapped_column(default=list)  # clock_skew, future, before_campaign
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"), index=True)
    source: Mapped[RecordSource] = mapped_column(str_enum(RecordSource, 16))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    # Hash of the client-supplied content, to tell a harmless resend from a reused id.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # When retention or an erasure removed the personal content (notes, free-text answers); counts remain.
    personal_removed_at: Mapped[datetime | None] = mapped_column()
