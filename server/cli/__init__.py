"""Command-line entry points, registered on the app as ``flask <group> <command>``."""
from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from server.cli.demo import demo_command
    from server.cli.geography import geography_cli
    from server.cli.jobs import jobs_cli
    from server.cli.members import members_cli
    from server.cli.monitoring import monitoring_cli
    from server.cli.push import push_cli
    from server.cli.register import register_cli
    from server.cli.sync import sync_cli
    from server.cli.users import users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(register_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(sync_cli)
    app.cli.add_command(members_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(push_cli)
    app.cli.add_command(geography_cli)
    app.cli.add_command(monitoring_cli)


def main() -> None:
    """``groundwork`` console script: the flask CLI bound to this app, without needing FLASK_APP."""
    from flask.cli import FlaskGroup

    from server import create_app

    FlaskGroup(create_app=lambda: create_app())(prog_name="groundwork")
