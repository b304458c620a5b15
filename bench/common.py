"""What the benchmarks share: finding, creating and emptying their own PostgreSQL database, and the
names and streets of their synthetic electors.

A benchmark only ever touches a database whose name contains "bench", so it can never wipe the
database a test suite is running against beside it.
"""
from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/groundwork_bench"

# Names and streets for synthetic electors (neither bench needs realism beyond the shape of the data).
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
            "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Khan", "Kowalski"]
FORENAMES = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Noah", "Oliver", "George", "Arthur", "Muhammad", "Leo",
             "Harry", "Oscar", "Aisha", "Chidi", "Niamh", "Cerys", "Siobhan", "Wiktoria", "Arjun"]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Lane", "Victoria Road", "Manor Way", "Elm Grove",
           "Queens Road", "North Road", "Chapel Street", "Green Lane", "Meadow View", "Orchard Close"]


def _guard(url: str) -> str:
    database = make_url(url).database or ""
    if "bench" not in database:
        raise SystemExit(f"Refusing to use database {database!r} for a benchmark: its name must contain 'bench'.")
    return database


def ensure_database(url: str) -> None:
    """Create the bench database if the server has none of that name (a fresh machine)."""
    database = _guard(url)
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
    except Exception:
        pass  # the server is unreachable; reachable() reports why
    finally:
        admin.dispose()


def reachable(url: str) -> str | None:
    """None if the database answers, else the first line of the reason it does not."""
    if url.startswith("postgresql"):
        ensure_database(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


def reset_postgres(url: str) -> str:
    """Empty the bench database; return the server's version."""
    _guard(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        version = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return version.split()[0]
