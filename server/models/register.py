"""The electoral register: electors, and the editions they were seen in.

Electors are never deleted by an import: one who leaves the register is marked removed, so the
contact history that refers to them stays intact and every reference stays valid.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.orm import str_enum, utcnow

# Franchise markers as printed on UK registers.
FRANCHISE_MARKERS = {
    "N": "attainer (comes of age on the date given)",
    "F": "overseas elector: parliamentary elections only",
    "M": "restricted franchise: local elections only (Scotland/Wales)",
    "L": "restricted franchise: local elections only",
    "G": "restricted franchise: local and devolved (Scotland/Wales)",
    "K": "restricted franchise: parliamentary and local, not devolved",
    "E": "EU citizen (franchise depends on nation)",
}


class ElectorStatus(str, enum.Enum):
    CURRENT = "current"
    REMOVED = "removed"


class RegisterEdition(db.Model):
    """One imported register file for one constituency: the record of what changed and who did it."""

    __tablename__ = "register_edition"

    id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    mode: Mapped[str] = mapped_column(String(16))  # "full" or "update"
    filename: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    # The date the council issued the edition (given, or read from the file name): a file older than the
    # latest imported is refused, so a stale register never turns the clock back.
    published_on: Mapped[date | None] = mapped_column()
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    added: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)


class Elector(db.Model):
    __tablename__ = "elector"
    __table_args__ = (
        UniqueConstraint("constituency_id", "prefix", "number", "suffix"),
        Index("ix_elector_pd_status", "polling_district_id", "status"),
        Index("ix_elector_name", "constituency_id", "surname", "forenames"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    polling_district_id: Mapped[int] = mapped_column(ForeignKey("polling_district.id"))
    property_id: Mapped[int] = mapped_column(ForeignKey("property.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(8))
    number: Mapped[int] = mapped_column()
    suffix: Mapped[int] = mapped_column(default=0)
    surname: Mapped[str] = mapped_column(String(120))
    forenames: Mapped[str] = mapped_column(String(200))
    markers: Mapped[str] = mapped_column(String(16), default="")
    attainer_date: Mapped[date | None] = mapped_column()
    status: Mapped[ElectorStatus] = mapped_column(
        str_enum(ElectorStatus, 16),
        default=ElectorStatus.CURRENT,
    )
    # Gathered by canvassing, not from the register.
    phone: Mapped[str | None] = mapped_column(String(32))
    # Added by a CLP admin who accepted a volunteer's "someone here is not on the list": canvassed like
    # anyone else until the next register import links them to their register entry or retires them.
    # Their elector number is the polling district's prefix, 0 and the review item's id (AB1-0/17).
    provisional: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    first_seen_edition_id: Mapped[int | None] = mapped_column(ForeignKey("register_edition.id"))
    last_seen_edition_id: Mapped[int | None] = mapped_column(ForeignKey("register_edition.id"))
    removed_at: Mapped[datetime | None] = mapped_column()
    # Erased (UK GDPR art. 17): names and phone scrubbed, kept as a number so later editions stay suppressed.
    erased_at: Mapped[datetime | None] = mapped_column()
    # Bumped on every change to a shared field; devices send the version they last saw.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # These come before the `property` relationship below, which shadows the builtin in this class body.
    @property
    def elector_number(self) -> str:
        """The printed form: ``AB1-123`` or, for a monthly-update addition, ``AB1-123/1``."""
        base = f"{self.prefix}-{self.number}"
        return f"{base}/{self.suffix}" if self.suffix else base

    @property
    def full_name(self) -> str:
        return f"{self.forenames} {self.surname}".strip()

    property: Mapped["Property"] = relationship(back_populates="electors")  # noqa: F821
    polling_district: Mapped["PollingDistrict"] = relationship()  # noqa: F821
