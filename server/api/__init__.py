"""The JSON API under /api/v1: one blueprint per resource, documented from the marshmallow schemas."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from server.schemas import ErrorSchema

API_PREFIX = "/api/v1"


class GroundworkApi(Api):
    """flask-smorest without its own error handler: server.errors owns the one error shape."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        pass


def register_api(app: Flask) -> GroundworkApi:
    from server.api import audit, auth, campaigns, devices, electors, geography, meta, review, sync

    api = GroundworkApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Groundwork's API. Every error is {\"error\": {\"code\", \"message\", \"details\"}}.",
            },
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "The device token from /auth/login"}
    )
    for module in (meta, auth, devices, geography, electors, campaigns, audit, sync, review):
        api.register_blueprint(module.blp)
    app.extensions["groundwork_api"] = api
    return api
