"""Erasure (UK GDPR art. 17): an elector or a member asked to be forgotten, so what identifies them or was said
about them is removed everywhere the server holds it, and an erasure suppression keeps it from coming back.

The rows stay, scrubbed, so every count still adds up: the elector (a number at an address) or the member (a
membership number), their contact records (when, which channel, the outcome and intention, choice answers),
their derived state. What goes: names, phone numbers, email and postal addresses, dates of birth and markers,
notes and free-text answers, phone numbers in device changes, names and notes in review items, reasons typed
into their objections and into the audit trail, and their rows in stored import files. docs/data-protection.md
says what is kept and why.

Phones drop the person at their next pull (an erasure suppression makes the sync entitlement send a tombstone),
and any record about them still in an outbox is answered ``suppressed`` and stored nowhere. A later register
edition keeps them erased (server/services/register_import.py), recognising them under a new elector number
by the suppression's fingerprint: a keyed hash of their normalised name and address, never the name itself.
"""
from __future__ import annotations

import copy
import csv
import hashlib
import hmac
import io
import json
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import ColumnElement, or_, select, update

from server.auth.policy import Permission, Principal, scope_clause
from server.errors import Conflict, Forbidden, NotFound
from server.extensions import db
from server.models import (
    Assignment,
    AssignmentItem,
    AuditEvent,
    AuditSubject,
    Campaign,
    ContactRecord,
    Elector,
    ElectorUpdate,
    ImportBatch,
    ImportFile,
    Member,
    Property,
    ReviewItem,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
)
from server.orm import utcnow
from server.services import audit, scrub
from server.services.register_address import address_key

# How the request reached the party (kept in the audit event, not on the suppression).
RECEIVED_VIA = ("letter", "email", "phone", "in_person")
# What an objection's typed reason becomes: it may quote the doorstep ("Mr X said ...").
REASON_REMOVED = "Reason removed when the person's data was erased."
# Audit details that may carry what someone typed or a personal value; the rest (ids, counts, kinds) stays.
PERSONAL_AUDIT_KEYS = ("note", "notes", "reason", "value", "previous", "values", "name", "surname", "forenames",
                       "first_name", "last_name", "phone", "email", "address", "postcode")
# Review item data that names or describes a person (a new_elector item's, a held elector_new record's).
PERSONAL_ITEM_KEYS = ("surname", "forenames", "phone", "notes")
# What a decided held record keeps (as server/services/review.py keeps it): what it was about, not what was said.
KEPT_WHEN_DECIDED = ("elector_id", "member_id", "property_id", "campaign_id", "channel")


@dataclass
class ErasureResult:
    subject_type: str  # "elector" or "member"
    subject_id: int
    erased_at: datetime
    suppression_id: int
    removed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Names:
    """Who the erased person was, held in memory only while their data is found and removed."""

    surname: str
    forenames: str
    property_id: int | None
    fingerprint: str


# ------------------------------------------------------------------------------------------- fingerprints

def _words(text: str | None) -> list[str]:
    """Letters only, case and accents folded: "Ó'Brien-Smith" and "o'brien smith" differ only in spacing."""
    folded = unicodedata.normalize("NFKD", text or "").casefold()
    return [w for w in ("".join(c for c in word if c.isalpha()) for word in folded.split()) if w]


def same_name(surname_a: str | None, forenames_a: str | None, surname_b: str | None, forenames_b: str | None) -> bool:
    """The same surname and first forename (as provisional electors are linked to their register entry)."""
    first_a, first_b = _words(forenames_a)[:1], _words(forenames_b)[:1]
    return bool(_words(surname_a)) and _words(surname_a) == _words(surname_b) and first_a == first_b


