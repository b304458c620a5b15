"""Logging a device in and out, and who am I."""
from __future__ import annotations

from flask import request

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal, public
from server.schemas import LoginResponseSchema, LoginSchema, UserSchema
from server.services import accounts

blp = blueprint("auth", "", "Authentication")


@blp.route("/auth/login", methods=["POST"])
@public
@blp.arguments(LoginSchema)
@blp.response(201, LoginResponseSchema)
@errors(blp, 401, 429)
def login(args):
    """Log in and register this device; returns its bearer token (shown once)."""
    result = accounts.login(
        email=args["email"], password=args["password"], device_name=args["device_name"],
        ip=request.remote_addr or "unknown", user_agent=request.user_agent.string,
    )
    return {
        "token": result.token,
        "token_expires_at": result.device.token_expires_at,
        "device": result.device,
        "user": accounts.describe_user(result.user, result.principal),
    }


@blp.route("/auth/logout", methods=["POST"])
@authorize(Permission.SELF)
@blp.response(204)
@errors(blp, 401)
def logout():
    """Revoke this device's token."""
    accounts.logout(current_principal())


@blp.route("/me")
@authorize(Permission.SELF)
@blp.response(200, UserSchema)
@errors(blp, 401)
def me():
    """The logged-in user, their scope and permissions."""
    principal = current_principal()
    return accounts.describe_user(accounts.get_user(principal.user_id), principal)
