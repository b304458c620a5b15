"""Sync protocol v1 over HTTP (docs/sync-protocol.md). The views only authenticate and hand over."""
from __future__ import annotations

from flask import current_app, g, request

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal, public
from server.errors import BadRequest
from server.schemas import (
    PullArgsSchema,
    PullResponseSchema,
    PushRequestSchema,
    PushResponseSchema,
    SyncHelloSchema,
    dump_pull,
    dump_push,
)
from server.services import sync
from server.transport import body_limit

blp = blueprint("sync", "/sync", "Sync protocol v1")


@blp.route("/hello")
@public
@blp.response(200, SyncHelloSchema)
def hello():
    """Protocol versions, limits, retention and the server's clock."""
    return sync.hello()


@blp.route("/push", methods=["POST"])
@authorize(Permission.SYNC, delivery=True)
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": PushRequestSchema}}})
@blp.response(200, PushResponseSchema)
@errors(blp, 400, 401, 403, 413, 422)
@body_limit("SYNC_MAX_PUSH_BYTES", detail="max_push_bytes")
def push():
    """Deliver mutations from the outbox; one result per mutation, in order."""
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("The body must be JSON (Content-Type: application/json).")
    return push_response(sync.push(current_principal(), g.device, body))


def push_response(result: dict):
    """The push's JSON, written directly as the pull's is (PushResponseSchema stays the documented shape)."""
    return current_app.json.response(dump_push(result))


@blp.route("/pull")
@authorize(Permission.SYNC, delivery=True)
@blp.arguments(PullArgsSchema, location="query")
@blp.response(200, PullResponseSchema)
@errors(blp, 401, 422)
def pull(args):
    """The next page of what this device should hold, or a wipe or reset instruction."""
    return pull_response(sync.pull(current_principal(), g.device, **args))


def pull_response(result: dict):
    """The pull's JSON, written directly: PullResponseSchema stays the documented shape (flask-smorest passes
    a Response through undumped), and the bytes are those its dump would give, by the same JSON provider."""
    return current_app.json.response(dump_pull(result))
