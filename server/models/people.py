"""People with access (users and their devices) and the party's members."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.orm import str_enum, utcnow


class Role(str, enum.Enum):
    CANVASSER = "canvasser"
    PHONE_BANKER = "phone_banker"
    CLP_ADMIN = "clp_admin"
    MEMBERSHIP_SECRETARY = "membership_secretary"
    REGIONAL_STAFF = "regional_staff"
    NATIONAL_ADMIN = "national_admin"


CLP_ROLES = (Role.CANVASSER, Role.PHONE_BANKER, Role.CLP_ADMIN, Role.MEMBERSHIP_SECRETARY)

_role_enum = str_enum(Role, 32)


class User(db.Model):
    """An account. Its role fixes the kind of scope: a CLP, a region, or the nation."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('canvasser', 'phone_banker', 'clp_admin', 'membership_secretary')"
            " AND constituency_id IS NOT NULL AND region_id IS NULL)"
            " OR (role = 'regional_staff' AND region_id IS NOT NULL AND constituency_id IS NULL)"
            " OR (role = 'national_admin' AND region_id IS NULL AND constituency_id IS NULL)",
            name="scope_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(_role_enum)
    constituency_id: Mapped[int | None] = mapped_column(ForeignKey("constituency.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
    # Shown on leaderboards (by name, with their count) only if they said yes; they can say no at any time.
    leaderboard_opt_in: Mapped[bool] = mapped_column(default=False, server_default=false())

    devices: Mapped[list["Device"]] = relationship(
        back_populates="user", order_by="Device.created_at", foreign_keys="Device.user_id"
    )


class Revocation(str, enum.Enum):
    """Why a device's access ended; each reason decides what its outbox may still do."""

    LOGOUT = "logout"  # the user signed out on it: the token is dead for everything, sync included
    ACCESS_WITHDRAWN = "access_withdrawn"  # an admin ended access: it may deliver, held for review
    USER_DEACTIVATED = "user_deactivated"  # the account was disabled: as access_withdrawn, on every device
    LOST = "lost"  # reported lost or stolen: nothing from it is accepted, and it is told to wipe


class Device(db.Model):
    """One logged-in app instance. Its bearer token is stored only as a SHA-256 hash."""

    __tablename__ = "device"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))  # a Revocation value
    # When the server first told this (revoked) device to wipe its local personal data.
    wiped_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="devices", foreign_keys=[user_id])


class MemberStatus(str, enum.Enum):
    NEW = "new"  # joined recently, not yet welcomed into the CLP
    ACTIVE = "active"
    LAPSED = "lapsed"
    RESIGNED = "resigned"


class Member(db.Model):
    __tablename__ = "member"
    __table_args__ = (Index("ix_member_clp_joined", "constituency_id", "joined_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_number: Mapped[str] = mapped_column(String(16), unique=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"))
    joined_on: Mapped[date] = mapped_column()
    status: Mapped[MemberStatus] = mapped_column(
        str_enum(MemberStatus, 16),
        default=MemberStatus.ACTIVE,
    )
    first_name: Mapped[str] = mapped_column(String(120))
    last_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    address_lines: Mapped[list] = mapped_column(default=list)
    postcode: Mapped[str | None] = mapped_column(String(10))
    elector_id: Mapped[int | None] = mapped_column(ForeignKey("elector.id"))
    # Consent as recorded at joining or since (PECR: email/text marketing needs it).
    consent_email: Mapped[bool] = mapped_column(default=False)
    consent_phone: Mapped[bool] = mapped_column(default=False)
    consent_post: Mapped[bool] = mapped_column(default=False)
    consent_updated_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by each membership import that changed the member (re-imports update in place by number).
    updated_at: Mapped[datetime | None] = mapped_column()
    # When a lapsed or resigned member left; members are never deleted by an import.
    left_on: Mapped[date | None] = mapped_column()
    # Erasure (UK GDPR art. 17) scrubs the personal fields and keeps the row, so counts still add up.
    erased_at: Mapped[datetime | None] = mapped_column()


class RoleGrant(db.Model):
    """A time-limited role for a person in one CLP (a stand-in membership secretary, say). It lapses by itself.

    While it lasts the person holds the role's permissions as well as their own, in that CLP only.
    """

    __tablename__ = "role_grant"
    __table_args__ = (Index("ix_role_grant_user_ends", "user_id", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[Role] = mapped_column(_role_enum)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    warned_at: Mapped[datetime | None] = mapped_column()  # the holder was told it ends within a week
    lapsed_at: Mapped[datetime | None] = mapped_column()  # the lapse was recorded (audited) by the job
    revoked_at: Mapped[datetime | None] = mapped_column()  # ended early by regional staff
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class Notice(db.Model):
    """Something the app tells one person: a digest of new members, a grant about to lapse.

    A notice names no one beyond its reader: "3 new members joined Ashworth Vale this week".
    ``key`` makes a scheduled notice idempotent (one digest per person per day).
    """

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_notice_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # every kind is listed in docs/push.md, What is sent
    key: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(200))  # an app route, e.g. "#/members"
    data: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()
    pushed_at: Mapped[datetime | None] = mapped_column(index=True)  # web push settled: see push_outcome
    push_outcome: Mapped[str | None] = mapped_column(String(16))  # server/services/push.py OUTCOMES


class LoginAttempt(db.Model):
    """Every password actually checked (email, address, outcome), kept a day to investigate guessing.

    Throttling no longer reads it: LoginThrottle holds the counters, so they can be reserved atomically.
    """

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_email_at", "email", "at"), Index("ix_login_attempt_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    succeeded: Mapped[bool] = mapped_column()


# -- login throttling (server/services/login_throttle.py) ------------------------------------------
class LoginThrottle(db.Model):
    """One counter per email and per client address, reserved in a locked row before a password is checked,
    so the limits hold however many workers answer at once."""

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "email" or "address"
    key: Mapped[str] = mapped_column(String(254), primary_key=True)  # the lower-cased email, or the address
    # Attempts counted against this key in the current run: failures, plus any still being checked.
    failures: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the current run began
    last_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # housekeeping purges by this
    next_attempt_at: Mapped[datetime | None] = mapped_column()  # an address's delay: nothing is checked before it
    # Bumped by every reservation, so a success can tell whether anyone else has reserved since.
    serial: Mapped[int] = mapped_column(default=0)
