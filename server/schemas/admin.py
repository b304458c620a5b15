"""The CLP admin's console: lists, campaign edits, volunteers and do-not-contact."""
from __future__ import annotations

from datetime import date, datetime, timezone

from marshmallow import ValidationError, fields, validate, validates_schema

from server.models import CodeSet, OutcomeMeaning, QuestionKind, Role, SuppressionChannel
from server.schemas import PLAUSIBLE_TIME_PATTERN, Id, PageArgsSchema, Schema, StrictSchema, Text, page_envelope
from server.services.lists import MAX_LIST_SIZE
from server.services.suppressions import RECEIVED_BY

EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=timezone.utc), datetime(2999, 12, 31, tzinfo=timezone.utc)


def When(**kwargs) -> fields.AwareDateTime:
    """A moment with its zone (UTC if none is given), within the years the server can hold."""
    kwargs["metadata"] = {"pattern": PLAUSIBLE_TIME_PATTERN, **kwargs.get("metadata", {})}
    return fields.AwareDateTime(default_timezone=timezone.utc, validate=validate.Range(min=EARLIEST, max=LATEST),
                                **kwargs)


def Day(**kwargs) -> fields.Date:
    """A calendar day within the years the server can hold.

    The range is said in words, not as a pattern: a pattern on top of the date format leaves a fuzzer almost
    nothing to try once a body has two days in it.
    """
    description = kwargs.get("metadata", {}).get("description")
    kwargs["metadata"] = {**kwargs.get("metadata", {}),
                          "description": " ".join(filter(None, [description, "A day from 1900-01-01 to 2999-12-31."]))}
    return fields.Date(validate=validate.Range(min=date(1900, 1, 1), max=date(2999, 12, 31)), **kwargs)


def Matching(regex: str, error: str, **kwargs) -> Text:
    """Text that must match ``regex``, which the OpenAPI document states as its pattern."""
    kwargs["metadata"] = {"pattern": regex, **kwargs.get("metadata", {})}
    return Text(validate=validate.Regexp(regex, error=error), **kwargs)


class Flag(fields.Boolean):
    """A JSON true or false, and nothing else (not 0, 1 or "yes")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def Ids(max_items: int, **kwargs) -> fields.List:
    return fields.List(Id(), validate=validate.Length(max=max_items), **kwargs)


# ---------------------------------------------------------------------------------------------- lists

class StreetChoiceSchema(StrictSchema):
    polling_district_id = Id(required=True)
    street = Text(required=True, validate=validate.Length(min=1, max=120))


class WalkPlanSchema(StrictSchema):
    campaign_id = Id(required=True)
    polling_district_ids = Ids(200, load_default=list)
    ward_id = Id(load_default=None)
    streets = fields.List(fields.Nested(StreetChoiceSchema), load_default=list, validate=validate.Length(max=500),
                          metadata={"description": "Just these streets (each in its polling district)"})
    size = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_LIST_SIZE),
                          metadata={"description": "About how many households (or electors) each list holds"})
    split_by = Text(load_default="households", validate=validate.OneOf(["households", "electors"]))
    name = Text(load_default=None, validate=validate.Length(max=120),
                metadata={"description": "Lists are named by their streets, after this if given"})


def SessionAt(**kwargs) -> fields.AwareDateTime:
    """When a list's session begins: a moment with its zone (UK time is what people mean, so no default)."""
    return fields.AwareDateTime(validate=validate.Range(min=EARLIEST, max=LATEST), allow_none=True, metadata={
        "pattern": PLAUSIBLE_TIME_PATTERN,
        "description": "When the phone bank or canvass session begins, with its offset (2026-12-03T18:30:00+00:00); "
                       "volunteers are reminded before it. Within the list's dates, not in the past."}, **kwargs)


def MeetingPlace(**kwargs) -> Text:
    return Text(allow_none=True, validate=validate.Length(max=200),
                metadata={"description": "Where the session meets (a hall, a street corner); empty for none"},
                **kwargs)


class ListDatesMixin:
    starts_at = When(load_default=None, metadata={"description": "Default: now"})
    ends_at = When(required=True)
    assignee_ids = Ids(50, load_default=list)
    session_at = SessionAt(load_default=None)
    meeting_place = MeetingPlace(load_default=None)


class WalkListCreateSchema(ListDatesMixin, WalkPlanSchema):
    pass


class CallPlanSchema(StrictSchema):
    campaign_id = Id(required=True)
    source = Text(required=True, validate=validate.OneOf(["electors", "members"]),
                  metadata={"description": "electors with a phone number, or members who agreed to calls"})
    constituency_id = Id(load_default=None, metadata={"description": "National admins: the CLP"})
    polling_district_ids = Ids(200, load_default=list)
    ward_id = Id(load_default=None)
    intentions = fields.List(Text(validate=validate.Length(min=1, max=32)), load_default=list,
                             validate=validate.Length(max=30),
                             metadata={"description": "Only electors whose last known intention is one of these"})
    not_contacted_since = Day(load_default=None)
    joined_since = Day(load_default=None, metadata={"description": "Members only"})
    size = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_LIST_SIZE))
    name = Text(load_default=None, validate=validate.Length(max=120))

    @validates_schema
    def _by_source(self, data, **_):
        if data["source"] == "members" and (data["polling_district_ids"] or data["ward_id"] or data["intentions"]
                                            or data["not_contacted_since"]):
            raise ValidationError("Members are chosen by when they joined, not by area or intention.", "source")
        if data["source"] == "electors" and data["joined_since"]:
            raise ValidationError("joined_since is for members.", "joined_since")


