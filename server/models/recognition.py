"""Recognition (docs/recognition.md): milestones a volunteer has reached in a campaign, each reached once.

Counts themselves are never stored here: they are read from the monitoring rollups (activity_rollup), the one
derived source that folds corrections, retractions and undone imports. A milestone row is the proof that it
was celebrated: unique per volunteer, campaign, measure and threshold, so it fires once, whatever arrives
twice, out of order or is later undone.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import utcnow


class Milestone(db.Model):
    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("user_id", "campaign_id", "measure", "threshold",
                                       name="uq_milestone_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    # The CLP whose admins are told, so they can thank the person: the volunteer's own, when it fired.
    constituency_id: Mapped[int | None] = mapped_column(ForeignKey("constituency.id"), index=True)
    measure: Mapped[str] = mapped_column(String(16))  # "calls" or "doors"
    threshold: Mapped[int] = mapped_column()
    count: Mapped[int] = mapped_column()  # the count when it was noticed (at least the threshold)
    reached_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the volunteer's phone showed the celebration (it shows each once), and when an admin said thanks.
    celebrated_at: Mapped[datetime | None] = mapped_column()
    thanked_at: Mapped[datetime | None] = mapped_column()
    thanked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
