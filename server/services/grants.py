"""Time-limited roles: regional staff give someone of a CLP in their region a role there until a date.

A grant takes effect and lapses by itself (``principal_for`` reads the grants in force at each request);
the job ``lapse_and_warn`` only records each lapse once and tells the holder a week before it ends.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, not_, select
from sqlalchemy.orm import aliased

from server.auth.policy import Principal, scope_clause
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import CLP_ROLES, Constituency, Role, RoleGrant, User
from server.orm import utcnow
from server.services import audit, notices
from server.services.accounts import normalise_email
from server.services.access import NOTICE_LINK, uk_when
from server.services.paging import Page, paginate

MAX_GRANT = timedelta(days=366)  # a year, whatever the date it starts
WARN_BEFORE = timedelta(days=7)


def role_words(role: Role) -> str:
    return role.value.replace("_", " ")


def _clp(principal: Principal, constituency_id: int) -> Constituency:
    clp = db.session.scalar(select(Constituency).where(Constituency.id == constituency_id,
                                                       scope_clause(principal, Constituency)))
    if clp is None:
        raise NotFound("No such CLP in your scope.")
    return clp


def grant(principal: Principal, *, constituency_id: int, role: str, ends_at: datetime, reason: str,
          user_id: int | None = None, email: str | None = None) -> RoleGrant:
    """Give an account of a CLP in scope a CLP role there, from now until ``ends_at`` (at most a year).

    The account is named by id, or by its login email (what a regional officer is likely to know)."""
    role = Role(role)
    reason = (reason or "").strip()
    now = utcnow()
    problems: dict[str, list[str]] = {}
    if role not in CLP_ROLES:
        problems["role"] = [f"Only a CLP role can be granted: {', '.join(r.value for r in CLP_ROLES)}."]
    if not reason:
        problems["reason"] = ["Say why, e.g. 'Covering while the membership secretary is away'."]
    if ends_at <= now:
        problems["ends_at"] = ["The end must be in the future."]
    elif ends_at > now + MAX_GRANT:
        problems["ends_at"] = [f"A grant lasts at most a year: end it by {uk_when(now + MAX_GRANT)}."]
    if problems:
        raise ValidationFailed(details=problems)
    clp = _clp(principal, constituency_id)
    # The account must be one the principal could see (404 otherwise, as for anything out of scope).
    who = User.id == user_id if user_id is not None else User.email == normalise_email(email or "")
    user = db.session.scalar(select(User).where(who, scope_clause(principal, User)))
    if user is None:
        raise NotFound("No such account in your scope.",
                       {"user_id": [user_id]} if user_id is not None else {"email": ["No account with that email."]})
    if user.constituency_id != clp.id:
        raise ValidationFailed(details={"user_id": [f"{user.name} does not belong to {clp.name}: a role is granted "
                                                    f"only in the person's own CLP."]})
    if not user.active:
        raise ValidationFailed(details={"user_id": [f"{user.name}'s account is disabled."]})
    if user.role == role:
        raise ValidationFailed(details={"role": [f"{user.name} is already a {role_words(role)}."]})
    current = db.session.scalar(select(RoleGrant).where(
        RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.constituency_id == clp.id,
        RoleGrant.revoked_at.is_(None), RoleGrant.ends_at > now).limit(1))
    if current is not None:
        raise Conflict(f"{user.name} already holds this role until {uk_when(current.ends_at)}: revoke that grant "
                       f"first to change its end.", {"grant_id": current.id})
    record = RoleGrant(user_id=user.id, role=role, constituency_id=clp.id, starts_at=now, ends_at=ends_at,
                       reason=reason, granted_by_id=principal.user_id, created_at=now)
    db.session.add(record)
    db.session.flush()
    audit.record_for(principal, "grants.grant", target_type="role_grant", target_id=record.id,
                     constituency_id=clp.id, region_id=clp.region_id,
                     details={"user_id": user.id, "role": role.value, "ends_at": ends_at.isoformat(), "reason": reason})
    db.session.commit()
    return record


def revoke(principal: Principal, grant_id: int, *, reason: str | None = None) -> RoleGrant:
    """End a grant early. Revoking one already revoked changes nothing; one already ended is a 409."""
    record = db.session.scalar(select(RoleGrant).where(RoleGrant.id == grant_id, scope_clause(principal, RoleGrant)))
    if record is None:
        raise NotFound("No such grant in your scope.")
    now = utcnow()
    if record.revoked_at is not None:
        return record
    if record.ends_at <= now:
        raise Conflict(f"This grant already ended on {uk_when(record.ends_at)}.", {"grant_id": record.id})
    record.revoked_at, record.revoked_by_id = now, principal.user_id
    clp = db.session.get(Constituency, record.constituency_id)
    audit.record_for(principal, "grants.revoke", target_type="role_grant", target_id=record.id,
                     constituency_id=clp.id, region_id=clp.region_id,
                     details={"user_id": record.user_id, "role": record.role.value,
                              "reason": (reason or "").strip() or None})
    db.session.commit()
    return record


# ------------------------------------------------------------------------------------------------ reading

@dataclass
class GrantView:
    grant: RoleGrant
    user_name: str
    constituency_name: str
    granted_by_role: str | None
    status: str  # active, ended, revoked


def status(record: RoleGrant, now: datetime) -> str:
    if record.revoked_at is not None:
        return "revoked"
    return "active" if record.starts_at <= now < record.ends_at else "ended"


def list_grants(principal: Principal, *, constituency_id: int | None = None, user_id: int | None = None,
                active: bool | None = None, page: int, per_page: int) -> Page:
    """Grants in scope, the latest to end first, with who holds them and where."""
    now = utcnow()
    stmt = select(RoleGrant).where(scope_clause(principal, RoleGrant))
    if constituency_id is not None:
        stmt = stmt.where(RoleGrant.constituency_id == constituency_id)
    if user_id is not None:
        stmt = stmt.where(RoleGrant.user_id == user_id)
    if active is not None:
        live = and_(RoleGrant.revoked_at.is_(None), RoleGrant.starts_at <= now, RoleGrant.ends_at > now)
        stmt = stmt.where(live if active else not_(live))
    result = paginate(stmt.order_by(RoleGrant.ends_at.desc(), RoleGrant.id.desc()), page, per_page)
    result.items = views(result.items, now)
    return result


def views(records: list[RoleGrant], now: datetime | None = None) -> list[GrantView]:
    """Grants as the API shows them, in the order given."""
    now = now or utcnow()
    if not records:
        return []
    holder, granter = aliased(User), aliased(User)
    about = {row.id: row for row in db.session.execute(
        select(RoleGrant.id, holder.name.label("user_name"), Constituency.name.label("clp"),
               granter.role.label("granted_by_role"))
        .join(holder, holder.id == RoleGrant.user_id)
        .join(Constituency, Constituency.id == RoleGrant.constituency_id)
        .outerjoin(granter, granter.id == RoleGrant.granted_by_id)
        .where(RoleGrant.id.in_([r.id for r in records])))}
    return [GrantView(r, about[r.id].user_name, about[r.id].clp,
                      about[r.id].granted_by_role.value if about[r.id].granted_by_role else None, status(r, now))
            for r in records]


# ------------------------------------------------------------------------------------------------ the job

def _claim(stmt):
    """Rows for this run only: on PostgreSQL two schedulers never take the same ones."""
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=RoleGrant)
    return list(db.session.scalars(stmt))


def lapse_and_warn(now: datetime | None = None) -> dict:
    """The scheduled job: record each lapsed grant once (audited), and tell each holder a week before
    their grant ends (once). Idempotent; returns how many of each it did."""
    now = now or utcnow()
    lapsed = _claim(select(RoleGrant).where(RoleGrant.lapsed_at.is_(None), RoleGrant.revoked_at.is_(None),
                                            RoleGrant.ends_at <= now).order_by(RoleGrant.id))
    names = {}
    for record in lapsed:
        record.lapsed_at = now
        clp = names.get(record.constituency_id) or db.session.get(Constituency, record.constituency_id)
        names[clp.id] = clp
        audit.record("grants.lapse", target_type="role_grant", target_id=record.id, constituency_id=clp.id,
                     region_id=clp.region_id, details={"user_id": record.user_id, "role": record.role.value,
                                                       "ends_at": record.ends_at.isoformat()})
    db.session.commit()
    ending = _claim(select(RoleGrant).where(RoleGrant.warned_at.is_(None), RoleGrant.revoked_at.is_(None),
                                            RoleGrant.lapsed_at.is_(None), RoleGrant.ends_at > now,
                                            RoleGrant.ends_at <= now + WARN_BEFORE).order_by(RoleGrant.id))
    for record in ending:
        record.warned_at = now
        clp = names.get(record.constituency_id) or db.session.get(Constituency, record.constituency_id)
        names[clp.id] = clp
        notices.add(record.user_id, kind="grant_ending", key=f"grant_ending:{record.id}", link=NOTICE_LINK,
                    text=f"Your {role_words(record.role)} role for {clp.name} ends on {uk_when(record.ends_at)}.",
                    data={"grant_id": record.id, "role": record.role.value, "constituency_id": clp.id,
                          "ends_at": record.ends_at.isoformat()})
    db.session.commit()
    return {"lapsed": len(lapsed), "warned": len(ending)}
