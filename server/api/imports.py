"""Imports: canvass sheets typed up from paper (CSV, .xlsx) and the app's files of unsent records, merged
into the dataset through one pipeline, previewed, committed and undone as a unit (docs/imports.md)."""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import RAISE, ValidationError

from server.api.common import blueprint, errors, per_page
from server.auth import Permission, authorize, current_principal
from server.errors import ValidationFailed
from server.schemas.imports import (
    BatchArgsSchema,
    BatchPageSchema,
    BatchSchema,
    JobSchema,
    MappingSchema,
    UploadFormSchema,
    UploadSchema,
)
from server.services.imports import batches
from server.transport import body_limit

blp = blueprint("imports", "/imports", "Imports: canvass sheets and files of unsent records")


@blp.route("", methods=["POST"])
@body_limit("IMPORT_UPLOAD_BYTES")
@authorize(Permission.IMPORTS_MANAGE)
@blp.arguments(UploadSchema, location="files")
@blp.response(201, BatchSchema)
def upload(files):
    """Upload a sheet (.csv, .xlsx) or a file of unsent records. A file that cannot be imported is a 422 whose
    details give the reason, and nothing is kept. For a sheet, the answer proposes the column and code
    mappings (the CLP's saved mapping applied); for an export, who and what it holds."""
    try:  # the form fields travel beside the file in the same multipart body
        form = UploadFormSchema(unknown=RAISE).load(request.form.to_dict())
    except ValidationError as exc:
        raise ValidationFailed("Some fields are invalid.", exc.messages) from None
    batch = batches.upload(current_principal(), files["file"], **form)
    return batches.describe(batch)


@blp.route("")
@authorize(Permission.IMPORTS_MANAGE)
@blp.arguments(BatchArgsSchema, location="query")
@blp.response(200, BatchPageSchema)
def list_imports(args):
    """The imports of your CLP (or scope), newest first."""
    page = batches.list_batches(current_principal(), args["page"], per_page(args))
    page.items = [batches.describe(b) for b in page.items]
    return page


@blp.route("/<int:batch_id>")
@authorize(Permission.IMPORTS_MANAGE)
@blp.response(200, BatchSchema)
def get_import(batch_id: int):
    """One import: its status, mapping, latest job (with progress) and the latest preview or commit."""
    return batches.describe(batches.get(current_principal(), batch_id))


def _check_mapping(args: dict) -> None:
    problems: dict[str, list[str]] = {}
    for name, value in (args.get("columns") or {}).items():
        if not (value is None or (isinstance(value, str) and 0 < len(value) <= 200)
                or (type(value) is int and 0 <= value < 10000)):
            problems.setdefault("columns", []).append(f"{name}: a heading, a 0-based column number, or null.")
    for code_set, given in (args.get("codes") or {}).items():
        for written, value in given.items():
            if not (isinstance(value, str) and 0 < len(value) <= 32) and not (
                    isinstance(value, dict) and value and set(value) <= {"outcome", "intention", "strength"}
                    and all(isinstance(v, str) and 0 < len(v) <= 32 for v in value.values())):
                problems.setdefault("codes", []).append(f"{code_set} {written!r}: a campaign code, "
                                                        "\"skip_row\", \"blank\" or {outcome, intention, strength}.")
    for line, choice in (args.get("choices") or {}).items():
        ok = choice == "skip" or (isinstance(choice, dict) and len(choice) == 1 and (
            (type(choice.get("elector_id")) is int and 0 < choice["elector_id"] < 2 ** 31)
            or (isinstance(choice.get("new_elector"), dict)
                and type(choice["new_elector"].get("property_id")) is int
                and 0 < choice["new_elector"]["property_id"] < 2 ** 31)))
        if not ok:
            problems.setdefault("choices", []).append(
                f"line {line}: \"skip\", {{\"elector_id\": n}} or {{\"new_elector\": {{\"property_id\": n}}}}.")
    if problems:
        raise ValidationFailed("Some of the mapping is invalid.", problems)


@blp.route("/<int:batch_id>/mapping", methods=["PUT"])
@authorize(Permission.IMPORTS_MANAGE)
@blp.arguments(MappingSchema)
@blp.response(200, BatchSchema)
@errors(blp, 409)
def save_mapping(args: dict[str, Any], batch_id: int):
    """The admin's decisions for a sheet: columns, codes, batch header, campaign, and per-row choices. The
    confirmed mappings are remembered for the CLP and proposed for its next sheet (unless remember=false)."""
    _check_mapping(args)
    if args.get("header") is not None:
        args["header"] = {k: (v.isoformat() if k == "date" and v is not None else v)
                          for k, v in args["header"].items() if v is not None}
    return batches.describe(batches.save_settings(current_principal(), batch_id, args))


def _job(batch_id: int, action: str):
    return batches.enqueue(current_principal(), batch_id, action)


@blp.route("/<int:batch_id>/preview", methods=["POST"])
@authorize(Permission.IMPORTS_MANAGE)
@blp.response(202, JobSchema)
@errors(blp, 409)
def preview(batch_id: int):
    """Queue a preview: the real import, run in a transaction and rolled back. Poll the job; the result is
    the batch's ``result``."""
    return _job(batch_id, "preview")


@blp.route("/<int:batch_id>/commit", methods=["POST"])
@authorize(Permission.IMPORTS_MANAGE)
@blp.response(202, JobSchema)
@errors(blp, 409)
def commit(batch_id: int):
    """Queue the commit: the import, in one transaction, as one batch."""
    return _job(batch_id, "commit")


@blp.route("/<int:batch_id>/undo", methods=["POST"])
@authorize(Permission.IMPORTS_MANAGE)
@blp.response(202, JobSchema)
@errors(blp, 409)
def undo(batch_id: int):
    """Queue the undo of a committed import: exactly its effects are removed and every elector it touched
    is refolded from what remains; phones see it at their next pull."""
    return _job(batch_id, "undo")


@blp.route("/<int:batch_id>/jobs/<int:job_id>")
@authorize(Permission.IMPORTS_MANAGE)
@blp.response(200, JobSchema)
def get_job(batch_id: int, job_id: int):
    """A job of the import, with its progress (readable while it runs)."""
    return batches.get_job(current_principal(), batch_id, job_id)
