"""What the app has to tell the signed-in person: new members for a secretary, a role about to lapse."""
from __future__ import annotations

from server.api.common import blueprint
from server.auth import Permission, authorize, current_principal
from server.schemas.members import NoticeSchema
from server.services import notices

blp = blueprint("notices", "/notices", "Notices for the signed-in person")


@blp.route("")
@authorize(Permission.SELF)
@blp.response(200, NoticeSchema(many=True))
def list_notices():
    """Your notices, unread first, then the most recent (at most 50)."""
    return notices.for_user(current_principal())


@blp.route("/<int:notice_id>/read", methods=["POST"])
@authorize(Permission.SELF)
@blp.response(200, NoticeSchema)
def mark_read(notice_id: int):
    """Mark one of your notices read."""
    return notices.mark_read(current_principal(), notice_id)
