"""The review queue in words: for each item, the person it is about and both sides of the disagreement as a
CLP admin reads them (names, days, volunteers, outcomes by their labels), never ids and codes.

Built for a page of items at once, with one query per kind of thing named (records, people, electors,
addresses, codes), so a page costs the same whatever it holds. What a volunteer wrote in a note is not
shown: the decision never needs it, and the queue is read by more eyes than the record was meant for.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.models import CampaignCode, ContactRecord, Elector, ElectorUpdate, PollingDistrict, Property, ReviewItem, User

TITLES = {
    "intention_conflict": "Two contacts disagree on how they will vote",
    "field_conflict": "Two phone numbers for one person",
    "new_elector": "Someone found who is not on the register",
    "presence_report": "Reported no longer living here",
    "held_delivery": "Records sent after the volunteer's access ended",
}
FLAGS = {"moved": "moved away", "deceased": "died"}
CHANNELS = {"door": "at the door", "phone": "on the phone", "other": "by a CLP admin"}
UNKNOWN_PERSON = "a volunteer no longer listed"


class _Lookup:
    """What a page of items names, fetched in bulk."""

    def __init__(self, items: list[ReviewItem]) -> None:
        record_ids: set[uuid.UUID] = set()
        update_ids: set[uuid.UUID] = set()
        user_ids: set[int] = set()
        elector_ids: set[int] = set()
        property_ids: set[int] = set()
        for item in items:
            data = item.data or {}
            if item.elector_id:
                elector_ids.add(item.elector_id)
            if isinstance(data.get("user_id"), int):
                user_ids.add(data["user_id"])
            if item.kind == "intention_conflict":
                record_ids.update(_uuids(data.get("records") or []))
            elif item.kind == "field_conflict":
                update_ids.update(_uuids([data.get("mutation_id")]))
            elif item.kind == "new_elector" and isinstance(data.get("property_id"), int):
                property_ids.add(data["property_id"])
            elif item.kind == "held_delivery":
                for raw in data.get("mutations") or []:
                    target = (raw.get("data") or {}).get("elector_id")
                    if isinstance(target, int):
                        elector_ids.add(target)
            if item.resolved_by_id:
                user_ids.add(item.resolved_by_id)
        self.records = {r.id: r for r in db.session.scalars(
            select(ContactRecord).where(ContactRecord.id.in_(record_ids)))} if record_ids else {}
        self.updates = {u.id: u for u in db.session.scalars(
            select(ElectorUpdate).where(ElectorUpdate.id.in_(update_ids)))} if update_ids else {}
        user_ids.update(r.user_id for r in self.records.values() if r.user_id)
        user_ids.update(u.user_id for u in self.updates.values() if u.user_id)
        self.users = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
        self.electors = {e.id: e for e in db.session.scalars(
            select(Elector).where(Elector.id.in_(elector_ids))
            .options(selectinload(Elector.property), selectinload(Elector.polling_district)
                     .selectinload(PollingDistrict.ward)))} if elector_ids else {}
        self.properties = {p.id: p for p in db.session.scalars(
            select(Property).where(Property.id.in_(property_ids))
            .options(selectinload(Property.polling_district).selectinload(PollingDistrict.ward)))} if property_ids else {}
        campaign_ids = {r.campaign_id for r in self.records.values()}
        for item in items:
            if item.kind == "held_delivery":
                campaign_ids.update((raw.get("data") or {}).get("campaign_id") for raw in (item.data or {}).get("mutations") or [])
        campaign_ids.discard(None)
        self.labels = {(c.campaign_id, c.code_set.value, c.code): c.label for c in db.session.scalars(
            select(CampaignCode).where(CampaignCode.campaign_id.in_(campaign_ids)))} if campaign_ids else {}

    def person(self, user_id: int | None) -> str:
        return self.users.get(user_id, UNKNOWN_PERSON) if user_id else UNKNOWN_PERSON

    def label(self, campaign_id, code_set: str, code: str | None) -> str | None:
        if code is None:
            return None
        return self.labels.get((campaign_id, code_set, code), code)

    def elector(self, elector_id: int | None) -> dict | None:
        e = self.electors.get(elector_id)
        if e is None:
            return None
        ward = e.polling_district.ward if e.polling_district else None
        return {"id": e.id, "name": e.full_name, "elector_number": e.elector_number,
                "address": e.property.address if e.property else None, "ward": ward.name if ward else None,
                "provisional": e.provisional, "removed": e.status.value == "removed"}


def _uuids(values: Iterable) -> set[uuid.UUID]:
    out = set()
    for value in values:
        try:
            out.add(uuid.UUID(str(value)))
        except (TypeError, ValueError):
            continue
    return out


def _contact_words(look: _Lookup, campaign_id, outcome, intention, strength, channel) -> str:
    parts = []
    if outcome:
        parts.append(look.label(campaign_id, "outcome", outcome))
    if intention:
        parts.append(look.label(campaign_id, "intention", intention))
    if strength:
        parts.append(look.label(campaign_id, "strength", strength).split(":")[0])
    words = ": ".join(parts[:2]) + (f" ({parts[2]})" if len(parts) > 2 else "")
    where = CHANNELS.get(channel)
    return f"{words}, {where}" if where and words else (words or "a contact")


def _intention(look: _Lookup, item: ReviewItem) -> dict:
    sides = []
    for choice, rid in zip(("first", "second"), _ordered(item.data.get("records") or [])):
        record = look.records.get(rid)
        if record is None:
            sides.append({"choice": choice, "who": UNKNOWN_PERSON, "when": None, "what": "a record no longer held"})
            continue
        sides.append({"choice": choice, "who": look.person(record.user_id), "when": record.occurred_at.isoformat(),
                      "what": _contact_words(look, record.campaign_id, record.outcome, record.intention,
                                             record.strength, record.channel.value)})
    return {"sides": sides}


def _ordered(values: list) -> list[uuid.UUID | None]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(str(value)))
        except (TypeError, ValueError):
            out.append(None)
    return out


def _field(look: _Lookup, item: ReviewItem) -> dict:
    values = list(item.data.get("values") or [None, None]) + [None, None]
    update = next(iter(look.updates.get(u) for u in _uuids([item.data.get("mutation_id")])), None)
    field = "phone number" if item.data.get("field") == "phone" else str(item.data.get("field"))
    return {"sides": [
        {"choice": "first", "who": "already on record", "when": None, "what": f"{field} {values[0] or '(none)'}"},
        {"choice": "second", "who": look.person(update.user_id) if update else UNKNOWN_PERSON,
         "when": update.occurred_at.isoformat() if update else None, "what": f"{field} {values[1] or '(none)'}"},
    ]}


def _new_elector(look: _Lookup, item: ReviewItem) -> dict:
    data = item.data
    prop = look.properties.get(data.get("property_id"))
    ward = prop.polling_district.ward if prop and prop.polling_district else None
    name = " ".join(x for x in (data.get("forenames"), data.get("surname")) if x) or "someone unnamed"
    found = {"who": look.person(data.get("user_id")), "when": data.get("found_at"),
             "what": f"{name}{', with a phone number' if data.get('phone') else ''}"}
    return {"person": {"name": name, "address": prop.address if prop else None, "ward": ward.name if ward else None},
            "sides": [{"choice": "accept", **found}]}


def _presence(look: _Lookup, item: ReviewItem) -> dict:
    data = item.data
    return {"sides": [{"choice": "accept", "who": look.person(data.get("user_id")), "when": data.get("reported_at"),
                       "what": f"reported they have {FLAGS.get(data.get('flag'), data.get('flag'))}"}]}


def _held(look: _Lookup, item: ReviewItem) -> dict:
    data = item.data
    decisions = data.get("decisions") or {}
    records = []
    for raw in data.get("mutations") or []:
        d = raw.get("data") or {}
        elector = look.elector(d.get("elector_id"))
        if raw.get("type") == "elector_new":
            what = "someone not on the register"
        elif raw.get("type") == "contact_retraction":
            what = "an undo of an earlier record"
        elif raw.get("type") == "elector_update":
            what = "a change to the person's details"
        else:
            what = _contact_words(look, d.get("campaign_id"), d.get("outcome"), d.get("intention"), d.get("strength"),
                                  d.get("channel"))
        records.append({"id": raw.get("id"), "when": raw.get("occurred_at"), "what": what,
                        "elector": elector["name"] if elector else None,
                        "address": elector["address"] if elector else None, "decision": decisions.get(raw.get("id"))})
    return {"volunteer": look.person(data.get("user_id")), "access_ended_at": data.get("access_ended_at"),
            "suspended": bool(data.get("suspended")), "delivered_at": data.get("delivered_at"), "records": records}


DESCRIBERS = {"intention_conflict": _intention, "field_conflict": _field, "new_elector": _new_elector,
              "presence_report": _presence, "held_delivery": _held}


def describe(items: list[ReviewItem]) -> dict[int, dict]:
    """Each item's words, by item id."""
    look = _Lookup(items)
    out = {}
    for item in items:
        words = {"title": TITLES.get(item.kind, item.kind), "elector": look.elector(item.elector_id), "sides": []}
        words.update(DESCRIBERS.get(item.kind, lambda *_: {})(look, item))
        if item.resolved_by_id:
            words["resolved_by"] = look.person(item.resolved_by_id)
        out[item.id] = words
    return out
