"""The scheduler process: one APScheduler instance for the whole deployment (Procfile `scheduler`).

Each job runs inside an app context handed to it here; web workers never start a scheduler, so a
job never runs once per worker.
"""
from __future__ import annotations

import logging
import signal
from collections.abc import Callable

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from server.jobs import housekeeping, imports
from server.services import sync

log = logging.getLogger(__name__)

# (job, trigger arguments). Later issues add theirs here.
JOBS: list[tuple[Callable[[], object], dict]] = [
    (housekeeping.prune_login_attempts, {"trigger": "interval", "hours": 1}),
    # Large catch-ups leave their electors queued; fold them soon after.
    (sync.reconcile_queued, {"trigger": "interval", "minutes": 1}),
    (sync.purge_stale_storage, {"trigger": "interval", "hours": 6}),
    # Import previews, commits and undos (docs/imports.md): claimed with SKIP LOCKED, never in a web worker.
    (imports.run_pending, {"trigger": "interval", "seconds": 5}),
]


def _in_context(app: Flask, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            result = job()
            log.info("job %s done: %s", job.__name__, result)

    run.__name__ = job.__name__
    return run


def build_scheduler(app: Flask) -> BlockingScheduler:
    """A scheduler with every job registered, each coalescing missed runs and never overlapping itself."""
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job, trigger in JOBS:
        scheduler.add_job(_in_context(app, job), id=job.__name__, replace_existing=True, **trigger)
    return scheduler


def main() -> None:
    from server import create_app

    app = create_app()
    if not app.config["SCHEDULER_ENABLED"]:
        log.warning("SCHEDULER_ENABLED is off; the scheduler process exits without running jobs.")
        return
    scheduler = build_scheduler(app)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=True))
    log.info("scheduler started with %d jobs", len(JOBS))
    scheduler.start()


if __name__ == "__main__":
    main()
