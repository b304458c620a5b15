"""Schemas of the import API (docs/imports.md)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.schemas import Id, PageArgsSchema, StrictSchema, Text, page_envelope

FIELD_NAME = (r"^(elector_number|polling_district|suffix|name|surname|forenames|address|address2|address3|"
              r"house_number|flat|street|postcode|date|canvasser|outcome|intention|strength|notes|"
              r"survey:[A-Za-z0-9_]{1,64})$")


class UploadFormSchema(StrictSchema):
    """The form fields of an upload (read from the form part of the multipart body)."""

    campaign_id = Id(load_default=None, metadata={"description": "Sheets: the campaign whose codes it uses"})
    constituency_id = Id(load_default=None, metadata={"description": "National and regional staff: the CLP"})


class UploadSchema(UploadFormSchema):
    """A multipart/form-data upload: the file, and optionally the campaign and the CLP."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "A .csv or .xlsx sheet, or the app's export of unsent "
                                                              "records (groundwork.unsent-records)"})


class JobSchema(Schema):
    id = fields.Integer(required=True)
    batch_id = fields.Integer(required=True)
    action = fields.String(required=True, metadata={"enum": ["preview", "commit", "undo"]})
    status = fields.String(required=True, metadata={"enum": ["queued", "running", "done", "failed"]})
    done = fields.Integer(required=True)
    total = fields.Integer(required=True)
    stage = fields.String(allow_none=True)
    error = fields.Dict(allow_none=True)
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class BatchSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["sheet", "export"]})
    filename = fields.String(allow_none=True)
    sha256 = fields.String(required=True)
    size = fields.Integer()
    status = fields.String(required=True, metadata={"enum": ["uploaded", "previewed", "committed", "undone"]})
    constituency_id = fields.Integer(required=True)
    campaign_id = fields.Integer(allow_none=True)
    created_by_id = fields.Integer()
    created_at = fields.DateTime(required=True)
    committed_at = fields.DateTime(allow_none=True)
    undone_at = fields.DateTime(allow_none=True)
    settings = fields.Dict()
    proposal = fields.Dict(allow_none=True, metadata={"description": "Sheets: headings, proposed columns and codes"})
    export = fields.Dict(allow_none=True, metadata={"description": "Exports: volunteer, device, record count"})
    result = fields.Dict(allow_none=True, metadata={"description": "The latest preview's or commit's outcome"})
    job = fields.Nested(JobSchema, allow_none=True)


BatchPageSchema = page_envelope(BatchSchema, "ImportBatchPage")


class BatchArgsSchema(PageArgsSchema):
    pass


class HeaderSchema(StrictSchema):
    canvasser = Text(load_default=None, allow_none=True, validate=validate.Length(max=120))
    date = fields.Date(load_default=None, allow_none=True)
    sheet = Text(load_default=None, allow_none=True, validate=validate.Length(max=120))
    polling_district = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=8))


class MappingSchema(StrictSchema):
    campaign_id = Id(load_default=None, allow_none=True)
    columns = fields.Dict(keys=Text(validate=validate.Regexp(FIELD_NAME)),
                          values=fields.Raw(allow_none=True, metadata={"description": "A heading, a 0-based column, "
                                                                                       "or null"}),
                          load_default=None, allow_none=True, validate=validate.Length(max=64))
    codes = fields.Dict(keys=Text(validate=validate.OneOf(["outcome", "intention", "strength"])),
                        values=fields.Dict(keys=Text(validate=validate.Length(min=1, max=120)), values=fields.Raw(),
                                           validate=validate.Length(max=500)),
                        load_default=None, allow_none=True)
    header = fields.Nested(HeaderSchema, load_default=None, allow_none=True)
    choices = fields.Dict(keys=Text(validate=validate.Regexp(r"^[1-9][0-9]{0,6}$")), values=fields.Raw(),
                          load_default=None, allow_none=True, validate=validate.Length(max=100000),
                          metadata={"description": 'By line: "skip", {"elector_id": n} or {"new_elector": '
                                                   '{"property_id": n}}'})
    remember = fields.Boolean(load_default=True)
