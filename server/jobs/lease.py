"""Exactly one scheduler: a lease in the database, and each tick of each job claimed once (docs/jobs.md).

Any number of scheduler processes may run (a second deploy, a scaled process type, a standby). One row of
``scheduler_lease`` names the one that may run jobs. It holds the lease for SCHEDULER_LEASE_SECONDS and renews
it every third of that; the others try to take it each time and succeed only once it has expired, or was
given up by a clean stop. Every take bumps the lease's **fence**.

Running a job's tick first claims it, in one statement, with an INSERT into ``job_run`` that selects from the
lease row only while this process still holds it with the fence it took, and a few seconds to spare. The
unique (job, tick) key makes a tick's second claim insert nothing. So even a process that stalled past its
lease (a long GC pause, a frozen VM) and wakes believing it leads cannot run a tick: its fence is stale, or
the tick is taken.

A tick's run is fenced too: every commit it makes first checks, in the same transaction, that this process
still holds the lease with that fence (``running_under``). On PostgreSQL the check takes a share lock on the
lease row, so a take-over waits for the commit and cannot slip in between check and commit; on SQLite the
job's transaction already holds the database's write lock. A run whose lease was lost has its commit refused
(``LeaseLost``), is rolled back, and is logged as ``fenced``; the new leader's next tick does the work.
Jobs that claim their own units (the push job each notice, the import worker each import, both claimed in
the database) are not fenced per commit: a refused commit after a push was sent would send it again. They
check ``still_mine()`` between units instead, and their claims keep each unit once.

Clocks: lease times are the processes' own UTC clocks, so schedulers on different hosts need them within a
few seconds of each other (NTP); the margin below absorbs that.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, and_, event, literal, or_, select, update
from sqlalchemy.orm import Session

from server.extensions import db
from server.models import JobRun, SchedulerLease
from server.orm import dialect_insert, utcnow

log = logging.getLogger(__name__)

NAME = "scheduler"
# A tick is claimed only with at least this much of the lease left, so a lease that lapses while the claim is
# in flight cannot let a new holder claim the same tick's successor alongside it.
MARGIN = timedelta(seconds=2)


def process_owner() -> str:
    """This process, as the lease and the job log name it: host, pid and a random tag (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def lease_length() -> timedelta:
    return timedelta(seconds=current_app.config["SCHEDULER_LEASE_SECONDS"])


@dataclass
class Lease:
    """This process's view of the lease: who it is, and the fence it holds (None while it does not lead)."""

    owner: str
    fence: int | None = None

    @property
    def held(self) -> bool:
        return self.fence is not None

    def acquire_or_renew(self, now: datetime | None = None) -> bool:
        """Renew the lease if this process holds it, else take it if it is free; True while it leads. Commits."""
        now = now or utcnow()
        until = now + lease_length()
        db.session.execute(dialect_insert(db.session, SchedulerLease).values(name=NAME, fence=0)
                           .on_conflict_do_nothing(index_elements=["name"]))
        mine = and_(SchedulerLease.name == NAME, SchedulerLease.owner == self.owner)
        if self.fence is not None:
            renewed = db.session.execute(update(SchedulerLease).where(
                mine, SchedulerLease.fence == self.fence, SchedulerLease.released_at.is_(None),
                SchedulerLease.expires_at > now,
            ).values(expires_at=until, heartbeat_at=now).execution_options(synchronize_session=False)).rowcount
            db.session.commit()
            if renewed:
                return True
            log.warning("scheduler %s lost the lease (fence %s): standing by", self.owner, self.fence)
            self.fence = None
        free = or_(SchedulerLease.owner.is_(None), SchedulerLease.expires_at.is_(None),
                   SchedulerLease.expires_at <= now, SchedulerLease.released_at.is_not(None))
        taken = db.session.execute(update(SchedulerLease).where(SchedulerLease.name == NAME, free).values(
            owner=self.owner, fence=SchedulerLease.fence + 1, acquired_at=now, expires_at=until, heartbeat_at=now,
            released_at=None).execution_options(synchronize_session=False)).rowcount
        if taken:
            self.fence = db.session.scalar(select(SchedulerLease.fence).where(mine))
        db.session.commit()
        if self.fence is not None:
            log.info("scheduler %s took the lease (fence %s)", self.owner, self.fence)
        return self.fence is not None

    def release(self) -> None:
        """Give the lease up at a clean stop, so a standby takes over at its next try. Commits."""
        if self.fence is None:
            return
        now = utcnow()
        db.session.execute(update(SchedulerLease).where(
            SchedulerLease.name == NAME, SchedulerLease.owner == self.owner, SchedulerLease.fence == self.fence,
        ).values(released_at=now, expires_at=now).execution_options(synchronize_session=False))
        db.session.commit()
        self.fence = None

    def still_mine(self, now: datetime | None = None) -> bool:
        """Whether the database still says this process leads with this fence (for jobs between units)."""
        if self.fence is None:
            return False
        row = db.session.execute(select(SchedulerLease.owner, SchedulerLease.fence, SchedulerLease.expires_at,
                                        SchedulerLease.released_at).where(SchedulerLease.name == NAME)).first()
        db.session.rollback()
        return row is not None and (row.owner, row.fence, row.released_at) == (self.owner, self.fence, None) \
            and row.expires_at > (now or utcnow())

    def holds(self, session: Session, now: datetime) -> bool:
        """Whether this process still leads with this fence, read inside ``session``'s transaction; on
        PostgreSQL the lease row stays share-locked until it ends, so no take-over can come between."""
        stmt = select(SchedulerLease.fence).where(
            SchedulerLease.name == NAME, SchedulerLease.owner == self.owner, SchedulerLease.fence == self.fence,
            SchedulerLease.released_at.is_(None), SchedulerLease.expires_at > now)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(read=True)
        return self.fence is not None and session.execute(stmt).first() is not None


class LeaseLost(Exception):
    """A scheduled run's commit, refused: the scheduler that runs it no longer holds the lease it ran under."""


# The lease of the job running in this thread, for ``still_mine()``; None for a run from the CLI.
_running = threading.local()


def still_mine() -> bool:
    """For a job between units of work: False once this scheduler has lost its lease (stop and leave the rest
    to the new leader). Always True when the job was started by hand (``flask jobs run``)."""
    lease = getattr(_running, "lease", None)
    return lease is None or lease.still_mine()


def claim_tick(lease: Lease, job: str, tick: datetime, now: datetime | None = None) -> int | None:
    """Claim ``job``'s run for ``tick``, fenced by the lease: the new job_run's id, or None if this process does
    not hold the lease with time to spare or the tick is already claimed. One statement, committed."""
    if lease.fence is None:
        return None
    now = now or utcnow()
    when = JobRun.__table__.c.started_at.type  # the models' UTC datetime, so SQLite stores it alike
    fenced = select(literal(job, String()), literal(tick, when), literal(lease.owner, String()),
                    SchedulerLease.fence, literal(now, when), literal("running", String())).where(
        SchedulerLease.name == NAME, SchedulerLease.owner == lease.owner, SchedulerLease.fence == lease.fence,
        SchedulerLease.released_at.is_(None), SchedulerLease.expires_at > now + MARGIN)
    stmt = (dialect_insert(db.session, JobRun)
            .from_select(["job", "tick", "owner", "fence", "started_at", "status"], fenced)
            .on_conflict_do_nothing(index_elements=["job", "tick"]).returning(JobRun.id))
    run_id = db.session.execute(stmt).scalar()
    db.session.commit()
    return run_id


def start_manual(job: str, owner: str) -> int:
    """Log a run started by hand (``flask jobs run``): no tick, no fence. Commits; returns its id."""
    run = JobRun(job=job, tick=None, owner=owner, fence=None, started_at=utcnow(), status="running")
    db.session.add(run)
    db.session.commit()
    return run.id


def _loggable(result: object) -> dict:
    """What a job returned, as the log keeps it: a dict of counts, or its text."""
    if isinstance(result, dict):
        return {str(k): (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                for k, v in result.items()}
    return {"result": result if isinstance(result, (int, float, bool)) or result is None else str(result)}


def finish(run_id: int, *, result: object = None, error: BaseException | None = None) -> None:
    """Write how a run ended: 'ok' with what it changed, 'fenced' if its lease was lost (what it had not yet
    committed was rolled back), or 'failed' with the error. Commits on its own."""
    db.session.rollback()  # whatever the job left open is not part of its log
    values = {"finished_at": utcnow()}
    if error is None:
        values.update(status="ok", result=_loggable(result))
    elif isinstance(error, LeaseLost):
        values.update(status="fenced", error=str(error))
    else:
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
        values.update(status="failed", error=text[:4000])
    db.session.execute(update(JobRun).where(JobRun.id == run_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


@dataclass
class Guard:
    """What ``running_under`` saw: the refusal of a commit, if there was one (a job that caught it and went
    on is still logged as fenced)."""

    lost: LeaseLost | None = None


@contextmanager
def running_under(lease: Lease | None, now: datetime | None = None, *, fenced: bool = True):
    """Run a job with ``still_mine()`` answering for ``lease`` (None: a run by hand) and, when ``fenced``,
    every commit of the session checked against the lease first (raising ``LeaseLost``). ``now`` is the
    run's start (tests pass their own time); the check's clock runs on from it. Yields a ``Guard``."""
    _running.lease = lease
    session = db.session() if lease is not None and fenced else None
    started, at = time.monotonic(), now or utcnow()
    guard = Guard()

    def check(committing: Session) -> None:
        if not lease.holds(committing, at + timedelta(seconds=time.monotonic() - started)):
            guard.lost = LeaseLost(f"scheduler {lease.owner} no longer holds the lease with fence {lease.fence}")
            raise guard.lost

    if session is not None:
        event.listen(session, "before_commit", check)
    try:
        yield guard
    finally:
        _running.lease = None
        if session is not None:
            event.remove(session, "before_commit", check)