def fingerprint(kind: str, surname: str | None, forenames: str | None, address_lines: Iterable[str] | None,
                postcode: str | None) -> str:
    """A keyed hash (HMAC-SHA-256 with SECRET_KEY) of a person's normalised name and address.

    ``kind`` ("elector" or "member") keeps the two apart: a member's erasure does not erase a register entry.
    Rotating SECRET_KEY stops old fingerprints matching (docs/data-protection.md).
    """
    lines = [str(line) for line in (address_lines or []) if line is not None]
    message = "\x1f".join([kind, " ".join(_words(surname)), " ".join(_words(forenames)),
                           address_key(lines, postcode or "")])
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def elector_fingerprint(elector: Elector) -> str:
    prop = elector.property
    return fingerprint("elector", elector.surname, elector.forenames, prop.address_lines if prop else [],
                       prop.postcode if prop else "")


def member_fingerprint(member: Member) -> str:
    return fingerprint("member", member.last_name, member.first_name, member.address_lines, member.postcode)


def erased_fingerprints(kind: str = "elector") -> dict[str, Suppression]:
    """Every erasure's fingerprint of this kind, with the suppression that holds it (erasures are few)."""
    subject = Suppression.elector_id if kind == "elector" else Suppression.member_id
    found: dict[str, Suppression] = {}
    for s in db.session.scalars(select(Suppression).where(
            Suppression.kind == SuppressionKind.ERASURE, Suppression.fingerprint.is_not(None),
            subject.is_not(None)).order_by(Suppression.id)):
        found.setdefault(s.fingerprint, s)
    return found


# ------------------------------------------------------------------------------------------- electors

def _lock(model, row_id: int) -> None:
    # As a push locks the electors it writes about: a push in flight either lands first (and is scrubbed
    # here) or waits and is answered "suppressed".
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(model.id).where(model.id == row_id).with_for_update(key_share=True))


def erase_elector(principal: Principal, elector_id: int, *, reason: str, received_via: str) -> ErasureResult:
    """Erase an elector in the principal's scope; 404 outside it, 409 if already erased. Commits."""
    elector = db.session.scalar(select(Elector).where(Elector.id == elector_id, scope_clause(principal, Elector)))
    if elector is None:
        raise NotFound("No such elector in your scope.")
    _lock(Elector, elector.id)
    db.session.refresh(elector)
    if elector.erased_at is not None:
        raise Conflict("This elector's data has already been erased.",
                       {"erased_at": [elector.erased_at.isoformat()]})
    now = utcnow()
    removed: dict[str, int] = {}
    print_ = elector_fingerprint(elector)
    names = _Names(elector.surname or "", elector.forenames or "", elector.property_id, print_)
    # The import files are read while the names are still there to find their rows by.
    removed["import_files"] = _redact_import_files(elector)
    removed["import_summaries"] = _scrub_import_summaries(elector.constituency_id, elector.id)

    elector.surname, elector.forenames, elector.phone = "", "", None
    elector.markers, elector.attainer_date = "", None
    elector.erased_at, elector.version = now, elector.version + 1
    removed["contact_records"] = scrub.remove_contact_content(ContactRecord.elector_id == elector.id)
    removed["elector_updates"] = _scrub_updates(elector.id)
    items = _scrub_review_items(principal, elector, now, names=names)
    removed["review_items"] = len(items)
    removed["objection_reasons"] = _scrub_suppression_reasons(Suppression.elector_id == elector.id)
    removed["lists"] = _bump_lists(AssignmentItem.elector_id == elector.id)
    removed["audit_events"] = _scrub_audit("elector", elector.id, review_item_ids=items)

    return _suppress_for_good(principal, "elector", elector, reason=reason, received_via=received_via,
                              fingerprint=print_, removed=removed, now=now)


