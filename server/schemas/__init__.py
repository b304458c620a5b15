"""Every request and response shape, in one place. ``dump_only``/``load_only`` are the read/write whitelist.

The OpenAPI document is generated from these; nothing about the API's shape is written twice.
"""
from __future__ import annotations

from flask import current_app, has_app_context
from marshmallow import Schema, fields, validate

from server.models import Role
from sync import SUPPORTED_PROTOCOL_VERSIONS
from sync.rules import MAX_BIGINT, MAX_ID, UNSTORABLE_TEXT, unstorable

# sync.rules.unstorable for the OpenAPI document: no NUL. (An unpaired surrogate is refused too, but it is not
# a Unicode character at all, so no JSON Schema pattern can name it.)
STORABLE_PATTERN = r"^[^\u0000]*$"
# Times the server can hold and correct: years 1900 to 2999 (sync.protocol.EARLIEST and LATEST).
PLAUSIBLE_TIME_PATTERN = r"^(19|2[0-9])[0-9]{2}-"


class Text(fields.String):
    """Text a database can store: every string a request carries goes through this, so a NUL or an
    unpaired surrogate is a 422 on its field, never a database error."""

    default_error_messages = {"unstorable": UNSTORABLE_TEXT}

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"pattern": STORABLE_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if unstorable(text):
            raise self.make_error("unstorable")
        return text


