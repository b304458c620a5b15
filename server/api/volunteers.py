"""The CLP's volunteer accounts: create, reset a password, end access and restore it."""
from __future__ import annotations

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.schemas.admin import (
    DeactivateSchema,
    NewPasswordSchema,
    VolunteerArgsSchema,
    VolunteerCreateSchema,
    VolunteerSchema,
)
from server.services import volunteers

blp = blueprint("volunteers", "/volunteers", "Volunteer accounts of a CLP")


def _one(user):
    return next(v for v in volunteers.list_volunteers(current_principal(), include_inactive=True) if v.id == user.id)


@blp.route("")
@authorize(Permission.VOLUNTEERS_MANAGE)
@blp.arguments(VolunteerArgsSchema, location="query")
@blp.response(200, VolunteerSchema(many=True))
def list_volunteers(args):
    """Accounts of your CLP (national admins: all CLPs), with phones signed in and when last seen."""
    return volunteers.list_volunteers(current_principal(), **args)


@blp.route("", methods=["POST"])
@authorize(Permission.VOLUNTEERS_MANAGE)
@blp.arguments(VolunteerCreateSchema)
@blp.response(201, NewPasswordSchema)
@errors(blp, 409)
def create(args):
    """A new account with a one-time password, shown once, to give to the volunteer in person."""
    user, password = volunteers.create_volunteer(current_principal(), **args)
    return {"volunteer": _one(user), "password": password}


@blp.route("/<int:user_id>/password", methods=["POST"])
@authorize(Permission.VOLUNTEERS_MANAGE)
@blp.response(200, NewPasswordSchema)
def reset_password(user_id: int):
    """A new one-time password for a volunteer who forgot theirs; their signed-in phones carry on."""
    user, password = volunteers.reset_password(current_principal(), user_id)
    return {"volunteer": _one(user), "password": password}


@blp.route("/<int:user_id>/deactivate", methods=["POST"])
@authorize(Permission.VOLUNTEERS_MANAGE)
@blp.arguments(DeactivateSchema, required=False)
@blp.response(200, VolunteerSchema)
@errors(blp, 409)
def deactivate(args, user_id: int):
    """End a volunteer's access and sign out all their phones."""
    return _one(volunteers.deactivate(current_principal(), user_id, phones_lost=(args or {}).get("phones_lost", False)))


@blp.route("/<int:user_id>/reactivate", methods=["POST"])
@authorize(Permission.VOLUNTEERS_MANAGE)
@blp.response(200, VolunteerSchema)
def reactivate(user_id: int):
    """Let a volunteer sign in again (on a fresh sign-in: phones signed out when access ended stay so)."""
    return _one(volunteers.reactivate(current_principal(), user_id))
