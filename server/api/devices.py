"""Devices: one's own, and (for admins) those in scope, with remote sign-out for lost phones."""
from __future__ import annotations

import uuid

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.models import Revocation
from server.schemas import DeviceListArgsSchema, DeviceSchema, RevokeSchema
from server.services import accounts

blp = blueprint("devices", "/devices", "Devices and remote sign-out")


@blp.route("")
@authorize(Permission.SELF)
@blp.arguments(DeviceListArgsSchema, location="query")
@blp.response(200, DeviceSchema(many=True))
def list_devices(args):
    """Your devices; admins also see devices of users in their scope."""
    return accounts.list_devices(current_principal(), **args)


@blp.route("/<uuid:device_id>/revoke", methods=["POST"])
@authorize(Permission.SELF)
@blp.arguments(RevokeSchema, required=False)
@blp.response(200, DeviceSchema)
@errors(blp, 404)
def revoke(args, device_id: uuid.UUID):
    """End a device's access: withdrawn (what it still holds is delivered and held for review) or lost
    (nothing from it is accepted). Either way it wipes its local data at its next contact."""
    reason = Revocation(args["reason"]) if args.get("reason") else None
    return accounts.revoke_device(current_principal(), device_id, reason)
