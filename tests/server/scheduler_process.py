"""A real scheduler process for the two-schedulers story: the production loop (server.jobs.scheduler.serve) with
one quick job, so a test sees many ticks in a few seconds. Run as ``python -m tests.server.scheduler_process``
with DATABASE_URL and SCHEDULER_LEASE_SECONDS in the environment."""
from __future__ import annotations

from server.jobs.scheduler import job, main


def heartbeat() -> dict:
    """A job that changes nothing: its runs in job_run are what the story counts."""
    return {"ticked": 1}


JOBS = [job("every-second", heartbeat, trigger="interval", seconds=1)]

if __name__ == "__main__":
    main(JOBS)
