"""A real scheduler process for the two-schedulers story: the production loop (server.jobs.scheduler.serve) with
two quick jobs, so a test sees many ticks in a few seconds. Run as ``python -m tests.server.scheduler_process``
with DATABASE_URL and SCHEDULER_LEASE_SECONDS in the environment."""
from __future__ import annotations

from server.extensions import db
from server.jobs.scheduler import job, main
from server.models import LoginAttempt
from server.orm import utcnow


def heartbeat() -> dict:
    """A job that changes nothing: its runs in job_run are what the story counts."""
    return {"ticked": 1}


def stamp() -> dict:
    """A job that writes one row a run (through the fenced commit), so the story can match rows to runs."""
    db.session.add(LoginAttempt(email="stamp@scheduler.test", ip="127.0.0.1", succeeded=False, at=utcnow()))
    db.session.commit()
    return {"stamped": 1}


JOBS = [job("every-second", heartbeat, trigger="interval", seconds=1),
        job("every-two-seconds", stamp, trigger="interval", seconds=2)]

if __name__ == "__main__":
    main(JOBS)
