"""The CLP admin's review queue: list what needs a decision (in words), decide it, many at once, or undo."""
from __future__ import annotations

from server.api.common import blueprint, errors, per_page
from server.auth import Permission, authorize, current_principal
from server.schemas import ResolveSchema
from server.schemas.review import (DescribedReviewItemSchema, DescribedReviewPageSchema, ResolveManyResultSchema,
                                   ResolveManySchema, ReviewListArgsSchema, UndoSchema)
from server.services import review

blp = blueprint("review", "/review-items", "Review queue: conflicts and people not on the register")


@blp.route("")
@authorize(Permission.REVIEW)
@blp.arguments(ReviewListArgsSchema, location="query")
@blp.response(200, DescribedReviewPageSchema)
@errors(blp, 422)
def list_items(args):
    """Review items in your CLP, oldest first, each described in words."""
    args["per_page"] = per_page(args)
    return review.list_items(current_principal(), **args)


@blp.route("/<int:item_id>/resolve", methods=["POST"])
@authorize(Permission.REVIEW)
@blp.arguments(ResolveSchema)
@blp.response(200, DescribedReviewItemSchema)
@errors(blp, 404, 409, 422)
def resolve(args, item_id: int):
    """Keep one side, keep the other, or enter a value (accept or dismiss for a new person)."""
    return review.resolve(current_principal(), item_id, **args)


@blp.route("/resolve-many", methods=["POST"])
@authorize(Permission.REVIEW)
@blp.arguments(ResolveManySchema)
@blp.response(200, ResolveManyResultSchema)
@errors(blp, 409, 422)
def resolve_many(args):
    """Decide many items by one rule, all or nothing; items the rule does not fit are listed, untouched."""
    return review.resolve_many(current_principal(), **args)


@blp.route("/<int:item_id>/undo", methods=["POST"])
@authorize(Permission.REVIEW)
@blp.arguments(UndoSchema, required=False)
@blp.response(200, DescribedReviewItemSchema)
@errors(blp, 404, 409, 422)
def undo(args, item_id: int):
    """Reverse a decision and open the item again (a held delivery's accepted records are withdrawn)."""
    return review.undo(current_principal(), item_id, **(args or {}))