def _suppress_for_good(principal: Principal, kind: str, subject, *, reason: str, received_via: str,
                       fingerprint: str | None, removed: dict, now: datetime) -> ErasureResult:
    """The erasure suppression that keeps the person off every device and list for good, and its audit."""
    suppression = Suppression(
        constituency_id=subject.constituency_id, kind=SuppressionKind.ERASURE, channel=SuppressionChannel.ALL,
        reason=reason.strip(), source=f"{kind}_request", created_by_id=principal.user_id, created_at=now,
        fingerprint=fingerprint, **{f"{kind}_id": subject.id})
    db.session.add(suppression)
    db.session.flush()
    audit.record_for(principal, "rights.erasure", target_type=kind, target_id=subject.id,
                     constituency_id=subject.constituency_id, subjects=[(kind, subject.id)],
                     details={"reason": reason.strip(), "received_via": received_via,
                              "suppression_id": suppression.id, "removed": removed})
    db.session.commit()
    return ErasureResult(kind, subject.id, now, suppression.id, removed)


def _scrub_updates(elector_id: int) -> int:
    """Phone numbers a device sent; flags (moved, deceased, do not contact) stay, as the state folds them."""
    return db.session.execute(update(ElectorUpdate).where(
        ElectorUpdate.elector_id == elector_id, ElectorUpdate.field == "phone")
        .values(value=None).execution_options(synchronize_session=False)).rowcount or 0


def _scrub_suppression_reasons(where: ColumnElement[bool]) -> int:
    count = 0
    for s in db.session.scalars(select(Suppression).where(where)):
        if s.reason != REASON_REMOVED:
            s.reason = REASON_REMOVED
            count += 1
    return count


def _bump_lists(where: ColumnElement[bool]) -> int:
    """Lists naming the person: their items stay (so a phone's late record about them is recognised and
    answered "suppressed", not "forbidden" and kept), but phones see a new version without them."""
    ids = sorted(set(db.session.scalars(select(AssignmentItem.assignment_id).where(where))))
    if ids:
        db.session.execute(update(AssignmentItem).where(where, AssignmentItem.reason.is_not(None))
                           .values(reason=None).execution_options(synchronize_session=False))
        db.session.execute(update(Assignment).where(Assignment.id.in_(ids)).values(version=Assignment.version + 1)
                           .execution_options(synchronize_session=False))
    return len(ids)


# ------------------------------------------------------------------------------------------- review items

def _scrub_resolution(resolution: dict | None) -> dict | None:
    if not resolution:
        return resolution
    kept = copy.deepcopy(resolution)
    for key in ("note", "value", "previous"):
        if key in kept:
            kept[key] = None
    return kept


def _scrub_item(principal: Principal, item: ReviewItem, now: datetime) -> None:
    data = copy.deepcopy(item.data or {})
    for key in PERSONAL_ITEM_KEYS:
        if key in data:
            data[key] = None
    if item.kind == "field_conflict" and isinstance(data.get("values"), list):
        data["values"] = [None] * len(data["values"])
    if isinstance(data.get("undone"), list):
        data["undone"] = [{**u, "note": None, "resolution": _scrub_resolution(u.get("resolution"))}
                          if isinstance(u, dict) else u for u in data["undone"]]
    item.data = data
    item.resolution = _scrub_resolution(item.resolution)
    if item.status == "open":  # nothing left to decide about someone erased
        item.status, item.resolved_at, item.resolved_by_id = "resolved", now, principal.user_id
        item.resolution = {"choice": "erased", "note": None}


def _scrub_review_items(principal: Principal, elector: Elector, now: datetime, *, names: _Names) -> list[int]:
    """Items about them: linked to them, or (new_elector) someone of their name found at their address, and
    their records in held deliveries; returns their ids. Open ones are closed: there is nothing left to decide."""
    cid = elector.constituency_id
    items = {i.id: i for i in db.session.scalars(select(ReviewItem).where(ReviewItem.elector_id == elector.id)
                                                 .order_by(ReviewItem.id).with_for_update())}
    if names.property_id is not None:
        for item in db.session.scalars(select(ReviewItem).where(
                ReviewItem.constituency_id == cid, ReviewItem.kind == "new_elector",
                ReviewItem.elector_id.is_(None),
                ReviewItem.data["property_id"].as_integer() == names.property_id)
                .order_by(ReviewItem.id).with_for_update()):
            if same_name(item.data.get("surname"), item.data.get("forenames"), names.surname, names.forenames):
                items[item.id] = item
    for item in items.values():
        _scrub_item(principal, item, now)

    def about(raw: dict) -> bool:
        d = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        if d.get("elector_id") == elector.id:
            return True
        return (raw.get("type") == "elector_new" and d.get("property_id") == names.property_id
                and same_name(d.get("surname"), d.get("forenames"), names.surname, names.forenames))

    return sorted(set(items) | set(_settle_held(principal, cid, about, now)))


