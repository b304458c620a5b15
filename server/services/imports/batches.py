"""Import batches as the API sees them: upload, the proposal shown to the admin, the admin's settings (and
the CLP's remembered mapping), jobs to preview, commit and undo, and the batch as described to the screen."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from server.auth.policy import Principal
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import Campaign, Constituency, ImportBatch, ImportFile, ImportJob, ImportMapping
from server.models.imports import JOB_ACTIVE
from server.orm import utcnow
from server.services import audit
from server.services.imports.codes import CodeTarget
from server.services.imports.errors import ImportRefused
from server.services.imports.matching import check_constituency
from server.services.imports.pipeline import FILE_REMOVED, batch_header, file_removed, read_export_device, read_sheet
from server.services.imports.records import parse_sheet
from server.services.imports.store import Places

SAMPLE_ROWS = 3000
from server.services.imports.read import detect_format
from server.services.paging import paginate


def _refused(exc: ImportRefused) -> ImportRefused:
    """The one shape for a refused file: details name the file and the reason."""
    details = dict(exc.details or {})
    details["file"] = [exc.message]
    exc.details = details
    return exc


def default_campaign(constituency_id: int) -> Campaign | None:
    today = date.today()
    return db.session.scalar(
        select(Campaign).where(or_(Campaign.constituency_id == constituency_id, Campaign.constituency_id.is_(None)),
                               Campaign.starts_on <= today, Campaign.ends_on >= today)
        .order_by(Campaign.constituency_id.is_(None), Campaign.starts_on.desc(), Campaign.id.desc()).limit(1))


def campaign_for(principal: Principal, constituency_id: int, campaign_id: int | None) -> Campaign | None:
    if campaign_id is None:
        return default_campaign(constituency_id)
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.constituency_id not in (None, constituency_id):
        raise ValidationFailed("No such campaign for this CLP.", {"campaign_id": ["No such campaign for this CLP."]})
    return campaign


def clp_for(principal: Principal, constituency_id: int | None) -> int:
    if principal.constituency_id is not None and constituency_id in (None, principal.constituency_id):
        return principal.constituency_id
    if constituency_id is None:
        raise ValidationFailed("Say which CLP the file is for.", {"constituency_id": ["Required for your role."]})
    if not principal.covers_constituency(constituency_id):
        raise ValidationFailed("Not a CLP in your scope.", {"constituency_id": ["Not a CLP in your scope."]})
    from server.models import Constituency

    if db.session.get(Constituency, constituency_id) is None:
        raise ValidationFailed("No such CLP.", {"constituency_id": ["No such CLP."]})
    return constituency_id


def upload(principal: Principal, file_storage, *, campaign_id: int | None = None,
           constituency_id: int | None = None) -> ImportBatch:
    """Read the uploaded file (refusing a bad one with nothing stored) and keep it as a new batch."""
    clp = clp_for(principal, constituency_id)
    limit = current_app.config["IMPORT_MAX_BYTES"]
    data = file_storage.read(limit + 1)
    filename = (file_storage.filename or "upload")[-255:]
    kind = "export" if detect_format(data, filename) == "export" else "sheet"
    batch = ImportBatch(constituency_id=clp, kind=kind, filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                        status="uploaded", summary={}, created_by_id=principal.user_id, settings={})
    try:
        if kind == "sheet":
            campaign = campaign_for(principal, clp, campaign_id)
            batch.campaign_id = campaign.id if campaign else None
            proposal = propose(batch, data)
        else:
            export, device = read_export_device(batch, data)
            proposal = {"export": {"user_id": device.user_id, "user_name": device.user.name,
                                   "device_id": str(device.id), "device_name": device.name,
                                   "records": len(export.records),
                                   "exported_at": export.exported_at_text or None}}
    except ImportRefused as exc:
        db.session.rollback()
        raise _refused(exc) from None
    db.session.add(batch)
    db.session.flush()
    db.session.add(ImportFile(batch_id=batch.id, data=data, size=len(data), proposal=proposal))
    audit.record_for(principal, "import.uploaded", target_type="import_batch", target_id=batch.id,
                     constituency_id=clp, details={"kind": kind, "size": len(data), "sha256": batch.sha256})
    db.session.commit()
    return batch


def _decision(decision) -> Any:
    return decision.as_dict() if isinstance(decision, CodeTarget) else decision


def propose(batch: ImportBatch, data: bytes) -> dict:
    """What the admin is shown to confirm: headings, the proposed columns and codes, what is missing."""
    campaign = db.session.get(Campaign, batch.campaign_id) if batch.campaign_id else None
    table, codes_data, columns, code_maps = read_sheet(batch, data, campaign)
    notes = [] if campaign else ["Choose the campaign whose codes this sheet uses."]
    if columns.missing and not columns.unmapped:
        columns.require()  # nothing left on the sheet to map the missing kinds to: refused now
    if columns.ok:  # another CLP's sheet is refused now; its first rows are enough to tell
        sample = replace(table, rows=table.rows[:SAMPLE_ROWS])
        sheet = parse_sheet(sample, columns, codes_data, codes=code_maps, batch=batch_header(batch.settings or {}))
        constituency = db.session.get(Constituency, batch.constituency_id)
        check_constituency([r.identity for r in sheet.records], Places(batch.constituency_id),
                           name=constituency.name)
    return {
        "headings": list(table.headings),
        "rows": len(table.rows),
        "columns": {name: {"column": c.column, "heading": c.heading, "source": c.source,
                           "confidence": round(c.confidence, 2)} for name, c in columns.choices.items()},
        "unmapped": list(columns.unmapped),
        "missing": [{"code": m.code, "message": m.message} for m in columns.missing],
        "problems": list(columns.problems),
        "guesses": [c.field for c in columns.guesses()],
        "codes": {name: {"known": [{"token": c.token, "decision": _decision(c.decision), "source": c.source,
                                    "count": c.count} for c in m.choices.values()],
                         "unknown": [{"token": u.token, "count": u.count, "lines": list(u.lines)} for u in m.unknown],
                         "problems": list(getattr(m, "problems", []))}
                  for name, m in code_maps.items()},
        "notes": notes + list(table.notes) + list(columns.notes),
    }


def get(principal: Principal, batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or not principal.covers_constituency(batch.constituency_id):
        raise NotFound("No such import in your scope.")
    return batch


def list_batches(principal: Principal, page: int, per_page: int):
    stmt = select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
    if principal.constituency_ids is not None:
        stmt = stmt.where(ImportBatch.constituency_id.in_(principal.constituency_ids))
    return paginate(stmt, page, per_page)


def save_settings(principal: Principal, batch_id: int, args: dict) -> ImportBatch:
    """The admin's decisions for a sheet; confirmed mappings are remembered for the CLP."""
    batch = get(principal, batch_id)
    if batch.status in ("committed", "undone"):
        raise Conflict(f"This import is already {batch.status}.")
    if batch.kind != "sheet":
        raise Conflict("A file of unsent records has nothing to map.")
    if file_removed(batch.id):
        raise Conflict(FILE_REMOVED)
    if args.get("campaign_id") is not None:
        batch.campaign_id = campaign_for(principal, batch.constituency_id, args["campaign_id"]).id
    settings = dict(batch.settings or {})
    for name in ("columns", "codes", "header", "choices"):
        if args.get(name) is not None:
            settings[name] = args[name]
    batch.settings = settings
    file = db.session.get(ImportFile, batch.id)
    try:
        proposal = propose(batch, file.data)
    except ImportRefused as exc:
        db.session.rollback()
        raise _refused(exc) from None
    file.proposal = proposal
    if args.get("remember", True) and batch.campaign_id is not None:
        saved = db.session.get(ImportMapping, batch.constituency_id) or ImportMapping(
            constituency_id=batch.constituency_id, columns={}, codes={})
        saved.columns = {**(saved.columns or {}), **{name: c["heading"] for name, c in proposal["columns"].items()
                                                     if c["heading"]}}
        codes = dict(saved.codes or {})
        for name, given in (settings.get("codes") or {}).items():
            codes[name] = {**codes.get(name, {}), **given}
        saved.codes = codes
        saved.updated_by_id = principal.user_id
        db.session.add(saved)
    if batch.status == "previewed":
        batch.status = "uploaded"  # the preview no longer shows what a commit would do
    audit.record_for(principal, "import.mapping_saved", target_type="import_batch", target_id=batch.id,
                     constituency_id=batch.constituency_id)
    db.session.commit()
    return batch


