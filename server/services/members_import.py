"""Loading the membership list a national or regional office exports (CSV or .xlsx), for one CLP or one region.

Members are matched by membership number, so a re-import updates each one in place; a member who leaves is
marked lapsed or resigned, never deleted; a member the file does not mention is left alone; and a member who
was erased (UK GDPR art. 17) gets nothing back from any file. The whole file is checked before anything is
written: one error and nothing is. A dry run is that check and its counts, writing nothing. Reading the
file and its rows is pure (imports.read, members_parse); this module holds what needs the database.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from server.auth.policy import Principal, scope_clause
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import Constituency, Member, MemberStatus, Region
from server.orm import utcnow
from server.services import audit
from server.services.imports.errors import ImportRefused
from server.services.imports.read import read_table
from server.services.members_parse import LEFT, ClpRef, MemberRow, clp_key, parse_members

MAX_LISTED = 100  # errors (and warnings) listed in a refusal or a summary; the totals are always given
CURRENT = (MemberStatus.NEW, MemberStatus.ACTIVE)
CONSENTS = ("consent_email", "consent_phone", "consent_post")
_CHUNK = 900  # under SQLite's bound-parameter limit
_UK = ZoneInfo("Europe/London")


class MemberImportRejected(ValidationFailed):
    """The file has bad rows. ``details["rows"]`` lists the first MAX_LISTED problems as {line, column, cell,
    field, message}; ``details["errors"]`` counts them all and ``details["rejected"]`` the rows they are on."""


@dataclass(frozen=True)
class Scope:
    """What an import may touch: one CLP, or every CLP of one region."""

    kind: str  # "constituency" or "region"
    id: int
    code: str
    name: str
    region_id: int
    constituency_ids: frozenset[int]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})" if self.kind == "constituency" else f"the {self.name} region"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "code": self.code, "name": self.name}


@dataclass
class MemberImportSummary:
    """What an import did (or, for a dry run, would do). Counts only: never a name."""

    filename: str | None
    sha256: str
    scope: dict
    dry_run: bool
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0  # of the updated: now in another CLP than before
    skipped_erased: int = 0
    not_in_file: int = 0  # the scope's members (not erased) the file does not mention: left as they were
    not_in_file_current: int = 0  # of those, still new or active
    by_status: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in MemberStatus})
    left: dict[str, int] = field(default_factory=lambda: {"lapsed": 0, "resigned": 0})  # left this time
    by_constituency: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    warnings_total: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("rows", "added", "updated", "unchanged", "moved", "skipped_erased",
                                              "not_in_file", "not_in_file_current")}


def uk_today() -> date:
    return datetime.now(_UK).date()


# -- scope ----------------------------------------------------------------------------------------------


def _clp_scope(clp: Constituency) -> Scope:
    return Scope("constituency", clp.id, clp.code, clp.name, clp.region_id, frozenset({clp.id}))


def _region_scope(region: Region) -> Scope:
    ids = frozenset(db.session.scalars(select(Constituency.id).where(Constituency.region_id == region.id)))
    return Scope("region", region.id, region.code, region.name, region.id, ids)


def scope_for(principal: Principal, *, constituency_id: int | None = None, region_id: int | None = None) -> Scope:
    """The CLP or region an importer chose, if it is in their own scope (anything else is a 404)."""
    if (constituency_id is None) == (region_id is None):
        message = "Give either constituency_id or region_id: the CLP or the region the file is for."
        raise ValidationFailed(message, {"constituency_id": [message], "region_id": [message]})
    if constituency_id is not None:
        clp = db.session.scalar(select(Constituency).where(Constituency.id == constituency_id,
                                                           scope_clause(principal, Constituency)))
        if clp is None:
            raise NotFound("No such CLP in your scope.", {"constituency_id": [constituency_id]})
        return _clp_scope(clp)
    region = db.session.scalar(select(Region).where(Region.id == region_id, scope_clause(principal, Region)))
    if region is None:
        raise NotFound("No such region in your scope.", {"region_id": [region_id]})
    return _region_scope(region)


def find_scope(*, clp: str | None = None, region: str | None = None) -> Scope:
    """The command line's scope: a CLP or a region by id, code or name."""
    model, given = (Constituency, clp) if clp is not None else (Region, region)
    what = "CLP" if model is Constituency else "region"
    text = (given or "").strip()
    rows = db.session.scalars(select(model)).all()
    found = [r for r in rows if text.isdigit() and r.id == int(text)] or \
        [r for r in rows if r.code.casefold() == text.casefold()] or \
        [r for r in rows if clp_key(r.name) == clp_key(text)]
    if not found:
        raise NotFound(f"No {what} has the id, code or name {text!r}.")
    if len(found) > 1:
        codes = ", ".join(r.code for r in found)
        raise ValidationFailed(f"More than one {what} is called {text!r} ({codes}): give its code.")
    return _clp_scope(found[0]) if model is Constituency else _region_scope(found[0])