class CallListCreateSchema(ListDatesMixin, CallPlanSchema):
    pass


class PlannedListSchema(Schema):
    name = fields.String()
    households = fields.Integer(metadata={"description": "Addresses (walk lists)"})
    electors = fields.Integer(metadata={"description": "Electors (walk) or people to call"})
    streets = fields.List(fields.String())


class ListPlanSchema(Schema):
    lists = fields.List(fields.Nested(PlannedListSchema))
    households = fields.Integer()
    electors = fields.Integer()


class AssigneeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()


class ListSchema(Schema):
    id = fields.Integer(attribute="assignment.id")
    name = fields.String(attribute="assignment.name")
    kind = fields.String(attribute="assignment.kind.value")
    campaign_id = fields.Integer(attribute="assignment.campaign_id")
    constituency_id = fields.Integer(attribute="assignment.constituency_id")
    starts_at = fields.DateTime(attribute="assignment.starts_at")
    ends_at = fields.DateTime(attribute="assignment.ends_at")
    session_at = fields.DateTime(attribute="assignment.session_at", allow_none=True,
                                 metadata={"description": "When its session begins, if one is set"})
    meeting_place = fields.String(attribute="assignment.meeting_place", allow_none=True)
    created_at = fields.DateTime(attribute="assignment.created_at")
    households = fields.Integer(metadata={"description": "Addresses (walk) or people (call) on the list"})
    electors = fields.Integer()
    reached = fields.Integer(metadata={"description": "Doors knocked (walk) or people called (call) since it began"})
    spoke = fields.Integer(metadata={"description": "Electors spoken to since it began"})
    contact_rate = fields.Float(allow_none=True, metadata={"description": "spoke / electors"})
    assignees = fields.List(fields.Nested(AssigneeSchema))


class ListArgsSchema(StrictSchema):
    campaign_id = Id(load_default=None)
    include_ended = fields.Boolean(load_default=False)


class ListUpdateSchema(StrictSchema):
    name = Text(load_default=None, validate=validate.Length(min=1, max=160))
    starts_at = When(load_default=None)
    ends_at = When(load_default=None)
    # Left out: unchanged; null (or an empty meeting_place): cleared.
    session_at = SessionAt()
    meeting_place = MeetingPlace()


class AssigneesSchema(StrictSchema):
    user_ids = Ids(50, required=True, metadata={"description": "Exactly who holds the list; [] takes it from all"})


class StreetArgsSchema(StrictSchema):
    polling_district_id = Id(load_default=None)
    ward_id = Id(load_default=None)


class StreetSchema(Schema):
    polling_district_id = fields.Integer()
    street = fields.String()
    addresses = fields.Integer()
    electors = fields.Integer()


# ---------------------------------------------------------------------------------------------- campaigns

CODE = (r"^[A-Za-z0-9_]{1,32}$", "Letters, digits and _ only, up to 32.")
KEY = (r"^[a-z0-9_]{1,48}$", "Lower-case letters, digits and _ only, up to 48.")
COLOUR = (r"^#[0-9A-Fa-f]{6}$", "A colour like #E4003B.")
CHANNELS = fields.List(Text(validate=validate.OneOf(["door", "phone"])), validate=validate.Length(max=2),
                       load_default=None)


class LocalDriveSchema(StrictSchema):
    name = Text(required=True, validate=validate.Length(min=1, max=160))
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    based_on_id = Id(required=True, metadata={"description": "Copy the codes, questions and script of this campaign"})
    constituency_id = Id(load_default=None, metadata={"description": "National admins: the CLP"})


class CampaignUpdateSchema(StrictSchema):
    name = Text(validate=validate.Length(min=1, max=160))
    starts_on = Day()
    ends_on = Day()
    call_script = Text(allow_none=True, validate=validate.Length(max=20000))
    milestones = fields.Dict(keys=Text(), values=fields.List(fields.Integer(strict=True)), allow_none=True,
                             metadata={"description": 'Milestones celebrated, {"calls": [250, 500, ...], "doors": '
                                                      '[...]}: each ascending, 1 to 1,000,000, at most 20; a measure '
                                                      "left out keeps its defaults; null: the defaults "
                                                      "(docs/recognition.md)"})


class CodeCreateSchema(StrictSchema):
    code_set = Text(required=True, validate=validate.OneOf([s.value for s in CodeSet]))
    code = Matching(*CODE, required=True)
    label = Text(required=True, validate=validate.Length(min=1, max=120))
    meaning = Text(load_default=None, validate=validate.OneOf([m.value for m in OutcomeMeaning]))
    channels = CHANNELS
    colour = Matching(*COLOUR, load_default=None)


