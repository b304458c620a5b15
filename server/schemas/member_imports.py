"""Schemas of the membership list import (docs/members.md): the upload, and the summary it answers with."""
from __future__ import annotations

from marshmallow import Schema, fields

from server.schemas import Id, StrictSchema


class MemberImportFormSchema(StrictSchema):
    """The form fields of an upload (read from the form part of the multipart body)."""

    constituency_id = Id(load_default=None, metadata={"description": "The CLP the file is for (or region_id)"})
    region_id = Id(load_default=None, metadata={"description": "The region the file is for (or constituency_id): "
                                                               "every row must name one of its CLPs"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Check the file and count what would "
                                                                          "change, writing nothing"})


class MemberImportUploadSchema(MemberImportFormSchema):
    """A multipart/form-data upload: the file, the CLP or region, and whether it is a dry run."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "The membership export: .csv or .xlsx"})


class ImportScopeSchema(Schema):
    kind = fields.String(required=True, metadata={"enum": ["constituency", "region"]})
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class StatusCountsSchema(Schema):
    new = fields.Integer(required=True)
    active = fields.Integer(required=True)
    lapsed = fields.Integer(required=True)
    resigned = fields.Integer(required=True)


class LeftCountsSchema(Schema):
    lapsed = fields.Integer(required=True, metadata={"description": "New or active members now lapsed"})
    resigned = fields.Integer(required=True, metadata={"description": "New or active members now resigned"})


class ConstituencyCountsSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    added = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)


class RowProblemSchema(Schema):
    line = fields.Integer(required=True, metadata={"description": "The row, as the spreadsheet numbers it"})
    column = fields.String(allow_none=True, metadata={"description": "The column's heading"})
    cell = fields.String(allow_none=True, metadata={"description": "A reference such as F7"})
    field = fields.String(required=True)
    message = fields.String(required=True)


class MemberImportSummarySchema(Schema):
    """What the import did or, for a dry run, would do: counts only, never a name."""

    filename = fields.String(allow_none=True)
    sha256 = fields.String(required=True)
    scope = fields.Nested(ImportScopeSchema, required=True)
    dry_run = fields.Boolean(required=True)
    rows = fields.Integer(required=True)
    added = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    moved = fields.Integer(required=True, metadata={"description": "Of the updated, now in another CLP"})
    skipped_erased = fields.Integer(required=True, metadata={"description": "Rows of erased members, not read"})
    not_in_file = fields.Integer(required=True, metadata={"description": "The scope's members the file does not "
                                                                         "mention, left as they were"})
    not_in_file_current = fields.Integer(required=True, metadata={"description": "Of those, still new or active"})
    by_status = fields.Nested(StatusCountsSchema, required=True, metadata={"description": "The file's members by "
                                                                                          "status after the import"})
    left = fields.Nested(LeftCountsSchema, required=True)
    by_constituency = fields.List(fields.Nested(ConstituencyCountsSchema), required=True)
    ignored_columns = fields.List(fields.String(), required=True, metadata={"description": "Headings not read"})
    warnings = fields.List(fields.Nested(RowProblemSchema), required=True,
                           metadata={"description": "The first 100; warnings_total counts them all"})
    warnings_total = fields.Integer(required=True)
    notes = fields.List(fields.String(), required=True)
