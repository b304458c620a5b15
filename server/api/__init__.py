"""The JSON API under /api/v1: one blueprint per resource, documented from the marshmallow schemas."""
from __future__ import annotations

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api

from server.schemas import ErrorSchema

API_PREFIX = "/api/v1"
ERROR_REF = {"$ref": "#/components/schemas/Error"}


class GroundworkApi(Api):
    """flask-smorest without its own error handler (server.errors owns the one error shape) and without a
    blanket ``default`` response: each operation lists the errors it can really give."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        pass


class ErrorResponses(BasePlugin):
    """Documents, for every operation, the errors the one authorisation path and the one request loader give.

    They follow from what the operation is: a token is needed (401, 403), it takes a body (400 for malformed
    or too deeply nested JSON, 413, 422), it takes query arguments (422), it names something by id (404).
    Anything an operation can answer beyond these, its view documents itself (``server.api.common.errors``).
    The HTTP server itself answers a request line or headers past its limits (Procfile) before the app sees
    them, in HTML: any operation can get those two.
    """

    REASONS = {
        "400": "The body is not valid JSON, or is nested too deeply.",
        "401": "No valid device token (missing, unknown, expired, revoked), or a disabled account.",
        "403": "The role does not have the permission this needs (forbidden), or the CLP's access is suspended "
               "(access_suspended).",
        "404": "Nothing by that id in your scope.",
        "413": "The body is larger than the limit given in details.",
        "422": "Some fields are invalid; details name them.",
    }
    FROM_HTTP_SERVER = {
        "414": "The request line is longer than the HTTP server allows (4,094 bytes). Not JSON.",
        "431": "The headers are more or larger than the HTTP server allows. Not JSON.",
    }

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            statuses = set()
            if operation.get("security"):
                statuses |= {"401", "403"}
            if "requestBody" in operation:
                statuses |= {"400", "413", "422"}
            if any(p.get("in") == "query" for p in operation.get("parameters", []) if isinstance(p, dict)):
                statuses.add("422")
            if "{" in (path or ""):
                statuses.add("404")
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                if status not in responses and int(status) not in responses:
                    responses[status] = {"description": self.REASONS[status],
                                         "content": {"application/json": {"schema": ERROR_REF}}}
            for status, reason in self.FROM_HTTP_SERVER.items():
                responses[status] = {"description": reason, "content": {"text/html": {"schema": {"type": "string"}}}}


def register_api(app: Flask) -> GroundworkApi:
    from server.api import (access, activity, audit, auth, campaigns, devices, electors, geography, imports, lists,
                            member_imports, members, meta, notices, peers, push, review, rights, suppressions,
                            recognition, sync, sync_health, system, volunteers)

    api = GroundworkApi(
        app,
        spec_kwargs={
            "extra_plugins": [ErrorResponses()],
            "info": {
                "description": "Groundwork's API. Every error is {\"error\": {\"code\", \"message\", \"details\"}}.",
            },
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "The device token from /auth/login"}
    )
    from server.schemas import MutationSchema

    from server.schemas.admin import OptionSchema, ScaleSchema

    api.spec.components.schema("Mutation", schema=MutationSchema)  # a push's items, judged one by one
    api.spec.components.schema("Option", schema=OptionSchema)  # a choice question's options
    api.spec.components.schema("Scale", schema=ScaleSchema)  # or a scale's range
    with app.app_context():  # limits read from settings (page sizes) are documented as configured
        for module in (meta, auth, devices, geography, electors, campaigns, audit, sync, review, lists, volunteers,
                       suppressions, imports, members, member_imports, rights, notices, access, push,
                       sync_health, peers, activity, system, recognition):
            api.register_blueprint(module.blp)
    app.extensions["groundwork_api"] = api
    return api
