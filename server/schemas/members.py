"""Members for the membership secretary: new members, their export, welcome calls, and the access log."""
from __future__ import annotations

from marshmallow import fields, validate

from server.schemas import PLAUSIBLE_TIME_PATTERN, Id, PageArgsSchema, Schema, StrictSchema, Text, page_envelope
from server.schemas.admin import Day, Ids, When
from server.services.lists import MAX_LIST_SIZE

PURPOSE = dict(required=True, validate=validate.Length(min=3, max=200),
               metadata={"description": "Why you need these members' details, e.g. 'Welcoming new members'. "
                                        "Recorded in the audit log with the members shown."})


class NewMembersArgsSchema(PageArgsSchema):
    # In a query the day's years are also stated as a pattern (alone, it leaves a fuzzer plenty to try).
    since = Day(required=True, metadata={"description": "Members who joined on or after this day",
                                         "pattern": PLAUSIBLE_TIME_PATTERN})
    purpose = Text(**PURPOSE)
    constituency_id = Id(load_default=None, metadata={"description": "National admins: the CLP"})


class MemberExportSchema(StrictSchema):
    since = Day(required=True)
    purpose = Text(**PURPOSE)
    constituency_id = Id(load_default=None, metadata={"description": "National admins: the CLP"})


class MemberConsentSchema(Schema):
    email = fields.Boolean()
    phone = fields.Boolean()
    post = fields.Boolean()


class MemberSchema(Schema):
    id = fields.Integer()
    membership_number = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    joined_on = fields.Date()
    status = fields.String()
    consent = fields.Nested(MemberConsentSchema)
    objected = fields.List(fields.String(), metadata={"description": "Channels they asked not to be contacted on"})
    email = fields.String(allow_none=True, metadata={"description": "Only with consent to email contact"})
    phone = fields.String(allow_none=True, metadata={"description": "Only with consent to phone contact"})
    address_lines = fields.List(fields.String(), allow_none=True,
                                metadata={"description": "Only with consent to contact by post"})
    postcode = fields.String(allow_none=True, metadata={"description": "Only with consent to contact by post"})


class NewMembersSchema(page_envelope(MemberSchema, "MemberPage")):
    constituency_id = fields.Integer(allow_none=True, metadata={"description": "None: every CLP in your scope"})
    constituency = fields.String(metadata={"description": "The CLP's name, or 'the CLPs in your scope'"})
    since = fields.Date()
    can_phone = fields.Integer(metadata={"description": "Of all the new members: phone number and consent to calls"})
    can_email = fields.Integer(metadata={"description": "Of all the new members: email and consent to email"})


class CallerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    constituency_id = fields.Integer()


class CallerArgsSchema(StrictSchema):
    constituency_id = Id(load_default=None, metadata={"description": "National admins: the CLP"})


class WelcomeListSchema(StrictSchema):
    since = Day(required=True, metadata={"description": "Members who joined on or after this day"})
    campaign_id = Id(required=True)
    constituency_id = Id(load_default=None, metadata={"description": "National admins: the CLP"})
    ends_at = When(required=True)
    assignee_ids = Ids(50, load_default=list, metadata={"description": "The phone bankers who will call"})
    size = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_LIST_SIZE))
    name = Text(load_default=None, validate=validate.Length(max=120))


class AccessLogArgsSchema(PageArgsSchema):
    constituency_id = Id(load_default=None)
    membership_number = Text(load_default=None, validate=validate.Length(min=1, max=16))


class AccessActorSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()


class AccessEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    action = fields.String()
    described = fields.String(metadata={"description": "The action in words"})
    actor = fields.Nested(AccessActorSchema, allow_none=True)
    constituency = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    members = fields.Integer(metadata={"description": "How many members' data it touched"})
    membership_numbers = fields.List(fields.String(), metadata={"description": "Whose: numbers only, never names"})


AccessLogPageSchema = page_envelope(AccessEntrySchema, "MemberAccessPage")


class NoticeSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "new_members, grant_ending, access_change"})
    text = fields.String()
    link = fields.String(allow_none=True, metadata={"description": "Where in the app it leads, e.g. #/admin/members"})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
