"""The import worker: runs queued previews, commits and undos (server.services.imports.pipeline), never in a
web worker. Jobs are claimed from the import_job table with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL
(a plain claim on SQLite, which has one writer), so two workers never run one job. Progress is written
through a separate connection, so it can be polled while the job's own transaction is still open.

Runs in the scheduler process (server/jobs/scheduler.py registers ``run_pending``), or alone:
``python -m server.jobs.imports`` (a process of its own, where a deployment wants one).
"""
from __future__ import annotations

import gc
import logging
import os
import socket
import time
from datetime import timedelta

from sqlalchemy import or_, select, update

from server.errors import GroundworkError
from server.extensions import db
from server.jobs import lease
from server.models import ImportJob
from server.orm import utcnow
from server.services import audit

log = logging.getLogger(__name__)
# A running job whose worker has written no progress for this long is taken to have died: queued again.
STALE_AFTER = timedelta(minutes=15)
WORKER = f"{socket.gethostname()}:{os.getpid()}"


class Progress:
    """Writes a job's progress through its own connection and transaction, at most every ``every`` seconds."""

    def __init__(self, job_id: int, every: float = 0.5):
        self.job_id, self.every, self.last = job_id, every, 0.0
        # SQLite has one writer: the job's open transaction holds it, so progress waits for the end there.
        self.enabled = db.engine.dialect.name != "sqlite"

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < self.every and done < total):
            return
        self.last = now
        with db.engine.begin() as conn:
            conn.execute(update(ImportJob).where(ImportJob.id == self.job_id)
                         .values(stage=stage, done=done, total=total, heartbeat_at=utcnow()))


def claim(worker: str = WORKER) -> int | None:
    """Take the oldest queued job (or one whose worker died), mark it running, and commit: its id or None."""
    stale = (ImportJob.status == "running") & (ImportJob.heartbeat_at < utcnow() - STALE_AFTER)
    stmt = (select(ImportJob).where(or_(ImportJob.status == "queued", stale))
            .order_by(ImportJob.created_at, ImportJob.id).limit(1))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    job = db.session.scalars(stmt, execution_options={"populate_existing": True}).first()
    if job is None:
        db.session.rollback()
        return None
    now = utcnow()
    job.status, job.worker, job.started_at, job.heartbeat_at, job.stage = "running", worker, now, now, "starting"
    db.session.commit()
    return job.id


def _finish(job_id: int, **values) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(ImportJob).where(ImportJob.id == job_id).values(finished_at=utcnow(), **values))


def run_job(job_id: int) -> str:
    """Run one claimed job to its end; returns its final status. A failure changes nothing but the job."""
    from server.services.imports import pipeline

    job = db.session.get(ImportJob, job_id)
    batch_id, action, user_id = job.batch_id, job.action, job.created_by_id
    db.session.commit()
    progress = Progress(job_id)
    # A large sheet holds a few million small objects (the register's index, the rows, the results), none
    # in cycles that matter; the cyclic collector would walk them all again and again. Collect once after.
    gc.disable()
    try:
        summary = pipeline.run(batch_id, action, progress, user_id=user_id)
    except GroundworkError as exc:
        db.session.rollback()
        _finish(job_id, status="failed", stage="failed",
                error={"code": exc.code.value if hasattr(exc.code, "value") else str(exc.code),
                       "message": exc.message, "details": exc.details})
        return "failed"
    except Exception:
        db.session.rollback()
        log.exception("import job %s failed", job_id)
        _finish(job_id, status="failed", stage="failed",
                error={"code": "internal", "message": "The import failed on the server; nothing was changed.",
                       "details": None})
        audit.record("import.failed", actor_user_id=user_id, target_type="import_batch", target_id=batch_id,
                     details={"job_id": job_id, "action": action})
        db.session.commit()
        return "failed"
    finally:
        gc.enable()
        gc.collect()
    total = (summary.get("counts") or {}).get("rows", 0)
    _finish(job_id, status="done", stage="done", done=total, total=total)
    return "done"


def run_pending(limit: int | None = None) -> int:
    """The scheduled job: run queued import jobs until none is left (or ``limit``); returns how many ran."""
    ran = 0
    while (limit is None or ran < limit) and lease.still_mine():  # a new leader takes the rest
        job_id = claim()
        if job_id is None:
            break
        run_job(job_id)
        ran += 1
    return ran


def main() -> None:  # pragma: no cover - a process loop
    from server import create_app

    logging.basicConfig(level=logging.INFO)
    app = create_app()
    with app.app_context():
        log.info("import worker %s started", WORKER)
        while True:
            if not run_pending():
                time.sleep(2)


if __name__ == "__main__":
    main()