class CodeUpdateSchema(StrictSchema):
    label = Text(load_default=None, validate=validate.Length(min=1, max=120))
    channels = CHANNELS
    colour = Matching(*COLOUR, load_default=None)
    position = fields.Integer(load_default=None, validate=validate.Range(min=0, max=1000))
    retired = Flag(load_default=None, metadata={"description": "true: no longer offered; false: restore"})


class OptionSchema(StrictSchema):
    code = Matching(*KEY, required=True)
    label = Text(required=True, validate=validate.Length(min=1, max=120))


class ScaleSchema(StrictSchema):
    min = fields.Integer(required=True, validate=validate.Range(min=-1000, max=1000))
    max = fields.Integer(required=True, validate=validate.Range(min=-1000, max=1000))


class OptionsField(fields.Field):
    """A choice question's options (a list), or a scale's range (an object)."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"oneOf": [
            {"type": "array", "minItems": 2, "maxItems": 50, "items": {"$ref": "#/components/schemas/Option"}},
            {"$ref": "#/components/schemas/Scale"}], **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list):
            if not 2 <= len(value) <= 50:
                raise ValidationError("From 2 to 50 options.")
            return OptionSchema(many=True).load(value)
        if isinstance(value, dict):
            return ScaleSchema().load(value)
        raise ValidationError("A list of {code, label} options, or {min, max} for a scale.")


class QuestionCreateSchema(StrictSchema):
    key = Matching(*KEY, required=True)
    text = Text(required=True, validate=validate.Length(min=1, max=400))
    kind = Text(required=True, validate=validate.OneOf([k.value for k in QuestionKind]))
    options = OptionsField(load_default=None, allow_none=True)


class QuestionUpdateSchema(StrictSchema):
    text = Text(load_default=None, validate=validate.Length(min=1, max=400))
    options = OptionsField(load_default=None, allow_none=True)
    position = fields.Integer(load_default=None, validate=validate.Range(min=0, max=1000))
    retired = Flag(load_default=None)


# ---------------------------------------------------------------------------------------------- volunteers

CLP_ROLE_VALUES = [Role.CANVASSER.value, Role.PHONE_BANKER.value, Role.CLP_ADMIN.value,
                   Role.MEMBERSHIP_SECRETARY.value]


class VolunteerSchema(Schema):
    id = fields.Integer()
    name = fields.String(attribute="user.name")
    email = fields.String(attribute="user.email")
    role = fields.String(attribute="user.role.value")
    constituency_id = fields.Integer(attribute="user.constituency_id")
    active = fields.Boolean(attribute="user.active")
    created_at = fields.DateTime(attribute="user.created_at")
    last_login_at = fields.DateTime(attribute="user.last_login_at", allow_none=True)
    devices = fields.Integer(metadata={"description": "Phones signed in now"})
    last_seen_at = fields.DateTime(allow_none=True)


class VolunteerArgsSchema(StrictSchema):
    constituency_id = Id(load_default=None)
    include_inactive = fields.Boolean(load_default=False)


class VolunteerCreateSchema(StrictSchema):
    email = Text(required=True, validate=validate.Length(min=3, max=254))
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    role = Text(required=True, validate=validate.OneOf(CLP_ROLE_VALUES))
    constituency_id = Id(load_default=None, metadata={"description": "National admins: the CLP"})


class NewPasswordSchema(Schema):
    volunteer = fields.Nested(VolunteerSchema)
    password = fields.String(metadata={"description": "Shown once: give it to the volunteer in person"})


class DeactivateSchema(StrictSchema):
    phones_lost = Flag(load_default=False, metadata={
        "description": "false: what their phones still hold may be delivered, held for review. true: their "
                       "phones are lost or stolen: nothing more is accepted and they wipe themselves."})


# ---------------------------------------------------------------------------------------------- do not contact

class SuppressionSchema(Schema):
    id = fields.Integer()
    elector_id = fields.Integer()
    name = fields.String()
    address = fields.String(allow_none=True)
    elector_number = fields.String()
    channel = fields.String()
    received_by = fields.String()
    reason = fields.String()
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    lifted_at = fields.DateTime(allow_none=True)
    lifted_by = fields.String(allow_none=True)


SuppressionPageSchema = page_envelope(SuppressionSchema, "SuppressionPage")


class SuppressionArgsSchema(PageArgsSchema):
    active = fields.Boolean(load_default=True)
    name = Text(load_default=None, validate=validate.Length(min=1, max=120))


class SuppressionCreateSchema(StrictSchema):
    elector_id = Id(required=True)
    channel = Text(load_default="all", validate=validate.OneOf([c.value for c in SuppressionChannel]))
    received_by = Text(required=True, validate=validate.OneOf(RECEIVED_BY))
    reason = Text(required=True, validate=validate.Length(min=1, max=1000),
                  metadata={"description": "What they asked, in a few words, e.g. 'Letter of 3 March: no canvassing'"})


class LiftSchema(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=1000),
                  metadata={"description": "Why, e.g. 'Emailed on 5 April asking to hear from us again'"})
