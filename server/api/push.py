"""Web push: the server's public key, and each device's subscription to have notices shown on it (docs/push.md)."""
from __future__ import annotations

from flask import request

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.schemas.push import PushKeySchema, PushSubscriptionOutSchema, PushSubscriptionSchema, UnsubscribeSchema
from server.services import push

blp = blueprint("push", "/push", "Notices shown on your devices (web push)")


@blp.route("/key")
@authorize(Permission.SELF)
@blp.response(200, PushKeySchema)
@errors(blp, 404)
def key():
    """The key browsers subscribe with (applicationServerKey); 404 while push is not set up on this server."""
    return {"public_key": push.public_key()}


@blp.route("/subscriptions", methods=["POST"])
@authorize(Permission.SELF)
@blp.arguments(PushSubscriptionSchema)
@blp.response(201, PushSubscriptionOutSchema)
@errors(blp, 409)
def subscribe(args):
    """Have your notices shown on this device: the browser's PushSubscription, as its toJSON() gives it.

    Stored for the device the token belongs to, replacing any earlier subscription of that device; sending it
    again changes nothing. The endpoint must be a browser push service's (422 otherwise); 409 while push is not
    set up on this server. Audited, without the endpoint."""
    sub = push.subscribe(current_principal(), endpoint=args["endpoint"], p256dh=args["keys"]["p256dh"],
                         auth=args["keys"]["auth"], user_agent=request.user_agent.string)
    return push.view(sub)


@blp.route("/subscriptions", methods=["DELETE"])
@authorize(Permission.SELF)
@blp.arguments(UnsubscribeSchema)
@blp.response(204)
@errors(blp, 404)
def unsubscribe(args):
    """Stop showing notices on a device: one of your own subscriptions, by its endpoint (404 for any other)."""
    push.unsubscribe(current_principal(), args["endpoint"])
