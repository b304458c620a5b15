"""Sync health: phones holding records that have not reached the server (server/services/sync_health.py)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.schemas import StrictSchema


class SyncHealthArgsSchema(StrictSchema):
    stale_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=365), metadata={
        "description": "A phone not seen for this many days is at risk (default: SYNC_HEALTH_STALE_DAYS)"})


class SyncHealthDeviceSchema(Schema):
    device_id = fields.UUID()
    device_name = fields.String(allow_none=True, metadata={"description": "Null for regional staff"})
    volunteer_name = fields.String(allow_none=True, metadata={"description": "Null for regional staff"})
    role = fields.String()
    constituency_id = fields.Integer(allow_none=True)
    constituency_name = fields.String(allow_none=True)
    last_push_at = fields.DateTime(allow_none=True)
    last_pull_at = fields.DateTime(allow_none=True)
    last_seen_at = fields.DateTime(metadata={"description": "The latest of its last push, pull and report"})
    reported_at = fields.DateTime(metadata={"description": "When the server received its latest report"})
    unsent = fields.Integer()
    oldest_unsent_at = fields.DateTime(allow_none=True, metadata={"description": "Corrected for its clock"})
    app_version = fields.String(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    days_silent = fields.Integer()
    at_risk = fields.Boolean(metadata={"description": "Not seen for stale_days or more"})


class SyncHealthClpSchema(Schema):
    constituency_id = fields.Integer()
    constituency_name = fields.String()
    devices_with_unsent = fields.Integer()
    records_unsent = fields.Integer()
    devices_at_risk = fields.Integer()
    records_at_risk = fields.Integer()


class SyncHealthSchema(Schema):
    generated_at = fields.DateTime()
    stale_days = fields.Integer()
    constituencies = fields.List(fields.Nested(SyncHealthClpSchema))
    devices = fields.List(fields.Nested(SyncHealthDeviceSchema))
