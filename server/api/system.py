"""The scheduler's heartbeat and its jobs' last runs, for national admins."""
from __future__ import annotations

from server.api.common import blueprint
from server.auth import Permission, authorize
from server.schemas.system import SchedulerStatusSchema
from server.services import system

blp = blueprint("system", "/system", "The scheduler's health")


@blp.route("/scheduler")
@authorize(Permission.SYSTEM_READ)
@blp.response(200, SchedulerStatusSchema)
def scheduler():
    """Whether a scheduler process is running (its lease's heartbeat), with an alert when none is, and each
    job's schedule and latest run (what it changed, or why it failed)."""
    return system.scheduler_status()
