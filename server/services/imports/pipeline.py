"""Preview, commit and undo of an import batch (docs/imports.md): the database side of the import.

One code path does both preview and commit: ``run(batch_id, "preview")`` runs the real import in the
session's transaction and rolls it back; ``run(batch_id, "commit")`` commits it. Records go through the sync
engine (suppression, code checks, conflicts and review items, reconciliation), tagged with their batch by
ImportStore. A sheet's rows are pushed as the admin's import device with deterministic ids; an export's
records as their own device, so receipts make every record land exactly once. ``undo`` removes exactly the
batch's effects and refolds every affected elector. Progress goes to ``progress(stage, done, total)``.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone
from typing import Any, Callable

from flask import current_app
from sqlalchemy import delete, func, select, update

from server.auth.policy import principal_for
from server.errors import Conflict
from server.extensions import db
from server.models import (
    Campaign,
    Constituency,
    ContactRecord,
    Device,
    ElectorState,
    ElectorUpdate,
    ImportBatch,
    ImportFile,
    ImportMapping,
    ReviewItem,
    SyncReceipt,
    User,
)
from server.orm import utcnow
from server.services import audit, rollups
from server.services.imports.campaign import CampaignCodes
from server.services.imports.codes import propose_codes
from server.services.imports.columns import map_columns
from server.services.imports.errors import ImportRefused
from server.services.imports.export_file import read_export
from server.services.imports.matching import CHOOSE, MATCHED, check_constituency, match_rows
from server.services.imports.read import read_table
from server.services.imports.records import BatchHeader, observed_codes, parse_sheet
from server.services.imports.store import ImportStore, Register, held_keys, import_device, import_engine, mutation_id
from server.services.sync import device_context, limits
from server.services.sync_store_pull import campaign_for_device
from sync import PROTOCOL_VERSION, SCHEMA_VERSION
from sync.rules import suppression_applies

Progress = Callable[[str, int, int], None]
PUSH_CHUNK = 250
LANDED = ("applied", "conflict")


def _none(stage: str, done: int, total: int) -> None:
    pass


# ---------------------------------------------------------------------------------------------- reading

def campaign_codes(campaign: Campaign) -> CampaignCodes:
    return CampaignCodes.from_data(campaign_for_device(campaign))


def saved_mapping(constituency_id: int) -> ImportMapping | None:
    return db.session.get(ImportMapping, constituency_id)


def read_sheet(batch: ImportBatch, data: bytes, campaign: Campaign | None):
    """The sheet's table, column mapping, code mappings and parsed rows, with the batch's settings and the
    CLP's saved mapping applied (or ImportRefused)."""
    settings = batch.settings or {}
    table = read_table(data, batch.filename or "sheet.csv", max_bytes=current_app.config["IMPORT_MAX_BYTES"])
    codes_data = campaign_codes(campaign) if campaign is not None else CampaignCodes()
    saved = saved_mapping(batch.constituency_id)
    columns = map_columns(table.headings, questions=codes_data.questions, saved=saved.columns if saved else None,
                          corrections=settings.get("columns") or None)
    code_maps = {name: propose_codes(name, values, codes_data,
                                     saved=(saved.codes.get(name) if saved else None),
                                     corrections=(settings.get("codes") or {}).get(name), channel="door")
                 for name, values in observed_codes(table, columns).items()}
    return table, codes_data, columns, code_maps


def batch_header(settings: dict) -> BatchHeader:
    header = settings.get("header") or {}
    day = header.get("date")
    return BatchHeader(canvasser=header.get("canvasser"), date=date.fromisoformat(day) if day else None,
                       sheet=header.get("sheet"), polling_district=header.get("polling_district"))


# ---------------------------------------------------------------------------------------------- results

