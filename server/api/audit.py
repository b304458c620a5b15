"""The audit trail, for admins and regional staff, within their scope."""
from __future__ import annotations

from server.api.common import blueprint, errors, per_page
from server.auth import Permission, authorize, current_principal
from server.schemas import AuditArgsSchema, AuditPageSchema
from server.services import reads

blp = blueprint("audit", "/audit-events", "Audit trail")


@blp.route("")
@authorize(Permission.AUDIT_READ)
@blp.arguments(AuditArgsSchema, location="query")
@blp.response(200, AuditPageSchema)
@errors(blp, 422)
def list_audit_events(args):
    """Audit events in your scope, newest first."""
    args["per_page"] = per_page(args)
    return reads.list_audit_events(current_principal(), **args)
