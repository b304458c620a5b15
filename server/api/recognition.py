"""Recognition: a volunteer's counts and milestones, opt-in leaderboards, and the admin's list to thank from."""
from __future__ import annotations

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.schemas.recognition import (
    CampaignArgsSchema,
    CelebratedSchema,
    LeaderboardsSchema,
    MilestoneSchema,
    OptInSchema,
    OptInStateSchema,
    RecognitionArgsSchema,
    RecognitionSchema,
    ThanksSchema,
)
from server.services import recognition

blp = blueprint("recognition", "", "Recognition: counts, milestones, thanks and leaderboards")


@blp.route("/me/recognition")
@authorize(Permission.SELF)
@blp.arguments(RecognitionArgsSchema, location="query")
@blp.response(200, RecognitionSchema)
@errors(blp, 404)
def my_recognition(args):
    """Your calls, doors and conversations (this session, week, campaign and in total, from every device), the
    campaign's milestones, the next ones, and those you have reached (checked now, from the rollups)."""
    return recognition.my_recognition(current_principal(), **args)


@blp.route("/me/recognition/celebrated", methods=["POST"])
@authorize(Permission.SELF)
@blp.arguments(RecognitionArgsSchema, location="query")
@blp.arguments(CelebratedSchema)
@blp.response(200, RecognitionSchema)
@errors(blp, 404)
def celebrated(args, body):
    """Your phone has shown these milestones: they are not offered again. Only your own (404 names the others)."""
    return recognition.celebrated(current_principal(), body["milestone_ids"], **args)


@blp.route("/me/leaderboard", methods=["PUT"])
@authorize(Permission.SELF)
@blp.arguments(OptInSchema)
@blp.response(200, OptInStateSchema)
def set_leaderboard(body):
    """Be shown on your CLP's leaderboard, or hide at once. Nobody who says no is ranked anywhere."""
    return {"leaderboard_opt_in": recognition.set_opt_in(current_principal(), body["opt_in"])}


@blp.route("/leaderboards")
@authorize(Permission.SELF)
@blp.arguments(CampaignArgsSchema, location="query")
@blp.response(200, LeaderboardsSchema)
@errors(blp, 404)
def leaderboards(args):
    """Team boards first (constituencies, phone banks), then your CLP's volunteers who opted in: the top ten of
    each, never a bottom. Regional staff and national admins see team boards only."""
    return recognition.leaderboards(current_principal(), **args)


@blp.route("/milestones")
@authorize(Permission.VOLUNTEERS_MANAGE)
@blp.arguments(CampaignArgsSchema, location="query")
@blp.response(200, MilestoneSchema(many=True))
@errors(blp, 404)
def list_milestones(args):
    """Milestones your volunteers have reached, newest first, with their names, so you can thank them."""
    return recognition.list_milestones(current_principal(), **args)


@blp.route("/milestones/<int:milestone_id>/thanks", methods=["POST"])
@authorize(Permission.VOLUNTEERS_MANAGE)
@blp.arguments(ThanksSchema, required=False)
@blp.response(200, MilestoneSchema)
def thank(body, milestone_id: int):
    """Thank a volunteer for a milestone: they get a notice (once from each admin, however often you thank)."""
    return recognition.thank(current_principal(), milestone_id, (body or {}).get("message"))
