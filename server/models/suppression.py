"""Objections to contact and erasure requests. Suppression always wins over any later sync."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.orm import str_enum, utcnow


class SuppressionKind(str, enum.Enum):
    DO_NOT_CONTACT = "do_not_contact"  # an objection to campaigning contact (UK GDPR art. 21)
    ERASURE = "erasure"  # a request to be forgotten (art. 17): personal data is removed, not just hidden


class SuppressionChannel(str, enum.Enum):
    ALL = "all"
    DOOR = "door"
    PHONE = "phone"
    TEXT = "text"
    POST = "post"


class Suppression(db.Model):
    __tablename__ = "suppression"
    __table_args__ = (
        CheckConstraint("(elector_id IS NOT NULL) OR (member_id IS NOT NULL)", name="has_subject"),
        Index("ix_suppression_elector_active", "elector_id", "lifted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    elector_id: Mapped[int | None] = mapped_column(ForeignKey("elector.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[SuppressionKind] = mapped_column(
        str_enum(SuppressionKind, 16)
    )
    channel: Mapped[SuppressionChannel] = mapped_column(
        str_enum(SuppressionChannel, 8),
        default=SuppressionChannel.ALL,
    )
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(24))  # "elector_request", "canvass", "admin"
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Only a do-not-contact can be lifted (the elector changed their mind); erasure is for good.
    lifted_at: Mapped[datetime | None] = mapped_column()
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # An erasure's keyed hash of the person's name and address (never the name itself), so a later
    # register edition that lists them under a new elector number is still recognised and kept suppressed.
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)

    elector = relationship("Elector", foreign_keys=[elector_id], viewonly=True)
