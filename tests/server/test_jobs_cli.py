"""``flask jobs``: an operator lists the scheduler's jobs and runs one now, by the name the list shows."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from server.extensions import db
from server.jobs.retention import apply_retention
from server.jobs.scheduler import JOBS, build_scheduler, describe_trigger, find
from server.models import AuditEvent, JobRun, LoginAttempt
from server.orm import utcnow

NAMES = ["prune-login-attempts", "reconcile-queued", "purge-stale-storage", "imports", "retention"]


def test_jobs_list_shows_every_scheduled_job_with_its_trigger_and_last_run(runner):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    jobs = lines[:len(JOBS)]
    assert [line.split()[0] for line in jobs] == [j.name for j in JOBS]
    assert set(NAMES) <= {j.name for j in JOBS}
    shown = dict((line.split()[0], line) for line in jobs)
    assert "interval hours=1" in shown["prune-login-attempts"]
    assert "cron hour=2 minute=30 UTC" in shown["retention"]
    assert "server.jobs.retention.apply_retention" in shown["retention"]
    assert all(line.endswith("last: never run") for line in jobs)
    assert lines[-1].startswith("No scheduler has ever run against this database.")


def test_a_run_by_hand_is_logged_with_what_it_changed_and_listed_as_the_last_run(app, runner):
    db.session.add(LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow() - timedelta(days=2)))
    db.session.commit()
    assert runner.invoke(args=["jobs", "run", "prune-login-attempts"]).exit_code == 0
    [run] = db.session.scalars(select(JobRun)).all()
    assert (run.job, run.status, run.result, run.tick) == ("prune-login-attempts", "ok", {"result": 1}, None)
    assert run.owner.startswith("cli:") and run.finished_at >= run.started_at
    listed = runner.invoke(args=["jobs", "list"]).output
    line = next(l for l in listed.splitlines() if l.startswith("prune-login-attempts"))
    assert line.endswith("ok: 1") and run.started_at.strftime("%Y-%m-%d %H:%M") in line


def test_a_job_that_fails_by_hand_says_so_and_is_logged_as_failed(app, runner, monkeypatch):
    from server.jobs import scheduler

    monkeypatch.setattr(scheduler, "JOBS", [*JOBS, scheduler.job("broken", lambda: {}["missing"],
                                                                 trigger="interval", hours=1)])
    result = runner.invoke(args=["jobs", "run", "broken"])
    assert result.exit_code != 0 and "broken failed: KeyError" in result.output
    [run] = db.session.scalars(select(JobRun)).all()
    assert run.status == "failed" and "KeyError: 'missing'" in run.error


def test_the_scheduler_and_the_cli_read_one_list_of_uniquely_named_jobs(app):
    names = [j.name for j in JOBS]
    assert len(set(names)) == len(names)
    assert len({j.func.__name__ for j in JOBS}) == len(JOBS)
    scheduled = {job.id: job.name for job in build_scheduler(app).get_jobs()}
    assert scheduled == {j.func.__name__: j.name for j in JOBS}
    assert find("retention").func is apply_retention
    assert find("apply_retention").func is apply_retention  # a function's own name works too
    assert describe_trigger({"trigger": "interval", "seconds": 5, "name": "imports"}) == "interval seconds=5"


def test_jobs_run_retention_runs_it_now_and_prints_its_counts(app, runner):
    db.session.add(LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow() - timedelta(days=2)))
    db.session.commit()
    result = runner.invoke(args=["jobs", "run", "retention"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("retention: contact_content=0, devices=0, login_attempts=1, import_files=0, "
                                     "audit_events=0")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "retention.run")) == 1
    again = runner.invoke(args=["jobs", "run", "retention"])
    assert again.exit_code == 0 and "login_attempts=0" in again.output


def test_jobs_run_by_function_name_and_a_job_returning_a_number(runner):
    result = runner.invoke(args=["jobs", "run", "prune_login_attempts"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "prune-login-attempts: 0"


def test_an_unknown_job_name_is_a_clear_error_naming_the_jobs(runner):
    result = runner.invoke(args=["jobs", "run", "retension"])
    assert result.exit_code != 0
    assert "no job is called 'retension'" in result.output
    for name in NAMES:
        assert name in result.output
