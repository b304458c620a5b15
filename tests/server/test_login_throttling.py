"""Logging in under guessing: misses cost what wrong passwords cost, a shared office address is slowed but
never walled off, and the limits hold when many guesses arrive at once.

The throttle reads its clock from one place (``login_throttle.utcnow``), which these tests move by hand, so
no test sleeps through a delay. The concurrent stories need real concurrent transactions: PostgreSQL only.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from server.extensions import db
from server.jobs import housekeeping
from server.models import LoginAttempt, LoginThrottle, Role
from server.services import accounts, login_throttle
from tests.factories import PASSWORD, make_world
from tests.server.concurrency import concurrently

OFFICE = "203.0.113.7"  # one campaign office: every volunteer in it logs in from this address
ELSEWHERE = "192.0.2.55"


class Clock:
    """The throttle's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(login_throttle, "utcnow", clock)
    return clock


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The stored hashes that passwords were checked against, in order (from any thread)."""
    hashes: list[str] = []
    lock = threading.Lock()
    real = accounts.check_password_hash

    def check(pwhash: str, password: str) -> bool:
        with lock:
            hashes.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", check)
    return hashes


def email(role: Role) -> str:
    return f"{role.value}@example.test"


def attempt(client, who: str, password: str = "wrong password", *, address: str = OFFICE):
    return client.post("/api/v1/auth/login", json={"email": who, "password": password, "device_name": "Laptop"},
                       environ_base={"REMOTE_ADDR": address})


def told_to_wait(response) -> int:
    """The seconds a refused login was told to wait (it must have been refused with a 429)."""
    assert response.status_code == 429, response.get_json()
    body = response.get_json()["error"]
    assert body["code"] == "rate_limited"
    assert body["details"]["retry_after_seconds"] == int(response.headers["Retry-After"])
    return int(response.headers["Retry-After"])


def patiently(client, clock: Clock, who: str, password: str = "wrong password", *, address: str = OFFICE):
    """A login by someone who, told to wait, waits exactly that long and tries again; and how long they waited."""
    waited = 0
    response = attempt(client, who, password, address=address)
    while response.status_code == 429:
        seconds = told_to_wait(response)
        assert seconds <= 3600, "a wall, not a delay"
        waited += seconds
        clock.advance(seconds)
        response = attempt(client, who, password, address=address)
    return response, waited


def method_of(pwhash: str) -> str:
    return pwhash.split("$", 1)[0]


@contextmanager
def statements_run():
    """Every SQL statement the database is sent inside the block (text only, without the values)."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


# ---------------------------------------------------------------------------------- unknown addresses
def test_an_unknown_email_is_checked_against_a_hash_of_the_configured_method(app, client, clock, checked):
    # Not the suite's usual method, nor the cheap one the dummy hash was once fixed to.
    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1234"
    make_world()
    assert attempt(client, email(Role.CANVASSER)).status_code == 401
    assert attempt(client, "nobody@example.test").status_code == 401
    assert attempt(client, "no-one-either@example.test").status_code == 401
    assert [method_of(h) for h in checked] == ["pbkdf2:sha256:1234"] * 3
    assert checked[1] == checked[2], "the dummy hash is made once per method, not on every miss"
    # Production's scrypt, parameters and all (kept small here so the test stays fast).
    app.config["PASSWORD_HASH_METHOD"] = "scrypt:1024:8:1"
    assert attempt(client, "still-nobody@example.test").status_code == 401
    assert method_of(checked[-1]) == "scrypt:1024:8:1"


def test_a_miss_and_a_wrong_password_do_the_same_database_work(app, client, clock):
    make_world()
    with statements_run() as wrong_password:
        assert attempt(client, email(Role.CANVASSER)).status_code == 401
    with statements_run() as unknown_email:
        assert attempt(client, "nobody@example.test").status_code == 401
    assert any(s.lstrip().startswith("INSERT INTO login_attempt") for s in wrong_password)
    assert unknown_email == wrong_password


# ---------------------------------------------------------------------------------- shared addresses
def test_a_colleagues_typos_never_lock_a_volunteer_out_of_the_campaign_office(app, client, clock):
    make_world()
    cap = app.config["LOGIN_ADDRESS_MAX_DELAY"].total_seconds()
    # Six volunteers share the office's address and mistype 24 times between them (4 each, under each
    # account's own limit): more than the 20 that used to lock the whole office out for 15 minutes.
    waits = []
    for role in Role:
        for _ in range(4):
            response, waited = patiently(client, clock, email(role))
            assert response.status_code == 401
            waits.append(waited)
    assert 0 < max(waits) <= cap
    # The phone banker, with the right password, is asked to wait a moment, not a quarter of an hour...
    wait = told_to_wait(attempt(client, email(Role.PHONE_BANKER), PASSWORD))
    assert wait <= cap
    clock.advance(wait)
    assert attempt(client, email(Role.PHONE_BANKER), PASSWORD).status_code == 201
    # ...and a colleague straight after does not wait at all: a correct password gives back the slot it took.
    assert attempt(client, email(Role.CANVASSER), PASSWORD).status_code == 201