class Result:
    """Counts (always complete) and lists (capped) of what an import does."""

    LISTS = ("new", "duplicates", "conflicts", "rejected", "choose", "unmatched", "new_electors", "held", "warnings")

    def __init__(self, action: str, kind: str):
        self.action, self.kind = action, kind
        self.counts = {"rows": 0, "new": 0, "duplicates": 0, "conflicts": 0, "rejected": 0, "suppressed": 0,
                       "choose": 0, "unmatched": 0, "new_electors": 0, "skipped": 0, "held": 0, "warnings": 0}
        self.lists: dict[str, list] = {name: [] for name in self.LISTS}
        self.limit = current_app.config["IMPORT_LIST_LIMIT"]
        self.truncated = False
        self.notes: list[str] = []
        self.extra: dict[str, Any] = {}

    def add(self, name: str, entry: dict | None = None) -> None:
        self.counts[name] += 1
        if entry is None:
            return
        if len(self.lists[name]) < self.limit:
            self.lists[name].append(entry)
        else:
            self.truncated = True

    def as_dict(self) -> dict:
        return {"action": self.action, "kind": self.kind, "counts": dict(self.counts), **self.lists,
                "notes": self.notes, "lists_truncated": self.truncated, "finished_at": utcnow().isoformat(),
                **self.extra}


def _candidates(match, suppressed: set[int]) -> list[dict]:
    return [{"elector_id": c.elector.id, "elector_number": str(c.elector.elector_number),
             "name": f"{c.elector.forenames} {c.elector.surname}".strip(), "address": c.elector.address,
             "removed": c.elector.removed, "score": round(c.score, 2),
             # In words, so the admin sees why: "surname 0.95, house number exact, postcode exact".
             "explain": c.explain(),
             "fields": [{"field": f.field, "status": f.status, "weight": round(f.weight, 2), "describe": f.describe()}
                        for f in c.fields]}
            for c in match.candidates if c.elector.id not in suppressed]


def _occurred(day: date, at: time | None, now: datetime) -> datetime:
    moment = datetime.combine(day, at or time(12, 0), tzinfo=timezone.utc)
    return min(moment, now)


# ---------------------------------------------------------------------------------------------- sheets

