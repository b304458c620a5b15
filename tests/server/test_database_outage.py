"""When the database goes away mid-request, the phone is told to come back shortly (503, Retry-After), not that
the server broke (500); nothing half-written stays, and the same push sent again is stored exactly once.

On PostgreSQL the push is caught waiting for a row lock (another session holds the elector, as a long import might)
and its server process is terminated, as a restart or failover does to every connection. On SQLite another
process holds the database's write lock for longer than the server waits for it.
"""
from __future__ import annotations

import sqlite3
import threading
import time
import uuid

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from server.extensions import db
from server.models import ContactRecord, Role, SyncReceipt
from tests.factories import make_world
from tests.server.concurrency import WAIT
from tests.server.phone import HttpPhone


def _stored(mutation_id: str) -> tuple[int, int]:
    mutation_id = uuid.UUID(mutation_id)
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(ContactRecord).where(ContactRecord.id == mutation_id)),
            db.session.scalar(select(func.count()).select_from(SyncReceipt)
                              .where(SyncReceipt.mutation_id == mutation_id)))


def _push_in_thread(app, phone: HttpPhone, mutations) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run():
        with app.app_context():
            response = phone.push(mutations, client=app.test_client())
            box["status"], box["headers"], box["body"] = (response.status_code, dict(response.headers),
                                                          response.get_json(silent=True))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def _lose_the_connection_mid_push(app, database_url, phone, mutations) -> dict:
    """PostgreSQL: hold the elector's row, wait for the push to queue behind it, terminate the push's backend."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    blocker = create_engine(database_url).connect()
    try:
        blocker.execute(text("SELECT id FROM elector WHERE id = :id FOR UPDATE"),
                        {"id": mutations[0]["data"]["elector_id"]})
        thread, box = _push_in_thread(app, phone, mutations)
        with admin.connect() as conn:
            deadline = time.monotonic() + WAIT
            waiting = None
            while waiting is None and time.monotonic() < deadline:
                waiting = conn.scalar(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND pid <> pg_backend_pid()"))
                time.sleep(0.05)
            assert waiting is not None, "the push never queued behind the held elector"
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting})
        thread.join(WAIT)
    finally:
        blocker.rollback()
        blocker.close()
        admin.dispose()
    assert not thread.is_alive(), "the push hung"
    return box


def _find_the_database_locked(app, database_url, phone, mutations) -> dict:
    """SQLite: another process's write transaction outlasts the server's busy timeout (5 s)."""
    other = sqlite3.connect(make_url(database_url).database, timeout=1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        thread, box = _push_in_thread(app, phone, mutations)
        thread.join(WAIT)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not thread.is_alive(), "the push hung"
    return box


def test_a_push_caught_by_a_database_outage_is_told_to_retry_and_its_retry_is_stored_once(app, database_url):
    world = make_world()
    phone = HttpPhone(app.test_client(), Role.CANVASSER, app=app)
    mutations = [phone.contact(world, world.home.electors[0], intention="LAB")]

    outage = (_lose_the_connection_mid_push if db.engine.dialect.name == "postgresql"
              else _find_the_database_locked)(app, database_url, phone, mutations)

    assert outage["status"] == 503, outage
    assert outage["body"]["error"]["code"] == "service_unavailable"
    assert outage["body"]["error"]["message"] == "The service is briefly unavailable. Try again in a few seconds."
    assert outage["headers"]["Retry-After"] == "5"
    assert _stored(mutations[0]["id"]) == (0, 0), "nothing of the failed request was kept"

    again = phone.push(mutations, client=app.test_client())  # the same batch, as the protocol says
    assert again.status_code == 200, again.get_data(as_text=True)
    assert [r["status"] for r in again.get_json()["results"]] == ["applied"]
    assert _stored(mutations[0]["id"]) == (1, 1)


def test_an_error_in_the_code_is_still_a_500_not_passed_off_as_an_outage(app, database_url):
    """Only a database that is away or busy is a 503: a broken statement remains the server's fault."""
    from server.errors import database_unavailable
    from sqlalchemy.exc import DBAPIError

    try:
        db.session.execute(text("SELECT no_such_column FROM elector"))
    except DBAPIError as exc:
        assert not database_unavailable(exc)
    else:
        raise AssertionError("the broken statement ran")
    finally:
        db.session.rollback()
