"""The review queue: conflicts between volunteers and people found who are not on the register.

A CLP admin keeps one side, keeps the other, or enters a value. The decision is a new event (never
an edit of a volunteer's record), the elector's state is folded again, and every decision is audited.
Many items are decided at once by a rule ("the newest contact wins for these 200"), all or nothing. A
decision can be undone: its effect is reversed by another event (a settling record removed, the phone
number put back, a provisional elector retired, accepted records withdrawn) and the item is open again,
with what was undone kept on it; both steps are audited.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import or_, select

from server.auth.policy import ASSIGNMENT_SCOPED_ROLES, Principal, principal_for, scope_clause
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import (Channel, ContactRecord, Device, Elector, ElectorStatus, PollingDistrict, Property,
                           RecordKind, RecordSource, ReviewItem)
from server.orm import utcnow
from server.services import audit, provisional
from server.services.review_words import describe
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


# What "decide these by a rule" means for each kind: the choice it makes, or None where it does not apply.
RULES = {
    "newest": {"intention_conflict": "newest", "field_conflict": "second"},
    "oldest": {"intention_conflict": "oldest", "field_conflict": "first"},
    "accept": {"new_elector": "accept", "presence_report": "accept", "held_delivery": "accept"},
    "dismiss": {"new_elector": "dismiss", "presence_report": "dismiss"},
    "reject": {"held_delivery": "reject"},
}
MAX_AT_ONCE = 500


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def list_items(principal: Principal, *, status: str, kind: str | None, page: int, per_page: int,
               ward_id: int | None = None, since: date | None = None, until: date | None = None) -> Page:
    """A page of the queue, oldest first, each item with its words (review_words.describe)."""
    stmt = select(ReviewItem).where(scope_clause(principal, ReviewItem))
    if status != "all":
        stmt = stmt.where(ReviewItem.status == status)
    if kind:
        stmt = stmt.where(ReviewItem.kind == kind)
    if ward_id is not None:
        districts = select(PollingDistrict.id).where(PollingDistrict.ward_id == ward_id)
        stmt = stmt.where(or_(
            ReviewItem.elector_id.in_(select(Elector.id).where(Elector.polling_district_id.in_(districts))),
            ReviewItem.data["property_id"].as_integer().in_(
                select(Property.id).where(Property.polling_district_id.in_(districts)))))
    if since is not None:
        stmt = stmt.where(ReviewItem.created_at >= _day_start(since))
    if until is not None:
        stmt = stmt.where(ReviewItem.created_at < _day_start(until + timedelta(days=1)))
    found = paginate(stmt.order_by(ReviewItem.created_at, ReviewItem.id), page, per_page)
    words = describe(found.items)
    for item in found.items:
        item.described = words[item.id]
    return found


def _described(item: ReviewItem) -> ReviewItem:
    item.described = describe([item])[item.id]
    return item


def resolve(principal: Principal, item_id: int, *, choice: str, intention: str | None = None,
            strength: str | None = None, value: str | None = None, note: str | None = None,
            mutation_ids: list[uuid.UUID] | None = None) -> ReviewItem:
    """Decide one review item (for a held delivery, all its records or the ``mutation_ids`` given); the
    decision takes effect as a new event and is audited."""
    item = _locked(principal, [item_id]).get(item_id)
    if item is None:
        raise NotFound("No such review item in your CLP.")
    touched = _decide(principal, item, choice, intention=intention, strength=strength, value=value, note=note,
                      mutation_ids=mutation_ids)
    if touched:
        engine().reconcile(touched)
    db.session.commit()
    return _described(item)


def resolve_many(principal: Principal, *, item_ids: list[int], rule: str, note: str | None = None) -> dict:
    """Decide many items by one rule, all or nothing. Items the rule does not fit (another kind, or already
    decided) are left as they are and listed with why."""
    items = _locked(principal, item_ids)
    missing = sorted(set(item_ids) - set(items))
    if missing:
        raise ValidationFailed(details={"item_ids": [f"No open review item {i} in your CLP." for i in missing[:20]]})
    resolved, skipped, touched = [], [], set()
    for item_id in sorted(items):
        item = items[item_id]
        choice = RULES[rule].get(item.kind)
        if item.status != "open":
            skipped.append({"id": item_id, "reason": "already decided"})
        elif choice is None:
            skipped.append({"id": item_id, "reason": f"the rule {rule!r} does not decide this kind of item"})
        else:
            try:
                touched |= _decide(principal, item, choice, note=note)
            except (ValidationFailed, Conflict) as error:
                raise type(error)(f"Review item {item_id}: {error.message} Nothing was decided.",
                                  {"item_ids": [item_id], **(error.details or {})}) from None
            resolved.append(item_id)
    if touched:
        engine().reconcile(touched)
    audit.record_for(principal, "review.resolve_many", target_type="review_item", details={
        "rule": rule, "resolved": resolved, "skipped": [s["id"] for s in skipped], "note": note})
    db.session.commit()
    return {"resolved": resolved, "skipped": skipped}


def _locked(principal: Principal, item_ids: list[int]) -> dict[int, ReviewItem]:
    """The items of the caller's scope, locked in id order (so two admins deciding overlapping sets queue)."""
    return {i.id: i for i in db.session.scalars(
        select(ReviewItem).where(ReviewItem.id.in_(sorted(set(item_ids))), scope_clause(principal, ReviewItem))
        .order_by(ReviewItem.id).with_for_update())}


