"""Recognition's shapes: a volunteer's counts and milestones, leaderboards, and the admin's list to thank from."""
from __future__ import annotations

from marshmallow import fields, validate

from server.schemas import Id, Schema, StrictSchema, Text
from server.schemas.activity import CampaignBriefSchema
from server.schemas.admin import Flag, When

MEASURE = {"enum": ["calls", "doors"]}


# ------------------------------------------------------------------------------------------ requests

class RecognitionArgsSchema(StrictSchema):
    since = When(load_default=None, metadata={
        "description": "When this session began: counts.session covers what you did since"})
    campaign_id = Id(load_default=None, metadata={
        "description": "Default: the campaign running today that you have done most in, else the latest"})


class CelebratedSchema(StrictSchema):
    milestone_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=100),
                                metadata={"description": "Your milestones the phone has just celebrated"})


class OptInSchema(StrictSchema):
    opt_in = Flag(required=True, metadata={"description": "true: show me on my CLP's leaderboard; false: hide me"})


class CampaignArgsSchema(StrictSchema):
    campaign_id = Id(load_default=None, metadata={"description": "Default: the campaign running today"})


class ThanksSchema(StrictSchema):
    message = Text(load_default=None, allow_none=True, validate=validate.Length(max=300),
                   metadata={"description": "A word of your own, sent to the volunteer with the thanks"})


# ------------------------------------------------------------------------------------------ responses

class CountsSchema(Schema):
    calls = fields.Integer(required=True)
    doors = fields.Integer(required=True)
    conversations = fields.Integer(required=True)


class PeriodCountsSchema(Schema):
    session = fields.Nested(CountsSchema, required=True, allow_none=True, metadata={
        "description": "Since `since` (null without it), from the records themselves"})
    week = fields.Nested(CountsSchema, required=True, metadata={"description": "This week (Monday UTC), every campaign"})
    campaign = fields.Nested(CountsSchema, required=True)
    total = fields.Nested(CountsSchema, required=True, metadata={"description": "Every campaign"})


class StepsSchema(Schema):
    calls = fields.List(fields.Integer(), required=True)
    doors = fields.List(fields.Integer(), required=True)


class NextSchema(Schema):
    calls = fields.Integer(required=True, allow_none=True)
    doors = fields.Integer(required=True, allow_none=True)


class ReachedSchema(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    measure = fields.String(required=True, metadata=MEASURE)
    threshold = fields.Integer(required=True)
    count = fields.Integer(required=True, metadata={"description": "The count when it was noticed"})
    reached_at = fields.DateTime(required=True)
    celebrated_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "When your phone showed it; null: not yet shown"})


class RecognitionSchema(Schema):
    as_of = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "When the counts were worked out: the rollups, plus what arrived since they were kept"})
    campaign = fields.Nested(CampaignBriefSchema, required=True, allow_none=True)
    counts = fields.Nested(PeriodCountsSchema, required=True)
    milestones = fields.Nested(StepsSchema, required=True, metadata={"description": "This campaign's milestones"})
    next = fields.Nested(NextSchema, required=True, metadata={"description": "The next milestone; null: none left"})
    reached = fields.List(fields.Nested(ReachedSchema), required=True, metadata={
        "description": "This campaign's milestones you have reached, and any not yet celebrated in others"})
    leaderboard_opt_in = fields.Boolean(required=True)


class OptInStateSchema(Schema):
    leaderboard_opt_in = fields.Boolean(required=True)


class TeamEntrySchema(Schema):
    rank = fields.Integer(required=True)
    name = fields.String(required=True)
    calls = fields.Integer(required=True)
    doors = fields.Integer(required=True)
    is_mine = fields.Boolean(required=True, metadata={"description": "Your CLP, or a phone bank you are on"})


class TeamBoardSchema(Schema):
    kind = fields.String(required=True, metadata={"enum": ["constituencies", "phone_banks"]})
    title = fields.String(required=True)
    entries = fields.List(fields.Nested(TeamEntrySchema), required=True, metadata={"description": "The top 10"})


class PersonEntrySchema(Schema):
    rank = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "First name and surname initial"})
    calls = fields.Integer(required=True)
    doors = fields.Integer(required=True)
    is_me = fields.Boolean(required=True)


class MyRankSchema(Schema):
    rank = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Your place, only while it is in the top 10 the board shows; otherwise null"})
    calls = fields.Integer(required=True)
    doors = fields.Integer(required=True)


class PeopleBoardSchema(Schema):
    title = fields.String(required=True)
    opted_in = fields.Boolean(required=True)
    entries = fields.List(fields.Nested(PersonEntrySchema), required=True, metadata={
        "description": "The top 10 of those who opted in"})
    me = fields.Nested(MyRankSchema, required=True, allow_none=True, metadata={
        "description": "Your own rank: only if you opted in"})


class PhoneBankPeopleBoardSchema(PeopleBoardSchema):
    list_id = fields.Integer(required=True, metadata={"description": "The phone bank (call list)"})


class LeaderboardsSchema(Schema):
    campaign = fields.Nested(CampaignBriefSchema, required=True, allow_none=True)
    as_of = fields.DateTime(required=True, allow_none=True)
    teams = fields.List(fields.Nested(TeamBoardSchema), required=True)
    people = fields.Nested(PeopleBoardSchema, required=True, allow_none=True, metadata={
        "description": "Your CLP's volunteers who opted in; null for regional and national roles"})
    phone_bank_people = fields.List(fields.Nested(PhoneBankPeopleBoardSchema), required=True, metadata={
        "description": "For each phone bank you are on, its volunteers who opted in, by calls on it; empty for "
                       "regional and national roles"})


class MilestoneSchema(Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    volunteer_name = fields.String(required=True, allow_none=True)
    constituency_id = fields.Integer(required=True, allow_none=True)
    campaign_id = fields.Integer(required=True)
    campaign_name = fields.String(required=True, allow_none=True)
    measure = fields.String(required=True, metadata=MEASURE)
    threshold = fields.Integer(required=True)
    count = fields.Integer(required=True)
    reached_at = fields.DateTime(required=True)
    thanked_at = fields.DateTime(required=True, allow_none=True)
    thanked_by_name = fields.String(required=True, allow_none=True)
