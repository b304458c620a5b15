"""Monitoring dashboards: activity and contact rates by area and week, and each seat against similar seats."""
from __future__ import annotations

from flask import Response

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.errors import ValidationFailed
from server.schemas.activity import ComparisonArgsSchema, ComparisonSchema, DashboardArgsSchema, DashboardSchema, ExportSchema
from server.services import activity, activity_export, peers

blp = blueprint("activity", "/activity", "Monitoring: activity, contact rates and fair comparisons")


@blp.route("")
@authorize(Permission.ACTIVITY_READ)
@blp.arguments(DashboardArgsSchema, location="query")
@blp.response(200, DashboardSchema)
@errors(blp, 404, 422)
def dashboard(args):
    """Doors, calls, conversations, electors reached and active volunteers for an area (your region or CLP by
    default) in a campaign, by unit and by week, with contact rates and, for seats, their peers' median.

    Read from rollups kept by the scheduler's `rollups` job: `as_of` says how fresh they are."""
    return activity.dashboard(current_principal(), **args)


@blp.route("/seats/<int:constituency_id>/comparison")
@authorize(Permission.ACTIVITY_READ)
@blp.arguments(ComparisonArgsSchema, location="query")
@blp.response(200, ComparisonSchema)
@errors(blp, 404, 422)
def seat_comparison(args, constituency_id: int):
    """A seat's contact rate against the k most similar seats that have one (by the chosen features and weights),
    and against its region's average, with the peers named and what they are similar in."""
    try:
        return activity.seat_comparison(current_principal(), constituency_id, campaign_id=args["campaign_id"],
                                        features=args["features"], weights=args["weights"], k=args["k"],
                                        exclude=args["exclude"], exclude_outliers=args["exclude_outliers"])
    except peers.PeerError as exc:
        raise ValidationFailed(exc.message, details=exc.details or None) from None


@blp.route("/export", methods=["POST"])
@authorize(Permission.ACTIVITY_READ)
@blp.arguments(ExportSchema)
@errors(blp, 404, 422)
@blp.doc(responses={"200": {"description": "The table as CSV; cells a spreadsheet would run as formulas are "
                                           "neutralised", "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export(args):
    """Download one of the dashboard's tables as CSV. Every download is recorded in the audit log."""
    try:
        filename, text = activity_export.export_csv(current_principal(), **args)
    except peers.PeerError as exc:
        raise ValidationFailed(exc.message, details=exc.details or None) from None
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