def _apply_sheet(batch: ImportBatch, data: bytes, result: Result, progress: Progress, now: datetime):
    """Push the sheet's rows; return the import device they were pushed as."""
    campaign = db.session.get(Campaign, batch.campaign_id) if batch.campaign_id else None
    if campaign is None:
        raise ImportRefused("no_campaign", "Choose the campaign whose codes the sheet uses.")
    settings = batch.settings or {}
    table, codes_data, columns, code_maps = read_sheet(batch, data, campaign)
    columns.require()
    sheet = parse_sheet(table, columns, codes_data, codes=code_maps, batch=batch_header(settings),
                        latest=now.date())
    result.notes.extend(sheet.notes)
    unknown = {name: [{"token": u.token, "count": u.count, "lines": list(u.lines)} for u in mapping.unknown]
               for name, mapping in code_maps.items() if mapping.unknown}
    if unknown:
        result.extra["unknown_codes"] = unknown
    constituency = db.session.get(Constituency, batch.constituency_id)
    progress("reading register", 0, len(sheet.records))
    register = Register(batch.constituency_id)
    check_constituency([r.identity for r in sheet.records], register.index, name=constituency.name)
    result.counts["rows"] = len(sheet.records)
    rows = [r for r in sheet.records if r.importable]
    for record in sheet.records:
        warned = [p.as_dict() for p in record.problems if p.severity != "error"]
        if warned and record.importable:  # imported, but the admin should look (an ambiguous date, a formula)
            result.add("warnings", {"line": record.line, "problems": warned})
        if record.skipped is not None:
            result.add("skipped")
        elif not record.importable:
            result.add("rejected", {"line": record.line, "reasons": [p.as_dict() for p in record.problems
                                                                    if p.severity == "error"]})
    progress("matching", 0, len(rows))
    matches = match_rows([r.identity for r in rows], register.index)
    choices = settings.get("choices") or {}
    candidate_ids = {c.elector.id for m in matches for c in m.candidates}
    suppressions = ImportStore(db.session, batch.id).suppressions(
        {m.elector_id for m in matches if m.elector_id} | candidate_ids
        | {c["elector_id"] for c in choices.values() if isinstance(c, dict) and isinstance(c.get("elector_id"), int)})
    suppressed = {eid for eid, active in suppressions.items() if suppression_applies(active, "door")}
    chosen: list[tuple[Any, int, str]] = []  # (record, elector id, method)
    new_people: list[tuple[Any, int]] = []
    for record, match in zip(rows, matches):
        choice = choices.get(str(record.line))
        if choice == "skip":
            result.add("skipped")
        elif isinstance(choice, dict) and isinstance(choice.get("elector_id"), int):
            if choice["elector_id"] not in register.electors:
                result.add("rejected", {"line": record.line, "reasons": [
                    {"field": "elector", "code": "not_in_clp", "message": "The elector chosen is not in this CLP."}]})
            else:
                chosen.append((record, choice["elector_id"], "chosen"))
        elif isinstance(choice, dict) and isinstance(choice.get("new_elector"), dict):
            property_id = choice["new_elector"].get("property_id")
            if property_id not in register.properties:
                result.add("rejected", {"line": record.line, "reasons": [
                    {"field": "address", "code": "not_in_clp", "message": "The address chosen is not in this CLP."}]})
            else:
                new_people.append((record, property_id))
        elif match.verdict == MATCHED:
            chosen.append((record, match.elector_id, match.method))
        elif match.elector_id in suppressed or (match.candidates and all(c.elector.id in suppressed
                                                                         for c in match.candidates)):
            result.add("suppressed")
        else:
            entry = {"line": record.line, "reason": match.reason, "candidates": _candidates(match, suppressed)}
            result.add("choose" if match.verdict == CHOOSE else "unmatched", entry)
    held = held_keys({eid for _, eid, _ in chosen if eid not in suppressed})
    mutations: list[dict] = []
    about: dict[str, dict] = {}
    seen: set[str] = set()
    volunteers = _volunteers(batch.constituency_id)
    credit: dict[str, int] = {}  # mutation id -> the volunteer the sheet names, when it names one we know
    for record, elector_id, method in chosen:
        if elector_id in suppressed:
            result.add("suppressed")
            continue
        day = record.occurred_on.isoformat()
        key = (elector_id, record.outcome, day)
        elector = register.electors[elector_id]
        brief = {"line": record.line, "elector_id": elector_id, "elector_number": str(elector.elector_number),
                 "occurred_on": day, "outcome": record.outcome, "intention": record.intention,
                 "strength": record.strength, "method": method}
        ident = str(mutation_id(batch.constituency_id, elector_id, day, record.outcome))
        if key in held or ident in seen:
            result.add("duplicates", {**brief, "reason": "already_held" if key in held else "repeated_in_file"})
            continue
        seen.add(ident)
        data_ = {"campaign_id": campaign.id, "elector_id": elector_id, "channel": "door", "outcome": record.outcome}
        for name in ("intention", "strength", "notes"):
            if getattr(record, name):
                data_[name] = getattr(record, name)
        if record.survey_answers:
            data_["survey_answers"] = record.survey_answers
        mutations.append({"id": ident, "seq": record.line, "type": "contact", "base_version": None,
                          "occurred_at": _occurred(record.occurred_on, record.time, now).isoformat(), "data": data_})
        if (volunteer := volunteers.get(_who(record.canvasser))) is not None:
            credit[ident] = volunteer
            brief["user_id"] = volunteer
        about[ident] = brief
    for record, property_id in new_people:
        identity = record.identity
        ident = str(mutation_id(batch.constituency_id, "new", property_id, identity.surname, identity.forenames))
        if ident in seen:
            result.add("duplicates", {"line": record.line, "reason": "repeated_in_file"})
            continue
        seen.add(ident)
        data_ = {"property_id": property_id, "surname": (identity.surname or "?")[:120],
                 "forenames": (identity.forenames or "?")[:120]}
        if record.notes:
            data_["notes"] = record.notes
        mutations.append({"id": ident, "seq": record.line, "type": "elector_new", "base_version": None,
                          "occurred_at": _occurred(record.occurred_on or now.date(), record.time, now).isoformat(),
                          "data": data_})
        about[ident] = {"line": record.line, "property_id": property_id, "new_elector": True}
    user = db.session.get(User, batch.created_by_id)
    device = import_device(user)
    store = ImportStore(db.session, batch.id)
    from sync.store import DeviceContext

    storage_id = str(mutation_id("storage", batch.constituency_id, device.id))
    envelope = {"device_id": str(device.id), "storage_id": storage_id, "protocol_version": PROTOCOL_VERSION,
                "schema_version": SCHEMA_VERSION}
    # Each record is credited to the volunteer the sheet names (by name or email), else to the admin.
    by_user: dict[int, list[dict]] = {}
    for mutation in mutations:
        by_user.setdefault(credit.get(mutation["id"], user.id), []).append(mutation)
    done = 0
    for user_id, theirs in sorted(by_user.items()):
        ctx = DeviceContext(device.id, user_id, frozenset({batch.constituency_id}))
        _push(store, ctx, envelope, theirs, about, result, progress, done=done, total=len(mutations))
        done += len(theirs)
    result.extra["credited"] = {str(uid): len(theirs) for uid, theirs in by_user.items() if uid != user.id}
    result.extra["update_ids"] = store.update_ids
    return device.id


