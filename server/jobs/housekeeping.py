"""Housekeeping that keeps personal data from lingering: old login attempts and idle login throttles.

An expired token is not a revocation: its device keeps its outbox and logs in again, whereas a
revoked device is told to wipe. So expiry is never turned into revocation here.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from server.extensions import db
from server.models import AuditEvent, JobRun, LoginAttempt
from server.orm import utcnow
from server.services import login_throttle

CHUNK = 5000
# The job log keeps a month: enough to see when each job last ran and how a bad week went.
JOB_RUNS_KEPT = timedelta(days=30)


def login_attempt_cutoff(now: datetime | None = None) -> datetime:
    """Login attempts before this are forgotten: RETENTION_LOGIN_ATTEMPT_DAYS old, and never inside the
    current failure window (an attempt there is still evidence of the run being throttled)."""
    cfg = current_app.config
    kept = max(timedelta(days=cfg["RETENTION_LOGIN_ATTEMPT_DAYS"]), cfg["LOGIN_FAILURE_WINDOW"])
    return (now or utcnow()) - kept


def forget_login_attempts(now: datetime | None = None, chunk: int = CHUNK) -> int:
    """Delete login attempts older than their retention, committing every ``chunk``; returns how many.

    The audit log's record of each failed login keeps that it happened (and to which account), but loses the
    email typed and the address it came from at the same age as the attempt itself.
    """
    cutoff = login_attempt_cutoff(now)
    db.session.execute(update(AuditEvent).where(
        AuditEvent.action == "auth.login_failed", AuditEvent.at < cutoff, AuditEvent.ip.is_not(None))
        .values(ip=None, details={}))
    db.session.commit()
    forgotten = 0
    while True:
        ids = db.session.scalars(select(LoginAttempt.id).where(LoginAttempt.at < cutoff)
                                 .order_by(LoginAttempt.id).limit(chunk)).all()
        if not ids:
            return forgotten
        db.session.execute(delete(LoginAttempt).where(LoginAttempt.id.in_(ids)))
        db.session.commit()
        forgotten += len(ids)


def prune_login_attempts() -> int:
    """Forget login attempts after their retention (RETENTION_LOGIN_ATTEMPT_DAYS, a day by default) and
    throttle counters once they slow nothing (emails and addresses are personal data)."""
    forgotten = forget_login_attempts()
    idle = login_throttle.forget_idle()
    db.session.commit()
    return forgotten + idle


def forget_job_runs(now: datetime | None = None) -> int:
    """Delete the log of job runs older than a month (a job every minute logs 1,440 runs a day); the latest
    run of each job is always kept, so ``flask jobs list`` can still say when it last ran."""
    cutoff = (now or utcnow()) - JOB_RUNS_KEPT
    latest = select(func.max(JobRun.id)).group_by(JobRun.job)
    result = db.session.execute(delete(JobRun).where(JobRun.started_at < cutoff, JobRun.id.not_in(latest))
                                .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0
