"""Schemas of the monitoring dashboards (docs/monitoring.md): activity, contact rates and fair comparisons."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.schemas import PLAUSIBLE_TIME_PATTERN, Id, StrictSchema
from server.schemas.admin import Day, Flag
from server.schemas.peers import PeerArgsSchema
from server.services.activity import LEVELS

_LEVEL = dict(load_default=None, validate=validate.OneOf(LEVELS), metadata={
    "description": "What each row is: region, constituency, ward or polling_district (default: one level below "
                   "the area)"})
_SINCE = dict(load_default=None, metadata={"description": "The first week of the period (any day in it); default the "
                                                          "campaign's first", "pattern": PLAUSIBLE_TIME_PATTERN})
_UNTIL = dict(load_default=None, metadata={"description": "The last week of the period (any day in it); default this "
                                                          "week, or the campaign's last", "pattern": PLAUSIBLE_TIME_PATTERN})


class DashboardArgsSchema(StrictSchema):
    campaign_id = Id(load_default=None, metadata={"description": "Default: the campaign running today"})
    region_id = Id(load_default=None, metadata={"description": "Default: your region (regional staff)"})
    constituency_id = Id(load_default=None, metadata={"description": "One CLP (default for CLP admins: theirs)"})
    level = fields.String(**_LEVEL)
    since = Day(**_SINCE)
    until = Day(**_UNTIL)


class ComparisonArgsSchema(PeerArgsSchema):
    campaign_id = Id(load_default=None, metadata={"description": "Default: the campaign running today"})


class ExportSchema(PeerArgsSchema):
    """The table to download and the dashboard's filters; for the peers, the comparison as adjusted (the same
    k, features, weights, exclude and exclude_outliers as the comparison's query)."""

    exclude_outliers = Flag(load_default=False, metadata={
        "description": "Leave out seats more than 3 standard deviations from the mean on a chosen feature"})

    table = fields.String(required=True, validate=validate.OneOf(("units", "weeks", "peers", "sync-health")),
                          metadata={"description": "Which table to download: the rows by area (units), the weeks, a "
                                                   "seat's peers, or the phones holding unsent work"})
    campaign_id = Id(load_default=None)
    region_id = Id(load_default=None)
    constituency_id = Id(load_default=None, metadata={"description": "Required for peers"})
    level = fields.String(**_LEVEL)
    since = Day(load_default=None)
    until = Day(load_default=None)


class _Counts(Schema):
    contacts = fields.Integer(required=True, metadata={"description": "Contact records that stand, any outcome"})
    doors = fields.Integer(required=True)
    calls = fields.Integer(required=True)
    conversations = fields.Integer(required=True)
    reached = fields.Integer(required=True, metadata={"description": "Electors first spoken to in the period"})
    volunteers = fields.Integer(required=True)
    reached_to_date = fields.Integer(required=True, metadata={"description": "Electors spoken to since the campaign began"})


class _Rated(_Counts):
    electorate = fields.Integer(required=True)
    contact_rate = fields.Float(required=True, allow_none=True, metadata={
        "description": "reached_to_date / electorate, as a fraction; null when rate_note says why"})
    rate_note = fields.String(required=True, allow_none=True, metadata={"enum": ["no_register", "too_few", None]})


class BriefComparisonSchema(Schema):
    reason = fields.String(required=True, allow_none=True, metadata={
        "enum": ["no_rate", "no_profile", "too_few_peers", None], "description": "Why there is no comparison"})
    peers = fields.Integer(required=True)
    peer_median = fields.Float()
    peer_q1 = fields.Float()
    peer_q3 = fields.Float()
    percentile = fields.Float()
    against_peers = fields.String(metadata={"enum": ["above", "within", "below"]})
    regional_average = fields.Float(allow_none=True)
    against_region = fields.String(allow_none=True)


class UnitSchema(_Rated):
    id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The unit's id; 0 (district) or null (ward) for contacts outside any district"})
    code = fields.String(required=True)
    name = fields.String(required=True)
    comparison = fields.Nested(BriefComparisonSchema, required=True, allow_none=True, metadata={
        "description": "Constituency rows: the seat against its peers and its region"})


class WeekSchema(_Counts):
    week = fields.Date(required=True, metadata={"description": "The week's Monday"})
    label = fields.String(required=True)
    contact_rate_to_date = fields.Float(required=True, allow_none=True)
    rate_note = fields.String(required=True, allow_none=True, metadata={"enum": ["no_register", "too_few", None]})
    provisional = fields.Boolean(required=True, metadata={
        "description": "A phone that worked in this week still holds records it has not sent"})


class CampaignBriefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)


class DashboardSchema(Schema):
    campaign = fields.Nested(CampaignBriefSchema, required=True)
    scope = fields.Dict(required=True, metadata={"description": "{kind: nation|region|constituency, id, name}"})
    level = fields.String(required=True)
    period = fields.Dict(required=True, metadata={"description": "{since, until, label, whole_campaign}"})
    rate_window = fields.String(required=True, metadata={"description": "The campaign window a contact rate covers"})
    as_of = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "Records received up to this time are counted"})
    min_count = fields.Integer(required=True, metadata={"description": "Fewer electors reached: no rate"})
    definitions = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    totals = fields.Nested(_Rated, required=True)
    regional_average = fields.Dict(required=True, allow_none=True, metadata={
        "description": "A region: {average, seats_with_rate}, the plain mean of its seats' rates"})
    units = fields.List(fields.Nested(UnitSchema), required=True)
    weeks = fields.List(fields.Nested(WeekSchema), required=True)


class ComparedSeatSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    rate = fields.Float(required=True, allow_none=True)
    reached = fields.Integer(required=True)
    electorate = fields.Integer(required=True)
    rate_note = fields.String(allow_none=True)
    distance = fields.Float()
    similar_in = fields.List(fields.String())
    similar_in_words = fields.String()


class PassedOverSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    rate_note = fields.String(required=True, allow_none=True)


class ComparisonSchema(Schema):
    seat = fields.Dict(required=True)
    region = fields.Dict(required=True)
    campaign = fields.Nested(CampaignBriefSchema, required=True)
    rate_window = fields.String(required=True)
    min_count = fields.Integer(required=True)
    definitions = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    k = fields.Integer(required=True)
    rate = fields.Float(required=True, allow_none=True)
    reached = fields.Integer(required=True)
    electorate = fields.Integer(required=True)
    rate_note = fields.String(required=True, allow_none=True)
    features = fields.List(fields.Dict(), required=True)
    peers = fields.List(fields.Nested(ComparedSeatSchema), required=True)
    passed_over = fields.List(fields.Nested(PassedOverSchema), required=True, metadata={
        "description": "Similar seats passed over because they have no rate in this campaign"})
    result = fields.Dict(required=True, allow_none=True, metadata={
        "description": "peer_median, peer_q1, peer_q3, peer_iqr, percentile, against_peers, regional_average, "
                       "against_region and a note in words; null when reason says why"})
    reason = fields.String(required=True, allow_none=True)
    regional_average = fields.Float(required=True, allow_none=True)
    notes = fields.List(fields.String(), required=True)
    region_seats = fields.List(fields.Nested(ComparedSeatSchema), required=True)
    as_of = fields.DateTime(required=True, allow_none=True)