def _settle_held(principal: Principal, constituency_id: int, about: Callable[[dict], bool],
                 now: datetime) -> list[int]:
    """Records about the person in deliveries held for review are decided "suppressed" (what accepting them
    would give), their receipts say so, and only what they were about is kept (review._decided_form)."""
    from server.services.sync_store import SqlStore
    from sync.protocol import content_hash
    from sync.store import Receipt

    touched, receipts = [], []
    for item in db.session.scalars(select(ReviewItem).where(ReviewItem.constituency_id == constituency_id,
                                                            ReviewItem.kind == "held_delivery")
                                   .order_by(ReviewItem.id).with_for_update()):
        data = copy.deepcopy(item.data or {})
        raws = data.get("mutations") or []
        if not any(isinstance(raw, dict) and about(raw) for raw in raws):
            continue
        decisions = dict(data.get("decisions") or {})
        kept = []
        for raw in raws:
            if isinstance(raw, dict) and about(raw):
                if raw.get("id") not in decisions:
                    decisions[raw["id"]] = "suppressed"
                    receipts.append(Receipt(uuid.UUID(raw["id"]), uuid.UUID(data["device_id"]), raw["seq"],
                                            "suppressed", content_hash(raw)))
                raw = {"id": raw.get("id"), "seq": raw.get("seq"), "type": raw.get("type"),
                       "occurred_at": raw.get("occurred_at"),
                       "data": {k: v for k, v in (raw.get("data") or {}).items() if k in KEPT_WHEN_DECIDED}}
            kept.append(raw)
        data["mutations"], data["decisions"] = kept, decisions
        item.data = data
        if item.status == "open" and len(decisions) >= len(kept):
            item.status, item.resolved_at, item.resolved_by_id = "resolved", now, principal.user_id
            item.resolution = {"choice": "decided", "note": None, "decisions": decisions}
        touched.append(item.id)
    if receipts:
        SqlStore(db.session).settle(receipts)
    return touched


# ------------------------------------------------------------------------------------------- audit

def _scrub_audit(subject_type: str, subject_id: int, *, review_item_ids: Iterable[int] = ()) -> int:
    """Events about the person keep who did what and when, not what was typed or a personal value."""
    suppressions = db.session.scalars(select(Suppression.id).where(
        (Suppression.elector_id if subject_type == "elector" else Suppression.member_id) == subject_id))
    targets = [_targeting("suppression", suppressions), _targeting("review_item", review_item_ids)]
    by_subject = select(AuditSubject.event_id).where(AuditSubject.subject_type == subject_type,
                                                     AuditSubject.subject_id == subject_id)
    events = db.session.scalars(select(AuditEvent).where(or_(
        AuditEvent.id.in_(by_subject),
        (AuditEvent.target_type == subject_type) & (AuditEvent.target_id == str(subject_id)),
        *targets)))
    count = 0
    for event in events:
        details = event.details or {}
        if any(details.get(k) is not None for k in PERSONAL_AUDIT_KEYS):
            event.details = {k: (None if k in PERSONAL_AUDIT_KEYS else v) for k, v in details.items()}
            count += 1
    return count


def _targeting(target_type: str, ids: Iterable[int]) -> ColumnElement[bool]:
    """Events whose target is one of ``ids`` (audit targets are stored as text)."""
    return (AuditEvent.target_type == target_type) & AuditEvent.target_id.in_(sorted({str(i) for i in ids}))


