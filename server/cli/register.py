"""``flask register import``: load a council's electoral register CSV into one constituency.

The command only turns options into arguments and the outcome into text; the rules live in
``server.services.register_import``.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from server.errors import GroundworkError
from server.services import register_import
from server.services.register_import import ImportSummary
from server.services.register_parse import FIELD_LABELS, RegisterRejected

register_cli = AppGroup("register", help="Import electoral registers as councils issue them.")


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


@register_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--constituency", "constituency_code", required=True, metavar="CODE",
              help="The constituency (CLP) this register belongs to, e.g. E14000001.")
@click.option("--mode", type=click.Choice(register_import.MODES), default="full", show_default=True,
              help="full: the whole edition (electors missing from it are marked removed). "
                   "update: a monthly change file (adds and updates only).")
@click.option("--edition", "edition_label", metavar="LABEL", help="Edition label; defaults to the file name.")
@click.option("--map", "map_pairs", multiple=True, metavar="FIELD=HEADING",
              help=f"Name the column for a field (repeatable). Fields: {', '.join(FIELD_LABELS)}.")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='A JSON file of {"field": "Heading"}.')
@click.option("--create-districts", is_flag=True,
              help="Create polling districts not yet known for the constituency, under an 'Unallocated' ward.")
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change, writing nothing.")
def import_command(file: Path, constituency_code: str, mode: str, edition_label: str | None,
                   map_pairs: tuple[str, ...], mapping_file: Path | None, create_districts: bool,
                   dry_run: bool) -> None:
    """Import FILE, a council's register CSV, all or nothing."""
    mapping = _load_mapping(mapping_file, map_pairs)
    try:
        summary = register_import.import_register(
            file, constituency_code, mode=mode, edition_label=edition_label, mapping=mapping,
            create_districts=create_districts, dry_run=dry_run,
        )
    except RegisterRejected as exc:
        for problem in exc.details["rows"]:
            click.echo(f"line {problem['line']}: {problem['message']}", err=True)
        raise click.ClickException(
            f"{exc.message}\n{_counts(rejected=exc.details['rejected'])}.") from exc
    except GroundworkError as exc:
        raise click.ClickException(exc.message) from exc

    if summary.districts_created:
        verb = "Would create" if dry_run else "Created"
        click.echo(f"{verb} polling district(s) {', '.join(summary.districts_created)} under the 'Unallocated' ward.")
    if dry_run:
        click.echo(f"Dry run of {summary.edition_label} into {summary.constituency_code}: {_counts(summary)}. "
                   "Nothing was written.")
    else:
        click.echo(f"Imported {summary.edition_label} into {summary.constituency_code}: {_counts(summary)}.")
