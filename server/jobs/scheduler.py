"""The scheduler process (Procfile `scheduler`): APScheduler, run by whichever process holds the lease.

Web workers never start a scheduler, so a job never runs once per worker. Any number of scheduler processes
may be started; the database lease (server/jobs/lease.py, docs/jobs.md) lets one of them run jobs, and each
job's tick is claimed once in ``job_run``, which also logs what every run changed.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from server.extensions import db
from server.jobs import housekeeping, imports, lease, push, retention
from server.orm import utcnow
from server.services import grants, notices, recognition, reminders, rollups, sync

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
    # claims_units: each import is claimed in the database, so the run is not fenced per commit (lease.py).
    job("imports", imports.run_pending, trigger="interval", seconds=5, claims_units=True),
    # Personal data past its retention period (docs/retention.md), at night when nobody is syncing.
    job("retention", retention.apply_retention, trigger="cron", hour=2, minute=30, misfire_grace_time=6 * 3600),
    # The membership secretaries' daily digest of new members (docs/members.md), in the morning.
    job("member-digest", notices.member_digest, trigger="cron", hour=9, minute=0, misfire_grace_time=6 * 3600),
    # Notices to the devices that agreed to web push (docs/push.md); holds them through quiet hours.
    job("push", push.send_pending, trigger="interval", minutes=1, claims_units=True),
    # Time-limited roles (docs/access.md): each lapse audited once, the holder told a week before.
    job("grants", grants.lapse_and_warn, trigger="interval", hours=1),
    # The monitoring dashboards' rollups (docs/monitoring.md): what arrived since the last run, recounted.
    job("rollups", rollups.catch_up, trigger="interval", minutes=1),
    # Milestones passed (docs/recognition.md), from the rollups: 30 s after them, so a minute's records count.
    job("milestones", recognition.check_milestones, trigger="interval", minutes=1, offset_seconds=30),
    # Reminders before a list's session (docs/push.md), SESSION_REMINDER_LEAD_MINUTES ahead.
    job("reminders", reminders.send_session_reminders, trigger="interval", minutes=5),
    # A volunteer whose phone has held unsent work for a day is told; CLP admins get a daily count of phones
    # at risk (docs/push.md).
    job("unsynced-alerts", reminders.unsynced_work_alerts, trigger="interval", hours=1),
    # The job log itself (docs/jobs.md): runs older than JOB_RUNS_KEPT_DAYS are forgotten.
    job("prune-job-runs", housekeeping.forget_job_runs, trigger="cron", hour=3, minute=15, misfire_grace_time=6 * 3600),
]


def find(name: str) -> Job | None:
    """The job called ``name``: its short name, or its function's name."""
    return next((j for j in JOBS if name in (j.name, j.func.__name__)), None)


# Arguments that say how to run a job rather than when (all but claims_units are add_job's).
JOB_OPTIONS = {"trigger", "name", "misfire_grace_time", "coalesce", "max_instances", "jitter", "next_run_time",
               "claims_units"}


def describe_trigger(trigger: dict) -> str:
    """``interval hours=1``, ``cron hour=2 minute=30``: when the job runs, as ``flask jobs list`` shows it."""
    kind = trigger.get("trigger", "")
    words = [kind] + [f"{k}={v}" for k, v in trigger.items() if k not in JOB_OPTIONS]
    return " ".join(words + ["UTC"] if kind == "cron" else words)  # the scheduler keeps UTC


# Interval jobs fire at whole multiples of their interval from this instant, in every process alike, so two
# schedulers agree on what a tick is (a job every minute fires at :00 of each minute, wherever it started).
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def trigger_of(job: Job):
    """The APScheduler trigger a job's arguments describe (interval triggers aligned to EPOCH)."""
    args = {k: v for k, v in job.trigger.items() if k not in JOB_OPTIONS | {"offset_seconds"}}
    if job.trigger.get("trigger") == "interval":
        start = EPOCH + timedelta(seconds=job.trigger.get("offset_seconds", 0))
        return IntervalTrigger(start_date=start, timezone=timezone.utc, **args)
    return CronTrigger(timezone=timezone.utc, **args)