# -- the import -----------------------------------------------------------------------------------------


def _refused(exc: ImportRefused) -> ImportRefused:
    exc.details = {**(exc.details or {}), "file": [exc.message]}
    return exc


def _plan_each_query() -> None:
    """On PostgreSQL, plan each lookup for its own values for the rest of this transaction: psycopg prepares a
    statement run five times, and a generic plan made while the member table was small scans all of it for
    every chunk of numbers (as register_import explains)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _existing(numbers: list[str]) -> dict[str, Member]:
    found: dict[str, Member] = {}
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start:start + _CHUNK]
        for member in db.session.scalars(select(Member).where(Member.membership_number.in_(chunk))):
            found[member.membership_number] = member
    return found


def _changes(member: Member, row: MemberRow, today: date) -> dict:
    """The fields of a stored member this row would change, with their new values."""
    wanted = {"first_name": row.first_name, "last_name": row.last_name, "constituency_id": row.constituency_id}
    if row.joined_on is not None:
        wanted["joined_on"] = row.joined_on
    for name in ("email", "phone", "postcode", "address_lines", *CONSENTS):
        if name in row.given:
            wanted[name] = getattr(row, name)
    status = row.status
    if status is not None:
        if status == MemberStatus.NEW and member.status == MemberStatus.ACTIVE:
            status = MemberStatus.ACTIVE  # welcomed by the CLP since; the national "new" flag lags behind
        wanted["status"] = status
        if status in LEFT:
            if row.left_on is not None:
                wanted["left_on"] = row.left_on
            elif member.status not in LEFT or member.left_on is None:
                wanted["left_on"] = today
        else:
            wanted["left_on"] = None
    return {k: v for k, v in wanted.items() if getattr(member, k) != v}


def _new_member(row: MemberRow, today: date, now: datetime) -> dict:
    status = row.status or MemberStatus.ACTIVE
    return dict(
        membership_number=row.membership_number, constituency_id=row.constituency_id, joined_on=row.joined_on,
        status=status, first_name=row.first_name, last_name=row.last_name, email=row.email, phone=row.phone,
        address_lines=list(row.address_lines), postcode=row.postcode,
        left_on=(row.left_on or today) if status in LEFT else None,
        consent_email=row.consent_email, consent_phone=row.consent_phone, consent_post=row.consent_post,
        consent_updated_at=now, created_at=now, updated_at=now)


def _problem(row: MemberRow, field_name: str, message: str) -> dict:
    return {"line": row.line, "column": None, "cell": None, "field": field_name, "message": message}


def import_members(data: bytes, filename: str | None, scope: Scope, *, principal: Principal | None = None,
                   dry_run: bool = False, today: date | None = None) -> MemberImportSummary:
    """Check a membership export for ``scope`` and, unless a dry run or it has errors, load it: all or nothing.

    ``principal`` is the importer (None from the command line, which may touch any CLP): a member stored in
    a CLP outside their scope cannot be moved by their file.
    """
    today = today or uk_today()
    summary = MemberImportSummary(filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                                  scope=scope.as_dict(), dry_run=dry_run)
    try:
        try:
            table = read_table(data, filename or "", max_bytes=current_app.config["IMPORT_MAX_BYTES"])
        except ImportRefused as exc:
            raise _refused(exc) from None
        _plan_each_query()
        # Two imports into one scope queue up here (PostgreSQL; SQLite writers are serial anyway).
        db.session.execute(select(Constituency.id).where(Constituency.id.in_(sorted(scope.constituency_ids)))
                           .with_for_update())
        clps = {c.id: c for c in db.session.execute(select(Constituency.id, Constituency.code, Constituency.name))}
        parsed = parse_members(
            table, [ClpRef(c.id, c.code, c.name, c.id in scope.constituency_ids) for c in clps.values()],
            default_clp=scope.id if scope.kind == "constituency" else None, scope_name=scope.label, today=today)
        columns = parsed.columns
        if missing := columns.missing():
            raise _refused(ImportRefused("missing_columns", "The file has no " + " and no ".join(missing) +
                                         " column: every membership export needs them. Check the headings.",
                                         {"missing": missing, "headings": table.headings}))
        if "constituency" not in columns and scope.kind == "region":
            raise _refused(ImportRefused("no_clp_column", f"The file has no CLP column, so its members cannot be "
                                                          f"placed in the CLPs of {scope.label}. Add a CLP column "
                                                          "(a name or an ONS code), or import it for one CLP."))
        summary.rows = parsed.rows_read
        summary.ignored_columns = list(columns.ignored)
        summary.notes = list(table.notes) + list(columns.notes) + list(parsed.notes)
        summary.warnings, summary.warnings_total = parsed.warnings[:MAX_LISTED], len(parsed.warnings)
        plan = _plan(parsed, scope, principal, summary, today)
        errors = sorted(parsed.errors + plan.errors, key=lambda e: (e["line"], e["cell"] or ""))
        if errors:
            rejected = len({e["line"] for e in errors})
            listed = f", the first {MAX_LISTED} listed" if len(errors) > MAX_LISTED else ""
            raise MemberImportRejected(
                f"The membership list was not imported: {rejected} of {summary.rows} rows have problems "
                f"({len(errors)} in all{listed}). Nothing was written.",
                details={"rows": errors[:MAX_LISTED], "errors": len(errors), "rejected": rejected,
                         "rows_read": summary.rows, "ignored_columns": summary.ignored_columns})
        summary.by_constituency = [
            {"id": cid, "code": clps[cid].code, "name": clps[cid].name, **counts}
            for cid, counts in sorted(plan.per_clp.items(), key=lambda item: clps[item[0]].name)]
        if dry_run:
            db.session.rollback()
            return summary
        _write(plan, scope, principal, summary)
    except IntegrityError:
        db.session.rollback()
        raise Conflict("Another import changed these members at the same time, so nothing was written: import "
                       "the file again.") from None
    except Exception:
        db.session.rollback()
        raise
    return summary


@dataclass
class _Plan:
    new: list[MemberRow] = field(default_factory=list)
    updates: list[tuple[Member, dict]] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    per_clp: dict[int, dict[str, int]] = field(default_factory=dict)
    today: date | None = None


def _plan(parsed, scope: Scope, principal: Principal | None, summary: MemberImportSummary, today: date) -> _Plan:
    """Compare each row with the member stored under its number, counting what would change."""
    plan = _Plan(today=today)
    numbers = [row.membership_number for row in parsed.rows]
    stored = _existing(sorted(set(numbers)))
    for row in parsed.rows:
        member = stored.get(row.membership_number)
        if member is not None and member.erased_at is not None:
            summary.skipped_erased += 1  # erased on request: nothing from any file may bring them back
            continue
        if member is not None and principal is not None and not principal.covers_constituency(member.constituency_id):
            plan.errors.append(_problem(row, "membership_number", (
                f"membership number {row.membership_number} belongs to a member of a CLP outside your scope: the "
                "national office must move them")))
            continue
        counts = plan.per_clp.setdefault(row.constituency_id, {"added": 0, "updated": 0, "unchanged": 0})
        if member is None:
            if row.joined_on is None:
                plan.errors.append(_problem(row, "joined_on", (
                    f"the join date is missing: membership number {row.membership_number} is new to Groundwork, "
                    "so it needs one")))
                continue
            plan.new.append(row)
            summary.added += 1
            counts["added"] += 1
            status = row.status or MemberStatus.ACTIVE
        else:
            changes = _changes(member, row, today)
            status = changes.get("status", member.status)
            if changes:
                plan.updates.append((member, changes))
                summary.updated += 1
                counts["updated"] += 1
                summary.moved += "constituency_id" in changes
                if member.status in CURRENT and status in LEFT:
                    summary.left[status.value] += 1
            else:
                summary.unchanged += 1
                counts["unchanged"] += 1
        summary.by_status[status.value] += 1
    in_file = set(numbers)
    for start in range(0, len(ids := sorted(scope.constituency_ids)), _CHUNK):
        for number, status in db.session.execute(select(Member.membership_number, Member.status).where(
                Member.constituency_id.in_(ids[start:start + _CHUNK]), Member.erased_at.is_(None))):
            if number not in in_file:
                summary.not_in_file += 1
                summary.not_in_file_current += status in CURRENT
    return plan


def _write(plan: _Plan, scope: Scope, principal: Principal | None, summary: MemberImportSummary) -> None:
    now = utcnow()
    for member, changes in plan.updates:
        for name, value in changes.items():
            setattr(member, name, value)
        member.updated_at = now
        if any(name in changes for name in CONSENTS):
            member.consent_updated_at = now
    db.session.flush()
    new = [_new_member(row, plan.today, now) for row in plan.new]
    for start in range(0, len(new), 5000):  # one multi-row INSERT per batch, without an object per member
        db.session.execute(insert(Member), new[start:start + 5000])
    details = {"filename": summary.filename, "sha256": summary.sha256, "scope": summary.scope,
               "counts": summary.counts, "by_status": summary.by_status, "left": summary.left,
               "ignored_columns": summary.ignored_columns}
    where = {"target_type": scope.kind, "target_id": scope.id, "region_id": scope.region_id,
             "constituency_id": scope.id if scope.kind == "constituency" else None, "details": details}
    if principal is not None:
        audit.record_for(principal, "members.import", **where)
    else:
        audit.record("members.import", **where)
    db.session.commit()
