"""Scoped reads of the national dataset: geography, electors, campaigns, devices' audit trail.

Every query here is filtered by ``scope_clause``; an object outside the caller's scope is reported
as not found, so its existence is not disclosed.
"""
from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from server.auth.policy import Principal, scope_clause
from server.errors import NotFound
from server.extensions import db
from server.models import (
    AuditEvent,
    Campaign,
    Constituency,
    Elector,
    ElectorStatus,
    PollingDistrict,
    Property,
    Region,
    Ward,
)
from server.services.paging import Page, paginate


def scoped(principal: Principal, model) -> Select:
    return select(model).where(scope_clause(principal, model))


def get_scoped(principal: Principal, model, object_id, *, options=()):
    """One object by id, or NotFound if it does not exist or lies outside the caller's scope."""
    obj = db.session.scalar(scoped(principal, model).where(model.id == object_id).options(*options))
    if obj is None:
        raise NotFound(f"No {model.__tablename__.replace('_', ' ')} {object_id} in your scope.")
    return obj


def list_regions(principal: Principal) -> list[Region]:
    return list(db.session.scalars(scoped(principal, Region).order_by(Region.name)))


def list_constituencies(principal: Principal, *, region_id: int | None = None) -> list[Constituency]:
    stmt = scoped(principal, Constituency).order_by(Constituency.name)
    if region_id is not None:
        stmt = stmt.where(Constituency.region_id == region_id)
    return list(db.session.scalars(stmt))


def list_wards(principal: Principal, *, constituency_id: int | None = None) -> list[Ward]:
    stmt = scoped(principal, Ward).order_by(Ward.constituency_id, Ward.name)
    if constituency_id is not None:
        stmt = stmt.where(Ward.constituency_id == constituency_id)
    return list(db.session.scalars(stmt))


def list_polling_districts(
    principal: Principal, *, ward_id: int | None = None, constituency_id: int | None = None
) -> list[PollingDistrict]:
    stmt = scoped(principal, PollingDistrict).order_by(PollingDistrict.constituency_id, PollingDistrict.code)
    if ward_id is not None:
        stmt = stmt.where(PollingDistrict.ward_id == ward_id)
    if constituency_id is not None:
        stmt = stmt.where(PollingDistrict.constituency_id == constituency_id)
    return list(db.session.scalars(stmt))


def search_electors(
    principal: Principal,
    *,
    page: int,
    per_page: int,
    polling_district_id: int | None = None,
    street: str | None = None,
    name: str | None = None,
    postcode: str | None = None,
    include_removed: bool = False,
) -> Page:
    """Electors in walk order (district, street, house number), filtered and scoped."""
    stmt = (
        scoped(principal, Elector)
        .join(Property, Property.id == Elector.property_id)
        .join(PollingDistrict, PollingDistrict.id == Elector.polling_district_id)
        .options(selectinload(Elector.property))
    )
    if not include_removed:
        stmt = stmt.where(Elector.status == ElectorStatus.CURRENT)
    if polling_district_id is not None:
        stmt = stmt.where(Elector.polling_district_id == polling_district_id)
    if street:
        stmt = stmt.where(func.lower(Property.street).contains(street.strip().lower(), autoescape=True))
    if postcode:
        compact = postcode.replace(" ", "").upper()
        stmt = stmt.where(func.replace(Property.postcode, " ", "").startswith(compact, autoescape=True))
    if name:
        for word in name.lower().split():
            stmt = stmt.where(
                or_(
                    func.lower(Elector.surname).contains(word, autoescape=True),
                    func.lower(Elector.forenames).contains(word, autoescape=True),
                )
            )
    stmt = stmt.order_by(
        PollingDistrict.code, Property.street, Property.house_number, Property.sort_key,
        Elector.surname, Elector.forenames, Elector.id,
    )
    return paginate(stmt, page, per_page)


def get_elector(principal: Principal, elector_id: int) -> Elector:
    return get_scoped(principal, Elector, elector_id, options=(selectinload(Elector.property),))


def list_campaigns(principal: Principal) -> list[Campaign]:
    stmt = scoped(principal, Campaign).options(selectinload(Campaign.codes), selectinload(Campaign.questions))
    return list(db.session.scalars(stmt.order_by(Campaign.starts_on.desc(), Campaign.id)))


def get_campaign(principal: Principal, campaign_id: int) -> Campaign:
    return get_scoped(
        principal, Campaign, campaign_id, options=(selectinload(Campaign.codes), selectinload(Campaign.questions))
    )


def list_audit_events(
    principal: Principal, *, page: int, per_page: int, action: str | None = None, actor_user_id: int | None = None
) -> Page:
    stmt = scoped(principal, AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor_user_id is not None:
        stmt = stmt.where(AuditEvent.actor_user_id == actor_user_id)
    return paginate(stmt, page, per_page)
