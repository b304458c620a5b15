"""Accounts and devices: creating users, logging a device in and out, throttling guesses, revoking."""
from __future__ import annotations

import functools
import secrets
import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from server.auth.policy import Permission, Principal, principal_for, scope_clause
from server.auth.tokens import new_token, token_ttl
from server.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from server.extensions import db
from server.models import CLP_ROLES, Constituency, Device, LoginAttempt, Region, Revocation, Role, User
from server.orm import utcnow
from server.services import audit, login_throttle


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    role: Role | str,
    constituency_code: str | None = None,
    region_code: str | None = None,
    actor_user_id: int | None = None,
) -> User:
    """Create an account whose scope matches its role: a CLP, a region, or the nation."""
    role = Role(role)
    email = normalise_email(email)
    errors: dict[str, list[str]] = {}
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        errors["email"] = ["Enter a valid email address."]
    if not name.strip():
        errors["name"] = ["Enter a name."]
    min_len = current_app.config["MIN_PASSWORD_LENGTH"]
    if len(password) < min_len:
        errors["password"] = [f"Use at least {min_len} characters."]
    constituency_id = region_id = None
    if role in CLP_ROLES:
        if not constituency_code:
            errors["scope"] = [f"A {role.value} belongs to a CLP: give its constituency code."]
        else:
            constituency_id = db.session.scalar(select(Constituency.id).where(Constituency.code == constituency_code))
            if constituency_id is None:
                errors["scope"] = [f"No constituency has the code {constituency_code!r}."]
    elif role == Role.REGIONAL_STAFF:
        if not region_code:
            errors["scope"] = ["Regional staff belong to a region: give its region code."]
        else:
            region_id = db.session.scalar(select(Region.id).where(Region.code == region_code))
            if region_id is None:
                errors["scope"] = [f"No region has the code {region_code!r}."]
    elif constituency_code or region_code:
        errors["scope"] = ["A national admin's scope is the nation: give no CLP or region."]
    if errors:
        raise ValidationFailed(details=errors)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this email already exists.", {"email": [email]})
    user = User(
        email=email,
        name=name.strip(),
        password_hash=generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"]),
        role=role,
        constituency_id=constituency_id,
        region_id=region_id,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        actor_user_id=actor_user_id,
        target_type="user",
        target_id=user.id,
        constituency_id=constituency_id,
        region_id=region_id,
        details={"role": role.value},
    )
    db.session.commit()
    return user


@dataclass
class LoginResult:
    user: User
    device: Device
    token: str
    principal: Principal


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash of no one's password made with ``method`` (and its parameters), computed once per method."""
    return generate_password_hash(secrets.token_urlsafe(32), method=method)


def login(*, email: str, password: str, device_name: str, ip: str, user_agent: str | None) -> LoginResult:
    """Check the password and register a new device with its own token."""
    email = normalise_email(email)
    # Counted before the password is checked, so simultaneous guesses cannot all slip under the limits.
    reservation = login_throttle.reserve(email, ip)
    user = db.session.scalar(select(User).where(User.email == email))
    # An unknown email is checked against a hash of the configured method, and then fails down the same
    # path (the same writes) as a wrong password, so its answer takes as long and nobody can list accounts.
    stored = user.password_hash if user else _dummy_hash(current_app.config["PASSWORD_HASH_METHOD"])
    ok = check_password_hash(stored, password)
    if not ok or user is None or not user.active:
        db.session.add(LoginAttempt(email=email, ip=ip, succeeded=False))
        audit.record("auth.login_failed", target_type="user", target_id=user.id if user else None,
                     constituency_id=user.constituency_id if user else None,
                     region_id=user.region_id if user else None, details={"email": email})
        db.session.commit()
        if user is not None and ok and not user.active:
            raise NotAuthenticated("This account is disabled. Ask your CLP admin.")
        raise NotAuthenticated("The email or password is not right.")
    plain, hashed = new_token()
    now = utcnow()
    device = Device(
        id=uuid.uuid4(),
        user_id=user.id,
        name=device_name.strip(),
        token_hash=hashed,
        token_expires_at=now + token_ttl(),
        user_agent=(user_agent or "")[:400] or None,
        last_seen_at=now,
    )
    user.last_login_at = now
    login_throttle.succeeded(reservation)
    db.session.add_all([device, LoginAttempt(email=email, ip=ip, succeeded=True)])
    audit.record("auth.login", actor_user_id=user.id, actor_device_id=device.id, target_type="device",
                 target_id=device.id, constituency_id=user.constituency_id, region_id=user.region_id,
                 details={"device_name": device.name})
    db.session.commit()
    return LoginResult(user=user, device=device, token=plain, principal=principal_for(db.session, user, device.id))