def _decide(principal: Principal, item: ReviewItem, choice: str, *, intention: str | None = None,
            strength: str | None = None, value: str | None = None, note: str | None = None,
            mutation_ids: list[uuid.UUID] | None = None) -> set[int]:
    """Take one decision (not committed); returns the electors whose state must be folded again."""
    if item.status != "open":
        raise Conflict("This item has already been decided.", {"resolved_at": item.resolved_at.isoformat()})
    allowed = CHOICES[item.kind] | ({"newest", "oldest"} if item.kind == "intention_conflict" else set())
    if choice not in allowed:
        raise ValidationFailed(details={"choice": [f"For {item.kind} choose one of {sorted(CHOICES[item.kind])}."]})
    if mutation_ids and item.kind != "held_delivery":
        raise ValidationFailed(details={"mutation_ids": ["Only a held delivery is decided record by record."]})
    outcome: dict = {"choice": choice, "note": note}
    finished = True
    touched: set[int] = set()
    if item.kind == "intention_conflict":
        outcome.update(_settle_intention(principal, item, choice, intention, strength))
    elif item.kind == "field_conflict":
        outcome.update(_settle_field(principal, item, choice, value))
    elif item.kind == "held_delivery":
        outcome.update(_settle_held(item, choice, mutation_ids))
        finished = outcome["undecided"] == 0
    elif item.kind == "new_elector" and choice == "accept":
        elector = provisional.create_from_review(item, principal.user_id)
        item.elector_id = elector.id
        outcome["elector_id"] = elector.id
    if finished:
        item.status, item.resolved_at, item.resolved_by_id = "resolved", utcnow(), principal.user_id
        item.resolution = outcome if item.kind != "held_delivery" else {
            "choice": "decided", "note": note, "decisions": item.data["decisions"]}
    audit.record_for(principal, "review.resolve", target_type="review_item", target_id=item.id,
                     constituency_id=item.constituency_id, details={"kind": item.kind, **outcome})
    if item.elector_id is not None:
        touched.add(item.elector_id)
    return touched


