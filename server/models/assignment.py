"""Walk lists and call lists: a set of properties or electors given to volunteers for a period.

An assignment is also the unit of data on a device: a canvasser's phone holds only the electors of
the assignments they hold now, and forgets them when the assignment ends.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.orm import str_enum, utcnow


class AssignmentKind(str, enum.Enum):
    WALK = "walk"
    CALL = "call"


class Assignment(db.Model):
    __tablename__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    kind: Mapped[AssignmentKind] = mapped_column(
        str_enum(AssignmentKind, 8)
    )
    name: Mapped[str] = mapped_column(String(160))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped on every change a device should see (name, dates, items).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # A scheduled session (a phone bank evening, a canvass meeting point): volunteers are reminded before it.
    session_at: Mapped[datetime | None] = mapped_column()
    meeting_place: Mapped[str | None] = mapped_column(String(200))

    items: Mapped[list["AssignmentItem"]] = relationship(
        back_populates="assignment", order_by="AssignmentItem.position", cascade="all, delete-orphan"
    )
    assignees: Mapped[list["AssignmentUser"]] = relationship(back_populates="assignment", cascade="all, delete-orphan")


class AssignmentItem(db.Model):
    """One stop on the list: a property (walk lists) or an elector or member (call lists)."""

    __tablename__ = "assignment_item"
    __table_args__ = (
        CheckConstraint(
            "(property_id IS NOT NULL) OR (elector_id IS NOT NULL) OR (member_id IS NOT NULL)", name="has_target"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    property_id: Mapped[int | None] = mapped_column(ForeignKey("property.id"), index=True)
    elector_id: Mapped[int | None] = mapped_column(ForeignKey("elector.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    position: Mapped[int] = mapped_column(default=0)
    # Why a member is being called ("Welcome call: joined 3 Nov"); shown to the caller with their name.
    reason: Mapped[str | None] = mapped_column(String(160))

    assignment: Mapped[Assignment] = relationship(back_populates="items")


class AssignmentUser(db.Model):
    __tablename__ = "assignment_user"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="assignees")
