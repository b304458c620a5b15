"""Loading the membership list a national or regional office exports (CSV or .xlsx), docs/members.md."""
from __future__ import annotations

from flask import current_app, request
from marshmallow import RAISE, ValidationError

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.errors import ValidationFailed
from server.schemas.member_imports import (MemberImportFormSchema, MemberImportSummarySchema,
                                           MemberImportUploadSchema)
from server.services import members_import
from server.transport import body_limit

blp = blueprint("member-imports", "/member-imports", "Membership list imports")


@blp.route("", methods=["POST"])
@body_limit("IMPORT_UPLOAD_BYTES")
@authorize(Permission.MEMBERS_IMPORT)
@blp.arguments(MemberImportUploadSchema, location="files")
@blp.response(201, MemberImportSummarySchema, description="Loaded: what changed.")
@blp.alt_response(200, schema=MemberImportSummarySchema, description="A dry run: what would change; nothing "
                                                                     "was written.")
@errors(blp, 404, 409)
def import_members(files):
    """Load a membership export for one CLP (constituency_id) or one region (region_id), all or nothing.

    Members are matched by membership number and updated in place; lapsed and resigned members are marked,
    never deleted; erased members are skipped. A file with bad rows is a 422 whose details list them by line
    and column (the first 100, with the total), and nothing is written. A CLP or region outside your scope is
    a 404; another import changing the same members at once is a 409.
    """
    try:  # the form fields travel beside the file in the same multipart body
        form = MemberImportFormSchema(unknown=RAISE).load(request.form.to_dict())
    except ValidationError as exc:
        raise ValidationFailed("Some fields are invalid.", exc.messages) from None
    principal = current_principal()
    scope = members_import.scope_for(principal, constituency_id=form["constituency_id"],
                                     region_id=form["region_id"])
    upload = files["file"]
    data = upload.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
    summary = members_import.import_members(data, (upload.filename or "upload")[-255:], scope,
                                            principal=principal, dry_run=form["dry_run"])
    return summary.as_dict(), 200 if form["dry_run"] else 201
