"""``flask register import``: load a council's electoral register CSV into one constituency.

The command only turns options into arguments and the outcome into text; the rules live in
``server.services.register_import``. It never prints a traceback: a register is personal data, and a
traceback (or a database error's message) can carry it.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from server.cli.common import import_stopped
from server.services import csv_safe, register_import
from server.services.register_import import ImportRefused, ImportSummary
from server.services.register_parse import FIELD_LABELS, RegisterRejected

register_cli = AppGroup("register", help="Import electoral registers as councils issue them.")

PRINTED_PROBLEMS = 100  # more go to --report


def _counts(summary: ImportSummary | None = None, rejected: int = 0) -> str:
    c = summary.counts if summary else {"added": 0, "updated": 0, "removed": 0, "unchanged": 0, "rejected": rejected}
    return ", ".join(f"{c[k]} {k}" for k in ("added", "updated", "removed", "unchanged", "rejected"))


def _load_mapping(mapping_file: Path | None, pairs: tuple[str, ...]) -> dict[str, str] | None:
    """``--mapping FILE.json`` ({"field": "Heading"}), overridden by each ``--map field=Heading``."""
    mapping: dict[str, str] = {}
    if mapping_file is not None:
        try:
            loaded = json.loads(mapping_file.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"cannot read {mapping_file}: {exc}", param_hint="--mapping") from exc
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise click.BadParameter('expected a JSON object like {"surname": "Last Name"}', param_hint="--mapping")
        mapping.update(loaded)
    for pair in pairs:
        name, sep, heading = pair.partition("=")
        if not sep or not name.strip() or not heading.strip():
            raise click.BadParameter(f"{pair!r}: use FIELD=HEADING, e.g. surname=\"Last Name\"", param_hint="--map")
        mapping[name.strip()] = heading.strip()
    return mapping or None


def _edition_date(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


def _write_report(path: Path, problems: list[dict]) -> None:
    """Every listed problem as CSV (line, field, message), neutralised: messages quote cells from the file."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv_safe.writer(handle)
        writer.writerow(["line", "field", "message"])
        writer.writerows([p["line"], p["field"], p["message"]] for p in problems)


def _report_problems(details: dict, report: Path | None) -> None:
    problems = details.get("rows") or []
    for problem in problems[:PRINTED_PROBLEMS]:
        click.echo(f"line {problem['line']}: {problem['message']}", err=True)
    if report is not None and problems:
        _write_report(report, problems)
        click.echo(f"The problems are listed in {report}.", err=True)
    elif len(problems) > PRINTED_PROBLEMS:
        click.echo(f"... the first {PRINTED_PROBLEMS} problems are shown; --report FILE.csv lists "
                   f"{len(problems):,}.", err=True)


def _edition_words(summary: ImportSummary) -> str:
    if summary.edition_date is None:
        return "edition date unknown"
    source = "as given" if summary.edition_date_source == "given" else "from the file name"
    return f"edition date {summary.edition_date}, {source}"


@register_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--constituency", "constituency_code", required=True, metavar="CODE",
              help="The constituency (CLP) this register belongs to, e.g. E14000001.")
@click.option("--mode", type=click.Choice(register_import.MODES), default="full", show_default=True,
              help="full: the whole edition (electors missing from it are marked removed). "
                   "update: a monthly change file (adds and updates only).")
@click.option("--edition", "edition_label", metavar="LABEL", help="Edition label; defaults to the file name.")
@click.option("--edition-date", callback=_edition_date, metavar="YYYY-MM-DD",
              help="The date the council issued this edition; by default read from a file name such as "
                   "register-2027-01-15.csv (or -2027-01-, the first of the month). An edition older than the "
                   "latest imported is refused.")
@click.option("--map", "map_pairs", multiple=True, metavar="FIELD=HEADING",
              help=f"Name the column for a field (repeatable). Fields: {', '.join(FIELD_LABELS)}.")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='A JSON file of {"field": "Heading"}.')
@click.option("--create-districts", is_flag=True,
              help="Create polling districts not yet known for the constituency, under an 'Unallocated' ward.")
@click.option("--dry-run", is_flag=True,
              help="Check the file and show what would change, and whether the wrong-file guards would refuse "
                   "it, writing nothing.")
@click.option("--force", is_flag=True,
              help="Import even though a wrong-file guard refuses: a full register removing more than "
                   "REGISTER_MAX_REMOVAL_SHARE of the electors, or an edition older than the latest imported.")
@click.option("--report", type=click.Path(dir_okay=False, writable=True, path_type=Path), metavar="FILE.csv",
              help="If the file has bad rows, write them here as CSV (line, field, message).")
def import_command(file: Path, constituency_code: str, mode: str, edition_label: str | None,
                   edition_date: date | None, map_pairs: tuple[str, ...], mapping_file: Path | None,
                   create_districts: bool, dry_run: bool, force: bool, report: Path | None) -> None:
    """Import FILE, a council's register CSV, all or nothing."""
    mapping = _load_mapping(mapping_file, map_pairs)
    try:
        summary = register_import.import_register(
            file, constituency_code, mode=mode, edition_label=edition_label, edition_date=edition_date,
            mapping=mapping, create_districts=create_districts, dry_run=dry_run, force=force,
        )
    except RegisterRejected as exc:
        _report_problems(exc.details, report)
        for guard in exc.details.get("guards", []):
            if not guard["passed"] and not force:
                click.echo(f"Also refused: {guard['message']}.", err=True)
        raise click.ClickException(
            f"{exc.message}\n{_counts(rejected=exc.details['rejected'])}.") from None
    except ImportRefused as exc:
        _report_problems(exc.details, report)
        raise click.ClickException(exc.message) from None
    except Exception as exc:
        raise import_stopped(exc, file) from None

    if summary.districts_created:
        verb = "Would create" if dry_run else "Created"
        click.echo(f"{verb} polling district(s) {', '.join(summary.districts_created)} under the 'Unallocated' ward.")
    if dry_run:
        click.echo(f"Dry run of {summary.edition_label} into {summary.constituency_code} ({_edition_words(summary)}):")
        for guard in summary.guards:
            verdict = "passes" if guard.passed else ("REFUSED, but --force given" if force else "REFUSED")
            click.echo(f"  {verdict}: {guard.message}.")
        click.echo(f"{_counts(summary)}. Nothing was written.")
        if summary.refusals and not force:
            raise click.ClickException("The import would be refused (see above); --force imports it anyway.")
        return
    for guard in summary.refusals:
        click.echo(f"Forced past a guard: {guard.message}.")
    click.echo(f"Imported {summary.edition_label} into {summary.constituency_code}: {_counts(summary)}.")
    if summary.erased_kept:
        click.echo(f"{summary.erased_kept} of them asked to be erased: kept erased, no names restored "
                   "(docs/data-protection.md).")
