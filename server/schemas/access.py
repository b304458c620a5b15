"""Changes to a CLP's access, and time-limited roles (docs/access.md)."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from server.models import CLP_ROLES, AccessChangeKind, Role
from server.schemas import Id, PageArgsSchema, Schema, StrictSchema, Text, page_envelope
from server.schemas.admin import When

CHANGE_STATUSES = ("scheduled", "in_effect", "past", "cancelled")
GRANT_STATUSES = ("active", "ended", "revoked")


# ---------------------------------------------------------------------------------------------- access changes

class AccessChangeCreateSchema(StrictSchema):
    constituency_id = Id(required=True)
    kind = Text(required=True, validate=validate.OneOf([k.value for k in AccessChangeKind]))
    effective_at = When(load_default=None, metadata={
        "description": "suspend only: when the suspension starts, in the future. Leave it out to suspend at "
                       "once (the reason is shown to the CLP's people straight away). A restore is always at once."})
    reason = Text(required=True, validate=validate.Length(min=1, max=1000), metadata={
        "description": "Shown to the CLP's admins and volunteers, e.g. 'Data protection training not completed'"})


class CancelAccessChangeSchema(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=1000),
                  metadata={"description": "Shown to the CLP's people, e.g. 'Training completed on 1 December'"})


class AccessChangeArgsSchema(PageArgsSchema):
    constituency_id = Id(load_default=None)
    include_cancelled = fields.Boolean(load_default=True)


class AccessChangeSchema(Schema):
    id = fields.Integer(attribute="change.id")
    constituency_id = fields.Integer(attribute="change.constituency_id")
    constituency_name = fields.String()
    kind = fields.Enum(AccessChangeKind, by_value=True, attribute="change.kind")
    effective_at = fields.DateTime(attribute="change.effective_at")
    reason = fields.String(attribute="change.reason")
    status = fields.String(metadata={"description": "scheduled (not yet in effect), in_effect (decides the CLP's "
                                                    "access now), past, or cancelled", "enum": list(CHANGE_STATUSES)})
    created_by_role = fields.String(allow_none=True, metadata={"description": "The role of who made it, not a name"})
    created_at = fields.DateTime(attribute="change.created_at")
    cancelled_at = fields.DateTime(attribute="change.cancelled_at", allow_none=True)
    cancel_reason = fields.String(attribute="change.cancel_reason", allow_none=True)


class UpcomingSuspensionSchema(Schema):
    change_id = fields.Integer()
    effective_at = fields.DateTime()
    reason = fields.String()


class ClpAccessSchema(Schema):
    constituency_id = fields.Integer()
    constituency_name = fields.String()
    access = fields.String(metadata={"enum": ["normal", "suspended"]})
    suspended_since = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    change_id = fields.Integer(allow_none=True, metadata={"description": "The suspension in effect"})
    upcoming = fields.Nested(UpcomingSuspensionSchema, allow_none=True,
                             metadata={"description": "A suspension scheduled and not yet in effect"})


class AccessChangePageSchema(Schema):
    items = fields.List(fields.Nested(AccessChangeSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)
    clps = fields.List(fields.Nested(ClpAccessSchema), required=True, metadata={
        "description": "The CLPs in scope suspended now or with a suspension scheduled (with constituency_id: "
                       "that CLP, whatever its state)"})


class MyAccessSchema(Schema):
    constituency_id = fields.Integer(allow_none=True)
    constituency_name = fields.String(allow_none=True)
    access = fields.String(metadata={"enum": ["normal", "suspended"]})
    suspended_since = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    changes = fields.List(fields.Nested(AccessChangeSchema), metadata={
        "description": "The suspension in effect (or a restore of the last week), then those scheduled: show a "
                       "warning from the moment one is scheduled"})


# ---------------------------------------------------------------------------------------------- role grants

class RoleGrantCreateSchema(StrictSchema):
    user_id = Id(load_default=None, metadata={"description": "An account of the CLP (or give its email)"})
    email = Text(load_default=None, validate=validate.Length(min=3, max=254),
                 metadata={"description": "The login email of an account of the CLP (or give user_id)"})
    constituency_id = Id(required=True, metadata={"description": "The CLP; it must be the account's own"})
    role = Text(load_default=Role.MEMBERSHIP_SECRETARY.value, validate=validate.OneOf([r.value for r in CLP_ROLES]))
    ends_at = When(required=True, metadata={"description": "In the future, within a year"})
    reason = Text(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _one_person(self, data, **_):
        if (data["user_id"] is None) == (data["email"] is None):
            raise ValidationError("Name the person by user_id or by email (one of the two).", "email")


class RevokeGrantSchema(StrictSchema):
    reason = Text(load_default=None, validate=validate.Length(max=500))


class RoleGrantArgsSchema(PageArgsSchema):
    constituency_id = Id(load_default=None)
    user_id = Id(load_default=None)
    active = fields.Boolean(load_default=None, allow_none=True,
                            metadata={"description": "true: in force now; false: ended or revoked; omit: all"})


class RoleGrantSchema(Schema):
    id = fields.Integer(attribute="grant.id")
    user_id = fields.Integer(attribute="grant.user_id")
    user_name = fields.String()
    constituency_id = fields.Integer(attribute="grant.constituency_id")
    constituency_name = fields.String()
    role = fields.Enum(Role, by_value=True, attribute="grant.role")
    starts_at = fields.DateTime(attribute="grant.starts_at")
    ends_at = fields.DateTime(attribute="grant.ends_at")
    reason = fields.String(attribute="grant.reason")
    status = fields.String(metadata={"enum": list(GRANT_STATUSES)})
    granted_by_role = fields.String(allow_none=True)
    created_at = fields.DateTime(attribute="grant.created_at")
    warned_at = fields.DateTime(attribute="grant.warned_at", allow_none=True)
    lapsed_at = fields.DateTime(attribute="grant.lapsed_at", allow_none=True)
    revoked_at = fields.DateTime(attribute="grant.revoked_at", allow_none=True)


RoleGrantPageSchema = page_envelope(RoleGrantSchema, "RoleGrantPage")
