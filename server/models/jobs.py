"""The scheduler's lease and the log of job runs (docs/jobs.md).

One row of ``scheduler_lease`` says which scheduler process may run jobs: its owner, until when, and a
fencing counter bumped each time the lease changes hands. A run of a scheduled job claims its tick in
``job_run`` (unique per job and tick) in the same transaction that checks the fence, so a tick runs once
even if two processes believe they lead. Runs from the command line are logged too, with no tick.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import utcnow


class SchedulerLease(db.Model):
    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "scheduler"
    owner: Mapped[str | None] = mapped_column(String(120))  # host:pid:random of the process holding it
    fence: Mapped[int] = mapped_column(BigInteger, default=0)  # bumped whenever a new owner takes the lease
    acquired_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()  # the holder's last renewal
    released_at: Mapped[datetime | None] = mapped_column()  # a clean stop (SIGTERM) gives the lease up


class JobRun(db.Model):
    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "tick", name="uq_job_run_tick"),
                      Index("ix_job_run_job_started", "job", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))  # its short name (flask jobs list)
    tick: Mapped[datetime | None] = mapped_column()  # the scheduled time it runs for; None from the CLI
    owner: Mapped[str] = mapped_column(String(120))  # the scheduler process, or "cli:host:pid"
    fence: Mapped[int | None] = mapped_column(BigInteger)  # the lease's fence when the tick was claimed
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, ok, failed, fenced
    result: Mapped[dict | None] = mapped_column()  # what it changed: {"sent": 3, ...}
    error: Mapped[str | None] = mapped_column(Text)
