"""The scheduler process: one APScheduler instance for the whole deployment (Procfile `scheduler`).

Each job runs inside an app context handed to it here; web workers never start a scheduler, so a
job never runs once per worker.
"""
from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import NamedTuple

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from server.jobs import housekeeping, imports, push, retention
from server.services import grants, notices, rollups, sync

log = logging.getLogger(__name__)


class Job(NamedTuple):
    """A scheduled job: the function it runs, and its APScheduler trigger arguments.

    Its short ``name`` (``flask jobs run NAME``) travels with the trigger as APScheduler's job name; the
    scheduler's job id stays the function's name.
    """

    func: Callable[[], object]
    trigger: dict

    @property
    def name(self) -> str:
        return self.trigger.get("name") or self.func.__name__


def job(name: str, func: Callable[[], object], **trigger) -> Job:
    """One line per job: ``job("short-name", module.function, trigger="interval", hours=1)``."""
    return Job(func, {"name": name, **trigger})


# The one list of jobs, read by the scheduler process and by ``flask jobs``. Later issues add theirs here.
JOBS: list[Job] = [
    job("prune-login-attempts", housekeeping.prune_login_attempts, trigger="interval", hours=1),
    # Large catch-ups leave their electors queued; fold them soon after.
    job("reconcile-queued", sync.reconcile_queued, trigger="interval", minutes=1),
    job("purge-stale-storage", sync.purge_stale_storage, trigger="interval", hours=6),
    # Import previews, commits and undos (docs/imports.md): claimed with SKIP LOCKED, never in a web worker.
    job("imports", imports.run_pending, trigger="interval", seconds=5),
    # Personal data past its retention period (docs/retention.md), at night when nobody is syncing.
    job("retention", retention.apply_retention, trigger="cron", hour=2, minute=30, misfire_grace_time=6 * 3600),
    # The membership secretaries' daily digest of new members (docs/members.md), in the morning.
    job("member-digest", notices.member_digest, trigger="cron", hour=9, minute=0, misfire_grace_time=6 * 3600),
    # Notices to the devices that agreed to web push (docs/push.md); holds them through quiet hours.
    job("push", push.send_pending, trigger="interval", minutes=1),
    # Time-limited roles (docs/access.md): each lapse audited once, the holder told a week before.
    job("grants", grants.lapse_and_warn, trigger="interval", hours=1),
    # The monitoring dashboards' rollups (docs/monitoring.md): what arrived since the last run, recounted.
    job("rollups", rollups.catch_up, trigger="interval", minutes=1),
]


def find(name: str) -> Job | None:
    """The job called ``name``: its short name, or its function's name."""
    return next((j for j in JOBS if name in (j.name, j.func.__name__)), None)


# add_job arguments that say how to run a job rather than when.
JOB_OPTIONS = {"trigger", "name", "misfire_grace_time", "coalesce", "max_instances", "jitter", "next_run_time"}


def describe_trigger(trigger: dict) -> str:
    """``interval hours=1``, ``cron hour=2 minute=30``: when the job runs, as ``flask jobs list`` shows it."""
    kind = trigger.get("trigger", "")
    words = [kind] + [f"{k}={v}" for k, v in trigger.items() if k not in JOB_OPTIONS]
    return " ".join(words + ["UTC"] if kind == "cron" else words)  # the scheduler keeps UTC


def _in_context(app: Flask, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            result = job()
            log.info("job %s done: %s", job.__name__, result)

    run.__name__ = job.__name__
    return run


def build_scheduler(app: Flask) -> BlockingScheduler:
    """A scheduler with every job registered, each coalescing missed runs and never overlapping itself."""
    ids = [func.__name__ for func, _ in JOBS]
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:  # the scheduler would silently keep only the last of them
        raise RuntimeError(f"Scheduled jobs must have different function names; {', '.join(clashes)} is used twice.")
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for func, trigger in JOBS:
        scheduler.add_job(_in_context(app, func), id=func.__name__, replace_existing=True, **trigger)
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
