"""Errors about a whole sync request (not one mutation). The server maps each to its HTTP error."""
from __future__ import annotations

from typing import Any


class SyncError(Exception):
    code = "bad_request"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidEnvelope(SyncError):
    """The request's own fields (not its mutations) are missing or malformed."""

    code = "validation_failed"


class UnsupportedProtocol(SyncError):
    """The app speaks a protocol version this server no longer (or does not yet) support."""

    code = "unsupported_version"


class BatchTooLarge(SyncError):
    code = "payload_too_large"


class WrongDevice(SyncError):
    """The body names a different device from the token's."""

    code = "forbidden"
