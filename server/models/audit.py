"""The audit log: who did what to which data, and when. Written in the same transaction as the action."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_clp_at", "constituency_id", "at"),
        Index("ix_audit_event_region_at", "region_id", "at"),
        Index("ix_audit_event_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    actor_device_id: Mapped[uuid.UUID | None] = mapped_column()
    # Dotted verb, e.g. "auth.login", "register.import", "device.revoke", "members.export".
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    # The scope the event belongs to, so CLP admins and regional staff can read their own audit trail.
    constituency_id: Mapped[int | None] = mapped_column(ForeignKey("constituency.id"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    ip: Mapped[str | None] = mapped_column(String(45))
    details: Mapped[dict] = mapped_column(default=dict)


class AuditSubject(db.Model):
    """A person an audit event touched (a member whose details were viewed, an elector exported).

    Lets a subject access request answer "who accessed my data, and when" by index on both databases,
    without searching the events' JSON details.
    """

    __tablename__ = "audit_subject"
    __table_args__ = (Index("ix_audit_subject_subject", "subject_type", "subject_id"),)

    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("audit_event.id", ondelete="CASCADE"),
        primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16), primary_key=True)  # "member" or "elector"
    subject_id: Mapped[int] = mapped_column(primary_key=True)
