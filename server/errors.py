"""One error model: domain errors with stable codes, rendered as one JSON shape by handlers registered once.

Every error response is ``{"error": {"code": ..., "message": ..., "details": ...}}``. Services raise the
subclasses below and never build HTTP responses; views never catch them.
"""
from __future__ import annotations

import enum
import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ErrorCode(str, enum.Enum):
    """Stable, documented error codes. Clients switch on these, never on messages."""

    BAD_REQUEST = "bad_request"
    VALIDATION_FAILED = "validation_failed"
    NOT_AUTHENTICATED = "not_authenticated"
    TOKEN_EXPIRED = "token_expired"
    DEVICE_REVOKED = "device_revoked"
    ACCOUNT_DISABLED = "account_disabled"
    FORBIDDEN = "forbidden"
    ACCESS_SUSPENDED = "access_suspended"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    UNSUPPORTED_VERSION = "unsupported_version"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"


class GroundworkError(Exception):
    """Base for every error a client may see. Subclasses fix the status and code."""

    status = 400
    code = ErrorCode.BAD_REQUEST
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, details: Any = None, *, headers: dict | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details
        self.headers = headers or {}

    def to_dict(self) -> dict:
        return {"error": {"code": self.code.value, "message": self.message, "details": self.details}}


class BadRequest(GroundworkError):
    status, code, default_message = 400, ErrorCode.BAD_REQUEST, "The request is malformed."


class ValidationFailed(GroundworkError):
    """Input that parsed but broke a rule. ``details`` maps field names to lists of messages."""

    status, code, default_message = 422, ErrorCode.VALIDATION_FAILED, "Some fields are invalid."


class NotAuthenticated(GroundworkError):
    status, code, default_message = 401, ErrorCode.NOT_AUTHENTICATED, "Log in to continue."

    def __init__(self, message=None, details=None, **kw):
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="groundwork"'})
        super().__init__(message, details, **kw)


class TokenExpired(NotAuthenticated):
    code, default_message = ErrorCode.TOKEN_EXPIRED, "This device's session has expired. Log in again."


class DeviceRevoked(NotAuthenticated):
    code, default_message = ErrorCode.DEVICE_REVOKED, "This device has been signed out. Log in again."


class AccountDisabled(NotAuthenticated):
    code, default_message = ErrorCode.ACCOUNT_DISABLED, "This account is disabled. Ask your CLP admin."


class Forbidden(GroundworkError):
    status, code, default_message = 403, ErrorCode.FORBIDDEN, "You do not have access to this."


class AccessSuspended(Forbidden):
    """The caller's CLP's access is suspended (docs/access.md): only their own account and sync still work.

    ``details``: ``{"since", "reason"}``. Not a sign-out: the phone keeps its data and its outbox."""

    code, default_message = ErrorCode.ACCESS_SUSPENDED, "Your CLP's access to Groundwork is suspended."


class NotFound(GroundworkError):
    status, code, default_message = 404, ErrorCode.NOT_FOUND, "Not found."


class Conflict(GroundworkError):
    status, code, default_message = 409, ErrorCode.CONFLICT, "This conflicts with the current state."


class PayloadTooLarge(GroundworkError):
    status, code, default_message = 413, ErrorCode.PAYLOAD_TOO_LARGE, "The request is too large."


class RateLimited(GroundworkError):
    status, code, default_message = 429, ErrorCode.RATE_LIMITED, "Too many attempts. Wait and try again."

    def __init__(self, retry_after: int, message=None):
        super().__init__(message, {"retry_after_seconds": retry_after}, headers={"Retry-After": str(retry_after)})


class UnsupportedVersion(GroundworkError):
    status, code, default_message = 400, ErrorCode.UNSUPPORTED_VERSION, "This version of the app is no longer supported."


_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_FAILED,
    429: ErrorCode.RATE_LIMITED,
}


def _respond(status: int, code: str, message: str, details: Any = None, headers: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_webargs_messages(messages: dict) -> dict:
    """webargs nests messages by location ({"json": {...}}); clients want the field names."""
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for field, errs in fields.items():
                flat[field] = errs
        else:
            flat[location] = fields
    return flat


def handle_groundwork_error(exc: GroundworkError):
    return _respond(exc.status, exc.code.value, exc.message, exc.details, exc.headers)


def handle_http_exception(exc: HTTPException):
    """Render werkzeug and webargs errors (bad JSON, 404, 405, 413, argument validation) in our shape."""
    status = exc.code or 500
    code = _HTTP_CODES.get(status, ErrorCode.BAD_REQUEST if status < 500 else ErrorCode.INTERNAL_ERROR)
    data = getattr(exc, "data", None) or {}
    details = None
    message = exc.description or exc.name
    if "messages" in data:
        details = _flatten_webargs_messages(data["messages"])
        if status == 422:
            message = ValidationFailed.default_message
        elif status == 400:
            message = "The request body is not valid JSON." if "json" in data["messages"] else message
    if status == 413:
        message = PayloadTooLarge.default_message
    headers = {}
    allow = exc.get_response().headers.get("Allow") if status == 405 else None
    if allow:
        headers["Allow"] = allow
    return _respond(status, code.value, message, details, headers)


# SQLSTATEs of a database that is momentarily unreachable or busy, not of a fault in the request or the code:
# connection exceptions (class 08), an operator intervention (shutdown, crash recovery, starting up), too many
# connections, and a transaction the server chose to abort (serialisation failure, deadlock).
_TRANSIENT_SQLSTATES = {"57P01", "57P02", "57P03", "53300", "40001", "40P01"}
RETRY_AFTER_UNAVAILABLE = 5  # seconds


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is restarting, unreachable or too busy to answer right now."""
    from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):  # every pooled connection busy for pool_timeout
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # SQLAlchemy saw the connection drop mid-request
        return True
    orig = exc.orig
    if hasattr(orig, "sqlstate"):  # psycopg
        # No SQLSTATE on an OperationalError: the server never answered (refused, reset, timed out connecting).
        state = orig.sqlstate
        if state is None:
            return isinstance(exc, OperationalError)
        return state.startswith("08") or state in _TRANSIENT_SQLSTATES
    # SQLite: another process held the write lock beyond the busy timeout.
    return getattr(orig, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_LOCKED") \
        or "database is locked" in str(orig)


def handle_unexpected(exc: Exception):
    """Never show internals. Log with the request line so the operator can find it."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    if database_unavailable(exc):
        # Nothing was committed (the request's transaction died with its connection): the client retries
        # the same request, as it would after any 5xx, and a push is answered exactly once then.
        log.warning("Database unavailable on %s %s: %s %s", request.method, request.path, exc.__class__.__name__,
                    getattr(getattr(exc, "orig", None), "sqlstate", None) or str(getattr(exc, "orig", exc))[:200])
        return _respond(503, ErrorCode.SERVICE_UNAVAILABLE.value,
                        "The service is briefly unavailable. Try again in a few seconds.",
                        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return _respond(500, ErrorCode.INTERNAL_ERROR.value, "Something went wrong on our side. Try again shortly.")


def handle_sync_error(exc):
    """The pure engine's whole-request errors, in the one shape (the engine knows nothing of HTTP)."""
    status = {"validation_failed": 422, "unsupported_version": 400, "payload_too_large": 413,
              "forbidden": 403}.get(exc.code, 400)
    return _respond(status, exc.code, exc.message, exc.details)


def register_error_handlers(app: Flask) -> None:
    from sync.errors import SyncError

    app.register_error_handler(GroundworkError, handle_groundwork_error)
    app.register_error_handler(SyncError, handle_sync_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
