"""Housekeeping that keeps personal data from lingering: old login attempts, long-expired tokens."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, update

from server.extensions import db
from server.models import Device, LoginAttempt
from server.orm import utcnow


def prune_login_attempts() -> int:
    """Forget login attempts once they are too old to matter for throttling (IP addresses are personal data)."""
    cutoff = utcnow() - max(current_app.config["LOGIN_FAILURE_WINDOW"], timedelta(days=1))
    result = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff))
    db.session.commit()
    return result.rowcount


def revoke_expired_devices() -> int:
    """Mark devices whose token expired as revoked, so device lists and monitoring tell the truth."""
    now = utcnow()
    result = db.session.execute(
        update(Device)
        .where(Device.revoked_at.is_(None), Device.token_expires_at <= now)
        .values(revoked_at=now, revoked_reason="expired")
    )
    db.session.commit()
    return result.rowcount
