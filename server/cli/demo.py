"""``flask demo``: fill an empty database with a realistic, made-up dataset and print how to log in to it."""
from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from server.services import demo


@click.command("demo")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The same seed always builds the same people, addresses and contact records.")
@click.option("--electors", type=click.IntRange(demo.MIN_ELECTORS, demo.MAX_ELECTORS),
              default=demo.DEFAULT_ELECTORS, show_default=True, help="How many electors to put on the demo CLPs' registers (the 20 seats "
                   "they are compared with get a small register each).")
@click.option("--reset", is_flag=True, help="Delete every row in the database first (all of it, not just demo data).")
@click.option("--if-empty", "if_empty", is_flag=True,
              help="Do nothing (and succeed) if the database already holds data, as `make run` does.")
@click.option("--force", is_flag=True, help="Run even though GROUNDWORK_ENV is production.")
@with_appcontext
def demo_command(seed: int, electors: int, reset: bool, if_empty: bool, force: bool) -> None:
    """Build the demo dataset: 2 regions, 4 CLPs, a register, members, a campaign and a login per role."""
    if current_app.config.get("ENV") == "production" and not force:
        raise click.ClickException(
            "This is a production deployment (GROUNDWORK_ENV=production): the demo shares one published "
            "password between its accounts. Use --force only if you really mean to."
        )
    if reset and if_empty:
        raise click.UsageError("--reset deletes everything and --if-empty keeps it; choose one.")
    if if_empty and demo.rows_present():
        click.echo("The database already holds data; leaving it as it is (flask demo --reset rebuilds it).")
        _print_logins(demo.existing_logins())
        return
    started = time.monotonic()
    try:
        summary = demo.build_demo(seed=seed, electors=electors, reset=reset)
    except demo.DemoRefused as exc:
        present = ", ".join(f"{table} ({n})" for table, n in sorted(exc.args[0].items()))
        raise click.ClickException(
            f"The database already holds data: {present}. The demo will not mix with it. "
            "Run `flask demo --reset` to delete everything and rebuild the demo."
        ) from None
    elapsed = time.monotonic() - started

    click.echo(f"Built the Groundwork demo (seed {summary.seed}) in {elapsed:.1f}s.")
    click.echo("")
    _print_logins(summary.logins)
    click.echo("Contents:")
    for name, count in summary.counts.items():
        click.echo(f"  {name.replace('_', ' '):<28} {count:>8,}")


def _print_logins(logins: list) -> None:
    if not logins:
        return
    click.echo(f"Logins (every demo account's password is {demo.DEMO_PASSWORD!r}):")
    width = max(len(login.email) for login in logins)
    for login in logins:
        click.echo(f"  {login.role:<21} {login.email:<{width}}  {login.password}  {login.scope}")
    click.echo("")
