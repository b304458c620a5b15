"""Schemas of the scheduler's health (docs/jobs.md)."""
from __future__ import annotations

from marshmallow import Schema, fields


class JobRunSchema(Schema):
    started_at = fields.DateTime(dump_only=True)
    finished_at = fields.DateTime(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True, metadata={"description": "running, ok, failed, or fenced (stopped: the scheduler lost the lease mid-run)"})
    result = fields.Dict(dump_only=True, allow_none=True, metadata={"description": "What the run changed"})
    error = fields.String(dump_only=True, allow_none=True)
    owner = fields.String(dump_only=True, metadata={"description": "The scheduler process, or cli:… for a run "
                                                                   "by hand"})
    tick = fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "The scheduled time it ran "
                                                                                      "for; none when run by hand"})


class JobStatusSchema(Schema):
    name = fields.String(dump_only=True)
    schedule = fields.String(dump_only=True)
    last_run = fields.Nested(JobRunSchema, dump_only=True, allow_none=True)


class LeaseSchema(Schema):
    owner = fields.String(dump_only=True)
    fence = fields.Integer(dump_only=True)
    acquired_at = fields.DateTime(dump_only=True, allow_none=True)
    heartbeat_at = fields.DateTime(dump_only=True, allow_none=True)
    expires_at = fields.DateTime(dump_only=True, allow_none=True)


class SchedulerStatusSchema(Schema):
    now = fields.DateTime(dump_only=True)
    status = fields.String(dump_only=True, metadata={"description": "running, stopped or never_started"})
    alert = fields.String(dump_only=True, allow_none=True, metadata={"description": "Why this needs attention"})
    lease = fields.Nested(LeaseSchema, dump_only=True, allow_none=True)
    jobs = fields.List(fields.Nested(JobStatusSchema), dump_only=True)