def latest_tick(trigger, now: datetime) -> datetime | None:
    """The trigger's latest fire time at or before ``now``: the tick a run at ``now`` stands for."""
    if isinstance(trigger, IntervalTrigger):
        return trigger.start_date + ((now - trigger.start_date) // trigger.interval) * trigger.interval
    fire, latest = trigger.get_next_fire_time(None, now - timedelta(days=8)), None
    while fire is not None and fire <= now:
        latest, fire = fire, trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def grace(job: Job, trigger) -> timedelta:
    """How late a tick may still run (a scheduler that took over, or one that was busy): the job's
    misfire_grace_time, else one interval, else a minute."""
    if job.trigger.get("misfire_grace_time"):
        return timedelta(seconds=job.trigger["misfire_grace_time"])
    return trigger.interval if isinstance(trigger, IntervalTrigger) else timedelta(minutes=1)


def run_by_hand(job: Job, owner: str | None = None) -> object:
    """Run ``job`` now, outside the schedule (``flask jobs run``), logged in job_run with no tick. Returns what
    the job returned; a failure is logged and raised."""
    run_id = lease.start_manual(job.name, owner or f"cli:{lease.process_owner()}")
    try:
        with lease.running_under(None):
            result = job.func()
    except Exception as exc:
        lease.finish(run_id, error=exc)
        raise
    lease.finish(run_id, result=result)
    return result


def run_tick(job: Job, held: lease.Lease, now: datetime | None = None) -> str:
    """Run ``job`` for its latest tick if this process leads and nobody has run that tick: 'ran', 'failed',
    'fenced' (the lease was lost during the run: its uncommitted work rolled back), 'standby' (no lease),
    'taken' (claimed already) or 'late' (past its grace)."""
    if not held.held:
        return "standby"
    now = now or utcnow()
    trigger = trigger_of(job)
    tick = latest_tick(trigger, now)
    if tick is None or now - tick > grace(job, trigger):
        return "late"
    run_id = lease.claim_tick(held, job.name, tick, now)
    if run_id is None:
        return "taken"
    try:
        with lease.running_under(held, now, fenced=not job.trigger.get("claims_units")) as guard:
            result = job.func()
        if guard.lost is not None:  # the job caught the refusal and went on: its later commits were refused too
            raise guard.lost
    except lease.LeaseLost as exc:
        log.warning("job %s stopped: %s", job.name, exc)
        lease.finish(run_id, error=exc)
        return "fenced"
    except Exception as exc:
        log.exception("job %s failed", job.name)
        lease.finish(run_id, error=exc)
        return "failed"
    lease.finish(run_id, result=result)
    # Every run is in job_run; the log tells only of runs that changed something (imports runs every 5 s).
    log.log(logging.INFO if _changed(result) else logging.DEBUG, "job %s done: %s", job.name, result)
    return "ran"


def _changed(result: object) -> bool:
    if isinstance(result, dict):
        return any(v for k, v in result.items() if k != "through" and isinstance(v, (int, float)))
    return bool(result) and result is not True


def _in_context(app: Flask, job: Job, held: lease.Lease | None) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            if held is None:
                run_by_hand(job)
            else:
                run_tick(job, held)

    run.__name__ = job.func.__name__
    return run


def build_scheduler(app: Flask, jobs: list[Job] | None = None, held: lease.Lease | None = None) -> BackgroundScheduler:
    """A scheduler with every job registered, each coalescing missed runs and never overlapping itself.

    With ``held``, each firing runs only if that lease is this process's and its tick is unclaimed; without,
    each firing runs as a run by hand would (logged, no tick)."""
    jobs = JOBS if jobs is None else jobs
    ids = [j.func.__name__ for j in jobs]
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:  # the scheduler would silently keep only the last of them
        raise RuntimeError(f"Scheduled jobs must have different function names; {', '.join(clashes)} is used twice.")
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                                  "misfire_grace_time": 30})
    for j in jobs:
        options = {k: v for k, v in j.trigger.items() if k in JOB_OPTIONS - {"trigger", "claims_units"}}
        scheduler.add_job(_in_context(app, j, held), trigger_of(j), id=j.func.__name__, replace_existing=True,
                          **options)
    return scheduler


def serve(app: Flask, jobs: list[Job] | None = None, stop: threading.Event | None = None) -> None:
    """The scheduler process's loop: keep trying for the lease (renewing it while held), run jobs only while it
    is held, and give it up on a clean stop. Every process runs this; the lease picks the one that works."""
    jobs = JOBS if jobs is None else jobs
    stop = stop or threading.Event()
    with app.app_context():
        held = lease.Lease(lease.process_owner())
        every = lease.lease_length().total_seconds() / 3
    scheduler = build_scheduler(app, jobs, held)
    scheduler.start()
    log.info("scheduler %s started with %d jobs; waiting for the lease", held.owner, len(jobs))
    try:
        while not stop.is_set():
            with app.app_context():
                was = held.held
                try:
                    held.acquire_or_renew()
                except Exception:  # the database is away: try again next time; claims fail meanwhile
                    log.exception("scheduler %s could not reach the lease", held.owner)
                    db.session.rollback()
                if held.held and not was:  # just took over: run each job's current tick if nobody has
                    for j in jobs:  # one-off runs beside the timers, which keep their aligned ticks
                        scheduler.add_job(_in_context(app, j, held), "date", run_date=utcnow(),
                                          id=f"{j.func.__name__}:takeover", replace_existing=True)
            stop.wait(every)
    finally:
        scheduler.shutdown(wait=True)
        with app.app_context():
            held.release()
        log.info("scheduler %s stopped", held.owner)


def main(jobs: list[Job] | None = None) -> None:
    from server import create_app, freeze_startup_heap

    logging.basicConfig(level=logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its every firing is in job_run already
    app = create_app()
    if not app.config["SCHEDULER_ENABLED"]:
        log.warning("SCHEDULER_ENABLED is off; the scheduler process exits without running jobs.")
        return
    freeze_startup_heap()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serve(app, jobs, stop)


if __name__ == "__main__":
    main()
