"""Seats' demographic profiles, and each seat's peers: the seats most like it (docs/peers.md)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from server.api.common import blueprint
from server.auth import Permission, authorize, current_principal
from server.errors import ValidationFailed
from server.extensions import db
from server.models import Constituency, ConstituencyProfile
from server.schemas.peers import PeerArgsSchema, PeersSchema, ProfileImportSummarySchema, ProfileUploadSchema
from server.services import peers, profiles_import, reads
from server.transport import body_limit

blp = blueprint("peers", "", "Seats' profiles, and the seats most like each")

_LEFT_OUT = {
    "excluded": "left out as asked",
    "missing_features": "no figure for {features}",
    "outlier": "an outlier (more than 3 standard deviations from the mean) on {features}",
}


@blp.route("/constituencies/<int:constituency_id>/peers")
@authorize(Permission.GEOGRAPHY_READ)
@blp.arguments(PeerArgsSchema, location="query")
@blp.response(200, PeersSchema)
def get_peers(args, constituency_id: int):
    """The seats most like this one, for a fair comparison (any seat in the country, by name and code only).

    Seats are compared on the chosen features' z-scores by weighted Euclidean distance. The answer gives the
    features and weights used, each peer's distance and what it is most similar in, and the seats left out
    and why. A seat without a profile, or without a figure for a chosen feature, is a 422 saying so.
    """
    seat = reads.get_scoped(current_principal(), Constituency, constituency_id)
    profiles = {id_: dict(features or {}) for id_, features in db.session.execute(
        select(ConstituencyProfile.constituency_id, ConstituencyProfile.features))}
    try:
        result = peers.find_peers(profiles, seat.id, args["features"], args["weights"], args["k"],
                                  set(args["exclude"] or ()), outlier_z=3.0 if args["exclude_outliers"] else None)
    except peers.PeerError as exc:
        raise ValidationFailed(exc.message, details=exc.details or None) from None
    named = {p.seat_id for p in result.peers} | {o.seat_id for o in result.left_out}
    seats = {c.id: c for c in db.session.scalars(select(Constituency).where(Constituency.id.in_(sorted(named))))}

    def brief(seat_id: int) -> dict:
        c = seats[seat_id]
        return {"id": c.id, "code": c.code, "name": c.name}

    return {
        "seat": {"id": seat.id, "code": seat.code, "name": seat.name},
        "k": args["k"],
        "features": [{"name": f, "label": peers.label(f), "weight": result.weights[f], "value": profiles[seat.id][f],
                      "z": result.z[seat.id][f]} for f in result.features],
        "peers": [{**brief(p.seat_id), "distance": round(p.distance, 6), "similar_in": list(p.nearest_features),
                   "similar_in_words": peers.similar_in_words(p.nearest_features)} for p in result.peers],
        "left_out": [{**brief(o.seat_id), "reason": o.reason, "features": list(o.features),
                      "message": _LEFT_OUT[o.reason].format(features=", ".join(peers.label(f) for f in o.features))}
                     for o in result.left_out],
        "compared": result.compared,
        "notes": result.notes,
    }


@blp.route("/constituency-profiles", methods=["POST"])
@body_limit("IMPORT_UPLOAD_BYTES")
@authorize(Permission.GEOGRAPHY_MANAGE)
@blp.arguments(ProfileUploadSchema, location="files")
@blp.response(201, ProfileImportSummarySchema, description="Loaded: the seats' profiles replaced.")
def import_profiles(files):
    """Load seats' demographics and previous results (CSV or .xlsx, one row per seat), all or nothing.

    National admins only. A seat in the file has its profile replaced whole. A file with bad rows is a 422
    whose details list them by line (the first 100, with the total), and nothing is written.
    """
    upload = files["file"]
    data = upload.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
    summary = profiles_import.import_profiles(data, (upload.filename or "upload")[-255:],
                                              principal=current_principal())
    return summary.as_dict(), 201
