"""Pull cursors: opaque to clients, they name a storage instance and the page token it last received."""
from __future__ import annotations

import secrets
import uuid

from sync import PROTOCOL_VERSION


def new_token() -> int:
    """A random page token: a page sent to one tab can never be confirmed by another tab's cursor."""
    return secrets.randbits(62)


def encode_cursor(storage_id: uuid.UUID, token: int) -> str:
    return f"{PROTOCOL_VERSION}.{storage_id.hex}.{token}"


def decode_cursor(cursor: str) -> tuple[uuid.UUID, int] | None:
    """(storage id, page token) of a cursor this server issued, or None. Only the exact form ``encode_cursor``
    writes is read: another spelling of a storage id or a number (braces, capitals, a sign, "1_0") is not a
    cursor we issued."""
    try:
        version, storage, token = cursor.split(".")
        if int(version) != PROTOCOL_VERSION:
            return None
        decoded = uuid.UUID(hex=storage), int(token)
    except (ValueError, AttributeError):
        return None
    return decoded if encode_cursor(*decoded) == cursor else None