def Id(**kwargs) -> fields.Integer:
    """An id of a server entity: a whole number the database's id columns can hold."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class _ConfiguredMax:
    """A maximum that is a setting: read when a request is validated and when the OpenAPI document is
    built, so the document states the limit the server enforces."""

    def _configured(self, max_setting: str, fallback: int) -> None:
        self.max_setting, self.fallback = max_setting, fallback

    @property
    def max(self) -> int:
        return current_app.config[self.max_setting] if has_app_context() else self.fallback

    @max.setter
    def max(self, _value) -> None:  # the validator's __init__ assigns it; the setting decides
        pass


class ConfiguredRange(_ConfiguredMax, validate.Range):
    def __init__(self, min: int, max_setting: str, fallback: int):
        self._configured(max_setting, fallback)
        super().__init__(min=min, max=fallback)


class ConfiguredLength(_ConfiguredMax, validate.Length):
    def __init__(self, max_setting: str, fallback: int):
        self._configured(max_setting, fallback)
        super().__init__(max=fallback)


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

class PageArgsSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_ID))
    per_page = fields.Integer(load_default=None, validate=ConfiguredRange(1, "API_MAX_PAGE_SIZE", 500),
                              metadata={"description": "Default API_DEFAULT_PAGE_SIZE (50)"})


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
    email = Text(required=True, load_only=True, validate=validate.Length(min=3, max=254))
    password = Text(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    device_name = Text(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=120),
        metadata={"description": "A name the user will recognise in their device list, e.g. 'Sam's phone'"},
    )


class ScopeSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "nation, region or constituency"})
    region_id = fields.Integer(allow_none=True)
    constituency_id = fields.Integer(allow_none=True)


class GrantHeldSchema(Schema):
    id = fields.Integer()
    role = fields.Enum(Role, by_value=True)
    constituency_id = fields.Integer()
    constituency_name = fields.String()
    ends_at = fields.DateTime()


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.Enum(Role, by_value=True, dump_only=True)
    scope = fields.Nested(ScopeSchema, dump_only=True)
    permissions = fields.List(fields.String(), dump_only=True)
    grants = fields.List(fields.Nested(GrantHeldSchema), dump_only=True, metadata={
        "description": "Roles held for a while (docs/access.md), whose permissions are in permissions"})


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


class RevokeSchema(StrictSchema):
    reason = Text(load_default=None, validate=validate.OneOf(["access_withdrawn", "lost"]), metadata={
        "description": "access_withdrawn (default for another's device): what it holds may still be delivered, "
                       "held for review. lost: nothing from it is accepted. One's own device defaults to a "
                       "logout (its token is dead)."})


class DeviceListArgsSchema(StrictSchema):
    user_id = Id(load_default=None)
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
    region_id = Id(load_default=None)


class WardArgsSchema(StrictSchema):
    constituency_id = Id(load_default=None)


class PollingDistrictArgsSchema(StrictSchema):
    ward_id = Id(load_default=None)
    constituency_id = Id(load_default=None)


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
    polling_district_id = Id(load_default=None)
    street = Text(load_default=None, validate=validate.Length(min=1, max=120))
    name = Text(load_default=None, validate=validate.Length(min=1, max=120))
    postcode = Text(load_default=None, validate=validate.Length(min=2, max=10))
    include_removed = fields.Boolean(load_default=False)


ElectorPageSchema = page_envelope(ElectorSchema, "ElectorPage")


# ---------------------------------------------------------------------------------------------- campaigns

class CampaignCodeSchema(Schema):
    code = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    meaning = fields.String(dump_only=True, attribute="meaning.value", allow_none=True)
    channels = fields.List(fields.String(), dump_only=True)
    colour = fields.String(dump_only=True, allow_none=True)
    position = fields.Integer(dump_only=True)
    retired = fields.Function(lambda c: c.retired_at is not None, dump_only=True,
                              metadata={"description": "No longer offered for new records; old ones keep it"})


class SurveyQuestionSchema(Schema):
    key = fields.String(dump_only=True)
    text = fields.String(dump_only=True)
    kind = fields.String(dump_only=True, attribute="kind.value")
    options = fields.Raw(dump_only=True, allow_none=True)
    position = fields.Integer(dump_only=True)
    retired = fields.Function(lambda q: q.retired_at is not None, dump_only=True,
                              metadata={"description": "No longer asked; answers already given are kept"})


class CampaignSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.String(dump_only=True, attribute="kind.value")
    starts_on = fields.Date(dump_only=True)
    ends_on = fields.Date(dump_only=True)
    constituency_id = fields.Integer(dump_only=True, allow_none=True)
    call_script = fields.String(dump_only=True, allow_none=True)
    version = fields.Integer(dump_only=True, metadata={"description": "Bumped by every edit"})
    outcomes = fields.Method("_outcomes", dump_only=True)
    intentions = fields.Method("_intentions", dump_only=True)
    strengths = fields.Method("_strengths", dump_only=True)
    questions = fields.List(fields.Nested(SurveyQuestionSchema), dump_only=True)
    milestones = fields.Method("_milestones", dump_only=True, metadata={
        "description": 'The milestones it celebrates, {"calls": [...], "doors": [...]}: its own, else the defaults'})

    def _milestones(self, campaign):
        from server.services.recognition import thresholds  # services import these schemas' neighbours

        return thresholds(campaign)

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
    action = Text(load_default=None, validate=validate.Length(min=1, max=64))
    actor_user_id = Id(load_default=None)


AuditPageSchema = page_envelope(AuditEventSchema, "AuditEventPage")


# ---------------------------------------------------------------------------------------------- meta

class HealthSchema(Schema):
    status = fields.String(dump_only=True)
    database = fields.String(dump_only=True)
    scheduler = fields.String(dump_only=True, metadata={
        "description": "running, stopped, never_started, or unknown when the database is unreachable"})
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
    seq = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_BIGINT),
                         metadata={"description": "Increasing per device storage"})
    type = fields.String(required=True, validate=validate.OneOf(["contact", "contact_correction",
                                                                  "contact_retraction", "elector_update",
                                                                  "elector_new"]))
    occurred_at = fields.DateTime(required=True, metadata={"description": "Device clock, with zone, 1900 to 2999",
                                                           "pattern": PLAUSIBLE_TIME_PATTERN})
    base_version = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID),
                                  metadata={"description": "Elector version the device last saw"})
    data = fields.Dict(required=True, metadata={"description": "By type: docs/sync-protocol.md §7.3"})


class OutboxReportSchema(Schema):
    unsent = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_ID),
                            metadata={"description": "Records the app holds undelivered (pending or refused), "
                                                     "besides the mutations in this push"})
    oldest_at = fields.DateTime(allow_none=True, metadata={
        "description": "Device clock: when the oldest of them was made; null when unsent is 0",
        "pattern": PLAUSIBLE_TIME_PATTERN})
    app_version = fields.String(allow_none=True, validate=validate.Length(min=1, max=32))


class PushRequestSchema(Schema):
    device_id = fields.UUID(required=True)
    storage_id = fields.UUID(required=True, metadata={"description": "New whenever the app's storage was wiped"})
    protocol_version = fields.Integer(required=True, validate=validate.OneOf(sorted(SUPPORTED_PROTOCOL_VERSIONS)))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    device_time = fields.DateTime(allow_none=True, metadata={"description": "The device clock at push time",
                                                             "pattern": PLAUSIBLE_TIME_PATTERN})
    # Each mutation is judged on its own and answered in ``results`` (a malformed one is ``rejected`` there,
    # not the request), so the request accepts any item; MutationSchema describes a well-formed one.
    mutations = fields.List(fields.Raw(metadata={"description": "A Mutation (see components.schemas.Mutation)"}),
                            required=True, validate=ConfiguredLength("SYNC_MAX_MUTATIONS", 500))
    outbox = fields.Nested(OutboxReportSchema, allow_none=True, metadata={
        "description": "Optional: the app's outbox, for sync health (docs/sync-protocol.md 7.11)"})


class MutationResultSchema(Schema):
    id = fields.String(allow_none=True)
    seq = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": ["applied", "duplicate", "id_reused", "conflict", "rejected",
                                              "forbidden", "suppressed", "held"]})
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
    cursor = Text(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID),
                           metadata={"description": "Changes per page; more than max_page_size is served as "
                                                    "max_page_size"})


class ChangeSchema(Schema):
    entity = fields.String(metadata={"enum": ["campaign", "assignment", "property", "elector", "member", "activity"]})
    id = fields.Integer()
    op = fields.String(metadata={"enum": ["upsert", "delete"]})
    version = fields.Integer()
    reason = fields.String(metadata={"enum": ["out_of_scope", "suppressed", "erased"]})
    data = fields.Dict()


class PullResponseSchema(Schema):
    """The pull's answer, for the OpenAPI document. ``dump_pull`` writes it: dumping a page of 1,000 changes
    through this schema took close to half of the request for a download's later page."""
    server_time = fields.DateTime()
    changes = fields.List(fields.Nested(ChangeSchema))
    cursor = fields.String(allow_none=True)
    has_more = fields.Boolean()
    wipe = fields.Boolean()
    reset_required = fields.Boolean()
    reason = fields.String()