# ------------------------------------------------------------------------------------------- import files

def _scrub_import_summaries(constituency_id: int, elector_id: int) -> int:
    """An import's preview lists candidates for rows it could not place, by name: theirs goes."""
    count = 0
    for batch in db.session.scalars(select(ImportBatch).where(ImportBatch.constituency_id == constituency_id)):
        summary = copy.deepcopy(batch.summary or {})
        changed = False
        for name in ("choose", "unmatched"):
            for entry in summary.get(name) or []:
                for candidate in (entry.get("candidates") or []) if isinstance(entry, dict) else []:
                    if isinstance(candidate, dict) and candidate.get("elector_id") == elector_id:
                        candidate["name"] = ""
                        changed = True
        if changed:
            batch.summary = summary
            count += 1
    return count


def _redact_import_files(elector: Elector) -> int:
    """Blank the person's rows in the CLP's stored import files; returns how many files changed.

    Rows are found as the import itself finds them (elector number, or name and address scored by the import's
    matcher), plus the rows the admin placed on them, plus any row naming their surname and first forename. A
    CSV is rewritten with those records empty and an .xlsx with those cells blank, so row numbers (and the
    admin's per-row choices) still point at the same rows; an export of unsent records loses its records about
    them. A file that cannot be rewritten is dropped: nothing could import it again anyway.
    """
    changed = 0
    batches = db.session.scalars(select(ImportBatch).where(ImportBatch.constituency_id == elector.constituency_id)
                                 .order_by(ImportBatch.id))
    for batch in batches:
        file = db.session.get(ImportFile, batch.id)
        if file is None or not file.data:
            continue
        if batch.kind == "export":
            data = _redact_export(file.data, lambda d: d.get("elector_id") == elector.id)
        else:
            data = _redact_sheet(batch, file.data, elector)
        if data is not None and data != file.data:
            file.data, file.size = data, len(data)
            changed += 1
    return changed


