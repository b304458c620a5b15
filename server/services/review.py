"""The review queue: conflicts between volunteers and people found who are not on the register.

A CLP admin keeps one side, keeps the other, or enters a value. The decision is a new event (never
an edit of a volunteer's record), the elector's state is folded again, and every decision is audited.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from server.auth.policy import ASSIGNMENT_SCOPED_ROLES, Principal, principal_for, scope_clause
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import Channel, ContactRecord, Device, RecordKind, RecordSource, ReviewItem
from server.orm import utcnow
from server.services import audit
from server.services.paging import Page, paginate
from server.services.sync import engine
from sync.protocol import content_hash
from sync.store import DeviceContext, ElectorChange, Receipt

CHOICES = {
    "intention_conflict": {"first", "second", "value"},
    "field_conflict": {"first", "second", "value"},
    "new_elector": {"accept", "dismiss"},
    "held_delivery": {"accept", "reject"},
    # A volunteer reported the elector moved away or deceased: confirmed or dismissed (the next register
    # edition is what removes them).
    "presence_report": {"accept", "dismiss"},
}
# What stays of a held record once it is decided: enough to audit the decision, nothing more personal.
KEPT_WHEN_DECIDED = ("elector_id", "property_id", "campaign_id", "channel")


def list_items(principal: Principal, *, status: str, kind: str | None, page: int, per_page: int) -> Page:
    stmt = select(ReviewItem).where(scope_clause(principal, ReviewItem))
    if status != "all":
        stmt = stmt.where(ReviewItem.status == status)
    if kind:
        stmt = stmt.where(ReviewItem.kind == kind)
    return paginate(stmt.order_by(ReviewItem.created_at, ReviewItem.id), page, per_page)


def resolve(principal: Principal, item_id: int, *, choice: str, intention: str | None = None,
            strength: str | None = None, value: str | None = None, note: str | None = None,
            mutation_ids: list[uuid.UUID] | None = None) -> ReviewItem:
    """Decide one review item (for a held delivery, all its records or the ``mutation_ids`` given); the
    decision takes effect as a new event and is audited."""
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.id == item_id, scope_clause(principal, ReviewItem))
                             .with_for_update())
    if item is None:
        raise NotFound("No such review item in your CLP.")
    if item.status != "open":
        raise Conflict("This item has already been decided.", {"resolved_at": item.resolved_at.isoformat()})
    if choice not in CHOICES[item.kind]:
        raise ValidationFailed(details={"choice": [f"For {item.kind} choose one of {sorted(CHOICES[item.kind])}."]})
    if mutation_ids and item.kind != "held_delivery":
        raise ValidationFailed(details={"mutation_ids": ["Only a held delivery is decided record by record."]})
    outcome: dict = {"choice": choice, "note": note}
    finished = True
    if item.kind == "intention_conflict":
        outcome.update(_settle_intention(principal, item, choice, intention, strength))
    elif item.kind == "field_conflict":
        outcome.update(_settle_field(principal, item, choice, value))
    elif item.kind == "held_delivery":
        outcome.update(_settle_held(item, choice, mutation_ids))
        finished = outcome["undecided"] == 0
    if finished:
        item.status, item.resolved_at, item.resolved_by_id = "resolved", utcnow(), principal.user_id
        item.resolution = outcome if item.kind != "held_delivery" else {
            "choice": "decided", "note": note, "decisions": item.data["decisions"]}
    audit.record_for(principal, "review.resolve", target_type="review_item", target_id=item.id,
                     constituency_id=item.constituency_id, details={"kind": item.kind, **outcome})
    if item.elector_id is not None:
        engine().reconcile({item.elector_id})
    db.session.commit()
    return item


def _settle_intention(principal, item, choice, intention, strength) -> dict:
    records = [db.session.get(ContactRecord, uuid.UUID(i)) for i in item.data["records"]]
    if choice == "value":
        if not intention:
            raise ValidationFailed(details={"intention": ["Enter the intention to record."]})
        chosen = (intention, strength)
    else:
        source = records[0 if choice == "first" else 1]
        chosen = (source.intention, source.strength)
    campaign = engine().store.campaigns({records[-1].campaign_id})[records[-1].campaign_id]
    problems = {}
    if chosen[0] not in campaign.intentions:
        problems["intention"] = ["Not a voting intention code of this campaign."]
    if chosen[1] is not None and chosen[1] not in campaign.strengths:
        problems["strength"] = ["Not a strength code of this campaign."]
    if problems:
        raise ValidationFailed(details=problems)
    # Placed just after the later of the two contacts: it settles them, and any later canvass still counts.
    latest = max(r.occurred_at for r in records)
    db.session.add(ContactRecord(
        id=uuid.uuid4(), campaign_id=records[-1].campaign_id, constituency_id=item.constituency_id,
        elector_id=item.elector_id, kind=RecordKind.RESOLUTION, channel=Channel.OTHER, intention=chosen[0],
        strength=chosen[1], occurred_at=latest + timedelta(milliseconds=1), received_at=utcnow(),
        user_id=principal.user_id, device_id=principal.device_id, source=RecordSource.API,
    ))
    db.session.flush()
    return {"intention": chosen[0], "strength": chosen[1]}


def _settle_field(principal, item, choice, value) -> dict:
    if choice == "value":
        if not value:
            raise ValidationFailed(details={"value": ["Enter the value to keep."]})
        chosen = value
    else:
        chosen = item.data["values"][0 if choice == "first" else 1]
    store = engine().store
    current = store.electors({item.elector_id})[item.elector_id]
    now = utcnow()
    store.apply_change(ElectorChange(uuid.uuid4(), item.elector_id, item.data["field"], chosen, current.version,
                                     now, now, principal.user_id, principal.device_id))
    return {"field": item.data["field"], "value": chosen}


def _settle_held(item: ReviewItem, choice: str, mutation_ids: list[uuid.UUID] | None) -> dict:
    """Accept or reject records a device delivered after its access ended, all of them or some."""
    data = dict(item.data)
    decisions = dict(data.get("decisions") or {})
    raws = data["mutations"]
    known = {raw["id"] for raw in raws}
    wanted = {str(i) for i in mutation_ids} if mutation_ids else known - set(decisions)
    problems = [f"{i} is not in this delivery." for i in sorted(wanted - known)]
    problems += [f"{i} was already decided ({decisions[i]})." for i in sorted(wanted & set(decisions))]
    if problems:
        raise ValidationFailed(details={"mutation_ids": problems})
    targets = [raw for raw in raws if raw["id"] in wanted]
    device = db.session.get(Device, uuid.UUID(data["device_id"]))
    if choice == "accept":
        user = device.user
        ctx = DeviceContext(device.id, user.id, principal_for(db.session, user).constituency_ids,
                            lists_only=user.role in ASSIGNMENT_SCOPED_ROLES)
        results = engine().settle_held(ctx, targets, delivered_at=datetime.fromisoformat(data["delivered_at"]),
                                       clock_offset_seconds=data["clock_offset_seconds"])
        decided = {raw["id"]: result.status.value for raw, result in zip(targets, results)}
    else:
        engine().store.settle([
            Receipt(uuid.UUID(raw["id"]), device.id, raw["seq"], "forbidden", content_hash(raw),
                    {"reason": "access_ended", "review": "rejected"}) for raw in targets])
        decided = {raw["id"]: "rejected" for raw in targets}
    decisions.update(decided)
    data["decisions"] = decisions
    data["mutations"] = [_decided_form(raw) if raw["id"] in decisions else raw for raw in raws]
    item.data = data  # a new dict, so the change is saved
    return {"decided": decided, "undecided": len(known) - len(decisions)}


def _decided_form(raw: dict) -> dict:
    """A decided record as the review item keeps it: what it was about, not what was said."""
    kept = {k: v for k, v in (raw.get("data") or {}).items() if k in KEPT_WHEN_DECIDED}
    return {"id": raw["id"], "seq": raw["seq"], "type": raw["type"], "occurred_at": raw["occurred_at"], "data": kept}