def _volunteers(constituency_id: int) -> dict[str, int]:
    """The CLP's volunteers by name and by email as a sheet writes them (a name two share credits neither)."""
    found: dict[str, set[int]] = {}
    for user_id, name, email in db.session.execute(select(User.id, User.name, User.email)
                                                   .where(User.constituency_id == constituency_id)):
        for key in {_who(name), _who(email)} - {""}:
            found.setdefault(key, set()).add(user_id)
    return {key: ids.pop() for key, ids in found.items() if len(ids) == 1}


def _who(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _push(store: ImportStore, ctx, envelope: dict, mutations: list[dict], about: dict, result: Result,
          progress: Progress, *, done: int = 0, total: int | None = None) -> None:
    """Push ``mutations`` as ``ctx`` in chunks, counting each answer into ``result``."""
    engine = import_engine(store, limits())
    mutations = sorted(mutations, key=lambda m: m["seq"])
    total = len(mutations) if total is None else total
    progress("importing", done, total)
    for start in range(0, len(mutations), PUSH_CHUNK):
        chunk = mutations[start:start + PUSH_CHUNK]
        answer = engine.push(ctx, {**envelope, "mutations": chunk})
        for mutation, outcome in zip(chunk, answer["results"]):
            status = outcome["status"]
            brief = about.get(mutation["id"], {})
            if status in LANDED:
                if mutation["type"] == "elector_new":
                    result.add("new_electors", brief)
                    continue
                result.add("new", brief)
                if status == "conflict":
                    result.add("conflicts", {**brief, "conflicts_with": (outcome.get("details") or {}).get(
                        "conflicts_with")})
            elif status in ("duplicate", "id_reused"):
                result.add("duplicates", {**brief, "reason": "already_imported"})
            elif status == "suppressed":
                result.add("suppressed")
            elif status == "held":
                result.add("held", brief)
            else:
                result.add("rejected", {**brief, "status": status, "reasons": outcome.get("details")})
        progress("importing", done + min(start + PUSH_CHUNK, len(mutations)), total)
    store.reconcile_touched(engine, progress=progress)


# ---------------------------------------------------------------------------------------------- exports

def read_export_device(batch: ImportBatch, data: bytes):
    """The export file and the device it came from (or ImportRefused)."""
    export = read_export(data, max_bytes=current_app.config["IMPORT_MAX_BYTES"])
    try:
        device = db.session.get(Device, uuid.UUID(export.device.id))
    except ValueError:
        device = None
    if device is None or device.user_id != export.user.id:
        raise ImportRefused("unknown_device", "The file comes from a device this server does not know (or that "
                                              "belongs to another volunteer): its records cannot be credited.")
    if device.user.constituency_id != batch.constituency_id:
        raise ImportRefused("wrong_clp", "The file comes from a volunteer of another CLP: import it there.")
    return export, device


def _apply_export(batch: ImportBatch, data: bytes, result: Result, progress: Progress) -> None:
    export, device = read_export_device(batch, data)
    principal = principal_for(db.session, device.user, device.id)
    ctx = device_context(principal, device)
    store = ImportStore(db.session, batch.id)
    mutations = [dict(r.mutation) for r in export.records]
    result.counts["rows"] = len(mutations)
    about = {}
    for record in export.records:
        mid = record.mutation_id or ""
        about[mid] = {"position": record.position, "mutation_id": mid, "type": record.mutation.get("type"),
                      "elector_id": (record.mutation.get("data") or {}).get("elector_id")
                      if isinstance(record.mutation.get("data"), dict) else None}
    result.extra["export"] = {"user_id": device.user_id, "device_id": str(device.id)}
    # The engine answers in order; the file's order is the phone's.
    engine = import_engine(store, limits())
    progress("importing", 0, len(mutations))
    for start in range(0, len(mutations), PUSH_CHUNK):
        chunk = mutations[start:start + PUSH_CHUNK]
        answer = engine.push(ctx, {**export.push_envelope(), "mutations": chunk})
        for mutation, outcome in zip(chunk, answer["results"]):
            status, brief = outcome["status"], about.get(outcome.get("id") or "", {})
            if status in LANDED:
                result.add("new_electors" if mutation.get("type") == "elector_new" else "new", brief)
                if status == "conflict":
                    result.add("conflicts", brief)
            elif status == "duplicate":
                result.add("duplicates", {**brief, "reason": "already_held"})
            elif status == "suppressed":
                result.add("suppressed")
            elif status == "held":
                result.add("held", brief)
            else:
                result.add("rejected", {**brief, "status": status, "reasons": outcome.get("details")})
        progress("importing", min(start + PUSH_CHUNK, len(mutations)), len(mutations))
    store.reconcile_touched(engine, progress=progress)
    result.extra["update_ids"] = store.update_ids
    return None


# ---------------------------------------------------------------------------------------------- running

FILE_REMOVED = ("This import's uploaded file was removed under the retention policy (RETENTION_EXPORT_DAYS); "
                "its history and result are kept. Upload the file again to preview or commit it.")


def file_removed(batch_id: int) -> bool:
    """Whether retention (server/jobs/retention.py) has emptied the batch's stored file: nothing is left to
    preview or commit. Undo never reads the file, so a committed batch can still be undone."""
    return not db.session.scalar(select(func.length(ImportFile.data)).where(ImportFile.batch_id == batch_id))


def _begin(batch_id: int) -> None:
    """Open the import's one transaction with a write (locking its batch): on SQLite the driver begins a
    transaction only at a write, and a savepoint released outside one would commit."""
    db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(status=ImportBatch.status))