def undo(principal: Principal, item_id: int, *, note: str | None = None) -> ReviewItem:
    """Reverse a decision's effect with a new event, and open the item again (a held delivery's accepted
    records are withdrawn instead: what was rejected was deleted when it was rejected, so it stays decided)."""
    item = _locked(principal, [item_id]).get(item_id)
    if item is None:
        raise NotFound("No such review item in your CLP.")
    if item.status != "resolved" or not item.resolution:
        raise Conflict("This item has not been decided, so there is nothing to undo.", {"status": [item.status]})
    resolution = dict(item.resolution)
    if resolution.get("choice") == "erased":
        # Closed by an erasure (server/services/erasure.py): reopening it could write their data back.
        raise Conflict("This was closed because the person was erased; it cannot be reopened.",
                       {"status": [item.status]})
    touched: set[int] = {item.elector_id} if item.elector_id else set()
    reopen = True
    if item.kind == "intention_conflict" and resolution.get("record_id"):
        settling = db.session.get(ContactRecord, uuid.UUID(resolution["record_id"]))
        if settling is not None and settling.kind == RecordKind.RESOLUTION:
            db.session.delete(settling)
    elif item.kind == "field_conflict" and "previous" in resolution:
        store = engine().store
        current = store.electors({item.elector_id})[item.elector_id]
        now = utcnow()
        store.apply_change(ElectorChange(uuid.uuid4(), item.elector_id, item.data["field"], resolution["previous"],
                                         current.version, now, now, principal.user_id, principal.device_id))
    elif item.kind == "new_elector" and resolution.get("elector_id"):
        elector = db.session.get(Elector, resolution["elector_id"])
        if elector is not None and (not elector.provisional or elector.status != ElectorStatus.CURRENT):
            raise Conflict("The register has since settled this person (linked to their entry, or retired), so "
                           "accepting them can no longer be undone.", {"elector_id": [elector.id]})
        if elector is not None:
            provisional.retire(elector, principal.user_id, "review decision undone")
        item.elector_id = None
    elif item.kind == "held_delivery":
        if resolution.get("withdrawn"):
            raise Conflict("The records accepted from this delivery were already withdrawn.", {"status": [item.status]})
        withdrawn = _withdraw_accepted(principal, item)
        if not withdrawn:
            raise Conflict("No record of this delivery was accepted, and what was rejected was deleted when it was "
                           "rejected: there is nothing to undo.", {"decisions": [item.data.get("decisions")]})
        touched |= withdrawn
        resolution["withdrawn"] = True
        reopen = False
    data = dict(item.data or {})
    data["undone"] = [*(data.get("undone") or []), {"at": utcnow().isoformat(), "by": principal.user_id,
                                                    "resolution": item.resolution, "note": note}]
    item.data = data
    if reopen:
        item.status, item.resolved_at, item.resolved_by_id, item.resolution = "open", None, None, None
    else:
        item.resolution = resolution
    audit.record_for(principal, "review.undo", target_type="review_item", target_id=item.id,
                     constituency_id=item.constituency_id, details={"kind": item.kind, "note": note})
    touched.discard(None)
    if touched:
        engine().reconcile(touched)
    db.session.commit()
    return _described(item)


def _withdraw_accepted(principal: Principal, item: ReviewItem) -> set[int]:
    """Retract, as the admin, every contact this delivery's acceptance stored; the electors it touched."""
    accepted = [uuid.UUID(i) for i, status in (item.data.get("decisions") or {}).items() if status != "rejected"]
    if not accepted:
        return set()
    already = set(db.session.scalars(select(ContactRecord.supersedes_id).where(
        ContactRecord.supersedes_id.in_(accepted), ContactRecord.kind == RecordKind.RETRACTION)))
    touched = set()
    now = utcnow()
    for record in db.session.scalars(select(ContactRecord).where(
            ContactRecord.id.in_(accepted), ContactRecord.kind.in_([RecordKind.RECORD, RecordKind.CORRECTION]))):
        if record.id in already:
            continue
        db.session.add(ContactRecord(
            id=uuid.uuid4(), campaign_id=record.campaign_id, constituency_id=record.constituency_id,
            elector_id=record.elector_id, member_id=record.member_id, kind=RecordKind.RETRACTION,
            supersedes_id=record.supersedes_id or record.id, channel=record.channel, occurred_at=now, received_at=now,
            user_id=principal.user_id, device_id=principal.device_id, source=RecordSource.API))
        if record.elector_id:
            touched.add(record.elector_id)
    db.session.flush()
    return touched or {None}


def _settle_intention(principal, item, choice, intention, strength) -> dict:
    records = [db.session.get(ContactRecord, uuid.UUID(i)) for i in item.data["records"]]
    if choice == "value":
        if not intention:
            raise ValidationFailed(details={"intention": ["Enter the intention to record."]})
        chosen = (intention, strength)
    else:
        if choice in ("newest", "oldest"):
            ordered = sorted(records, key=lambda r: (r.occurred_at, str(r.id)))
            source = ordered[-1 if choice == "newest" else 0]
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
    settling = uuid.uuid4()
    db.session.add(ContactRecord(
        id=settling, campaign_id=records[-1].campaign_id, constituency_id=item.constituency_id,
        elector_id=item.elector_id, kind=RecordKind.RESOLUTION, channel=Channel.OTHER, intention=chosen[0],
        strength=chosen[1], occurred_at=latest + timedelta(milliseconds=1), received_at=utcnow(),
        user_id=principal.user_id, device_id=principal.device_id, source=RecordSource.API,
    ))
    db.session.flush()
    return {"intention": chosen[0], "strength": chosen[1], "record_id": str(settling)}


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
    # What it was before the decision, so an undo can put it back.
    previous = current.phone if item.data["field"] == "phone" else None
    return {"field": item.data["field"], "value": chosen, "previous": previous}


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
                    {"reason": "access_suspended" if data.get("suspended") else "access_ended", "review": "rejected"})
            for raw in targets])
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
