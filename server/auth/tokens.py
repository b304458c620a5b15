"""Device bearer tokens: random, shown once, stored only as a SHA-256 hash, expiring and revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.errors import AccountDisabled, DeviceRevoked, NotAuthenticated, TokenExpired
from server.extensions import db
from server.models import Device, Revocation
from server.orm import utcnow

TOKEN_PREFIX = "gw1_"
# Recording last-seen on every request would turn reads into writes; once a minute is enough.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def new_token() -> tuple[str, str]:
    """A fresh token and its hash. The plain token leaves the server once, in the login response."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return plain, hash_token(plain)


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Send the device token as 'Authorization: Bearer <token>'.")
    return token.strip()


def device_for_request(*, delivery: bool = False) -> Device:
    """The live device behind this request's token, or the precise reason there is none.

    ``delivery`` (sync only) admits a device whose access an admin ended, or whose user was deactivated:
    the work of a volunteer cut off without warning must never be lost, so it may still deliver its
    outbox (held for review, whatever the age of its token) and be told to wipe. A device reported lost
    is admitted too, only to be told to wipe. A device that was logged out is admitted nowhere.
    """
    token = bearer_token()
    # Its user comes in the same query: every authorised request reads both.
    device = db.session.scalar(select(Device).options(joinedload(Device.user))
                               .where(Device.token_hash == hash_token(token)))
    if device is None:
        raise NotAuthenticated("This token is not recognised. Log in again.")
    ended = device.revoked_at is not None or not device.user.active
    if ended and (not delivery or device.revoked_reason == Revocation.LOGOUT.value):
        if device.revoked_at is None:
            raise AccountDisabled()
        raise DeviceRevoked(details={"revoked_at": device.revoked_at.isoformat(), "reason": device.revoked_reason})
    now = utcnow()
    if not ended and device.token_expires_at <= now:
        raise TokenExpired(details={"expired_at": device.token_expires_at.isoformat()})
    if device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION:
        device.last_seen_at = now
        db.session.commit()
    return device


def token_ttl() -> timedelta:
    return current_app.config["TOKEN_TTL"]
