"""Sync health: phones in scope holding records that have not reached the server, at-risk ones first."""
from __future__ import annotations

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.schemas.sync_health import SyncHealthArgsSchema, SyncHealthSchema
from server.services import sync_health

blp = blueprint("sync_health", "/sync-health", "Sync health")


@blp.route("")
@authorize(Permission.DEVICES_READ)
@blp.arguments(SyncHealthArgsSchema, location="query")
@blp.response(200, SyncHealthSchema)
@errors(blp, 422)
def get_sync_health(args):
    """Phones whose latest report shows unsent records; those not seen for ``stale_days`` are at risk.
    Volunteers' and devices' names are shown to CLP and national admins only, not to regional staff."""
    return sync_health.report(current_principal(), **args)
