"""The one authorisation mechanism: what each role may do, and which rows each principal may see.

Every API route declares a permission with ``@authorize``; every query of scoped data goes through
``scope_clause``. Nothing else decides access, so the role x scope test matrix covers all of it.
"""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, true

from server.auth.standing import ActiveGrant, ClpAccess, Suspension, active_grants, clp_access
from server.models import (
    CLP_ROLES,
    Assignment,
    AssignmentItem,
    AssignmentUser,
    AuditEvent,
    Campaign,
    Constituency,
    Device,
    Elector,
    Region,
    Role,
    User,
)
from server.orm import utcnow


class Permission(str, enum.Enum):
    GEOGRAPHY_READ = "geography:read"
    ELECTORS_READ = "electors:read"
    CAMPAIGNS_READ = "campaigns:read"
    MEMBERS_READ = "members:read"
    DEVICES_READ = "devices:read"  # other people's devices in scope (own devices are always visible)
    DEVICES_REVOKE = "devices:revoke"
    AUDIT_READ = "audit:read"
    SELF = "self"  # one's own account and devices
    SYNC = "sync"  # push records from the app and pull walk and call lists
    REVIEW = "review"  # work through the CLP's review queue (conflicts, people not on the register)
    LISTS_MANAGE = "lists:manage"  # build walk and call lists, and give them to volunteers
    CAMPAIGNS_MANAGE = "campaigns:manage"  # edit a campaign's codes, questions and script
    VOLUNTEERS_MANAGE = "volunteers:manage"  # create and deactivate the CLP's volunteer accounts
    SUPPRESSIONS_MANAGE = "suppressions:manage"  # record and lift objections received by letter or email
    IMPORTS_MANAGE = "imports:manage"  # import canvass sheets and files of unsent records, and undo them
    MEMBERS_IMPORT = "members:import"  # load the membership list a national or regional office exports
    MEMBERS_ACCESS_LOG = "members:access-log"  # see who accessed which members' data, and when (no details)
    RIGHTS_MANAGE = "rights:manage"  # carry out erasure and subject access requests (UK GDPR arts. 15, 17)
    ACCESS_MANAGE = "access:manage"  # schedule changes to a CLP's access, and grant time-limited roles
    GEOGRAPHY_MANAGE = "geography:manage"  # load seats' demographics and previous results (national admins)
    ACTIVITY_READ = "activity:read"  # the monitoring dashboards: activity, contact rates and fair comparisons
    SYSTEM_READ = "system:read"  # the scheduler's heartbeat and its jobs' runs (national admins)


_FIELD = {Permission.SELF, Permission.GEOGRAPHY_READ, Permission.CAMPAIGNS_READ, Permission.ELECTORS_READ,
          Permission.SYNC}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Volunteers see the electors of the lists they hold now, nothing wider.
    Role.CANVASSER: frozenset(_FIELD),
    Role.PHONE_BANKER: frozenset(_FIELD),
    Role.CLP_ADMIN: frozenset(
        _FIELD | {Permission.DEVICES_READ, Permission.DEVICES_REVOKE, Permission.AUDIT_READ, Permission.REVIEW,
                  Permission.LISTS_MANAGE, Permission.CAMPAIGNS_MANAGE, Permission.VOLUNTEERS_MANAGE,
                  Permission.SUPPRESSIONS_MANAGE, Permission.IMPORTS_MANAGE, Permission.RIGHTS_MANAGE,
                  Permission.ACTIVITY_READ}
    ),
    # Members' details, for their own CLP only; no canvass data.
    Role.MEMBERSHIP_SECRETARY: frozenset(
        {Permission.SELF, Permission.GEOGRAPHY_READ, Permission.CAMPAIGNS_READ, Permission.MEMBERS_READ}
    ),
    # Regional staff monitor activity and devices; they do not browse individual electors or read members'
    # contact details, but they load the membership list, see who accessed it, and manage CLPs' access.
    Role.REGIONAL_STAFF: frozenset(
        {Permission.SELF, Permission.GEOGRAPHY_READ, Permission.CAMPAIGNS_READ, Permission.DEVICES_READ,
         Permission.DEVICES_REVOKE, Permission.AUDIT_READ, Permission.MEMBERS_IMPORT, Permission.MEMBERS_ACCESS_LOG,
         Permission.ACCESS_MANAGE, Permission.ACTIVITY_READ}
    ),
    Role.NATIONAL_ADMIN: frozenset(Permission),
}

# What the people of a CLP whose access is suspended may still do: their own account (and notices, and the
# changes announced for their CLP), and hand over what their phones hold (sync delivery, held for review).
WHILE_SUSPENDED = frozenset({Permission.SELF, Permission.SYNC})

# Roles whose view of electors is narrowed to their current assignments.
ASSIGNMENT_SCOPED_ROLES = frozenset({Role.CANVASSER, Role.PHONE_BANKER})


