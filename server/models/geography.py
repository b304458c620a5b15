"""Where electors live: Region > Constituency (one CLP) > Ward > PollingDistrict > Property.

Each row below the region carries its constituency id, so scoping any query to a CLP or region is
one indexed comparison rather than a chain of joins.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.orm import utcnow


class Region(db.Model):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    constituencies: Mapped[list["Constituency"]] = relationship(back_populates="region", order_by="Constituency.name")


class Constituency(db.Model):
    """A parliamentary constituency and the CLP that organises in it."""

    __tablename__ = "constituency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)

    region: Mapped[Region] = relationship(back_populates="constituencies")
    wards: Mapped[list["Ward"]] = relationship(back_populates="constituency", order_by="Ward.name")


class Ward(db.Model):
    __tablename__ = "ward"
    __table_args__ = (UniqueConstraint("constituency_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))

    constituency: Mapped[Constituency] = relationship(back_populates="wards")
    polling_districts: Mapped[list["PollingDistrict"]] = relationship(back_populates="ward", order_by="PollingDistrict.code")


class PollingDistrict(db.Model):
    """A polling district; its code is the elector number prefix on the register (e.g. ``AB1``)."""

    __tablename__ = "polling_district"
    __table_args__ = (UniqueConstraint("constituency_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))

    ward: Mapped[Ward] = relationship(back_populates="polling_districts")


class Property(db.Model):
    """A dwelling: the unit a canvasser knocks on. Households are the electors at one property."""

    __tablename__ = "property"
    __table_args__ = (
        UniqueConstraint("constituency_id", "address_key"),
        Index("ix_property_walk_order", "polling_district_id", "street", "house_number", "sort_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), index=True)
    polling_district_id: Mapped[int] = mapped_column(ForeignKey("polling_district.id"))
    # The address exactly as the register gives it, line by line.
    address_lines: Mapped[list] = mapped_column()
    postcode: Mapped[str] = mapped_column(String(10), index=True)
    uprn: Mapped[str | None] = mapped_column(String(12), unique=True)
    # Parsed for walk order: "Flat 3, Victoria Court, 12 High Street" -> flat "Flat 3",
    # building "Victoria Court", house_number 12, street "High Street".
    street: Mapped[str | None] = mapped_column(String(120))
    house_number: Mapped[int | None] = mapped_column()
    building: Mapped[str | None] = mapped_column(String(120))
    flat: Mapped[str | None] = mapped_column(String(60))
    sort_key: Mapped[str] = mapped_column(String(200))
    # Normalised address + postcode, to recognise the same property across register editions.
    address_key: Mapped[str] = mapped_column(String(400))
    # Bumped on every change a device should see; pull compares it with what the device holds.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    polling_district: Mapped[PollingDistrict] = relationship()
    electors: Mapped[list["Elector"]] = relationship(back_populates="property", order_by="Elector.surname")  # noqa: F821

    @property
    def address(self) -> str:
        return ", ".join(line for line in self.address_lines if line)


class ConstituencyProfile(db.Model):
    """A seat's demographics and previous result, loaded from CSV (census shares, deprivation, majority), to
    find the seats most like it: a fair comparison, unlike a regional average that safe seats drag down."""

    __tablename__ = "constituency_profile"

    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituency.id"), primary_key=True)
    # Feature name -> number, e.g. {"age_65_plus": 0.21, "social_rented": 0.18, "majority_pct": 12.5}.
    features: Mapped[dict] = mapped_column(default=dict)
    previous_winner: Mapped[str | None] = mapped_column(String(60))
    source: Mapped[str | None] = mapped_column(String(255))  # the file it came from
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
