"""The log of job runs (``job_run``): what each run of a scheduled job changed, and when it last succeeded.

The scheduler (server/jobs/lease.py, server/jobs/scheduler.py) and ``flask jobs run`` both log here. A job
that works from "what happened since I last ran" reads ``last_success`` rather than keeping a cursor of its own.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from server.extensions import db
from server.models import JobRun


def last_success(job: str) -> datetime | None:
    """When the latest successful run of ``job`` (its short name) started, or None if it never succeeded."""
    at = db.session.scalar(select(JobRun.started_at).where(JobRun.job == job, JobRun.status == "ok")
                           .order_by(JobRun.started_at.desc()).limit(1))
    return at.replace(tzinfo=timezone.utc) if at is not None and at.tzinfo is None else at