def run(batch_id: int, action: str, progress: Progress = _none, *, user_id: int | None = None) -> dict:
    """Preview or commit (or undo) the batch; returns the result, stored as the batch's summary."""
    if action == "undo":
        return undo(batch_id, progress, user_id=user_id)
    _begin(batch_id)
    batch = db.session.get(ImportBatch, batch_id)
    if batch.status in ("committed", "undone"):
        db.session.rollback()
        raise Conflict(f"This import is already {batch.status}.")
    if file_removed(batch_id):
        db.session.rollback()
        raise Conflict(FILE_REMOVED)
    data = db.session.get(ImportFile, batch_id).data
    now = utcnow()
    result = Result(action, batch.kind)
    try:
        if batch.kind == "export":
            device_id = _apply_export(batch, data, result, progress)
        else:
            device_id = _apply_sheet(batch, data, result, progress, now)
        summary = result.as_dict()
        if action == "commit":
            if device_id is not None:
                # An import device has no phone to answer again: only landed receipts matter (re-imports).
                db.session.execute(delete(SyncReceipt).where(SyncReceipt.device_id == device_id,
                                                             SyncReceipt.status.not_in(LANDED)))
            batch.status, batch.committed_at, batch.summary = "committed", now, summary
            audit.record("import.committed", actor_user_id=user_id or batch.created_by_id, target_type="import_batch",
                         target_id=batch.id, constituency_id=batch.constituency_id,
                         details={"kind": batch.kind, "counts": summary["counts"]})
            db.session.commit()
            return summary
        db.session.rollback()
    except BaseException:
        db.session.rollback()
        raise
    batch = db.session.get(ImportBatch, batch_id)
    summary.pop("update_ids", None)
    batch.summary = summary
    if batch.status == "uploaded":
        batch.status = "previewed"
    db.session.commit()
    return summary


