"""The CLP admin's review queue: list what needs a decision, and decide it."""
from __future__ import annotations

from server.api.common import blueprint, errors, per_page
from server.auth import Permission, authorize, current_principal
from server.schemas import ResolveSchema, ReviewArgsSchema, ReviewItemSchema, ReviewPageSchema
from server.services import review

blp = blueprint("review", "/review-items", "Review queue: conflicts and people not on the register")


@blp.route("")
@authorize(Permission.REVIEW)
@blp.arguments(ReviewArgsSchema, location="query")
@blp.response(200, ReviewPageSchema)
@errors(blp, 422)
def list_items(args):
    """Review items in your CLP, oldest first."""
    args["per_page"] = per_page(args)
    return review.list_items(current_principal(), **args)


@blp.route("/<int:item_id>/resolve", methods=["POST"])
@authorize(Permission.REVIEW)
@blp.arguments(ResolveSchema)
@blp.response(200, ReviewItemSchema)
@errors(blp, 404, 409, 422)
def resolve(args, item_id: int):
    """Keep one side, keep the other, or enter a value (accept or dismiss for a new person)."""
    return review.resolve(current_principal(), item_id, **args)
