"""Groundwork's web application. ``create_app`` is the only place an app is built."""
from __future__ import annotations

import gc
import logging
import os
from typing import Any, Mapping

from flask import Flask
from sqlalchemy.engine import make_url

from server.config import Config

__all__ = ["create_app", "freeze_startup_heap"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, overridden by ``config`` (tests pass their own)."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.json.sort_keys = False  # keep the field order the schemas declare
    settings = Config()
    settings.validate()
    app.config.from_mapping(settings.as_mapping())
    if config:
        app.config.from_mapping(config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        # The embedded default: a SQLite file in the instance folder, so `make run` needs no setup.
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "groundwork.sqlite")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.urandom(32).hex()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from server import models  # noqa: F401  (registers every table on the metadata)
    from server.extensions import db, migrate

    _configure_postgresql(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"), render_as_batch=True)
    _configure_sqlite(app, db)

    from server.api import register_api
    from server.auth import assert_every_route_declares_access
    from server.cli import register_commands
    from server.errors import register_error_handlers
    from server.transport import register_transport
    from server.web import register_web

    register_error_handlers(app)
    register_transport(app)  # before any route, so every <int:...> is a database id
    register_api(app)
    register_web(app)
    register_commands(app)
    assert_every_route_declares_access(app)
    return app


def freeze_startup_heap() -> None:
    """Move every object alive now (modules, the app, its schemas and mappings: about 170,000) out of the
    garbage collector's reach, for a long-running process that has just built its app. Each full collection
    otherwise walks them all again, about 80 ms on a 2-core machine, stalling whichever request or job set it
    off; they live as long as the process, so walking them never frees anything. (gc.freeze came to CPython
    from Instagram's web servers, for this and for sharing memory across forks.) Start-up's garbage is
    collected first, so none of it is kept for the life of the process."""
    gc.collect()
    gc.freeze()


def _configure_postgresql(app: Flask) -> None:
    """Planner settings for every PostgreSQL connection, sent as libpq's startup ``options`` (no extra round
    trip, and a pooled connection keeps them across transactions)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    cost = app.config.get("DATABASE_RANDOM_PAGE_COST")
    if not cost:
        return
    engine_options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(engine_options.get("connect_args") or {})
    # Options given already are kept: an explicit ``options`` replaces those of the URL (?options=...) and
    # libpq's PGOPTIONS, so they are carried over, and a random_page_cost among them wins.
    given = (connect_args.get("options") or make_url(app.config["SQLALCHEMY_DATABASE_URI"]).query.get("options")
             or os.environ.get("PGOPTIONS") or "")
    given = " ".join(given) if isinstance(given, tuple) else given
    if "random_page_cost" not in given:
        given = f"{given} -c random_page_cost={cost}".strip()
    connect_args["options"] = given
    engine_options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options


def _configure_sqlite(app: Flask, db) -> None:
    """Foreign keys are off by default in SQLite; WAL lets readers work while a sync writes."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
