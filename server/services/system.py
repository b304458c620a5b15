"""The scheduler's health, for national admins (GET /api/v1/system/scheduler, ``flask jobs list``).

The lease's heartbeat says whether a scheduler is running; a stopped scheduler is itself an alert, since
without it nothing is pushed, no rollup is kept, no import runs and no personal data is removed on time.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from server.extensions import db
from server.jobs import lease
from server.models import JobRun, SchedulerLease
from server.orm import utcnow

WHAT_STOPS = "Pushes, dashboard rollups, imports, reminders and retention are not running."


def _when(at: datetime) -> str:
    return at.strftime("%d %b %Y %H:%M UTC").lstrip("0")


def last_runs() -> dict[str, JobRun]:
    """Each job's latest run, by its short name."""
    latest = select(func.max(JobRun.id)).group_by(JobRun.job)
    return {run.job: run for run in db.session.scalars(select(JobRun).where(JobRun.id.in_(latest)))}


def scheduler_status(now: datetime | None = None) -> dict:
    """Whether a scheduler holds the lease and renews it (running), gave it up or went silent (stopped), or never
    ran here (never_started); with an alert sentence for the last two, and every job's schedule and last run."""
    from server.jobs.scheduler import JOBS, describe_trigger

    now = now or utcnow()
    row = db.session.get(SchedulerLease, lease.NAME)
    silent_after = 2 * timedelta(seconds=current_app.config["SCHEDULER_LEASE_SECONDS"])
    if row is None or row.heartbeat_at is None:
        status, alert = "never_started", f"No scheduler has ever run against this database. {WHAT_STOPS}"
    elif row.released_at is not None:
        status = "stopped"
        alert = f"The scheduler stopped at {_when(row.released_at)} and none has taken over. {WHAT_STOPS}"
    elif row.heartbeat_at < now - silent_after:
        status = "stopped"
        alert = f"The scheduler has stopped: no heartbeat since {_when(row.heartbeat_at)}. {WHAT_STOPS}"
    else:
        status, alert = "running", None
    runs = last_runs()
    return {
        "now": now,
        "status": status,
        "alert": alert,
        "lease": None if row is None or row.owner is None else {
            "owner": row.owner, "fence": row.fence, "acquired_at": row.acquired_at,
            "heartbeat_at": row.heartbeat_at, "expires_at": row.expires_at},
        "jobs": [{"name": j.name, "schedule": describe_trigger(j.trigger), "last_run": runs.get(j.name)}
                 for j in JOBS],
    }
