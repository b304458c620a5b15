"""What a CLP user holds at a moment beyond their role: their CLP's access, and any time-limited grants.

Both feed ``principal_for``, so the one authorisation path applies them: a suspension narrows what the
CLP's people may do (docs/access.md), a grant adds a role's permissions for as long as it lasts. Neither
needs a job to take effect; each is read from its rows as at the moment of the request.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from server.models import AccessChange, AccessChangeKind, Role, RoleGrant


@dataclass(frozen=True)
class Suspension:
    """A suspension of a CLP's access: the change that made it, from when, and why."""

    change_id: int
    since: datetime
    reason: str


@dataclass(frozen=True)
class ClpAccess:
    """A CLP's access as at one moment: the suspension in effect (if any) and the next one scheduled."""

    current: Suspension | None = None
    upcoming: Suspension | None = None

    @property
    def suspended_from(self) -> datetime | None:
        """When what its people make stops counting directly: the suspension in effect, else the next one."""
        suspension = self.current or self.upcoming
        return suspension.since if suspension else None


def clp_access(session, constituency_id: int | None, now: datetime) -> ClpAccess:
    """The CLP's access at ``now``: the latest change in effect that was not cancelled decides it.

    A suspension runs from the first suspension after the last restore in effect; restores are immediate,
    so every change still to come is a suspension.
    """
    if constituency_id is None:
        return ClpAccess()
    live = (AccessChange.constituency_id == constituency_id, AccessChange.cancelled_at.is_(None))
    last_restore = (select(func.max(AccessChange.effective_at))
                    .where(*live, AccessChange.kind == AccessChangeKind.RESTORE, AccessChange.effective_at <= now)
                    .scalar_subquery())
    first = session.execute(
        select(AccessChange.id, AccessChange.effective_at, AccessChange.reason)
        .where(*live, AccessChange.kind == AccessChangeKind.SUSPEND,
               or_(last_restore.is_(None), AccessChange.effective_at > last_restore))
        .order_by(AccessChange.effective_at, AccessChange.id).limit(1)
    ).first()
    if first is None:
        return ClpAccess()
    suspension = Suspension(first.id, first.effective_at, first.reason)
    return ClpAccess(current=suspension) if suspension.since <= now else ClpAccess(upcoming=suspension)


@dataclass(frozen=True)
class ActiveGrant:
    """A role held for a while in one CLP, as ``/me`` shows it."""

    id: int
    role: Role
    constituency_id: int
    ends_at: datetime


def active_grants(session, user_id: int, constituency_id: int | None, now: datetime) -> tuple[ActiveGrant, ...]:
    """The user's grants in force at ``now`` in their own CLP: started, not ended, not revoked."""
    if constituency_id is None:
        return ()
    rows = session.execute(
        select(RoleGrant.id, RoleGrant.role, RoleGrant.constituency_id, RoleGrant.ends_at)
        .where(RoleGrant.user_id == user_id, RoleGrant.constituency_id == constituency_id,
               RoleGrant.revoked_at.is_(None), RoleGrant.starts_at <= now, RoleGrant.ends_at > now)
        .order_by(RoleGrant.ends_at, RoleGrant.id)
    )
    return tuple(ActiveGrant(r.id, r.role, r.constituency_id, r.ends_at) for r in rows)
