"""Changes to a CLP's access, announced before they take effect (never silent).

A CLP's access at a moment is given by the latest change in effect then that was not cancelled: a
``suspend`` ends its people's access from ``effective_at`` (records made before it are still accepted
whenever they arrive; records made after it are held for review), and a ``restore`` brings it back.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import str_enum, utcnow


class AccessChangeKind(str, enum.Enum):
    SUSPEND = "suspend"
    RESTORE = "restore"


class AccessChange(db.Model):
    __tablename__ = "access_change"
    __table_args__ = (Index("ix_access_change_clp_effective", "constituency_id", "effective_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"))
    kind: Mapped[AccessChangeKind] = mapped_column(str_enum(AccessChangeKind, 16))
    effective_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A scheduled change can be called off before it takes effect; the record stays, with who and why.
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
