"""Electors: paged, filtered and scoped (volunteers see only the electors on their current lists)."""
from __future__ import annotations

from server.api.common import blueprint, errors, per_page
from server.auth import Permission, authorize, current_principal
from server.schemas import ElectorArgsSchema, ElectorPageSchema, ElectorSchema
from server.services import reads

blp = blueprint("electors", "/electors", "The electoral register")


@blp.route("")
@authorize(Permission.ELECTORS_READ)
@blp.arguments(ElectorArgsSchema, location="query")
@blp.response(200, ElectorPageSchema)
@errors(blp, 422)
def list_electors(args):
    """Electors in walk order, filtered by polling district, street, name or postcode."""
    args["per_page"] = per_page(args)
    return reads.search_electors(current_principal(), **args)


@blp.route("/<int:elector_id>")
@authorize(Permission.ELECTORS_READ)
@blp.response(200, ElectorSchema)
@errors(blp, 404)
def get_elector(elector_id: int):
    """One elector."""
    return reads.get_elector(current_principal(), elector_id)
