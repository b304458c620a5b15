"""Every request and response shape, in one place. ``dump_only``/``load_only`` are the read/write whitelist.

The OpenAPI document is generated from these; nothing about the API's shape is written twice.
"""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate

from server.models import Role


class StrictSchema(Schema):
    """Request arguments. In a JSON body an unknown field is refused (422), so a typo is never silently
    ignored; in a query string unknown parameters are ignored (webargs' default), as caches and
    cache-busting parameters add them."""

    class Meta:
        ordered = True


# ---------------------------------------------------------------------------------------------- errors

class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True, metadata={"description": "Field errors or context, by code"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


# ---------------------------------------------------------------------------------------------- paging

def _page_size(value: int) -> None:
    """Page sizes are capped by configuration (API_MAX_PAGE_SIZE), read at request time."""
    maximum = current_app.config["API_MAX_PAGE_SIZE"]
    if not 1 <= value <= maximum:
        raise ValidationError(f"Must be between 1 and {maximum}.")


class PageArgsSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=None, validate=_page_size)


def page_envelope(item_schema: type[Schema], name: str) -> type[Schema]:
    """A response schema ``{"items": [...], "page", "per_page", "pages", "total"}`` for a list endpoint."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        },
        name=name,
    )


# ---------------------------------------------------------------------------------------------- auth

class LoginSchema(StrictSchema):
    email = fields.String(required=True, load_only=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    device_name = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=120),
        metadata={"description": "A name the user will recognise in their device list, e.g. 'Sam's phone'"},
    )


class ScopeSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "nation, region or constituency"})
    region_id = fields.Integer(allow_none=True)
    constituency_id = fields.Integer(allow_none=True)


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.Enum(Role, by_value=True, dump_only=True)
    scope = fields.Nested(ScopeSchema, dump_only=True)
    permissions = fields.List(fields.String(), dump_only=True)


class DeviceSchema(Schema):
    id = fields.UUID(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_seen_at = fields.DateTime(dump_only=True, allow_none=True)
    token_expires_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_reason = fields.String(dump_only=True, allow_none=True)
    wiped_at = fields.DateTime(dump_only=True, allow_none=True)


class LoginResponseSchema(Schema):
    token = fields.String(dump_only=True, metadata={"description": "Bearer token; shown once, store it securely"})
    token_expires_at = fields.DateTime(dump_only=True)
    device = fields.Nested(DeviceSchema, dump_only=True)
    user = fields.Nested(UserSchema, dump_only=True)


class DeviceListArgsSchema(StrictSchema):
    user_id = fields.Integer(load_default=None)
    include_revoked = fields.Boolean(load_default=False)


# ---------------------------------------------------------------------------------------------- geography

class RegionSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class ConstituencySchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    region_id = fields.Integer(dump_only=True)


class WardSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    constituency_id = fields.Integer(dump_only=True)


class PollingDistrictSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    ward_id = fields.Integer(dump_only=True)
    constituency_id = fields.Integer(dump_only=True)


class ConstituencyArgsSchema(StrictSchema):
    region_id = fields.Integer(load_default=None)


class WardArgsSchema(StrictSchema):
    constituency_id = fields.Integer(load_default=None)


class PollingDistrictArgsSchema(StrictSchema):
    ward_id = fields.Integer(load_default=None)
    constituency_id = fields.Integer(load_default=None)


# ---------------------------------------------------------------------------------------------- electors

class PropertySchema(Schema):
    id = fields.Integer(dump_only=True)
    address = fields.String(dump_only=True)
    address_lines = fields.List(fields.String(), dump_only=True)
    postcode = fields.String(dump_only=True)
    uprn = fields.String(dump_only=True, allow_none=True)
    street = fields.String(dump_only=True, allow_none=True)
    house_number = fields.Integer(dump_only=True, allow_none=True)
    building = fields.String(dump_only=True, allow_none=True)
    flat = fields.String(dump_only=True, allow_none=True)


class ElectorSchema(Schema):
    id = fields.Integer(dump_only=True)
    elector_number = fields.String(dump_only=True, metadata={"description": "e.g. AB1-123 or AB1-123/1"})
    prefix = fields.String(dump_only=True)
    number = fields.Integer(dump_only=True)
    suffix = fields.Integer(dump_only=True)
    surname = fields.String(dump_only=True)
    forenames = fields.String(dump_only=True)
    markers = fields.String(dump_only=True)
    attainer_date = fields.Date(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True, attribute="status.value")
    polling_district_id = fields.Integer(dump_only=True)
    constituency_id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    property = fields.Nested(PropertySchema, dump_only=True)


class ElectorArgsSchema(PageArgsSchema):
    polling_district_id = fields.Integer(load_default=None)
    street = fields.String(load_default=None, validate=validate.Length(min=1, max=120))
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=120))
    postcode = fields.String(load_default=None, validate=validate.Length(min=2, max=10))
    include_removed = fields.Boolean(load_default=False)


ElectorPageSchema = page_envelope(ElectorSchema, "ElectorPage")


# ---------------------------------------------------------------------------------------------- campaigns

class CampaignCodeSchema(Schema):
    code = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    meaning = fields.String(dump_only=True, attribute="meaning.value", allow_none=True)
    channels = fields.List(fields.String(), dump_only=True)
    colour = fields.String(dump_only=True, allow_none=True)


class SurveyQuestionSchema(Schema):
    key = fields.String(dump_only=True)
    text = fields.String(dump_only=True)
    kind = fields.String(dump_only=True, attribute="kind.value")
    options = fields.Raw(dump_only=True, allow_none=True)


class CampaignSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.String(dump_only=True, attribute="kind.value")
    starts_on = fields.Date(dump_only=True)
    ends_on = fields.Date(dump_only=True)
    constituency_id = fields.Integer(dump_only=True, allow_none=True)
    call_script = fields.String(dump_only=True, allow_none=True)
    outcomes = fields.Method("_outcomes", dump_only=True)
    intentions = fields.Method("_intentions", dump_only=True)
    strengths = fields.Method("_strengths", dump_only=True)
    questions = fields.List(fields.Nested(SurveyQuestionSchema), dump_only=True)

    def _codes(self, campaign, code_set: str) -> list:
        return CampaignCodeSchema(many=True).dump([c for c in campaign.codes if c.code_set.value == code_set])

    def _outcomes(self, campaign):
        return self._codes(campaign, "outcome")

    def _intentions(self, campaign):
        return self._codes(campaign, "intention")

    def _strengths(self, campaign):
        return self._codes(campaign, "strength")


# ---------------------------------------------------------------------------------------------- audit

class AuditEventSchema(Schema):
    id = fields.Integer(dump_only=True)
    at = fields.DateTime(dump_only=True)
    actor_user_id = fields.Integer(dump_only=True, allow_none=True)
    actor_device_id = fields.UUID(dump_only=True, allow_none=True)
    action = fields.String(dump_only=True)
    target_type = fields.String(dump_only=True, allow_none=True)
    target_id = fields.String(dump_only=True, allow_none=True)
    constituency_id = fields.Integer(dump_only=True, allow_none=True)
    region_id = fields.Integer(dump_only=True, allow_none=True)
    ip = fields.String(dump_only=True, allow_none=True)
    details = fields.Raw(dump_only=True)


class AuditArgsSchema(PageArgsSchema):
    action = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    actor_user_id = fields.Integer(load_default=None)


AuditPageSchema = page_envelope(AuditEventSchema, "AuditEventPage")


# ---------------------------------------------------------------------------------------------- meta

class HealthSchema(Schema):
    status = fields.String(dump_only=True)
    database = fields.String(dump_only=True)
    version = fields.String(dump_only=True)
    time = fields.DateTime(dump_only=True)


# ---------------------------------------------------------------------------------------------- sync
# The engine (sync/protocol.py) validates mutations one by one, because each gets its own status;
# these schemas document the exchange and whitelist what the server sends back.

class SyncLimitsSchema(Schema):
    max_mutations_per_push = fields.Integer()
    max_push_bytes = fields.Integer()
    page_size = fields.Integer()
    max_page_size = fields.Integer()


class SyncHelloSchema(Schema):
    protocol_version = fields.Integer()
    supported_protocol_versions = fields.List(fields.Integer())
    schema_version = fields.Integer()
    server_time = fields.DateTime()
    limits = fields.Nested(SyncLimitsSchema)
    tombstone_retention_days = fields.Integer()


class MutationSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Made by the device; the contact record's id"})
    seq = fields.Integer(required=True, metadata={"description": "Increasing per device storage"})
    type = fields.String(required=True, metadata={"enum": ["contact", "contact_correction", "contact_retraction",
                                                           "elector_update", "elector_new"]})
    occurred_at = fields.DateTime(required=True, metadata={"description": "Device clock, with zone"})
    base_version = fields.Integer(allow_none=True, metadata={"description": "Elector version the device last saw"})
    data = fields.Dict(required=True)


class PushRequestSchema(Schema):
    device_id = fields.UUID(required=True)
    storage_id = fields.UUID(required=True, metadata={"description": "New whenever the app's storage was wiped"})
    protocol_version = fields.Integer(required=True)
    schema_version = fields.Integer(required=True)
    device_time = fields.DateTime(allow_none=True, metadata={"description": "The device clock at push time"})
    mutations = fields.List(fields.Nested(MutationSchema), required=True)


class MutationResultSchema(Schema):
    id = fields.String()
    seq = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": ["applied", "duplicate", "id_reused", "conflict", "rejected",
                                              "forbidden", "suppressed"]})
    details = fields.Raw()


class ClockSchema(Schema):
    offset_seconds = fields.Float()
    skewed = fields.Boolean()


class PushResponseSchema(Schema):
    server_time = fields.DateTime()
    results = fields.List(fields.Nested(MutationResultSchema))
    last_seq = fields.Integer()
    clock = fields.Nested(ClockSchema)


class PullArgsSchema(StrictSchema):
    storage_id = fields.UUID(required=True)
    cursor = fields.String(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1))


class ChangeSchema(Schema):
    entity = fields.String(metadata={"enum": ["campaign", "assignment", "property", "elector"]})
    id = fields.Integer()
    op = fields.String(metadata={"enum": ["upsert", "delete"]})
    version = fields.Integer()
    reason = fields.String(metadata={"enum": ["out_of_scope", "suppressed", "erased"]})
    data = fields.Dict()


class PullResponseSchema(Schema):
    server_time = fields.DateTime()
    changes = fields.List(fields.Nested(ChangeSchema))
    cursor = fields.String(allow_none=True)
    has_more = fields.Boolean()
    wipe = fields.Boolean()
    reset_required = fields.Boolean()
    reason = fields.String()


# ---------------------------------------------------------------------------------------------- review

class ReviewItemSchema(Schema):
    id = fields.Integer(dump_only=True)
    constituency_id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    elector_id = fields.Integer(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    data = fields.Raw(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    resolved_at = fields.DateTime(dump_only=True, allow_none=True)
    resolved_by_id = fields.Integer(dump_only=True, allow_none=True)
    resolution = fields.Raw(dump_only=True, allow_none=True)


class ReviewArgsSchema(PageArgsSchema):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "resolved", "all"]))
    kind = fields.String(load_default=None, validate=validate.OneOf(["intention_conflict", "field_conflict",
                                                                      "new_elector"]))


ReviewPageSchema = page_envelope(ReviewItemSchema, "ReviewItemPage")


class ResolveSchema(StrictSchema):
    choice = fields.String(required=True, validate=validate.OneOf(["first", "second", "value", "accept", "dismiss"]),
                           metadata={"description": "Keep the first or second side, enter a value, or (for a "
                                                    "person not on the register) accept or dismiss"})
    intention = fields.String(load_default=None, validate=validate.Length(max=32))
    strength = fields.String(load_default=None, validate=validate.Length(max=32))
    value = fields.String(load_default=None, validate=validate.Length(max=64))
    note = fields.String(load_default=None, validate=validate.Length(max=1000))