class ScopeKind(str, enum.Enum):
    NATION = "nation"
    REGION = "region"
    CONSTITUENCY = "constituency"


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user, the device they use, and what their role and scope allow."""

    user_id: int
    role: Role
    scope_kind: ScopeKind
    region_id: int | None
    constituency_id: int | None
    # Every constituency the principal may see (None: all of them).
    constituency_ids: frozenset[int] | None
    device_id: uuid.UUID | None = None
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    # CLP roles only: their CLP's access (a suspension in effect narrows ``permissions``), and the roles
    # granted to them for a while, whose permissions ``permissions`` includes.
    access: ClpAccess = field(default_factory=ClpAccess)
    grants: tuple[ActiveGrant, ...] = ()

    @property
    def suspension(self) -> Suspension | None:
        """The suspension of the principal's CLP in effect now, if any."""
        return self.access.current

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def covers_constituency(self, constituency_id: int | None) -> bool:
        return self.constituency_ids is None or constituency_id in self.constituency_ids

    def covers_region(self, region_id: int | None) -> bool:
        return self.scope_kind == ScopeKind.NATION or region_id == self.region_id


def principal_for(session, user, device_id: uuid.UUID | None = None, *, now: datetime | None = None) -> Principal:
    """Build the principal for a user, resolving their scope to concrete constituency ids once.

    For the people of a CLP, their grants in force add permissions, and a suspension of their CLP's access
    in effect leaves them only ``WHILE_SUSPENDED`` (docs/access.md).
    """
    permissions = ROLE_PERMISSIONS[user.role]
    access, grants = ClpAccess(), ()
    if user.role == Role.NATIONAL_ADMIN:
        kind, region_id, ids = ScopeKind.NATION, None, None
    elif user.role == Role.REGIONAL_STAFF:
        kind, region_id = ScopeKind.REGION, user.region_id
        ids = frozenset(session.scalars(select(Constituency.id).where(Constituency.region_id == region_id)))
    else:
        kind = ScopeKind.CONSTITUENCY
        region_id = session.scalar(select(Constituency.region_id).where(Constituency.id == user.constituency_id))
        ids = frozenset({user.constituency_id})
        if user.role in CLP_ROLES:
            now = now or utcnow()
            grants = active_grants(session, user.id, user.constituency_id, now)
            for grant in grants:  # the same CLP scope: a grant adds what a role may do, never where
                permissions = permissions | ROLE_PERMISSIONS[grant.role]
            access = clp_access(session, user.constituency_id, now)
            if access.current is not None:
                permissions = permissions & WHILE_SUSPENDED
    return Principal(
        user_id=user.id,
        role=user.role,
        scope_kind=kind,
        region_id=region_id,
        constituency_id=user.constituency_id,
        constituency_ids=ids,
        device_id=device_id,
        permissions=permissions,
        access=access,
        grants=grants,
    )


def _in_constituencies(column, principal: Principal) -> ColumnElement[bool]:
    if principal.constituency_ids is None:
        return true()
    return column.in_(sorted(principal.constituency_ids))


def active_assignment_electors(user_id: int, now: datetime | None = None):
    """Ids of electors on the user's current assignments: listed directly, or living at a listed property."""
    now = now or utcnow()
    current = (
        select(Assignment.id)
        .join(AssignmentUser, AssignmentUser.assignment_id == Assignment.id)
        .where(AssignmentUser.user_id == user_id, Assignment.starts_at <= now, Assignment.ends_at > now)
    )
    direct = select(AssignmentItem.elector_id).where(
        AssignmentItem.assignment_id.in_(current), AssignmentItem.elector_id.is_not(None)
    )
    by_property = select(Elector.id).join(AssignmentItem, AssignmentItem.property_id == Elector.property_id).where(
        AssignmentItem.assignment_id.in_(current)
    )
    return direct.union(by_property)


def scope_clause(principal: Principal, model) -> ColumnElement[bool]:
    """The WHERE clause limiting ``model`` to the rows this principal may see."""
    if model is Region:
        return true() if principal.scope_kind == ScopeKind.NATION else Region.id == principal.region_id
    if model is Constituency:
        return _in_constituencies(Constituency.id, principal)
    if model is Device:
        return _device_clause(principal)
    if model is AuditEvent:
        return _audit_clause(principal)
    if model is Campaign:
        # National campaigns (no constituency) are everyone's; a local drive belongs to its CLP.
        return or_(Campaign.constituency_id.is_(None), _in_constituencies(Campaign.constituency_id, principal))
    clause = _in_constituencies(model.constituency_id, principal)
    if model is Elector and principal.role in ASSIGNMENT_SCOPED_ROLES:
        clause = and_(clause, Elector.id.in_(active_assignment_electors(principal.user_id)))
    return clause


def _device_clause(principal: Principal) -> ColumnElement[bool]:
    """One's own devices always; others' in scope only with the devices permission."""
    own = Device.user_id == principal.user_id
    if not principal.can(Permission.DEVICES_READ):
        return own
    if principal.scope_kind == ScopeKind.NATION:
        return true()
    in_scope = _in_constituencies(User.constituency_id, principal)
    if principal.scope_kind == ScopeKind.REGION:
        in_scope = or_(in_scope, User.region_id == principal.region_id)
    return or_(own, Device.user_id.in_(select(User.id).where(in_scope)))


def _audit_clause(principal: Principal) -> ColumnElement[bool]:
    """Audit events of the principal's CLPs, plus (for regional staff) events filed against their region."""
    if principal.scope_kind == ScopeKind.NATION:
        return true()
    clause = _in_constituencies(AuditEvent.constituency_id, principal)
    if principal.scope_kind == ScopeKind.REGION:
        clause = or_(clause, AuditEvent.region_id == principal.region_id)
    return clause