def _redact_export(data: bytes, about: Callable[[dict], bool]) -> bytes | None:
    """An export of unsent records without the records ``about`` picks (by the mutation's data)."""
    try:
        document = json.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except ValueError:
        return b""
    records = document.get("records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        return None

    def picked(record) -> bool:
        mutation = record.get("mutation") if isinstance(record, dict) else None
        d = mutation.get("data") if isinstance(mutation, dict) else None
        return isinstance(d, dict) and about(d)

    kept = [r for r in records if not picked(r)]
    if len(kept) == len(records):
        return None
    document["records"] = kept
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _candidate(elector: Elector):
    from server.services.imports.identity import CandidateElector

    prop = elector.property
    return CandidateElector(
        id=elector.id, prefix=elector.prefix, number=elector.number, suffix=elector.suffix,
        surname=elector.surname or "", forenames=elector.forenames or "",
        house_number=str(prop.house_number) if prop and prop.house_number is not None else None,
        flat=prop.flat if prop else None, street=prop.street if prop else None,
        postcode=prop.postcode if prop else None, removed=elector.removed_at is not None)


def _sheet_lines(batch: ImportBatch, data: bytes, elector: Elector):
    """The sheet as read, and the lines of its rows about the elector."""
    from server.services.imports.errors import ImportRefused
    from server.services.imports.matching import ElectorIndex, match_rows
    from server.services.imports.pipeline import batch_header, read_sheet
    from server.services.imports.records import parse_sheet

    campaign = db.session.get(Campaign, batch.campaign_id) if batch.campaign_id else None
    table, codes_data, columns, code_maps = read_sheet(batch, data, campaign)
    lines: set[int] = set()
    for line, choice in ((batch.settings or {}).get("choices") or {}).items():
        if isinstance(choice, dict) and choice.get("elector_id") == elector.id and str(line).isdigit():
            lines.add(int(line))
    for entries in (batch.summary or {}).values():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("elector_id") == elector.id and isinstance(entry.get("line"), int):
                lines.add(entry["line"])
    try:
        sheet = parse_sheet(table, columns, codes_data, codes=code_maps, batch=batch_header(batch.settings or {}))
        found = match_rows([r.identity for r in sheet.records], ElectorIndex([_candidate(elector)]))
        lines |= {m.line for m in found if m.elector_id == elector.id}
    except ImportRefused:
        pass  # the names below still find their rows
    surname, first = _words(elector.surname), _words(elector.forenames)[:1]
    if surname and first:
        for row in table.rows:
            words = {w for cell in row.cells for w in _words(cell.replace(",", " "))}
            if set(surname) <= words and first[0] in words:
                lines.add(row.line)
    return table, lines


def _redact_sheet(batch: ImportBatch, data: bytes, elector: Elector) -> bytes | None:
    from server.services.imports.errors import ImportRefused

    try:
        table, lines = _sheet_lines(batch, data, elector)
    except ImportRefused:
        return None  # refused at upload too: such a file is never stored
    if not lines:
        return None
    try:
        if table.format == "xlsx":
            return _blank_xlsx_rows(data, table.sheet, lines)
        return _blank_csv_records(data, table.delimiter or ",", lines)
    except Exception:  # noqa: BLE001 - a file we cannot rewrite is dropped rather than kept whole
        return b""


def _blank_csv_records(data: bytes, delimiter: str, lines: set[int]) -> bytes:
    """The CSV with records ``lines`` (numbered as the import numbers them) empty, saved as UTF-8."""
    from server.services.register_read import decode_register

    text, _ = decode_register(data)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for number, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
        writer.writerow([] if number in lines else record)
    return out.getvalue().encode("utf-8")


def _blank_xlsx_rows(data: bytes, sheet_title: str | None, lines: set[int]) -> bytes:
    import openpyxl
    from openpyxl.cell.cell import MergedCell

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook[sheet_title] if sheet_title in workbook.sheetnames else workbook.worksheets[0]
    for line in lines:
        for cell in sheet[line]:
            if not isinstance(cell, MergedCell):
                cell.value = None
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------- members

def member_in_scope(principal: Principal, member_id: int) -> Member:
    """A member the principal may act for: their details are for membership secretaries and national admins,
    so acting on a member's rights needs the members permission as well (403 without it, 404 outside scope)."""
    if not principal.can(Permission.MEMBERS_READ):
        raise Forbidden(f"Your role ({principal.role.value}) cannot read members' details.",
                        {"required_permission": Permission.MEMBERS_READ.value})
    member = db.session.scalar(select(Member).where(Member.id == member_id, scope_clause(principal, Member)))
    if member is None:
        raise NotFound("No such member in your scope.")
    return member


def erase_member(principal: Principal, member_id: int, *, reason: str, received_via: str) -> ErasureResult:
    """Erase a member; their membership number, dates and status stay so the counts (and a later membership
    import) still know them. Commits."""
    member = member_in_scope(principal, member_id)
    _lock(Member, member.id)
    db.session.refresh(member)
    if member.erased_at is not None:
        raise Conflict("This member's data has already been erased.", {"erased_at": [member.erased_at.isoformat()]})
    now = utcnow()
    removed: dict[str, int] = {}
    print_ = member_fingerprint(member)
    removed["import_files"] = _redact_member_exports(member)
    member.first_name, member.last_name, member.email, member.phone = "", "", None, None
    member.address_lines, member.postcode, member.elector_id = [], None, None
    member.erased_at, member.updated_at = now, now
    removed["contact_records"] = scrub.remove_contact_content(ContactRecord.member_id == member.id)
    removed["objection_reasons"] = _scrub_suppression_reasons(Suppression.member_id == member.id)
    removed["lists"] = _bump_lists(AssignmentItem.member_id == member.id)
    removed["review_items"] = len(_settle_held(
        principal, member.constituency_id,
        lambda raw: isinstance(raw.get("data"), dict) and raw["data"].get("member_id") == member.id, now))
    removed["audit_events"] = _scrub_audit("member", member.id)
    return _suppress_for_good(principal, "member", member, reason=reason, received_via=received_via,
                              fingerprint=print_, removed=removed, now=now)


def _redact_member_exports(member: Member) -> int:
    """Welcome-call records about the member in stored exports of unsent records."""
    changed = 0
    for batch in db.session.scalars(select(ImportBatch).where(ImportBatch.constituency_id == member.constituency_id,
                                                              ImportBatch.kind == "export")):
        file = db.session.get(ImportFile, batch.id)
        if file is None or not file.data:
            continue
        data = _redact_export(file.data, lambda d: d.get("member_id") == member.id)
        if data is not None:
            file.data, file.size = data, len(data)
            changed += 1
    return changed


# ------------------------------------------------------------------------------------------- later pushes

def without_erased(session, items: list) -> list:
    """A push's review requests, less what they would store about someone erased (the sync store calls this).

    A new_elector naming an erased person at the address of their erasure (by fingerprint) is dropped, and a
    held delivery's records about an erased elector or member keep only what they were about, decided
    "suppressed" as accepting them would decide; a delivery left with nothing to decide is not queued.
    """
    held = [i for i in items if i.kind == "held_delivery"]
    found = [i for i in items if i.kind == "new_elector"]
    if not held and not found:
        return items
    dropped: set[int] = set()
    if found:
        prints = erased_fingerprints("elector")
        homes = {p.id: p for p in session.scalars(select(Property).where(Property.id.in_(
            {i.data.get("property_id") for i in found if isinstance(i.data.get("property_id"), int)})))} if prints else {}
        for i in found:
            home = homes.get(i.data.get("property_id"))
            if home is not None and fingerprint("elector", i.data.get("surname"), i.data.get("forenames"),
                                                home.address_lines, home.postcode) in prints:
                dropped.add(id(i))
    if held:
        dropped |= _decide_held_about_erased(session, held)
    return [i for i in items if id(i) not in dropped]


def _decide_held_about_erased(session, held: list) -> set[int]:
    from server.services.sync_store import SqlStore
    from sync.protocol import content_hash
    from sync.store import Receipt

    def people(key: str) -> set[int]:
        return {raw["data"][key] for i in held for raw in i.data.get("mutations") or []
                if isinstance(raw.get("data"), dict) and isinstance(raw["data"].get(key), int)}

    electors, members = people("elector_id"), people("member_id")
    erased = set()
    for column, ids, kind in ((Suppression.elector_id, electors, "elector"), (Suppression.member_id, members, "member")):
        if ids:
            erased |= {(kind, i) for i in session.scalars(select(column).where(
                column.in_(sorted(ids)), Suppression.kind == SuppressionKind.ERASURE, Suppression.lifted_at.is_(None)))}
    if not erased:
        return set()
    dropped, receipts = set(), []
    for item in held:
        decisions = dict(item.data.get("decisions") or {})
        kept = []
        for raw in item.data.get("mutations") or []:
            d = raw.get("data") if isinstance(raw.get("data"), dict) else {}
            if ("elector", d.get("elector_id")) in erased or ("member", d.get("member_id")) in erased:
                decisions[raw["id"]] = "suppressed"
                receipts.append(Receipt(uuid.UUID(raw["id"]), uuid.UUID(item.data["device_id"]), raw["seq"],
                                        "suppressed", content_hash(raw)))
                raw = {"id": raw.get("id"), "seq": raw.get("seq"), "type": raw.get("type"),
                       "occurred_at": raw.get("occurred_at"),
                       "data": {k: v for k, v in d.items() if k in KEPT_WHEN_DECIDED}}
            kept.append(raw)
        item.data["mutations"], item.data["decisions"] = kept, decisions
        if len(decisions) >= len(kept):
            dropped.add(id(item))
    SqlStore(session).settle(receipts)
    return dropped
