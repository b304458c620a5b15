"""Campaigns with their code sets and survey questions: read by everyone, edited by their admins."""
from __future__ import annotations

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.schemas import CampaignSchema
from server.schemas.admin import (
    CampaignUpdateSchema,
    CodeCreateSchema,
    CodeUpdateSchema,
    LocalDriveSchema,
    QuestionCreateSchema,
    QuestionUpdateSchema,
)
from server.services import campaigns, reads

blp = blueprint("campaigns", "/campaigns", "Campaigns, code sets and survey questions")


@blp.route("")
@authorize(Permission.CAMPAIGNS_READ)
@blp.response(200, CampaignSchema(many=True))
def list_campaigns():
    """National campaigns and your CLP's local drives."""
    return reads.list_campaigns(current_principal())


@blp.route("", methods=["POST"])
@authorize(Permission.CAMPAIGNS_MANAGE)
@blp.arguments(LocalDriveSchema)
@blp.response(201, CampaignSchema)
def create_local_drive(args):
    """Start a local drive for your CLP, with the codes, questions and script of a campaign to edit."""
    return campaigns.create_local_drive(current_principal(), **args)


@blp.route("/<int:campaign_id>")
@authorize(Permission.CAMPAIGNS_READ)
@blp.response(200, CampaignSchema)
@errors(blp, 404)
def get_campaign(campaign_id: int):
    """One campaign."""
    return reads.get_campaign(current_principal(), campaign_id)


# National campaigns are edited by national admins; a local drive by its CLP's admins (409 otherwise).

@blp.route("/<int:campaign_id>", methods=["PATCH"])
@authorize(Permission.CAMPAIGNS_MANAGE)
@blp.arguments(CampaignUpdateSchema, required=False)
@blp.response(200, CampaignSchema)
@errors(blp, 409)
def update_campaign(args, campaign_id: int):
    """Rename, re-date, or rewrite the phone script. Phones get it at their next sync."""
    return campaigns.update_campaign(current_principal(), campaign_id, **(args or {}))


@blp.route("/<int:campaign_id>/codes", methods=["POST"])
@authorize(Permission.CAMPAIGNS_MANAGE)
@blp.arguments(CodeCreateSchema)
@blp.response(201, CampaignSchema)
@errors(blp, 409)
def add_code(args, campaign_id: int):
    """Add an outcome, intention or strength."""
    return campaigns.add_code(current_principal(), campaign_id, **(args or {}))


@blp.route("/<int:campaign_id>/codes/<code_set>/<code>", methods=["PATCH"])
@authorize(Permission.CAMPAIGNS_MANAGE)
@blp.arguments(CodeUpdateSchema, required=False)
@blp.response(200, CampaignSchema)
@errors(blp, 409)
def update_code(args, campaign_id: int, code_set: str, code: str):
    """Relabel, move, or retire (and restore) a code. Records that carry a retired code keep it."""
    return campaigns.update_code(current_principal(), campaign_id, code_set, code, **(args or {}))


@blp.route("/<int:campaign_id>/questions", methods=["POST"])
@authorize(Permission.CAMPAIGNS_MANAGE)
@blp.arguments(QuestionCreateSchema)
@blp.response(201, CampaignSchema)
@errors(blp, 409)
def add_question(args, campaign_id: int):
    """Add a survey question."""
    return campaigns.add_question(current_principal(), campaign_id, **(args or {}))


@blp.route("/<int:campaign_id>/questions/<key>", methods=["PATCH"])
@authorize(Permission.CAMPAIGNS_MANAGE)
@blp.arguments(QuestionUpdateSchema, required=False)
@blp.response(200, CampaignSchema)
@errors(blp, 409)
def update_question(args, campaign_id: int, key: str):
    """Reword, add options, move, or retire (and restore) a question. Answers already given are kept."""
    return campaigns.update_question(current_principal(), campaign_id, key, **(args or {}))
