"""Electors' and members' rights under UK GDPR: the erasure request and its answer, and the subject access
document (a download, described here so the OpenAPI document states its shape)."""
from __future__ import annotations

from marshmallow import fields, validate

from server.schemas import Schema, StrictSchema, Text
from server.services.erasure import RECEIVED_VIA


def Time() -> fields.String:
    """A time in the document: ISO 8601 text, as written to the file, or null."""
    return fields.String(allow_none=True, metadata={"format": "date-time"})


def Maybe() -> fields.String:
    return fields.String(allow_none=True)


class ErasureRequestSchema(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=1000), metadata={
        "description": "What they asked and when, without their name, e.g. 'Letter of 3 March asking to be "
                       "forgotten'. Kept in the audit trail and on the erasure suppression."})
    received_via = Text(required=True, validate=validate.OneOf(RECEIVED_VIA),
                        metadata={"description": "How the request reached the party"})


class ErasureSchema(Schema):
    subject_type = fields.String(required=True, metadata={"enum": ["elector", "member"]})
    subject_id = fields.Integer(required=True)
    erased_at = fields.AwareDateTime(required=True)
    suppression_id = fields.Integer(required=True, metadata={
        "description": "The erasure suppression: phones drop the person at their next pull, and it is never lifted"})
    removed = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, metadata={
        "description": "How many of each kind of row or file had personal content removed"})


# ------------------------------------------------------------------------------------------- subject access

class NamedUserSchema(Schema):
    """A volunteer or member of staff named in the document: their name and role, never more."""

    name = fields.String()
    role = fields.String()


def _who(**kw):
    return fields.Nested(NamedUserSchema, allow_none=True, **kw)


class SubjectRefSchema(Schema):
    type = fields.String(metadata={"enum": ["elector", "member"]})
    id = fields.Integer()


class ConstituencyRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class ExportAddressSchema(Schema):
    lines = fields.List(fields.String())
    postcode = Maybe()


class ExportRegisterEntrySchema(Schema):
    elector_number = fields.String()
    surname = fields.String(metadata={"description": "Empty once erased"})
    forenames = fields.String(metadata={"description": "Empty once erased"})
    markers = fields.String()
    attainer_date = Maybe()
    status = fields.String()
    provisional = fields.Boolean()
    phone = Maybe()
    address = fields.Nested(ExportAddressSchema, allow_none=True)
    polling_district = Maybe()
    first_seen_in = Maybe()
    last_seen_in = Maybe()
    removed_at = Time()
    created_at = Time()
    updated_at = Time()


class ExportConsentSchema(Schema):
    email = fields.Boolean()
    phone = fields.Boolean()
    post = fields.Boolean()
    updated_at = Time()


class ExportMembershipSchema(Schema):
    membership_number = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    email = Maybe()
    phone = Maybe()
    address_lines = fields.List(fields.String())
    postcode = Maybe()
    joined_on = Maybe()
    status = fields.String()
    left_on = Maybe()
    consent = fields.Nested(ExportConsentSchema)
    elector_id = fields.Integer(allow_none=True)
    created_at = Time()
    updated_at = Time()


class ContactRecordExportSchema(Schema):
    id = fields.String()
    kind = fields.String()
    campaign = Maybe()
    channel = fields.String()
    outcome = Maybe()
    intention = Maybe()
    strength = Maybe()
    survey_answers = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    notes = Maybe()
    call_back_at = Time()
    occurred_at = Time()
    received_at = Time()
    recorded_by = _who()
    source = fields.String()
    supersedes = Maybe()
    personal_content_removed_at = Time()


class DerivedStateSchema(Schema):
    intention = Maybe()
    strength = Maybe()
    intention_at = Time()
    last_contact_at = Time()
    last_spoke_at = Time()
    contacts = fields.Dict(keys=fields.String(), values=fields.Integer())
    do_not_contact = fields.Boolean()
    presence = fields.String()
    call_back_at = Time()


class ElectorUpdateExportSchema(Schema):
    id = fields.String()
    field = fields.String()
    value = fields.Raw(allow_none=True)
    occurred_at = Time()
    received_at = Time()
    recorded_by = _who()


class SuppressionExportSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    channel = fields.String()
    reason = fields.String()
    source = fields.String()
    created_at = Time()
    created_by = _who()
    lifted_at = Time()
    lifted_by = _who()


class ReviewItemExportSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    created_at = Time()
    resolved_at = Time()
    data = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    resolution = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True)


class ListMembershipSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    starts_at = Time()
    ends_at = Time()
    reason = Maybe()


class AccessEventSchema(Schema):
    at = Time()
    action = fields.String(metadata={"description": "What was done, e.g. members.view, rights.subject_access"})
    by = _who()
    purpose = Maybe()


class SubjectAccessSchema(Schema):
    """Everything held about one person. Elector documents have ``register`` to ``review_items``; member
    documents have ``membership``."""

    format = fields.String(metadata={"enum": ["groundwork.subject-access"]})
    format_version = fields.Integer()
    generated_at = Time()
    generated_by = _who()
    subject = fields.Nested(SubjectRefSchema)
    constituency = fields.Nested(ConstituencyRefSchema)
    erased_at = Time()
    register = fields.Nested(ExportRegisterEntrySchema)
    membership = fields.Nested(ExportMembershipSchema)
    contact_records = fields.List(fields.Nested(ContactRecordExportSchema))
    derived_state = fields.Nested(DerivedStateSchema, allow_none=True)
    elector_updates = fields.List(fields.Nested(ElectorUpdateExportSchema))
    suppressions = fields.List(fields.Nested(SuppressionExportSchema))
    review_items = fields.List(fields.Nested(ReviewItemExportSchema))
    lists = fields.List(fields.Nested(ListMembershipSchema))
    held_on_phones_of = fields.List(fields.Nested(NamedUserSchema), metadata={
        "description": "Whose phones hold the person's details now"})
    access = fields.List(fields.Nested(AccessEventSchema), metadata={
        "description": "Who accessed or acted on their data, and when (this export included)"})
