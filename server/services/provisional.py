"""Provisional electors: people a volunteer found at an address who are not on the register, accepted by a
CLP admin so they can be canvassed and called like anyone else until the register catches up.

A provisional elector lives at the address where they were found, numbered with the polling district's
prefix, 0 and the review item's id (``AB1-0/17``: no register number is ever 0, so it cannot collide with
one). The next register import settles them: an elector of that edition at the same address with the same
surname and first forename is the same person, so the provisional elector's history (contacts, objections,
review items) moves to them and the provisional one is retired as linked; one the edition does not name is
retired by a full register, as anyone absent from it is. Nothing is deleted.
"""
from __future__ import annotations

import unicodedata

from sqlalchemy import select, update

from server.errors import Conflict, ValidationFailed
from server.extensions import db
from server.models import (ContactRecord, Elector, ElectorState, ElectorStatus, PollingDistrict, Property,
                           ReviewItem, Suppression)
from server.orm import utcnow
from server.services import audit


def _key(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text.casefold() if c.isalpha())


def _first(forenames: str | None) -> str:
    parts = (forenames or "").split()
    return _key(parts[0]) if parts else ""


def create_from_review(item: ReviewItem, actor_user_id: int | None) -> Elector:
    """The person a ``new_elector`` item names, as a provisional elector at the address they were found."""
    data = item.data or {}
    prop = db.session.get(Property, data.get("property_id")) if isinstance(data.get("property_id"), int) else None
    if prop is None or prop.constituency_id != item.constituency_id:
        raise Conflict("The address this person was found at is no longer held, so they cannot be added.",
                       {"property_id": [data.get("property_id")]})
    surname = (data.get("surname") or "").strip()
    if not surname:
        raise ValidationFailed(details={"choice": ["This person has no surname, so they cannot be added. Dismiss "
                                                   "the item, or ask the volunteer for their name."]})
    district = db.session.get(PollingDistrict, prop.polling_district_id)
    elector = Elector(
        constituency_id=item.constituency_id, polling_district_id=prop.polling_district_id, property_id=prop.id,
        prefix=district.code[:8], number=0, suffix=item.id, surname=surname[:120],
        forenames=(data.get("forenames") or "").strip()[:200], phone=(data.get("phone") or None),
        status=ElectorStatus.CURRENT, provisional=True)
    db.session.add(elector)
    db.session.flush()
    audit.record("elector.provisional_added", actor_user_id=actor_user_id, target_type="elector",
                 target_id=elector.id, constituency_id=item.constituency_id,
                 details={"review_item_id": item.id, "property_id": prop.id})
    return elector


def retire(elector: Elector, actor_user_id: int | None, why: str) -> None:
    """Take a provisional elector off lists and phones; their history stays."""
    if not elector.provisional or elector.status != ElectorStatus.CURRENT:
        return
    now = utcnow()
    elector.status, elector.removed_at, elector.version = ElectorStatus.REMOVED, now, elector.version + 1
    audit.record("elector.provisional_retired", actor_user_id=actor_user_id, target_type="elector",
                 target_id=elector.id, constituency_id=elector.constituency_id, details={"why": why})


def settle_after_register(constituency_id: int, edition_id: int, actor_user_id: int | None, *, full: bool) -> dict:
    """Link each current provisional elector of the CLP to the same person in the edition just imported, or
    (a full register) retire those it does not name. Runs in the import's transaction; returns the counts."""
    from server.services.sync import engine  # the engine imports the models' world; import it late

    provisional = list(db.session.scalars(select(Elector).where(
        Elector.constituency_id == constituency_id, Elector.provisional.is_(True),
        Elector.status == ElectorStatus.CURRENT)))
    if not provisional:
        return {"linked": 0, "retired": 0}
    at = {e.property_id for e in provisional}
    candidates: dict[tuple[int, str, str], Elector] = {}
    for e in db.session.scalars(select(Elector).where(
            Elector.property_id.in_(at), Elector.provisional.is_(False), Elector.status == ElectorStatus.CURRENT,
            Elector.last_seen_edition_id == edition_id)):
        candidates.setdefault((e.property_id, _key(e.surname), _first(e.forenames)), e)
    linked, retired, touched = 0, 0, set()
    for p in provisional:
        match = candidates.get((p.property_id, _key(p.surname), _first(p.forenames)))
        if match is not None:
            for model in (ContactRecord, Suppression, ReviewItem):
                db.session.execute(update(model).where(model.elector_id == p.id).values(elector_id=match.id))
            if p.phone and not match.phone:
                match.phone, match.version = p.phone, match.version + 1
            db.session.execute(ElectorState.__table__.delete().where(ElectorState.elector_id == p.id))
            retire(p, actor_user_id, "linked")
            audit.record("elector.provisional_linked", actor_user_id=actor_user_id, target_type="elector",
                         target_id=p.id, constituency_id=constituency_id,
                         details={"linked_to": match.id, "register_edition_id": edition_id})
            touched.add(match.id)
            linked += 1
        elif full:
            retire(p, actor_user_id, "not on the register")
            retired += 1
    db.session.flush()
    if touched:
        engine().reconcile(touched)
    return {"linked": linked, "retired": retired}
