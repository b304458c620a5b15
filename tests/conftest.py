"""Test harness: one suite, run against the database named by TEST_DATABASE_URL (SQLite or PostgreSQL).

The schema is built once per run by the real Alembic migrations (so every run tests them), and every
test starts from empty tables. A component that is missing makes its tests skip locally, and fail
when REQUIRE_ALL=1 (as CI sets), so nothing can pass CI by being skipped.
"""
from __future__ import annotations

import os
import tempfile
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server.config import normalise_database_url

REQUIRE_ALL = os.environ.get("REQUIRE_ALL") == "1"


def require(condition: bool, reason: str) -> None:
    """Skip when a real component is absent; under REQUIRE_ALL=1 that is a failure instead."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"REQUIRE_ALL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="groundwork-test-"), "test.sqlite")
    return normalise_database_url(url)


def _reachable(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # the reason is shown in the skip or failure
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


def _reset_schema(url: str) -> None:
    """Start the run from an empty database, so the migrations are tested from nothing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and os.path.exists(parsed.database):
            os.remove(parsed.database)
        return
    if "test" not in (parsed.database or ""):
        raise RuntimeError(f"Refusing to wipe database {parsed.database!r}: its name must contain 'test'.")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-used-anywhere-else",
    # Cheap hashing keeps the suite fast; production keeps scrypt.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "SCHEDULER_ENABLED": False,
}


@pytest.fixture(scope="session")
def database_url() -> str:
    url = _database_url()
    problem = _reachable(url)
    require(problem is None, f"the test database at {make_url(url).render_as_string()} is unreachable: {problem}")
    _reset_schema(url)
    from flask_migrate import upgrade

    from server import create_app

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        from server.extensions import db

        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url):
    """A fresh app on the migrated database, its context pushed; every table is emptied afterwards."""
    from server import create_app
    from server.extensions import db

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()
        _empty_tables(db)
        db.engine.dispose()


def _empty_tables(db, attempts: int = 5) -> None:
    """Delete every row, children first. A browser test's page may still be syncing as its test ends: a push
    that commits between two of these deletes leaves a row the next delete trips over (a foreign key), so the
    whole emptying is tried again, by which time that request has finished."""
    from sqlalchemy.exc import IntegrityError

    for attempt in range(attempts):
        try:
            with db.engine.begin() as conn:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
