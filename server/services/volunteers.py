"""A CLP's volunteer accounts, as its admin manages them: create, reset a password, end access, restore.

Passwords are never chosen or seen by the admin except once: a new account or a reset gets a random
passphrase shown in the response, for the admin to hand over in person. Ending access uses the choices of
the hardening work: the volunteer's phones may still deliver what they hold (held for review), or they are
treated as lost (nothing more accepted, and they wipe themselves).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from server.auth.policy import Principal, ScopeKind, scope_clause
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import CLP_ROLES, Constituency, Device, Revocation, Role, User
from server.services import accounts, audit

# What a CLP admin may make; a national admin may make any CLP role.
CLP_ADMIN_MAY_CREATE = (Role.CANVASSER, Role.PHONE_BANKER)
# A one-time password an admin reads out or writes down: three groups of four from letters and digits that
# cannot be mistaken for each other (no 0/o, 1/l/i), about 59 bits.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass
class Volunteer:
    user: User
    devices: int
    last_seen_at: object

    @property
    def id(self):
        return self.user.id


def new_passphrase() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))


def _creatable(principal: Principal) -> tuple[Role, ...]:
    return tuple(CLP_ROLES) if principal.scope_kind == ScopeKind.NATION else CLP_ADMIN_MAY_CREATE


def list_volunteers(principal: Principal, *, constituency_id: int | None = None,
                    include_inactive: bool = False) -> list[Volunteer]:
    """The CLP's accounts with how many phones each has signed in and when one was last seen."""
    stmt = select(User).where(scope_clause(principal, User), User.role.in_(CLP_ROLES))
    if constituency_id is not None:
        stmt = stmt.where(User.constituency_id == constituency_id)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    users = list(db.session.scalars(stmt.order_by(User.active.desc(), User.name, User.id)))
    usage = dict.fromkeys((u.id for u in users), (0, None))
    if users:
        for user_id, n, seen in db.session.execute(
                select(Device.user_id, func.count(), func.max(Device.last_seen_at))
                .where(Device.user_id.in_(list(usage)), Device.revoked_at.is_(None)).group_by(Device.user_id)):
            usage[user_id] = (n, seen)
    return [Volunteer(u, *usage[u.id]) for u in users]


def _volunteer(principal: Principal, user_id: int) -> User:
    user = db.session.scalar(select(User).where(User.id == user_id, User.role.in_(CLP_ROLES),
                                                scope_clause(principal, User)))
    if user is None:
        raise NotFound("No such volunteer in your scope.")
    return user


def create_volunteer(principal: Principal, *, email: str, name: str, role: str,
                     constituency_id: int | None = None) -> tuple[User, str]:
    role = Role(role)
    if role not in _creatable(principal):
        raise ValidationFailed(details={"role": [
            f"You can create {', '.join(r.value for r in _creatable(principal))} accounts."]})
    constituency_id = constituency_id or principal.constituency_id
    if constituency_id is None or not principal.covers_constituency(constituency_id):
        raise ValidationFailed(details={"constituency_id": ["Give the CLP this volunteer belongs to."]})
    code = db.session.scalar(select(Constituency.code).where(Constituency.id == constituency_id))
    if code is None:
        raise ValidationFailed(details={"constituency_id": ["No such constituency."]})
    password = new_passphrase()
    user = accounts.create_user(email=email, name=name, password=password, role=role, constituency_code=code,
                                actor_user_id=principal.user_id)
    return user, password


def reset_password(principal: Principal, user_id: int) -> tuple[User, str]:
    """A fresh passphrase for a volunteer who forgot theirs. Their signed-in phones carry on."""
    user = _volunteer(principal, user_id)
    password = new_passphrase()
    user.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])
    audit.record_for(principal, "user.password_reset", target_type="user", target_id=user.id,
                     constituency_id=user.constituency_id)
    db.session.commit()
    return user, password


def deactivate(principal: Principal, user_id: int, *, phones_lost: bool = False) -> User:
    user = _volunteer(principal, user_id)
    if user.id == principal.user_id:
        raise Conflict("You cannot end your own access here: ask another admin.", {"user_id": [user_id]})
    if user.active or phones_lost:
        accounts.end_access(user, actor_user_id=principal.user_id,
                            reason=Revocation.LOST if phones_lost else Revocation.USER_DEACTIVATED)
        db.session.commit()
    return user


def reactivate(principal: Principal, user_id: int) -> User:
    """Let a volunteer sign in again. Phones revoked when access ended stay revoked: they sign in afresh."""
    user = _volunteer(principal, user_id)
    if not user.active:
        user.active, user.deactivated_at = True, None
        audit.record_for(principal, "user.reactivate", target_type="user", target_id=user.id,
                         constituency_id=user.constituency_id)
        db.session.commit()
    return user
