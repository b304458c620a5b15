"""The Alembic migrations, run from an empty database at the start of every test run, build exactly the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server.extensions import db


def test_upgrading_from_empty_builds_exactly_what_the_models_describe(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations disagree; run `flask db migrate`: {differences}"


def test_the_migrated_database_is_at_the_latest_revision(app):
    from alembic.script import ScriptDirectory

    config = app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
    assert "alembic_version" in inspect(db.engine).get_table_names()


def test_a_database_in_use_upgrades_from_the_release_before_the_console_with_its_data(app):
    """0007 and 0008 alter tables that hold rows and are referenced by foreign keys (electors): on SQLite a
    table copy would break those references, so the upgrade must work in place, data and all."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import func, select

    from server.models import Elector
    from tests.factories import make_world

    make_world()
    db.session.commit()
    electors = db.session.scalar(select(func.count()).select_from(Elector))
    db.session.remove()
    downgrade(revision="0006")
    upgrade()
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Elector)) == electors
    assert db.session.scalar(select(func.count()).select_from(Elector).where(Elector.provisional.is_(True))) == 0
