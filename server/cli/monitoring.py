"""``flask monitoring``: the rollups behind the dashboards (docs/monitoring.md)."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from server.services import rollups

monitoring_cli = AppGroup("monitoring", help="The monitoring dashboards' rollups.")


@monitoring_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute every rollup from the contact records and the register. The scheduler's ``rollups`` job keeps
    them current between rebuilds; a rebuild gives the same figures."""
    started = time.perf_counter()
    result = rollups.rebuild()
    click.echo(f"Rebuilt the rollups: {result['districts']} districts and {result['electorates']} electorates in "
               f"{time.perf_counter() - started:.1f} s.")


@monitoring_cli.command("catch-up")
def catch_up_command() -> None:
    """Recompute what changed since the last run, as the scheduler's ``rollups`` job does each minute."""
    result = rollups.catch_up()
    if result.get("rebuilt"):
        click.echo(f"Caught up: the first run rebuilt the rollups ({result['districts']} districts).")
    else:
        click.echo(f"Caught up: {result['records']} new records counted ({result['properties']} properties), "
                   f"{result['districts']} districts recomputed whole.")
