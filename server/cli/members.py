"""``flask members``: loading the membership list from the command line.

The command only turns options into arguments and the outcome into text; the rules live in
``server.services.members_import``. It never prints a traceback or a database error's message: the file
is personal data, and either can carry it.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from server.cli.common import import_stopped
from server.services import members_import
from server.services.members_import import MemberImportRejected, MemberImportSummary

members_cli = AppGroup("members", help="Membership list imports.")


def _summary_lines(summary: MemberImportSummary) -> list[str]:
    s = summary
    lines = [f"{s.rows} rows: {s.added} added, {s.updated} updated ({s.moved} moved CLP), {s.unchanged} unchanged, "
             f"{s.skipped_erased} skipped (erased members)."]
    lines.append("By status: " + ", ".join(f"{n} {status}" for status, n in s.by_status.items()) + ".")
    lines.append(f"Left this time: {s.left['lapsed']} lapsed, {s.left['resigned']} resigned.")
    lines.append(f"Not in the file (left as they were): {s.not_in_file} of the scope's members, "
                 f"{s.not_in_file_current} of them still new or active.")
    if len(s.by_constituency) > 1:
        lines.extend(f"  {c['name']} ({c['code']}): {c['added']} added, {c['updated']} updated, "
                     f"{c['unchanged']} unchanged" for c in s.by_constituency)
    if s.ignored_columns:
        lines.append("Columns not read: " + ", ".join(repr(h) for h in s.ignored_columns) + ".")
    lines.extend(s.notes)
    for warning in s.warnings:
        lines.append(f"Warning, line {warning['line']}: {warning['message']}")
    if s.warnings_total > len(s.warnings):
        lines.append(f"... and {s.warnings_total - len(s.warnings)} more warnings.")
    return lines


@members_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--clp", metavar="CLP", help="The CLP the file is for: its id, ONS code or name.")
@click.option("--region", metavar="REGION", help="The region the file is for: its id, code or name. Every row "
                                                 "must then name one of its CLPs.")
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change, writing nothing.")
def import_command(file: Path, clp: str | None, region: str | None, dry_run: bool) -> None:
    """Load FILE, a membership export (.csv or .xlsx), for one CLP or one region: all or nothing."""
    if (clp is None) == (region is None):
        raise click.UsageError("Give one of --clp or --region.")
    limit = current_app.config["IMPORT_MAX_BYTES"]
    try:
        with file.open("rb") as handle:
            data = handle.read(limit + 1)
        scope = members_import.find_scope(clp=clp, region=region)
        summary = members_import.import_members(data, file.name, scope, dry_run=dry_run)
    except MemberImportRejected as exc:
        for problem in exc.details["rows"]:
            click.echo(f"line {problem['line']}: {problem['message']}", err=True)
        if exc.details["errors"] > len(exc.details["rows"]):
            click.echo(f"... the first {len(exc.details['rows'])} of {exc.details['errors']} problems are shown.",
                       err=True)
        raise click.ClickException(exc.message) from None
    except Exception as exc:
        raise import_stopped(exc, file) from None
    verb = "Dry run of" if dry_run else "Imported"
    click.echo(f"{verb} {file.name} into {scope.label}:")
    for line in _summary_lines(summary):
        click.echo(line)
    if dry_run:
        click.echo("Nothing was written.")
