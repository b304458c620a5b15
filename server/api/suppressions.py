"""Do-not-contact: objections received by letter, email or in person, and lifting them."""
from __future__ import annotations

from server.api.common import blueprint, errors, per_page
from server.auth import Permission, authorize, current_principal
from server.schemas.admin import (
    LiftSchema,
    SuppressionArgsSchema,
    SuppressionCreateSchema,
    SuppressionPageSchema,
    SuppressionSchema,
)
from server.services import suppressions

blp = blueprint("suppressions", "/suppressions", "Do-not-contact: objections to campaigning contact")


@blp.route("")
@authorize(Permission.SUPPRESSIONS_MANAGE)
@blp.arguments(SuppressionArgsSchema, location="query")
@blp.response(200, SuppressionPageSchema)
def list_suppressions(args):
    """Objections in your scope, newest first (active ones unless active=false)."""
    args["per_page"] = per_page(args)
    page = suppressions.list_suppressions(current_principal(), **args)
    page.items = suppressions.describe(page.items)
    return page


@blp.route("", methods=["POST"])
@authorize(Permission.SUPPRESSIONS_MANAGE)
@blp.arguments(SuppressionCreateSchema)
@blp.response(201, SuppressionSchema)
@blp.alt_response(200, schema=SuppressionSchema, description="An objection already covered this: that one")
def create(args):
    """Record an objection. Phones drop the person at their next sync, and new lists leave them out."""
    suppression, made = suppressions.record(current_principal(), **args)
    return suppressions.describe([suppression])[0], 201 if made else 200


@blp.route("/<int:suppression_id>/lift", methods=["POST"])
@authorize(Permission.SUPPRESSIONS_MANAGE)
@blp.arguments(LiftSchema)
@blp.response(200, SuppressionSchema)
@errors(blp, 409)
def lift(args, suppression_id: int):
    """The person asked to hear from us again: lift the objection (it stays on record, marked lifted)."""
    return suppressions.describe([suppressions.lift(current_principal(), suppression_id, **args)])[0]
