"""The review queue as people work it: filters, each item in words, decisions by a rule, and undo."""
from __future__ import annotations

from marshmallow import fields, validate

from server.schemas import Id, ReviewArgsSchema, ReviewItemSchema, Schema, StrictSchema, Text, page_envelope
from server.schemas.admin import Day
from server.services.review import MAX_AT_ONCE, RULES


class ReviewListArgsSchema(ReviewArgsSchema):
    ward_id = Id(load_default=None, metadata={"description": "Items about electors or addresses in this ward"})
    since = Day(load_default=None, metadata={"description": "Raised on or after this day"})
    until = Day(load_default=None, metadata={"description": "Raised on or before this day"})


class DescribedReviewItemSchema(ReviewItemSchema):
    described = fields.Raw(dump_only=True, metadata={
        "description": "The item in words: title, elector (name, number, address, ward), sides (who, when, what, "
                       "and the choice that keeps each), and for a held delivery the volunteer and each record"})


DescribedReviewPageSchema = page_envelope(DescribedReviewItemSchema, "DescribedReviewItemPage")


class ResolveManySchema(StrictSchema):
    item_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=MAX_AT_ONCE))
    rule = Text(required=True, validate=validate.OneOf(sorted(RULES)), metadata={
        "description": "newest or oldest: the later (or earlier) side of each conflict wins; accept or dismiss: people "
                       "not on the register and reports of moving or dying; accept or reject: records delivered "
                       "after access ended"})
    note = Text(load_default=None, validate=validate.Length(max=1000))


class SkippedSchema(Schema):
    id = fields.Integer()
    reason = fields.String()


class ResolveManyResultSchema(Schema):
    resolved = fields.List(fields.Integer())
    skipped = fields.List(fields.Nested(SkippedSchema))


class UndoSchema(StrictSchema):
    note = Text(load_default=None, validate=validate.Length(max=1000))
