"""The import pipeline's own tables: the uploaded file, the jobs that preview, commit and undo a batch, and
each CLP's remembered column and code mappings (docs/imports.md). ImportBatch itself is in contact.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import utcnow

JOB_ACTIONS = ("preview", "commit", "undo")
JOB_ACTIVE = ("queued", "running")


class ImportFile(db.Model):
    """The uploaded bytes of a batch, kept so every job reads exactly what was uploaded."""

    __tablename__ = "import_file"

    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column()
    proposal: Mapped[dict | None] = mapped_column()  # what the upload proposed (headings, mapping, codes)


class ImportJob(db.Model):
    """One preview, commit or undo of a batch, run by a worker (server/jobs/imports.py), never a web worker.

    Claimed with SELECT ... FOR UPDATE SKIP LOCKED; at most one queued or running job per batch."""

    __tablename__ = "import_job"
    __table_args__ = (
        Index("ix_import_job_status_created", "status", "created_at"),
        Index("uq_import_job_active", "batch_id", unique=True,
              postgresql_where=text("status IN ('queued', 'running')"),
              sqlite_where=text("status IN ('queued', 'running')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # preview, commit, undo
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, done, failed
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[dict | None] = mapped_column()
    worker: Mapped[str | None] = mapped_column(String(120))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class ImportMapping(db.Model):
    """A CLP's remembered mapping: field -> heading, and per code set, code -> decision."""

    __tablename__ = "import_mapping"

    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), primary_key=True)
    columns: Mapped[dict] = mapped_column(default=dict)
    codes: Mapped[dict] = mapped_column(default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
