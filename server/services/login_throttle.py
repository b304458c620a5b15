"""Slowing password guessing without locking out the innocent, in a way that holds across worker processes.

Two counters stand in front of every password check, one per email and one per client address:

- **One account** gets at most ``LOGIN_MAX_FAILURES`` checked passwords per ``LOGIN_FAILURE_WINDOW``, from
  however many addresses; then it is refused (429, Retry-After) until the window ends. A correct password
  clears the count, because the owner is here. This is the wall that stops targeted guessing; its price is
  that anyone who knows an email can keep that account waiting out windows.
- **One address** (an IPv4 address, or the /64 an IPv6 host is given), across accounts, gets
  ``LOGIN_ADDRESS_FREE_FAILURES`` failures at full speed; after the n-th beyond those, its next attempt
  waits 1, 2, 4 ... seconds, capped at ``LOGIN_ADDRESS_MAX_DELAY``. It is never a wall: a volunteer in a
  campaign office whose colleague kept mistyping waits at most the cap, then logs in with the right
  password. An attempt made too early is refused without being checked and without lengthening the wait,
  so retrying early costs nothing. A success gives back only the slot it took: it forgives nobody's
  failures, so an attacker with an account of their own gains nothing by logging in between guesses.

What that leaves an attacker. From one address, spraying many accounts: once past the free failures, one
guess per ``LOGIN_ADDRESS_MAX_DELAY`` (1,440 a day at 60 s; the 20-per-15-minutes wall this replaced
allowed 1,920). The count is forgotten only after a whole window in which no password from the address was
checked, and sitting that out costs more guesses than the free ones it returns while the free failures are
fewer than the window over the cap (10 < 900 / 60 by default). From many addresses: nothing here slows
spraying beyond the per-account limit, and IPv4 addresses are cheap to rotate; that is the per-account
limit's job and the password policy's. Against the innocent: someone elsewhere cannot slow an address they
do not share; someone sharing it (the same office network) can keep it at the cap and race others for
each slot.

Both counters are reserved before the password is checked, in a short transaction that takes the two rows'
locks (INSERT ... ON CONFLICT DO UPDATE locks the row on PostgreSQL; SQLite serialises writers), decides,
counts the attempt as a failure and commits. Simultaneous requests on any number of workers therefore queue
on the rows and each sees the attempts before it; the slow hash runs after the commit, with no lock held.
An attempt whose request dies before it is settled stays counted as a failure.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, null, update
from sqlalchemy.engine import Row

from server.errors import RateLimited
from server.extensions import db
from server.models import LoginThrottle
from server.orm import dialect_insert, utcnow

EMAIL, ADDRESS = "email", "address"
_MAX_DOUBLINGS = 32  # beyond this the cap has long applied; it keeps timedelta from overflowing


@dataclass(frozen=True)
class Reservation:
    """An attempt counted against its email and address, to be settled once the password is checked."""

    email: str
    address: str
    address_serial: int  # the address row's serial as this reservation left it


def address_key(ip: str) -> str:
    """The unit an address is throttled by: the IPv4 address, or the /64 an IPv6 host is given."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:254]
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def delay_after(failures: int) -> timedelta:
    """How long an address waits after its ``failures``-th recent failure: nothing, then doubling to the cap."""
    cfg = current_app.config
    beyond = failures - cfg["LOGIN_ADDRESS_FREE_FAILURES"]
    if beyond < 0:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(beyond, _MAX_DOUBLINGS)), cfg["LOGIN_ADDRESS_MAX_DELAY"])


def reserve(email: str, ip: str) -> Reservation:
    """Count this attempt against the email and the address before its password is checked, or raise RateLimited."""
    cfg = current_app.config
    window = cfg["LOGIN_FAILURE_WINDOW"]
    now = utcnow()
    address = address_key(ip)
    try:
        # Always the address first, then the email: one order, so two logins never deadlock.
        here = _lock(ADDRESS, address, now)
        account = _lock(EMAIL, email, now)
        here_forgotten = here.last_attempt_at <= now - window
        account_window_over = account.started_at <= now - window
        waits = []
        if not here_forgotten and here.next_attempt_at is not None and here.next_attempt_at > now:
            waits.append(here.next_attempt_at - now)
        if not account_window_over and account.failures >= cfg["LOGIN_MAX_FAILURES"]:
            waits.append(account.started_at + window - now)
        if waits:
            db.session.rollback()
            raise RateLimited(max(1, math.ceil(max(waits).total_seconds())))
        here_failures = 1 if here_forgotten else here.failures + 1
        delay = delay_after(here_failures)
        _set(ADDRESS, address, failures=here_failures, started_at=now if here_forgotten else here.started_at,
             last_attempt_at=now, next_attempt_at=now + delay if delay else None, serial=here.serial + 1)
        _set(EMAIL, email, failures=1 if account_window_over else account.failures + 1,
             started_at=now if account_window_over else account.started_at, last_attempt_at=now,
             serial=account.serial + 1)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Reservation(email=email, address=address, address_serial=here.serial + 1)


def succeeded(reservation: Reservation) -> None:
    """Clear the account's count and give the address back the slot this attempt took; the caller commits."""
    t = LoginThrottle
    db.session.execute(
        update(t).where(t.scope == ADDRESS, t.key == reservation.address).values(
            failures=case((t.failures > 0, t.failures - 1), else_=0),
            # Reopen the address only if nobody has reserved since: their delay is theirs to keep.
            next_attempt_at=case((t.serial == reservation.address_serial, null()), else_=t.next_attempt_at),
        ).execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(t).where(t.scope == EMAIL, t.key == reservation.email).execution_options(synchronize_session=False)
    )


def forget_idle() -> int:
    """Delete the counters that no longer slow anything (they hold emails and addresses); the caller commits."""
    cfg = current_app.config
    cutoff = utcnow() - max(cfg["LOGIN_FAILURE_WINDOW"], cfg["LOGIN_ADDRESS_MAX_DELAY"])
    result = db.session.execute(delete(LoginThrottle).where(LoginThrottle.last_attempt_at < cutoff))
    return result.rowcount


def _lock(scope: str, key: str, now: datetime) -> Row:
    """The counter's row, created if missing and locked until this transaction ends."""
    table = LoginThrottle.__table__
    stmt = dialect_insert(db.session, table).values(
        scope=scope, key=key, failures=0, started_at=now, last_attempt_at=now, next_attempt_at=None, serial=0,
    )
    # A no-op update still takes the row lock, and returns the latest committed values, not a stale snapshot.
    stmt = stmt.on_conflict_do_update(index_elements=["scope", "key"], set_={"serial": table.c.serial})
    return db.session.execute(stmt.returning(
        table.c.failures, table.c.started_at, table.c.last_attempt_at, table.c.next_attempt_at, table.c.serial,
    )).one()


def _set(scope: str, key: str, **values) -> None:
    db.session.execute(
        update(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key).values(**values)
        .execution_options(synchronize_session=False)
    )
