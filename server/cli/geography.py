"""``flask geography``: loading seats' demographics and previous results (docs/peers.md).

The command only turns the file into arguments and the outcome into text; the rules live in
``server.services.profiles_import``.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from server.cli.common import import_stopped
from server.services import profiles_import
from server.services.profiles_import import ProfileImportRejected

geography_cli = AppGroup("geography", help="Seats' demographic profiles.")


@geography_cli.command("import-profiles")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_profiles_command(file: Path) -> None:
    """Load FILE (.csv or .xlsx, one row per seat: constituency, then numeric features): all or nothing."""
    limit = current_app.config["IMPORT_MAX_BYTES"]
    try:
        with file.open("rb") as handle:
            data = handle.read(limit + 1)
        summary = profiles_import.import_profiles(data, file.name)
    except ProfileImportRejected as exc:
        for problem in exc.details["rows"]:
            click.echo(problem["message"], err=True)
        if exc.details["errors"] > len(exc.details["rows"]):
            click.echo(f"... the first {len(exc.details['rows'])} of {exc.details['errors']} problems are shown.",
                       err=True)
        raise click.ClickException(exc.message) from None
    except Exception as exc:
        raise import_stopped(exc, file) from None
    s = summary
    click.echo(f"Imported {file.name}: {s.rows} rows, {s.seats_added} seats added, {s.seats_updated} seats "
               f"updated; {len(s.features)} features read ({', '.join(s.features)}), {s.values_read} figures, "
               f"{s.empty_cells} empty cells.")
    for note in s.notes:
        click.echo(note)
