"""Exactly one scheduler: the lease, each tick claimed once and fenced, and two real processes at once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.jobs import housekeeping
from server.jobs.lease import Lease, claim_tick
from server.jobs.scheduler import JOBS, Job, build_scheduler, job, latest_tick, run_tick, trigger_of
from server.models import JobRun, LoginAttempt, Role, SchedulerLease
from server.orm import utcnow
from server.services.system import scheduler_status
from tests.server.live import ROOT

T0 = datetime(2026, 11, 29, 10, 0, 0, tzinfo=timezone.utc)


def runs(name: str) -> list[JobRun]:
    db.session.expire_all()
    return list(db.session.scalars(select(JobRun).where(JobRun.job == name).order_by(JobRun.tick)))


def test_the_scheduler_registers_every_job_once(app):
    scheduler = build_scheduler(app)
    assert sorted(j.id for j in scheduler.get_jobs()) == sorted(j.func.__name__ for j in JOBS)


def test_a_scheduled_job_runs_in_its_own_app_context_and_its_run_is_logged(app):
    db.session.add(LoginAttempt(email="a@b.test", ip="127.0.0.1", succeeded=False, at=utcnow() - timedelta(days=3)))
    db.session.commit()
    scheduled = next(j for j in build_scheduler(app).get_jobs() if j.id == "prune_login_attempts")
    scheduled.func()  # the wrapped job pushes its own app context
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    [run] = runs("prune-login-attempts")
    assert (run.status, run.result, run.tick) == ("ok", {"result": 1}, None)


def test_old_login_attempts_are_forgotten_and_recent_ones_kept(app):
    db.session.add_all([
        LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow() - timedelta(days=2)),
        LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=utcnow()),
    ])
    db.session.commit()
    assert housekeeping.prune_login_attempts() == 1
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def test_every_process_agrees_on_a_ticks_time_whenever_it_started(app):
    every_minute = trigger_of(job("x", lambda: None, trigger="interval", minutes=1))
    assert latest_tick(every_minute, T0 + timedelta(seconds=59, microseconds=5)) == T0
    assert latest_tick(every_minute, T0 + timedelta(minutes=1)) == T0 + timedelta(minutes=1)
    offset = trigger_of(job("x", lambda: None, trigger="interval", minutes=1, offset_seconds=30))
    assert latest_tick(offset, T0 + timedelta(seconds=10)) == T0 - timedelta(seconds=30)
    nightly = trigger_of(job("x", lambda: None, trigger="cron", hour=2, minute=30))
    assert latest_tick(nightly, T0) == datetime(2026, 11, 29, 2, 30, tzinfo=timezone.utc)
    assert latest_tick(nightly, datetime(2026, 11, 29, 2, 29, tzinfo=timezone.utc)) == datetime(
        2026, 11, 28, 2, 30, tzinfo=timezone.utc)


def test_only_one_process_holds_the_lease_and_a_new_holder_fences_the_old_one_out(app):
    first, second = Lease("host-a:1:aaaaaa"), Lease("host-b:2:bbbbbb")
    assert first.acquire_or_renew(T0) and not second.acquire_or_renew(T0)
    assert first.acquire_or_renew(T0 + timedelta(seconds=10))  # renewed, same fence
    fence = first.fence
    assert claim_tick(first, "push", T0, now=T0 + timedelta(seconds=10))
    assert claim_tick(first, "push", T0, now=T0 + timedelta(seconds=11)) is None  # a tick runs once

    # The first process stalls past its lease (a long pause): the second takes over with a new fence.
    later = T0 + timedelta(seconds=45)
    assert second.acquire_or_renew(later) and second.fence == fence + 1
    # The first wakes believing it leads: its claim on the next tick is refused by the fence, before its
    # renewal tells it that it lost.
    tick = T0 + timedelta(minutes=1)
    assert claim_tick(first, "push", tick, now=tick) is None
    assert claim_tick(second, "push", tick, now=tick)
    assert not first.acquire_or_renew(tick) and not first.held
    assert [(r.tick, r.owner, r.fence) for r in runs("push")] == [(T0, first.owner, fence),
                                                                   (tick, second.owner, fence + 1)]


def test_a_clean_stop_hands_the_lease_over_at_once(app):
    first, second = Lease("a:1:x"), Lease("b:2:y")
    first.acquire_or_renew(T0)
    first.release()
    assert second.acquire_or_renew(T0 + timedelta(seconds=1))


def test_a_claim_with_too_little_lease_left_is_refused(app):
    held = Lease("a:1:x")
    held.acquire_or_renew(T0)
    assert claim_tick(held, "push", T0, now=T0 + timedelta(seconds=29)) is None  # 1 s left of 30: too close


def test_a_tick_runs_once_a_standby_runs_nothing_and_a_failure_is_logged(app):
    calls = []
    counting = job("counting", lambda: calls.append(1) or {"counted": len(calls)}, trigger="interval", minutes=1)
    failing = job("failing", lambda: 1 / 0, trigger="interval", minutes=1)
    leader, standby = Lease("a:1:x"), Lease("b:2:y")
    leader.acquire_or_renew(T0)
    standby.acquire_or_renew(T0)
    now = T0 + timedelta(seconds=2)
    assert run_tick(counting, standby, now) == "standby"
    assert run_tick(counting, leader, now) == "ran"
    assert run_tick(counting, leader, now + timedelta(seconds=5)) == "taken"
    assert calls == [1]
    assert run_tick(failing, leader, now) == "failed"
    [failed] = runs("failing")
    assert failed.status == "failed" and "ZeroDivisionError" in failed.error and failed.finished_at
    [ok] = runs("counting")
    assert (ok.status, ok.result, ok.tick) == ("ok", {"counted": 1}, T0)


def _takes_over(app, successor: Lease, at: datetime) -> None:
    """Another scheduler takes the lease at ``at``, on its own connection (another process, as far as the
    database can tell)."""
    import threading

    took = []

    def take():
        with app.app_context():
            took.append(successor.acquire_or_renew(at))

    thread = threading.Thread(target=take)
    thread.start()
    thread.join()
    assert took == [True]


def _attempt(email: str) -> None:
    db.session.add(LoginAttempt(email=email, ip="10.0.0.1", succeeded=False, at=T0))


def test_a_run_that_outlives_its_lease_has_its_later_writes_refused_and_is_logged_fenced(app):
    """The leader's run commits a first unit of work; then it stalls past its lease and another scheduler takes
    over. The run's next commit is refused (the fence is checked in the commit's own transaction), so the stale
    leader writes nothing more, and its run is logged as fenced, not ok."""
    leader = Lease("a:1:x")
    leader.acquire_or_renew(T0)

    def two_units():
        _attempt("first@b.test")
        db.session.commit()
        _takes_over(app, Lease("b:2:y"), T0 + timedelta(seconds=45))
        _attempt("second@b.test")
        db.session.commit()
        return {"units": 2}

    assert run_tick(job("two-units", two_units, trigger="interval", minutes=1), leader,
                    T0 + timedelta(seconds=2)) == "fenced"
    db.session.expire_all()
    assert list(db.session.scalars(select(LoginAttempt.email))) == ["first@b.test"]
    [run] = runs("two-units")
    assert run.status == "fenced" and "no longer holds the lease" in run.error and run.result is None
    # Its next tick's claim is refused by the fence as well, before its renewal tells it that it lost.
    assert run_tick(job("two-units", two_units, trigger="interval", minutes=1), leader,
                    T0 + timedelta(minutes=1)) == "taken"


def test_a_run_that_catches_the_refusal_and_goes_on_writes_nothing_more_and_is_still_logged_fenced(app):
    """A job that keeps going past one unit's error (catching it, rolling back) is refused every later commit
    too, and its run is logged fenced, not ok with what it claims to have done."""
    leader = Lease("a:1:x")
    leader.acquire_or_renew(T0)

    def careless():
        _attempt("first@b.test")
        db.session.commit()
        _takes_over(app, Lease("b:2:y"), T0 + timedelta(seconds=45))
        for email in ("second@b.test", "third@b.test"):
            _attempt(email)
            try:
                db.session.commit()
            except Exception:
                db.session.rollback()
        return {"units": 3}

    assert run_tick(job("careless", careless, trigger="interval", minutes=1), leader,
                    T0 + timedelta(seconds=2)) == "fenced"
    db.session.expire_all()
    assert list(db.session.scalars(select(LoginAttempt.email))) == ["first@b.test"]
    [run] = runs("careless")
    assert run.status == "fenced" and run.result is None


def test_a_nightly_job_found_hours_late_runs_within_its_grace_and_not_after(app):
    nightly = Job(lambda: "done", {"name": "nightly", "trigger": "cron", "hour": 2, "minute": 30,
                                    "misfire_grace_time": 6 * 3600})
    held = Lease("a:1:x")
    late = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
    held.acquire_or_renew(late)
    assert run_tick(nightly, held, late) == "late"
    soon = datetime(2026, 11, 29, 5, 0, tzinfo=timezone.utc)
    held.acquire_or_renew(soon)
    assert run_tick(nightly, held, soon) == "ran"


def test_national_admins_see_the_heartbeat_and_a_stopped_scheduler_is_an_alert(app, client):
    from tests.factories import bearer, login, make_world

    make_world()
    db.session.commit()
    assert scheduler_status()["status"] == "never_started"
    held = Lease("host-a:41:abcdef")
    held.acquire_or_renew()
    token = login(client, Role.NATIONAL_ADMIN)
    body = client.get("/api/v1/system/scheduler", headers=bearer(token)).get_json()
    assert body["status"] == "running" and body["alert"] is None
    assert body["lease"]["owner"] == "host-a:41:abcdef"
    assert {j["name"] for j in body["jobs"]} == {j.name for j in JOBS}
    silent = scheduler_status(now=utcnow() + timedelta(seconds=61))
    assert silent["status"] == "stopped" and "no heartbeat since" in silent["alert"]
    held.release()
    assert "stopped at" in scheduler_status()["alert"]
    clp_admin = login(client, Role.CLP_ADMIN)
    refused = client.get("/api/v1/system/scheduler", headers=bearer(clp_admin))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"


def _start_scheduler(database_url: str, log) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "SCHEDULER_LEASE_SECONDS": "6",
           "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    return subprocess.Popen([sys.executable, "-m", "tests.server.scheduler_process"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_two_schedulers_started_at_once_and_one_killed_still_run_each_tick_once(app, database_url, tmp_path):
    """A second deploy starts a second scheduler beside the first; later the leader dies with kill -9. Every
    tick of both jobs (one every second, one every two that writes) runs at most once, all by the leader of the moment, and the survivor takes over within a
    lease (6 s here) and then runs every tick."""
    logs = [open(tmp_path / f"scheduler-{i}.log", "w") for i in range(2)]
    processes = [_start_scheduler(database_url, log) for log in logs]
    try:
        _wait(lambda: len(runs("every-second")) >= 5, 30, "five ticks")
        lease = db.session.get(SchedulerLease, "scheduler", populate_existing=True)
        owners = {r.owner for r in runs("every-second")}
        assert owners == {lease.owner}, "a tick was run by the process that did not hold the lease"
        leader_pid = int(lease.owner.split(":")[1])
        leader = next(p for p in processes if p.pid == leader_pid)
        survivor = next(p for p in processes if p is not leader)
        os.kill(leader.pid, signal.SIGKILL)
        leader.wait(10)
        killed_at = utcnow()
        _wait(lambda: any(r.owner.split(":")[1] == str(survivor.pid) for r in runs("every-second")), 30,
              "the survivor to take over")
        took_over = min(r.tick for r in runs("every-second") if r.owner.split(":")[1] == str(survivor.pid))
        time.sleep(4)
        ticks = runs("every-second")
        survivor_ticks = [r.tick for r in ticks if r.owner.split(":")[1] == str(survivor.pid)]
        # The survivor took over within the lease (6 s) and a renewal period of its own (2 s), plus a tick.
        assert took_over - killed_at < timedelta(seconds=10)
        # Once it leads, no tick is missed: one run per second, in order.
        assert [(b - a) for a, b in zip(survivor_ticks, survivor_ticks[1:])] == [timedelta(seconds=1)] * (
            len(survivor_ticks) - 1)
        assert len(survivor_ticks) >= 4
        # No tick ran twice (the unique key would refuse it, so count claims per tick from both processes).
        assert len({r.tick for r in ticks}) == len(ticks)
        # The leader's runs all finished, but for its last, which the kill may have caught under way.
        led = sorted((r for r in ticks if r.tick < took_over), key=lambda r: r.tick)
        assert all(r.status == "ok" for r in led[:-1]) and led[-1].status in ("ok", "running")
        fences = {r.owner: r.fence for r in ticks}
        assert len(fences) == 2 and max(fences.values()) == min(fences.values()) + 1
        # The writing job: each tick once, and a row for every run logged done (and at most one more, for a
        # run the kill caught between its commit and its log line).
        stamps = runs("every-two-seconds")
        assert len(stamps) >= 3 and len({r.tick for r in stamps}) == len(stamps)
        done = sum(r.status == "ok" for r in stamps)
        written = db.session.scalar(select(func.count()).select_from(LoginAttempt)
                                    .where(LoginAttempt.email == "stamp@scheduler.test"))
        assert done <= written <= done + sum(r.status == "running" for r in stamps)
        # A clean stop gives the lease up.
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(20)
        assert scheduler_status()["status"] == "stopped"
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        for log in logs:
            log.close()
