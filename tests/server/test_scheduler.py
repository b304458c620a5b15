"""The one scheduler process registers every job, and each job runs inside the app context it is given."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from server.extensions import db
from server.jobs import housekeeping
from server.jobs.scheduler import JOBS, build_scheduler
from server.models import LoginAttempt
from server.orm import utcnow


def test_the_scheduler_registers_every_job_once(app):
    scheduler = build_scheduler(app)
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(job.__name__ for job, _ in JOBS)


def test_a_scheduled_job_runs_in_its_own_app_context(app):
    db.session.add(LoginAttempt(email="a@b.test", ip="127.0.0.1", succeeded=False, at=utcnow() - timedelta(days=3)))
    db.session.commit()
    job = next(j for j in build_scheduler(app).get_jobs() if j.id == "prune_login_attempts")
    job.func()  # the wrapped job pushes its own app context
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_old_login_attempts_are_forgotten_and_recent_ones_kept(app):
    db.session.add_all([
        LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow() - timedelta(days=2)),
        LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow()),
    ])
    db.session.commit()
    assert housekeeping.prune_login_attempts() == 1
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1

