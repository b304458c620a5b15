"""Schemas of seats' profiles and peers (docs/peers.md): the demographics upload, and the peers of a seat."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from server.schemas import StrictSchema
from server.services.peers import DEFAULT_K, MAX_K

_NAME = re.compile(r"^[a-z0-9_]{1,60}$")


class _CommaList(fields.String):
    """A comma-separated list in a query string: "age_65_plus,social_rented"."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        items = [item.strip() for item in text.split(",") if item.strip()]
        if len(items) > 50:
            raise ValidationError("At most 50 items.")
        return [self._item(item) for item in items]

    def _item(self, item: str):
        if not _NAME.match(item):
            raise ValidationError(f"{item[:60]!r} is not a feature name (lower-case letters, digits and _).")
        return item


class _Weights(_CommaList):
    """"majority_pct:2,students:0.5"."""

    def _item(self, item: str):
        name, sep, number = item.partition(":")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ValidationError(f"{item[:60]!r} is not feature:weight.")
        try:
            weight = float(number)
        except ValueError:
            raise ValidationError(f"The weight of {name} is not a number.") from None
        if not 0 <= weight <= 1000:
            raise ValidationError(f"The weight of {name} must be between 0 and 1000.")
        return name, weight

    def _deserialize(self, value, attr, data, **kwargs):
        return dict(super()._deserialize(value, attr, data, **kwargs))


class _Ids(_CommaList):
    def _item(self, item: str):
        if not item.isdigit() or len(item) > 10:
            raise ValidationError(f"{item[:20]!r} is not a constituency id.")
        return int(item)


class PeerArgsSchema(StrictSchema):
    k = fields.Integer(load_default=DEFAULT_K, validate=validate.Range(min=1, max=MAX_K),
                       metadata={"description": f"How many peers (default {DEFAULT_K})"})
    features = _CommaList(load_default=None, metadata={
        "pattern": r"^[a-z0-9_, ]*$",
        "description": "Comma-separated features to compare on (default: age_65_plus, age_18_24, owner_occupied, "
                       "social_rented, degree, imd_score, majority_pct)"})
    weights = _Weights(load_default=None, metadata={
        "pattern": r"^([a-z0-9_]+:[0-9.]+)?( *, *[a-z0-9_]+:[0-9.]+)*$",
        "description": "Comma-separated feature:weight, e.g. majority_pct:2,students:0.5 (default 1 each, "
                       "majority_pct 2)"})
    exclude = _Ids(load_default=None, metadata={"pattern": r"^[0-9, ]*$", "description": "Comma-separated ids of seats to leave out"})
    exclude_outliers = fields.Boolean(load_default=False, metadata={
        "description": "Leave out seats more than 3 standard deviations from the mean on a chosen feature"})


class SeatSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class FeatureUsedSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "The feature in words"})
    weight = fields.Float(required=True)
    value = fields.Float(required=True, metadata={"description": "This seat's figure"})
    z = fields.Float(required=True, metadata={"description": "This seat's z-score among the seats compared"})


class PeerSchema(SeatSchema):
    distance = fields.Float(required=True, metadata={"description": "Weighted Euclidean distance over z-scores"})
    similar_in = fields.List(fields.String(), required=True, metadata={
        "description": "The features it is most similar in (within half a standard deviation), closest first"})
    similar_in_words = fields.String(required=True, metadata={"description": "\"similar in: share over 65, ...\""})


class LeftOutSchema(SeatSchema):
    reason = fields.String(required=True, metadata={"enum": ["excluded", "missing_features", "outlier"]})
    features = fields.List(fields.String(), required=True, metadata={
        "description": "The features it has no figure for, or is an outlier on"})
    message = fields.String(required=True)


class PeersSchema(Schema):
    seat = fields.Nested(SeatSchema, required=True)
    k = fields.Integer(required=True)
    features = fields.List(fields.Nested(FeatureUsedSchema), required=True)
    peers = fields.List(fields.Nested(PeerSchema), required=True)
    left_out = fields.List(fields.Nested(LeftOutSchema), required=True)
    compared = fields.Integer(required=True, metadata={"description": "Seats with a profile that were candidates"})
    notes = fields.List(fields.String(), required=True)


class ProfileUploadSchema(StrictSchema):
    """A multipart/form-data upload of seats' demographics."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "One row per seat: .csv or .xlsx"})


class ProfileImportSummarySchema(Schema):
    filename = fields.String(allow_none=True)
    sha256 = fields.String(required=True)
    rows = fields.Integer(required=True)
    seats_added = fields.Integer(required=True, metadata={"description": "Seats that had no profile before"})
    seats_updated = fields.Integer(required=True, metadata={"description": "Seats whose profile was replaced"})
    features = fields.List(fields.String(), required=True, metadata={"description": "The feature columns read"})
    values_read = fields.Integer(required=True)
    empty_cells = fields.Integer(required=True)
    notes = fields.List(fields.String(), required=True)
