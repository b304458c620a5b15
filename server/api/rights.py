"""Electors' and members' rights under UK GDPR: erasure (art. 17) and subject access (art. 15)."""
from __future__ import annotations

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.schemas.rights import ErasureRequestSchema, ErasureSchema, SubjectAccessSchema
from server.services import erasure, subject_access

blp = blueprint("rights", "/rights", "Erasure and subject access requests")

DOWNLOAD = "A JSON file to send to the person (Content-Disposition: attachment; named with the id and the date)"


def _download(export: subject_access.Export):
    return export.document, 200, {"Content-Disposition": f'attachment; filename="{export.filename}"',
                                  "Cache-Control": "no-store"}


@blp.route("/electors/<int:elector_id>/erasure", methods=["POST"])
@authorize(Permission.RIGHTS_MANAGE)
@blp.arguments(ErasureRequestSchema)
@blp.response(200, ErasureSchema)
@errors(blp, 409)
def erase_elector(args, elector_id: int):
    """Erase an elector's personal data at their request.

    Names, phone, notes and free-text answers go everywhere the server holds them; counts stay. Phones drop
    them at their next sync, and no later sync, import or register edition brings them back. 409 if already
    erased."""
    return erasure.erase_elector(current_principal(), elector_id, **args)


@blp.route("/members/<int:member_id>/erasure", methods=["POST"])
@authorize(Permission.RIGHTS_MANAGE)
@blp.arguments(ErasureRequestSchema)
@blp.response(200, ErasureSchema)
@errors(blp, 409)
def erase_member(args, member_id: int):
    """Erase a member's personal data at their request.

    Needs `members:read` as well. Name, contact details and address go, and the notes of calls to them; the
    membership number, dates and status stay. 409 if already erased."""
    return erasure.erase_member(current_principal(), member_id, **args)


@blp.route("/electors/<int:elector_id>/subject-access")
@authorize(Permission.RIGHTS_MANAGE)
@blp.response(200, SubjectAccessSchema, description=DOWNLOAD)
def elector_subject_access(elector_id: int):
    """Everything held about an elector, and who accessed it, as a file to send them.

    The export is itself recorded in the audit trail, naming the elector."""
    return _download(subject_access.elector_export(current_principal(), elector_id))


@blp.route("/members/<int:member_id>/subject-access")
@authorize(Permission.RIGHTS_MANAGE)
@blp.response(200, SubjectAccessSchema, description=DOWNLOAD)
def member_subject_access(member_id: int):
    """Everything held about a member, and who accessed it, as a file to send them.

    Needs `members:read` as well. The export is itself recorded in the audit trail, naming the member."""
    return _download(subject_access.member_export(current_principal(), member_id))
