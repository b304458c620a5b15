"""Loading seats' demographics and previous results from CSV or .xlsx (docs/peers.md), all or nothing.

One row per seat: a ``constituency`` column (its ONS code, such as E14000001, or its name), an optional
``previous_winner`` (text), and any number of numeric columns, each a feature, read as given (a share as
0-1 or as a percentage: the z-scores of peers.py do not mind which, as long as a column is consistent). An
empty cell means the seat has no figure for that feature. A seat in the file has its profile replaced
whole; seats not in the file are left as they were.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import asdict, dataclass, field

from flask import current_app
from sqlalchemy import select

from server.errors import ValidationFailed
from server.extensions import db
from server.models import Constituency, ConstituencyProfile
from server.orm import utcnow
from server.services import audit
from server.services.imports.errors import ERROR, column_letter, shown
from server.services.imports.read import read_table
from server.services.imports.table import refuse

SEAT_HEADINGS = ("constituency", "constituency_code", "constituency_name", "ons_code", "code", "name", "seat")
WINNER_HEADINGS = ("previous_winner", "winner")
MAX_LISTED = 100
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class ProfileImportRejected(ValidationFailed):
    """The file has bad rows: ``details["rows"]`` lists the first MAX_LISTED as {line, column, cell, field,
    message}; ``details["errors"]`` counts them all. Nothing was written."""


@dataclass
class ProfileImportSummary:
    filename: str | None
    sha256: str
    rows: int
    seats_added: int  # seats that had no profile before
    seats_updated: int  # seats whose profile was replaced
    features: list[str]  # the feature columns read
    values_read: int  # numbers read (empty cells not counted)
    empty_cells: int
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def feature_name(heading: str) -> str:
    """A heading as a feature name: lower case, runs of anything else than letters and digits as one "_".

    "Age 65+ (%)" -> "age_65", "Social rented" -> "social_rented".
    """
    return re.sub(r"[^a-z0-9]+", "_", heading.strip().lower()).strip("_")


def read_number(text: str) -> float | None:
    """A cell as a number ("12.5", "12.5%", "1,234", "-0.3"), None when empty; ValueError when not a number."""
    cell = text.strip().replace("\u2212", "-")
    if not cell:
        return None
    cell = cell.removesuffix("%").strip()
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", cell):
        cell = cell.replace(",", "")
    if not _NUMBER.match(cell):
        raise ValueError(cell)
    value = float(cell)
    if not math.isfinite(value):
        raise ValueError(cell)
    return value


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _seat_finder():
    seats = db.session.execute(select(Constituency.id, Constituency.code, Constituency.name)).all()
    by_code = {_key(code): id_ for id_, code, _ in seats}
    by_name: dict[str, list[int]] = {}
    for id_, _, name in seats:
        by_name.setdefault(_key(name), []).append(id_)
    return by_code, by_name


def import_profiles(data: bytes, filename: str | None, *, principal=None) -> ProfileImportSummary:
    """Read the file and replace the profiles of the seats it names, in one transaction; or refuse it whole.

    A file that cannot be read is an ImportRefused; one with bad rows a ProfileImportRejected listing them by
    line. Either way nothing is written.
    """
    table = read_table(data, filename or "upload", max_bytes=current_app.config["IMPORT_MAX_BYTES"])
    headings = [feature_name(h) for h in table.headings]
    seat_col = next((headings.index(h) for h in SEAT_HEADINGS if h in headings), None)
    if seat_col is None:
        raise refuse("missing_columns", f"Line {table.heading_line}: the file has no \"constituency\" column (the "
                                        "seat's ONS code, such as E14000001, or its name).",
                     line=table.heading_line, missing=["constituency"])
    winner_col = next((headings.index(h) for h in WINNER_HEADINGS if h in headings), None)
    feature_cols = [i for i, h in enumerate(headings) if i not in (seat_col, winner_col)]
    if not feature_cols:
        raise refuse("missing_columns", f"Line {table.heading_line}: the file has no figures, only the seats: add "
                                        "a column for each feature (age_65_plus, social_rented, majority_pct...).",
                     line=table.heading_line, missing=["features"])
    seen: dict[str, int] = {}
    for i in [seat_col] + feature_cols:
        name = headings[i]
        if not name:
            raise refuse("missing_columns", f"Line {table.heading_line}: column {column_letter(i)} has no heading; "
                                            "give it one (the feature's name) or remove it.",
                         line=table.heading_line, column=column_letter(i))
        if name in seen:
            raise refuse("duplicate_column", f"Line {table.heading_line}: columns {column_letter(seen[name])} and "
                                             f"{column_letter(i)} are both \"{name}\"; keep one.",
                         line=table.heading_line, column=name)
        seen[name] = i

    problems: list[dict] = [
        {"line": p.line, "column": None, "cell": p.cell, "field": p.field, "message": p.message}
        for p in table.problems if p.severity == ERROR
    ]

    def problem(line: int, column: int | None, message: str, field_name: str) -> None:
        problems.append({"line": line, "column": None if column is None else table.headings[column],
                         "cell": None if column is None else f"{column_letter(column)}{line}",
                         "field": field_name, "message": f"line {line}: {message}"})

    by_code, by_name = _seat_finder()
    first_line: dict[int, int] = {}
    plan: dict[int, tuple[dict[str, float], str | None]] = {}
    values = empty = 0
    for row in table.rows:
        seat_text = row.cells[seat_col].strip()
        seat_id = None
        if not seat_text:
            problem(row.line, seat_col, "no constituency is given", "constituency")
        elif (seat_id := by_code.get(_key(seat_text))) is None:
            named = by_name.get(_key(seat_text), [])
            if len(named) == 1:
                seat_id = named[0]
            elif named:
                problem(row.line, seat_col, f"{shown(seat_text)} names more than one constituency: use its ONS "
                                            "code", "constituency")
            else:
                problem(row.line, seat_col, f"no constituency has the code or name {shown(seat_text)}",
                        "constituency")
        if seat_id is not None and seat_id in first_line:
            problem(row.line, seat_col, f"{shown(seat_text)} is already on line {first_line[seat_id]}: each seat "
                                        "may appear once", "constituency")
            seat_id = None
        features: dict[str, float] = {}
        for i in feature_cols:
            try:
                number = read_number(row.cells[i])
            except ValueError:
                problem(row.line, i, f"{table.headings[i]} is {shown(row.cells[i].strip())}, not a number",
                        headings[i])
                continue
            if number is None:
                empty += 1
            else:
                features[headings[i]] = number
                values += 1
        winner = (row.cells[winner_col].strip()[:60] or None) if winner_col is not None else None
        if seat_id is not None:
            first_line[seat_id] = row.line
            plan[seat_id] = (features, winner)

    if problems:
        problems.sort(key=lambda p: p["line"])
        count = len(problems)
        raise ProfileImportRejected(
            f"{count} problem{'s' if count != 1 else ''} in the file, first on line {problems[0]['line']}: "
            "nothing was imported. Fix them and import the file again.",
            details={"reason": "bad_rows", "errors": count, "rows": problems[:MAX_LISTED]})

    now = utcnow()
    existing = {p.constituency_id: p for p in db.session.scalars(
        select(ConstituencyProfile).where(ConstituencyProfile.constituency_id.in_(sorted(plan))))}
    source = (filename or "upload")[-255:]
    user_id = principal.user_id if principal is not None else None
    for seat_id, (features, winner) in plan.items():
        profile = existing.get(seat_id)
        if profile is None:
            profile = ConstituencyProfile(constituency_id=seat_id)
            db.session.add(profile)
        profile.features, profile.previous_winner = features, winner
        profile.source, profile.updated_at, profile.updated_by_id = source, now, user_id
    summary = ProfileImportSummary(
        filename=filename, sha256=hashlib.sha256(data).hexdigest(), rows=len(table.rows),
        seats_added=len(plan) - len(existing), seats_updated=len(existing),
        features=[headings[i] for i in feature_cols], values_read=values, empty_cells=empty, notes=list(table.notes))
    details = {k: v for k, v in summary.as_dict().items() if k != "notes"}
    if principal is not None:
        audit.record_for(principal, "geography.import_profiles", target_type="constituency_profile", details=details)
    else:
        audit.record("geography.import_profiles", target_type="constituency_profile", details=details)
    db.session.commit()
    return summary