def test_after_a_quiet_quarter_of_an_hour_the_office_starts_afresh(app, client, clock):
    make_world()
    free = app.config["LOGIN_ADDRESS_FREE_FAILURES"]
    for n in range(free):
        assert attempt(client, f"typo{n}@example.test").status_code == 401
    told_to_wait(attempt(client, "typo@example.test"))
    clock.advance(app.config["LOGIN_FAILURE_WINDOW"].total_seconds())
    for n in range(free):
        assert attempt(client, f"typo{n}@example.test").status_code == 401


def test_an_attacker_spraying_accounts_from_one_address_is_slowed_more_and_more(app, client, clock, checked):
    make_world()
    attacker = "198.51.100.9"
    waits = []
    for n in range(30):
        response, waited = patiently(client, clock, f"person{n}@example.test", "Summer2026!", address=attacker)
        assert response.status_code == 401
        waits.append(waited)
    # Ten at full speed, then each guess waits twice as long as the one before, up to a minute.
    assert waits == [0] * 10 + [1, 2, 4, 8, 16, 32] + [60] * 14
    assert len(checked) == 30

    # Asking early is refused without a check, and does not lengthen the wait.
    assert told_to_wait(attempt(client, "person30@example.test", address=attacker)) == 60
    clock.advance(30)
    assert told_to_wait(attempt(client, "person30@example.test", address=attacker)) == 30
    assert len(checked) == 30

    # Logging in to an account of their own between guesses buys nothing: their failures are not forgiven.
    clock.advance(30)
    assert attempt(client, email(Role.NATIONAL_ADMIN), PASSWORD, address=attacker).status_code == 201
    assert attempt(client, "person30@example.test", address=attacker).status_code == 401
    assert told_to_wait(attempt(client, "person31@example.test", address=attacker)) == 60

    # Nobody at another address is slowed by any of it.
    assert attempt(client, email(Role.CANVASSER), PASSWORD, address=ELSEWHERE).status_code == 201


def test_hosts_in_one_ipv6_slash_64_are_one_address(app, client, clock):
    make_world()
    free = app.config["LOGIN_ADDRESS_FREE_FAILURES"]
    for n in range(free):
        assert attempt(client, f"person{n}@example.test", address=f"2001:db8:1:2::{n + 1:x}").status_code == 401
    told_to_wait(attempt(client, "person@example.test", address="2001:db8:1:2:ffff::1"))
    assert attempt(client, "person@example.test", address="2001:db8:1:3::1").status_code == 401


def test_guesses_at_one_account_are_limited_from_however_many_addresses(app, client, clock):
    make_world()
    limit = app.config["LOGIN_MAX_FAILURES"]
    window = app.config["LOGIN_FAILURE_WINDOW"].total_seconds()
    for n in range(limit):
        assert attempt(client, email(Role.CANVASSER), address=f"192.0.2.{n + 1}").status_code == 401
        clock.advance(10)
    # The owner too, with the right password, until the window that began with the first failure ends.
    assert told_to_wait(attempt(client, email(Role.CANVASSER), PASSWORD, address=ELSEWHERE)) == window - 10 * limit
    clock.advance(window - 10 * limit)
    assert attempt(client, email(Role.CANVASSER), PASSWORD, address=ELSEWHERE).status_code == 201


def test_housekeeping_forgets_counters_that_no_longer_slow_anyone(app, client, clock):
    make_world()
    assert attempt(client, "old@example.test", address="192.0.2.1").status_code == 401
    clock.advance(app.config["LOGIN_FAILURE_WINDOW"].total_seconds() + 1)
    assert attempt(client, "recent@example.test", address="192.0.2.2").status_code == 401
    housekeeping.prune_login_attempts()
    kept = db.session.execute(select(LoginThrottle.scope, LoginThrottle.key).order_by(LoginThrottle.key)).all()
    assert kept == [("address", "192.0.2.2"), ("email", "recent@example.test")]


# ---------------------------------------------------------------------------------- under concurrency
@pytest.fixture
def world(app):
    """The standard world, on PostgreSQL; the concurrent stories skip on SQLite, which serialises writers."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs real concurrent transactions; SQLite serialises writers")
    return make_world()


@pytest.mark.postgres_only
def test_forty_simultaneous_guesses_at_one_account_check_at_most_the_limit(app, world, clock, checked):
    limit = app.config["LOGIN_MAX_FAILURES"]
    # Forty addresses, so only the account's own limit stands in the way.
    calls = [lambda c, n=n: attempt(c, email(Role.CANVASSER), f"guess {n}", address=f"10.0.{n}.1").status_code
             for n in range(40)]
    statuses = concurrently(app, *calls)
    assert sorted(statuses) == [401] * limit + [429] * (40 - limit)
    assert len(checked) == limit
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == limit


@pytest.mark.postgres_only
def test_forty_simultaneous_guesses_from_one_address_are_slowed_as_if_they_came_in_turn(app, world, clock, checked):
    free = app.config["LOGIN_ADDRESS_FREE_FAILURES"]
    calls = [lambda c, n=n: attempt(c, f"person{n}@example.test", address="198.51.100.9").status_code
             for n in range(40)]
    statuses = concurrently(app, *calls)
    # In turn, the first ten are checked and the eleventh must wait; all at once, it is the same.
    assert sorted(statuses) == [401] * free + [429] * (40 - free)
    assert len(checked) == free
