"""Campaigns with their code sets and survey questions."""
from __future__ import annotations

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.schemas import CampaignSchema
from server.services import reads

blp = blueprint("campaigns", "/campaigns", "Campaigns, code sets and survey questions")


@blp.route("")
@authorize(Permission.CAMPAIGNS_READ)
@blp.response(200, CampaignSchema(many=True))
def list_campaigns():
    """National campaigns and your CLP's local drives."""
    return reads.list_campaigns(current_principal())


@blp.route("/<int:campaign_id>")
@authorize(Permission.CAMPAIGNS_READ)
@blp.response(200, CampaignSchema)
@errors(blp, 404)
def get_campaign(campaign_id: int):
    """One campaign."""
    return reads.get_campaign(current_principal(), campaign_id)
