"""Rollups behind the monitoring dashboards (docs/monitoring.md): activity counted once, read many times.

They are derived data, never entered: ``server.services.rollups`` recomputes a (campaign, polling district)
at a time from the contact records, and ``flask monitoring rebuild`` recomputes them all. Keys use 0 for
"none" (records with no elector, such as welcome calls to members, have district 0; imported rows with no
volunteer have user 0), so every key is a plain primary key on both databases.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import utcnow


class ActivityRollup(db.Model):
    """What one volunteer did in one polling district in one week of a campaign."""

    __tablename__ = "activity_rollup"
    __table_args__ = (Index("ix_activity_rollup_campaign_clp", "campaign_id", "constituency_id", "week"),
                      # A volunteer's own counts (recognition: /me, milestones, leaderboards).
                      Index("ix_activity_rollup_user", "user_key", "campaign_id"))

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    district_key: Mapped[int] = mapped_column(primary_key=True)  # polling_district.id, or 0 for none
    week: Mapped[date] = mapped_column(primary_key=True)  # its Monday (UTC)
    user_key: Mapped[int] = mapped_column(primary_key=True)  # app_user.id, or 0 for none
    constituency_id: Mapped[int] = mapped_column()
    ward_id: Mapped[int | None] = mapped_column()
    contacts: Mapped[int] = mapped_column(default=0)  # effective contact records, any outcome
    doors: Mapped[int] = mapped_column(default=0)  # doors knocked: a property, a canvasser, a day
    calls: Mapped[int] = mapped_column(default=0)
    conversations: Mapped[int] = mapped_column(default=0)  # someone was spoken to
    reached: Mapped[int] = mapped_column(default=0)  # electors spoken to for the first time this campaign


class ActivityElectorate(db.Model):
    """The electorate of one polling district during a campaign's window: the denominator of a contact rate."""

    __tablename__ = "activity_electorate"
    __table_args__ = (Index("ix_activity_electorate_campaign_clp", "campaign_id", "constituency_id"),)

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    polling_district_id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column()
    ward_id: Mapped[int] = mapped_column()
    electors: Mapped[int] = mapped_column(default=0)


class ActivitySeat(db.Model):
    """One CLP's totals for a campaign, summed from the two tables above (volunteers counted once)."""

    __tablename__ = "activity_seat"

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    contacts: Mapped[int] = mapped_column(default=0)
    doors: Mapped[int] = mapped_column(default=0)
    calls: Mapped[int] = mapped_column(default=0)
    conversations: Mapped[int] = mapped_column(default=0)
    reached: Mapped[int] = mapped_column(default=0)
    volunteers: Mapped[int] = mapped_column(default=0)
    electorate: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RollupDirty(db.Model):
    """Work the rollup job must redo that no new record announces: an import undone (its records deleted), a
    register edition loaded (the electorate changed). district_key -1 means every district of the CLP, and
    campaign_id 0 every campaign the CLP works on."""

    __tablename__ = "rollup_dirty"

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(primary_key=True)
    district_key: Mapped[int] = mapped_column(primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class RollupCursor(db.Model):
    """How far the rollup job has read: records received up to ``received_through`` are counted."""

    __tablename__ = "rollup_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    received_through: Mapped[datetime | None] = mapped_column()
    ran_at: Mapped[datetime | None] = mapped_column()
    keys_done: Mapped[int] = mapped_column(default=0)  # districts recomputed whole in the last run
    # The ids of the records counted with received_at in the overlap before received_through (see rollups.py).
    recent: Mapped[list] = mapped_column(default=list)