_PULL_FIELDS = tuple(PullResponseSchema._declared_fields)


def dump_pull(result: dict) -> dict:
    """``PullResponseSchema().dump(result)`` for the sync engine's pull result, without marshmallow.

    The engine (sync/engine.py) builds each change as plain JSON data (str, int, and ``data`` of JSON values
    and ISO times), with ChangeSchema's keys in its order, so the changes go out as they are, not copied;
    only ``server_time`` needs formatting. tests/server/test_sync_pull_body.py holds this to the schema's
    bytes, page by page, for every kind of answer (pages, deletes, activity, members, wipe, reset)."""
    body = {name: result[name] for name in _PULL_FIELDS if name in result}
    if body.get("server_time") is not None:
        body["server_time"] = body["server_time"].isoformat()
    return body


def dump_push(result: dict) -> dict:
    """``PushResponseSchema().dump(result)`` for the sync engine's push result, without marshmallow (up to 500
    nested dumps a push, a few per cent of its time). The engine builds each result with MutationResultSchema's
    keys in its order (``Result.to_dict``) and the clock as ClockSchema's; only ``server_time`` needs
    formatting. tests/server/test_sync_push_body.py holds this to the schema's bytes for every status."""
    return {"server_time": result["server_time"].isoformat(), "results": result["results"],
            "last_seq": result["last_seq"], "clock": result["clock"]}


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
    status = Text(load_default="open", validate=validate.OneOf(["open", "resolved", "all"]))
    kind = Text(load_default=None, validate=validate.OneOf(["intention_conflict", "field_conflict",
                                                              "new_elector", "held_delivery",
                                                              "presence_report"]))


ReviewPageSchema = page_envelope(ReviewItemSchema, "ReviewItemPage")


class ResolveSchema(StrictSchema):
    choice = Text(required=True, validate=validate.OneOf(["first", "second", "value", "accept", "dismiss",
                                                          "reject"]),
                  metadata={"description": "Keep the first or second side, or enter a value (conflicts); accept or "
                                           "dismiss (a person not on the register, or reported moved or "
                                           "deceased); accept or reject (records delivered after access ended)"})
    intention = Text(load_default=None, validate=validate.Length(max=32))
    strength = Text(load_default=None, validate=validate.Length(max=32))
    value = Text(load_default=None, validate=validate.Length(max=64))
    note = Text(load_default=None, validate=validate.Length(max=1000))
    mutation_ids = fields.List(fields.UUID(), load_default=None, validate=validate.Length(min=1, max=500),
                               metadata={"description": "For a held delivery: decide only these records "
                                                        "(default: every record not yet decided)"})
