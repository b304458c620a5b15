"""Members, for their CLP's membership secretary: new members, exports, welcome calls, and who accessed them."""
from __future__ import annotations

from flask import Response

from server.api.common import blueprint, errors, per_page
from server.auth import Permission, authorize, current_principal
from server.schemas.admin import ListSchema
from server.schemas.members import (
    AccessLogArgsSchema,
    AccessLogPageSchema,
    CallerArgsSchema,
    CallerSchema,
    MemberExportSchema,
    NewMembersArgsSchema,
    NewMembersSchema,
    WelcomeListSchema,
)
from server.services import lists, members

blp = blueprint("members", "/members", "Members: new members, exports and welcome calls")


@blp.route("/new")
@authorize(Permission.MEMBERS_READ)
@blp.arguments(NewMembersArgsSchema, location="query")
@blp.response(200, NewMembersSchema)
@errors(blp, 404)
def new_members(args):
    """Members who joined since a day, newest first: your CLP's, or (national and regional roles) the CLP named or
    every CLP in your scope. Contact details appear only where the member
    consented to that channel. The view is recorded in the audit log with the purpose and the members shown."""
    args["per_page"] = per_page(args)
    found = members.new_members(current_principal(), **args)
    page = found.page
    return {"items": page.items, "page": page.page, "per_page": page.per_page, "pages": page.pages,
            "total": page.total, "constituency_id": found.constituency_id, "constituency": found.constituency,
            "since": found.since, "can_phone": found.can_phone, "can_email": found.can_email}


@blp.route("/new/export", methods=["POST"])
@authorize(Permission.MEMBERS_READ)
@blp.arguments(MemberExportSchema)
@errors(blp, 404)
@blp.doc(responses={"200": {"description": "The new-members view as CSV; cells that a spreadsheet would run as "
                                           "formulas are neutralised", "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export_new_members(args):
    """Download the new-members view as CSV (only consented fields). Asks for the purpose; audited."""
    filename, text, _ = members.export_csv(current_principal(), **args)
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@blp.route("/callers")
@authorize(Permission.MEMBERS_READ)
@blp.arguments(CallerArgsSchema, location="query")
@blp.response(200, CallerSchema(many=True))
@errors(blp, 404)
def welcome_callers(args):
    """Your CLP's phone bankers (and admins): who a welcome call list can be given to."""
    return members.callers(current_principal(), **args)


@blp.route("/welcome-lists", methods=["POST"])
@authorize(Permission.MEMBERS_READ)
@blp.arguments(WelcomeListSchema)
@blp.response(201, ListSchema(many=True))
@errors(blp, 404)
def welcome_list(args):
    """Turn the new members who agreed to phone calls into call lists for your CLP's phone bankers. Phones get
    each member's name, phone number and join date, nothing more."""
    return [lists.progress_of(a) for a in members.welcome_list(current_principal(), args)]


@blp.route("/access-log")
@authorize(Permission.MEMBERS_ACCESS_LOG)
@blp.arguments(AccessLogArgsSchema, location="query")
@blp.response(200, AccessLogPageSchema)
def access_log(args):
    """Who viewed, exported or handed on which members' data, and when, in your scope (numbers, never details)."""
    args["per_page"] = per_page(args)
    return members.access_log(current_principal(), **args)
