"""Audit trail writer. Call it inside the transaction of the action it records, before the commit."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import has_request_context, request
from sqlalchemy import insert

from server.extensions import db
from server.models import AuditEvent, AuditSubject


def record(
    action: str,
    *,
    actor_user_id: int | None = None,
    actor_device_id=None,
    target_type: str | None = None,
    target_id: Any = None,
    constituency_id: int | None = None,
    region_id: int | None = None,
    details: dict | None = None,
    subjects: Iterable[tuple[str, int]] = (),
) -> AuditEvent:
    """Add an audit event to the current session; it commits (or rolls back) with the action.

    ``subjects`` names the people the action touched, as ("member" | "elector", id) pairs, so a subject
    access request can say who accessed whose data.
    """
    event = AuditEvent(
        action=action,
        actor_user_id=actor_user_id,
        actor_device_id=actor_device_id,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        constituency_id=constituency_id,
        region_id=region_id,
        ip=request.remote_addr if has_request_context() else None,
        details=details or {},
    )
    db.session.add(event)
    pairs = sorted(set(subjects))
    if pairs:
        db.session.flush()
        db.session.execute(insert(AuditSubject), [
            {"event_id": event.id, "subject_type": kind, "subject_id": int(sid)} for kind, sid in pairs])
    return event


def record_for(principal, action: str, **kwargs) -> AuditEvent:
    """Audit an action taken by an authenticated principal, filed under their own scope by default."""
    kwargs.setdefault("constituency_id", principal.constituency_id)
    kwargs.setdefault("region_id", principal.region_id)
    return record(action, actor_user_id=principal.user_id, actor_device_id=principal.device_id, **kwargs)