def undo(batch_id: int, progress: Progress = _none, *, user_id: int | None = None) -> dict:
    """Remove exactly the batch's effects, and refold every elector it touched from what remains."""
    _begin(batch_id)
    batch = db.session.get(ImportBatch, batch_id)
    if batch.status != "committed":
        db.session.rollback()
        raise Conflict("Only a committed import can be undone.")
    records = db.session.execute(select(ContactRecord.id, ContactRecord.elector_id)
                                 .where(ContactRecord.import_batch_id == batch.id)).all()
    progress("undoing", 0, len(records))
    record_ids = [r.id for r in records]
    electors = {r.elector_id for r in records if r.elector_id is not None}
    update_ids = [uuid.UUID(u) for u in (batch.summary or {}).get("update_ids", [])]
    if update_ids:
        electors |= set(db.session.scalars(select(ElectorUpdate.elector_id).where(ElectorUpdate.id.in_(update_ids))))
    items = db.session.scalars(select(ReviewItem).where(ReviewItem.data["import_batch_id"].as_integer() == batch.id,
                                                        ReviewItem.status == "open")).all()
    receipts = list(record_ids) + update_ids
    for item in items:
        if item.kind == "held_delivery":
            receipts += [uuid.UUID(m["id"]) for m in item.data.get("mutations", []) if isinstance(m, dict)]
        elif item.data.get("mutation_id"):
            receipts.append(uuid.UUID(item.data["mutation_id"]))
        db.session.delete(item)
    for start in range(0, len(receipts), 5000):
        db.session.execute(delete(SyncReceipt).where(SyncReceipt.mutation_id.in_(receipts[start:start + 5000])))
    for start in range(0, len(update_ids), 5000):
        db.session.execute(delete(ElectorUpdate).where(ElectorUpdate.id.in_(update_ids[start:start + 5000])))
    # Deleted records announce nothing to the rollups job: their districts are queued for it instead.
    rollups.mark_dirty(rollups.keys_of_records(ContactRecord.import_batch_id == batch.id))
    db.session.execute(delete(ContactRecord).where(ContactRecord.import_batch_id == batch.id))
    store = ImportStore(db.session, batch.id)
    engine = import_engine(store, limits())
    ids = sorted(electors)
    for start in range(0, len(ids), 2000):
        chunk = set(ids[start:start + 2000])
        engine.reconcile(chunk)
        progress("undoing", min(start + 2000, len(ids)), len(ids))
    # An elector whose only events were the batch's has no state at all without it.
    remaining = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        for column in (ContactRecord.elector_id, ElectorUpdate.elector_id):
            remaining |= set(db.session.scalars(select(column).where(column.in_(chunk))))
    gone = [e for e in ids if e not in remaining]
    for start in range(0, len(gone), 5000):
        db.session.execute(delete(ElectorState).where(ElectorState.elector_id.in_(gone[start:start + 5000])))
    now = utcnow()
    summary = {**(batch.summary or {}), "undone": {"records": len(record_ids), "electors": len(ids),
                                                   "review_items": len(items), "at": now.isoformat()}}
    batch.status, batch.undone_at, batch.summary = "undone", now, summary
    audit.record("import.undone", actor_user_id=user_id or batch.created_by_id, target_type="import_batch",
                 target_id=batch.id, constituency_id=batch.constituency_id,
                 details={"records": len(record_ids), "electors": len(ids)})
    db.session.commit()
    return summary
