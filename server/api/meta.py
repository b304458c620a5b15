"""Health check and the OpenAPI document: the two things any client or monitor asks first."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from server.api.common import blueprint
from server.auth import public
from server.extensions import db
from server.orm import utcnow
from server.schemas import HealthSchema
from server.services import system

blp = blueprint("meta", "", "Health and API description")


@blp.route("/health")
@public
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema)
def health():
    """Whether the server and its database answer, and whether a scheduler is running (an uptime monitor can
    alert on `scheduler` not being `running`; the web server is healthy either way)."""
    scheduler = "unknown"
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
        scheduler = system.scheduler_status()["status"]
    except Exception:  # any database failure means "not healthy", never a 500
        db.session.rollback()
        database = "unreachable"
    body = {"status": "ok" if database == "ok" else "degraded", "database": database, "scheduler": scheduler,
            "version": current_app.config["API_VERSION"], "time": utcnow()}
    return body, 200 if database == "ok" else 503


@blp.route("/openapi.json")
@public
@blp.doc(responses={"200": {"description": "The OpenAPI 3 document",
                            "content": {"application/json": {"schema": {"type": "object"}}}}})
def openapi():
    """The OpenAPI 3 document, generated from the schemas."""
    return current_app.extensions["groundwork_api"].spec.to_dict()
