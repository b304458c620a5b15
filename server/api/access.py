"""A CLP's access, changed only with notice (scheduled suspensions, restores), and time-limited roles."""
from __future__ import annotations

from server.api.common import blueprint, errors, per_page
from server.auth import Permission, authorize, current_principal
from server.schemas.access import (
    AccessChangeArgsSchema,
    AccessChangeCreateSchema,
    AccessChangePageSchema,
    AccessChangeSchema,
    CancelAccessChangeSchema,
    MyAccessSchema,
    RevokeGrantSchema,
    RoleGrantArgsSchema,
    RoleGrantCreateSchema,
    RoleGrantPageSchema,
    RoleGrantSchema,
)
from server.services import access, grants

blp = blueprint("access", "", "A CLP's access and time-limited roles")


@blp.route("/access-changes")
@authorize(Permission.ACCESS_MANAGE)
@blp.arguments(AccessChangeArgsSchema, location="query")
@blp.response(200, AccessChangePageSchema)
def list_changes(args):
    """Changes to the access of the CLPs in your scope, newest first, and which CLPs are suspended or soon will be."""
    return access.list_changes(current_principal(), constituency_id=args["constituency_id"],
                               include_cancelled=args["include_cancelled"], page=args["page"],
                               per_page=per_page(args))


@blp.route("/access-changes", methods=["POST"])
@authorize(Permission.ACCESS_MANAGE)
@blp.arguments(AccessChangeCreateSchema)
@blp.response(201, AccessChangeSchema)
@errors(blp, 404, 409)
def make_change(args):
    """Suspend a CLP's access from a future date, or at once with a reason, or restore it (at once).

    Every active account of the CLP is told (a notice, and a warning in the app from now on). Audited."""
    change = access.make_change(current_principal(), **args)
    return access.view(change)


@blp.route("/access-changes/<int:change_id>/cancel", methods=["POST"])
@authorize(Permission.ACCESS_MANAGE)
@blp.arguments(CancelAccessChangeSchema)
@blp.response(200, AccessChangeSchema)
@errors(blp, 409)
def cancel(args, change_id: int):
    """Call off a scheduled suspension before it takes effect (409 once it has: restore instead)."""
    return access.view(access.cancel(current_principal(), change_id, reason=args["reason"]))


@blp.route("/access-changes/mine")
@authorize(Permission.SELF)
@blp.response(200, MyAccessSchema)
def mine():
    """Your CLP's access: any suspension in effect and those scheduled, to show as a warning. Works while
    your CLP is suspended."""
    return access.mine(current_principal())


@blp.route("/role-grants")
@authorize(Permission.ACCESS_MANAGE)
@blp.arguments(RoleGrantArgsSchema, location="query")
@blp.response(200, RoleGrantPageSchema)
def list_grants(args):
    """Time-limited roles in the CLPs of your scope, the latest to end first."""
    return grants.list_grants(current_principal(), constituency_id=args["constituency_id"],
                              user_id=args["user_id"], active=args["active"], page=args["page"],
                              per_page=per_page(args))


@blp.route("/role-grants", methods=["POST"])
@authorize(Permission.ACCESS_MANAGE)
@blp.arguments(RoleGrantCreateSchema)
@blp.response(201, RoleGrantSchema)
@errors(blp, 404, 409)
def grant(args):
    """Give an account of a CLP a CLP role there (a stand-in membership secretary, say) until a date within a
    year. It takes effect at once and lapses by itself. Audited."""
    return grants.views([grants.grant(current_principal(), **args)])[0]


@blp.route("/role-grants/<int:grant_id>/revoke", methods=["POST"])
@authorize(Permission.ACCESS_MANAGE)
@blp.arguments(RevokeGrantSchema, required=False)
@blp.response(200, RoleGrantSchema)
@errors(blp, 409)
def revoke(args, grant_id: int):
    """End a grant early. Audited."""
    return grants.views([grants.revoke(current_principal(), grant_id, reason=(args or {}).get("reason"))])[0]