def enqueue(principal: Principal, batch_id: int, action: str) -> ImportJob:
    batch = get(principal, batch_id)
    if action in ("preview", "commit") and batch.status in ("committed", "undone"):
        raise Conflict(f"This import is already {batch.status}.")
    if action == "undo" and batch.status != "committed":
        raise Conflict("Only a committed import can be undone.")
    if action in ("preview", "commit") and file_removed(batch.id):
        raise Conflict(FILE_REMOVED)
    if db.session.scalar(select(ImportJob.id).where(ImportJob.batch_id == batch.id,
                                                    ImportJob.status.in_(JOB_ACTIVE)).limit(1)) is not None:
        raise Conflict("This import already has a job queued or running.")
    job = ImportJob(batch_id=batch.id, action=action, status="queued", done=0, total=0,
                    created_by_id=principal.user_id, created_at=utcnow())
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This import already has a job queued or running.") from None
    return job


def get_job(principal: Principal, batch_id: int, job_id: int) -> ImportJob:
    batch = get(principal, batch_id)
    job = db.session.get(ImportJob, job_id, populate_existing=True)
    if job is None or job.batch_id != batch.id:
        raise NotFound("No such job for this import.")
    return job


def latest_job(batch_id: int) -> ImportJob | None:
    return db.session.scalar(select(ImportJob).where(ImportJob.batch_id == batch_id)
                             .order_by(ImportJob.id.desc()).limit(1), execution_options={"populate_existing": True})


def describe(batch: ImportBatch) -> dict:
    file = db.session.get(ImportFile, batch.id)
    proposal = (file.proposal if file else None) or {}
    return {"id": batch.id, "kind": batch.kind, "filename": batch.filename, "sha256": batch.sha256,
            "status": batch.status, "constituency_id": batch.constituency_id, "campaign_id": batch.campaign_id,
            "created_by_id": batch.created_by_id, "created_at": batch.created_at,
            "committed_at": batch.committed_at, "undone_at": batch.undone_at, "size": file.size if file else 0,
            "settings": batch.settings or {},
            "proposal": None if batch.kind == "export" else proposal,
            "export": proposal.get("export") if batch.kind == "export" else None,
            "result": {k: v for k, v in (batch.summary or {}).items() if k != "update_ids"} or None,
            "job": latest_job(batch.id)}
