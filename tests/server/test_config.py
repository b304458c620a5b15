"""Configuration comes from the environment; production refuses to start without its required settings."""
from __future__ import annotations

import pytest

from server import create_app
from server.config import Config, ConfigError, normalise_database_url


def test_hosting_platform_postgres_urls_are_normalised():
    assert normalise_database_url("postgres://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_production_without_required_settings_names_every_missing_one(monkeypatch):
    monkeypatch.setenv("GROUNDWORK_ENV", "production")
    for name in Config.REQUIRED_IN_PRODUCTION:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as excinfo:
        create_app()
    for name in Config.REQUIRED_IN_PRODUCTION:
        assert name in str(excinfo.value)


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("GROUNDWORK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    for name in ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT"):
        monkeypatch.setenv(name, "x")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config().validate()


def test_a_malformed_number_is_a_clear_start_up_error(monkeypatch):
    monkeypatch.setenv("TOKEN_TTL_DAYS", "thirty")
    with pytest.raises(ConfigError, match="TOKEN_TTL_DAYS"):
        Config()


def test_without_database_url_the_app_uses_sqlite_in_its_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": "x" * 32})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/groundwork.sqlite")


SOURCE = "SELECT source FROM pg_settings WHERE name = 'random_page_cost'"


def test_postgresql_connections_plan_for_fast_random_reads_unless_told_otherwise(app, monkeypatch):
    """On PostgreSQL every connection plans with random_page_cost 1.1 (SSD), so a push's few hundred electors are
    read by index rather than by scanning the table; an operator can pick another value, or the server's own."""
    from sqlalchemy import text

    from server.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]  # SQLite takes no such option
            return
        assert db.session.scalar(text("SHOW random_page_cost")) == "1.1"
        assert db.session.scalar(text(SOURCE)) == "client"
    monkeypatch.setenv("DATABASE_RANDOM_PAGE_COST", "")
    own = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x" * 32})
    with own.app_context():
        assert db.session.scalar(text(SOURCE)) != "client"  # the server's default or its configuration file
        db.session.remove()
        db.engine.dispose()


def test_a_random_page_cost_that_is_not_a_number_stops_start_up(monkeypatch):
    monkeypatch.setenv("DATABASE_RANDOM_PAGE_COST", "fast; DROP TABLE elector")
    with pytest.raises(ConfigError, match="DATABASE_RANDOM_PAGE_COST"):
        Config()


def test_connection_options_an_operator_gives_in_the_url_are_kept_beside_the_planner_setting(app):
    """A DATABASE_URL carrying its own libpq options (a statement timeout, say) keeps them; a random_page_cost
    among them wins over Groundwork's."""
    from sqlalchemy import text

    from server.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        url = db.engine.url
    for options, timeout, cost in (("-c statement_timeout=4321", "4321ms", "1.1"),
                                   ("-c statement_timeout=4321 -c random_page_cost=2", "4321ms", "2")):
        own = create_app({"SQLALCHEMY_DATABASE_URI": url.update_query_dict({"options": options})
                          .render_as_string(hide_password=False), "SECRET_KEY": "x" * 32})
        with own.app_context():
            assert db.session.scalar(text("SHOW statement_timeout")) == timeout
            assert db.session.scalar(text("SHOW random_page_cost")) == cost
            db.session.remove()
            db.engine.dispose()
