"""Walk lists and call lists: plan them, make them, give them to volunteers, follow their progress."""
from __future__ import annotations

from server.api.common import blueprint
from server.auth import Permission, authorize, current_principal
from server.schemas.admin import (
    AssigneesSchema,
    CallListCreateSchema,
    CallPlanSchema,
    ListArgsSchema,
    ListPlanSchema,
    ListSchema,
    ListUpdateSchema,
    StreetArgsSchema,
    StreetSchema,
    WalkListCreateSchema,
    WalkPlanSchema,
)
from server.services import lists

blp = blueprint("lists", "/lists", "Walk lists and call lists")


def _plan(planned) -> dict:
    return {"lists": planned, "households": sum(p.households for p in planned),
            "electors": sum(p.electors for p in planned)}


@blp.route("")
@authorize(Permission.LISTS_MANAGE)
@blp.arguments(ListArgsSchema, location="query")
@blp.response(200, ListSchema(many=True))
def list_lists(args):
    """The lists in your scope with their progress, newest first (current ones unless include_ended)."""
    return lists.list_lists(current_principal(), **args)


@blp.route("/streets")
@authorize(Permission.LISTS_MANAGE)
@blp.arguments(StreetArgsSchema, location="query")
@blp.response(200, StreetSchema(many=True))
def streets(args):
    """The streets of a polling district or ward, with their addresses and electors, to choose from."""
    return lists.streets_of(current_principal(), **args)


@blp.route("/walk-plans", methods=["POST"])
@authorize(Permission.LISTS_MANAGE)
@blp.arguments(WalkPlanSchema)
@blp.response(200, ListPlanSchema)
def plan_walk(args):
    """What walk lists a selection would make, without making them."""
    return _plan(lists.plan_walk_lists(current_principal(), args))


@blp.route("/walk", methods=["POST"])
@authorize(Permission.LISTS_MANAGE)
@blp.arguments(WalkListCreateSchema)
@blp.response(201, ListSchema(many=True))
def create_walk(args):
    """Make walk lists in walk order, cut to size, dated and given to the volunteers named."""
    return [lists.progress_of(a) for a in lists.create_walk_lists(current_principal(), args)]


@blp.route("/call-plans", methods=["POST"])
@authorize(Permission.LISTS_MANAGE)
@blp.arguments(CallPlanSchema)
@blp.response(200, ListPlanSchema)
def plan_call(args):
    """How many people a call list would hold, without making it."""
    return _plan(lists.plan_call_list(current_principal(), args)[2])


@blp.route("/call", methods=["POST"])
@authorize(Permission.LISTS_MANAGE)
@blp.arguments(CallListCreateSchema)
@blp.response(201, ListSchema(many=True))
def create_call(args):
    """Make call lists: electors with a number (filtered), or members who agreed to calls (welcome calls)."""
    return [lists.progress_of(a) for a in lists.create_call_lists(current_principal(), args)]


@blp.route("/<int:list_id>")
@authorize(Permission.LISTS_MANAGE)
@blp.response(200, ListSchema)
def get_list(list_id: int):
    """One list and its progress."""
    return lists.get_list(current_principal(), list_id)


@blp.route("/<int:list_id>", methods=["PATCH"])
@authorize(Permission.LISTS_MANAGE)
@blp.arguments(ListUpdateSchema, required=False)
@blp.response(200, ListSchema)
def update_list(args, list_id: int):
    """Rename or re-date a list, or set its session's time and place; phones holding it get the change at their
    next sync, and its volunteers a notice that it changed."""
    return lists.progress_of(lists.update_list(current_principal(), list_id, **(args or {})))


@blp.route("/<int:list_id>/assignees", methods=["PUT"])
@authorize(Permission.LISTS_MANAGE)
@blp.arguments(AssigneesSchema)
@blp.response(200, ListSchema)
def set_assignees(args, list_id: int):
    """Give the list to exactly these volunteers. Anyone left out loses it at their next sync; what they
    recorded stays."""
    return lists.progress_of(lists.set_assignees(current_principal(), list_id, args["user_ids"]))


@blp.route("/<int:list_id>/end", methods=["POST"])
@authorize(Permission.LISTS_MANAGE)
@blp.response(200, ListSchema)
def end_list(list_id: int):
    """End a list now: it leaves every phone at their next sync, and what was recorded stays."""
    return lists.progress_of(lists.end_list(current_principal(), list_id))