def logout(principal: Principal) -> Device:
    """Revoke the calling device's token. The app wipes its local data as it logs out."""
    device = db.session.get(Device, principal.device_id)
    device.revoked_at = utcnow()
    device.revoked_reason = Revocation.LOGOUT.value
    device.revoked_by_id = principal.user_id
    audit.record_for(principal, "auth.logout", target_type="device", target_id=device.id)
    db.session.commit()
    return device


def get_user(user_id: int) -> User:
    return db.session.get(User, user_id)


def list_devices(principal: Principal, *, user_id: int | None = None, include_revoked: bool = False) -> list[Device]:
    stmt = select(Device).join(User, User.id == Device.user_id).where(scope_clause(principal, Device))
    if user_id is not None:
        stmt = stmt.where(Device.user_id == user_id)
    if not include_revoked:
        stmt = stmt.where(Device.revoked_at.is_(None))
    return list(db.session.scalars(stmt.order_by(Device.created_at.desc())))


def revoke_device(principal: Principal, device_id: uuid.UUID, reason: Revocation | None = None) -> Device:
    """End a device's access remotely. Idempotent; a device can later be reported lost, never un-lost.

    ``reason``: ``access_withdrawn`` (the default for someone else's device: what it still holds may be
    delivered and is held for review) or ``lost`` (nothing from it is accepted; it is told to wipe). One's
    own device defaults to ``logout``: its token is dead, as if signed out on it.
    """
    device = db.session.scalar(
        select(Device).join(User, User.id == Device.user_id).where(Device.id == device_id, scope_clause(principal, Device))
    )
    if device is None:
        raise NotFound("No such device in your scope.")
    if device.user_id != principal.user_id and not principal.can(Permission.DEVICES_REVOKE):
        raise NotFound("No such device in your scope.")
    if reason is None:
        reason = Revocation.LOGOUT if device.user_id == principal.user_id else Revocation.ACCESS_WITHDRAWN
    newly_lost = reason == Revocation.LOST and device.revoked_reason != Revocation.LOST.value
    if device.revoked_at is None or newly_lost:
        device.revoked_at = device.revoked_at or utcnow()
        device.revoked_reason = reason.value
        device.revoked_by_id = principal.user_id
        owner = device.user
        audit.record_for(principal, "device.revoke", target_type="device", target_id=device.id,
                         constituency_id=owner.constituency_id, region_id=owner.region_id,
                         details={"owner_user_id": owner.id, "reason": reason.value})
        db.session.commit()
    return device


def deactivate_user(email: str, *, actor_user_id: int | None = None) -> User:
    """Disable an account and revoke its devices. Its records stay; new logins are refused."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"No account has the email {email!r}.")
    end_access(user, actor_user_id=actor_user_id)
    db.session.commit()
    return user


def end_access(user: User, *, actor_user_id: int | None, reason: Revocation = Revocation.USER_DEACTIVATED) -> None:
    """Disable ``user`` and revoke every device they hold, in the caller's transaction.

    ``user_deactivated``: what their phones still hold may be delivered, and is held for review. ``lost``:
    nothing more is accepted from their phones, which wipe themselves at their next contact.
    """
    now = utcnow()
    user.active = False
    user.deactivated_at = now
    for device in user.devices:
        if device.revoked_at is None or (reason == Revocation.LOST and device.revoked_reason != reason.value):
            device.revoked_at = device.revoked_at or now
            device.revoked_reason, device.revoked_by_id = reason.value, actor_user_id
    audit.record("user.deactivate", actor_user_id=actor_user_id, target_type="user", target_id=user.id,
                 constituency_id=user.constituency_id, region_id=user.region_id, details={"devices": reason.value})


def describe_user(user: User, principal: Principal) -> dict:
    """The user as the app sees them: identity, scope, what they may do (``principal`` is theirs), and the
    roles they hold for a while."""
    ids = sorted({g.constituency_id for g in principal.grants})
    names = dict(db.session.execute(select(Constituency.id, Constituency.name).where(Constituency.id.in_(ids)))
                 .all()) if ids else {}
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "scope": {
            "kind": principal.scope_kind.value,
            "region_id": principal.region_id,
            "constituency_id": principal.constituency_id,
        },
        "permissions": sorted(p.value for p in principal.permissions),
        "grants": [{"id": g.id, "role": g.role, "constituency_id": g.constituency_id,
                    "constituency_name": names.get(g.constituency_id), "ends_at": g.ends_at}
                   for g in principal.grants],
    }
