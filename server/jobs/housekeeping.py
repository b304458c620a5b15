"""Housekeeping that keeps personal data from lingering: old login attempts and idle login throttles.

An expired token is not a revocation: its device keeps its outbox and logs in again, whereas a
revoked device is told to wipe. So expiry is never turned into revocation here.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from server.extensions import db
from server.models import LoginAttempt
from server.orm import utcnow
from server.services import login_throttle


def prune_login_attempts() -> int:
    """Forget login attempts after a day and throttle counters once they slow nothing (addresses are personal data)."""
    cutoff = utcnow() - max(current_app.config["LOGIN_FAILURE_WINDOW"], timedelta(days=1))
    result = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff))
    forgotten = login_throttle.forget_idle()
    db.session.commit()
    return result.rowcount + forgotten

