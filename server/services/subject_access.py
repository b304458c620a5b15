"""Subject access (UK GDPR art. 15): everything the server holds about one elector or one member, as one JSON
document for the CLP admin (or national admin) to send them, and who has accessed their data.

The export is itself audited ("rights.subject_access", naming the person), so the next export lists it. It
reads what is stored: after an erasure it shows the scrubbed rows, which hold nothing personal.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select

from server.auth.policy import Principal, scope_clause
from server.errors import NotFound
from server.extensions import db
from server.models import (
    Assignment,
    AssignmentItem,
    AuditEvent,
    AuditSubject,
    Campaign,
    Constituency,
    ContactRecord,
    DeviceHolding,
    Device,
    Elector,
    ElectorState,
    ElectorUpdate,
    Member,
    PollingDistrict,
    RegisterEdition,
    ReviewItem,
    Suppression,
    User,
)
from server.orm import utcnow
from server.services import audit
from server.services.erasure import member_in_scope

FORMAT = "groundwork.subject-access"
FORMAT_VERSION = 1


@dataclass
class Export:
    filename: str
    document: dict


def _iso(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class _Users:
    """Names and roles of the volunteers and staff a document mentions, fetched once."""

    def __init__(self) -> None:
        self._known: dict[int, dict] = {}

    def want(self, ids) -> None:
        missing = {i for i in ids if i is not None and i not in self._known}
        if missing:
            for user in db.session.scalars(select(User).where(User.id.in_(missing))):
                self._known[user.id] = {"name": user.name, "role": user.role.value}

    def __call__(self, user_id: int | None) -> dict | None:
        return self._known.get(user_id) if user_id is not None else None


def _contacts(where, users: _Users) -> list[dict]:
    records = list(db.session.scalars(select(ContactRecord).where(where)
                                      .order_by(ContactRecord.occurred_at, ContactRecord.id)))
    users.want(r.user_id for r in records)
    campaigns = dict(db.session.execute(select(Campaign.id, Campaign.name).where(
        Campaign.id.in_({r.campaign_id for r in records}))).all()) if records else {}
    return [{
        "id": str(r.id), "kind": r.kind.value, "campaign": campaigns.get(r.campaign_id), "channel": r.channel.value,
        "outcome": r.outcome, "intention": r.intention, "strength": r.strength,
        "survey_answers": r.survey_answers or {}, "notes": r.notes, "call_back_at": _iso(r.call_back_at),
        "occurred_at": _iso(r.occurred_at), "received_at": _iso(r.received_at), "recorded_by": users(r.user_id),
        "source": r.source.value, "supersedes": _iso(r.supersedes_id),
        "personal_content_removed_at": _iso(r.personal_removed_at),
    } for r in records]


def _suppressions(where, users: _Users) -> list[dict]:
    found = list(db.session.scalars(select(Suppression).where(where).order_by(Suppression.created_at, Suppression.id)))
    users.want(i for s in found for i in (s.created_by_id, s.lifted_by_id))
    return [{"id": s.id, "kind": s.kind.value, "channel": s.channel.value, "reason": s.reason, "source": s.source,
             "created_at": _iso(s.created_at), "created_by": users(s.created_by_id),
             "lifted_at": _iso(s.lifted_at), "lifted_by": users(s.lifted_by_id)} for s in found]


def _lists(where) -> list[dict]:
    rows = db.session.execute(select(Assignment, AssignmentItem.reason).join(
        AssignmentItem, AssignmentItem.assignment_id == Assignment.id).where(where)
        .order_by(Assignment.starts_at, Assignment.id)).all()
    seen, out = set(), []
    for assignment, reason in rows:
        if assignment.id in seen:
            continue
        seen.add(assignment.id)
        out.append({"id": assignment.id, "name": assignment.name, "kind": assignment.kind.value,
                    "starts_at": _iso(assignment.starts_at), "ends_at": _iso(assignment.ends_at), "reason": reason})
    return out


def _access(subject_type: str, subject_id: int, users: _Users) -> list[dict]:
    """Who did what with the person's data, and when: events naming them, and events targeting them."""
    events = list(db.session.scalars(select(AuditEvent).where(or_(
        AuditEvent.id.in_(select(AuditSubject.event_id).where(AuditSubject.subject_type == subject_type,
                                                              AuditSubject.subject_id == subject_id)),
        (AuditEvent.target_type == subject_type) & (AuditEvent.target_id == str(subject_id)),
    )).order_by(AuditEvent.at, AuditEvent.id)))
    users.want(e.actor_user_id for e in events)
    return [{"at": _iso(e.at), "action": e.action, "by": users(e.actor_user_id),
             "purpose": (e.details or {}).get("purpose") or (e.details or {}).get("reason")} for e in events]


def _holders(subject_type: str, subject_id: int, users: _Users) -> list[dict]:
    """Whose phones hold the person now (the recipients of their data)."""
    user_ids = sorted(set(db.session.scalars(select(Device.user_id).join(
        DeviceHolding, DeviceHolding.device_id == Device.id).where(
        DeviceHolding.entity == subject_type, DeviceHolding.entity_id == subject_id))))
    users.want(user_ids)
    return [users(u) for u in user_ids]


def _review_items(elector: Elector) -> list[dict]:
    """Items about them; a held delivery (records a phone sent after its access ended, about many people)
    shows only its records about them."""
    out = []
    for item in db.session.scalars(select(ReviewItem).where(or_(
            ReviewItem.elector_id == elector.id,
            (ReviewItem.kind == "held_delivery") & (ReviewItem.constituency_id == elector.constituency_id)))
            .order_by(ReviewItem.created_at, ReviewItem.id)):
        data, resolution = item.data or {}, item.resolution
        if item.kind == "held_delivery":
            theirs = [raw for raw in data.get("mutations") or []
                      if isinstance(raw, dict) and isinstance(raw.get("data"), dict)
                      and raw["data"].get("elector_id") == elector.id]
            if not theirs:
                continue
            decisions = data.get("decisions") or {}
            data = {"delivered_at": data.get("delivered_at"), "mutations": theirs,
                    "decisions": {raw.get("id"): decisions.get(raw.get("id")) for raw in theirs}}
            resolution = {"choice": resolution.get("choice")} if resolution else None  # others' records: not shown
        out.append({"id": item.id, "kind": item.kind, "status": item.status, "created_at": _iso(item.created_at),
                    "resolved_at": _iso(item.resolved_at), "data": data, "resolution": resolution})
    return out


def _file(principal: Principal, subject_type: str, subject_id: int, document: dict) -> Export:
    audit.record_for(principal, "rights.subject_access", target_type=subject_type, target_id=subject_id,
                     constituency_id=document["constituency"]["id"], subjects=[(subject_type, subject_id)],
                     details={"sections": {k: len(v) for k, v in document.items() if isinstance(v, list)}})
    db.session.commit()
    return Export(f"subject-access-{subject_type}-{subject_id}-{utcnow().date().isoformat()}.json", document)


def _envelope(principal: Principal, subject_type: str, subject_id: int, constituency_id: int) -> dict:
    constituency = db.session.get(Constituency, constituency_id)
    requester = db.session.get(User, principal.user_id)
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "generated_at": _iso(utcnow()),
            "generated_by": {"name": requester.name, "role": requester.role.value},
            "subject": {"type": subject_type, "id": subject_id},
            "constituency": {"id": constituency.id, "code": constituency.code, "name": constituency.name}}


def elector_export(principal: Principal, elector_id: int) -> Export:
    """Everything held about an elector in the principal's scope (404 outside it); audited."""
    elector = db.session.scalar(select(Elector).where(Elector.id == elector_id, scope_clause(principal, Elector)))
    if elector is None:
        raise NotFound("No such elector in your scope.")
    users = _Users()
    prop = elector.property
    district = db.session.get(PollingDistrict, elector.polling_district_id)
    editions = dict(db.session.execute(select(RegisterEdition.id, RegisterEdition.label).where(
        RegisterEdition.id.in_({elector.first_seen_edition_id, elector.last_seen_edition_id} - {None}))).all())
    state = db.session.get(ElectorState, elector.id)
    updates = list(db.session.scalars(select(ElectorUpdate).where(ElectorUpdate.elector_id == elector.id)
                                      .order_by(ElectorUpdate.received_at, ElectorUpdate.id)))
    users.want(u.user_id for u in updates)
    document = _envelope(principal, "elector", elector.id, elector.constituency_id)
    document.update({
        "erased_at": _iso(elector.erased_at),
        "register": {
            "elector_number": elector.elector_number, "surname": elector.surname, "forenames": elector.forenames,
            "markers": elector.markers, "attainer_date": _iso(elector.attainer_date), "status": elector.status.value,
            "provisional": elector.provisional, "phone": elector.phone,
            "address": {"lines": list(prop.address_lines or []), "postcode": prop.postcode} if prop else None,
            "polling_district": district.code if district else None,
            "first_seen_in": editions.get(elector.first_seen_edition_id),
            "last_seen_in": editions.get(elector.last_seen_edition_id),
            "removed_at": _iso(elector.removed_at), "created_at": _iso(elector.created_at),
            "updated_at": _iso(elector.updated_at),
        },
        "contact_records": _contacts(ContactRecord.elector_id == elector.id, users),
        "derived_state": None if state is None else {
            "intention": state.intention, "strength": state.strength, "intention_at": _iso(state.intention_at),
            "last_contact_at": _iso(state.last_contact_at), "last_spoke_at": _iso(state.last_spoke_at),
            "contacts": state.contacts or {}, "do_not_contact": state.do_not_contact, "presence": state.presence,
            "call_back_at": _iso(state.call_back_at)},
        "elector_updates": [{"id": str(u.id), "field": u.field, "value": u.value, "occurred_at": _iso(u.occurred_at),
                             "received_at": _iso(u.received_at), "recorded_by": users(u.user_id)} for u in updates],
        "suppressions": _suppressions(Suppression.elector_id == elector.id, users),
        "review_items": _review_items(elector),
        "lists": _lists(AssignmentItem.elector_id == elector.id),
        "held_on_phones_of": _holders("elector", elector.id, users),
    })
    document["access"] = []
    export = _file(principal, "elector", elector.id, document)
    document["access"] = _access("elector", elector.id, users)  # this export included
    return export


def member_export(principal: Principal, member_id: int) -> Export:
    """Everything held about a member (needs the members permission as well: 403 without it); audited."""
    member: Member = member_in_scope(principal, member_id)
    users = _Users()
    document = _envelope(principal, "member", member.id, member.constituency_id)
    document.update({
        "erased_at": _iso(member.erased_at),
        "membership": {
            "membership_number": member.membership_number, "first_name": member.first_name,
            "last_name": member.last_name, "email": member.email, "phone": member.phone,
            "address_lines": list(member.address_lines or []), "postcode": member.postcode,
            "joined_on": _iso(member.joined_on), "status": member.status.value, "left_on": _iso(member.left_on),
            "consent": {"email": member.consent_email, "phone": member.consent_phone, "post": member.consent_post,
                        "updated_at": _iso(member.consent_updated_at)},
            "elector_id": member.elector_id, "created_at": _iso(member.created_at),
            "updated_at": _iso(member.updated_at),
        },
        "contact_records": _contacts(ContactRecord.member_id == member.id, users),
        "suppressions": _suppressions(Suppression.member_id == member.id, users),
        "lists": _lists(AssignmentItem.member_id == member.id),
        "held_on_phones_of": _holders("member", member.id, users),
    })
    document["access"] = []
    export = _file(principal, "member", member.id, document)
    document["access"] = _access("member", member.id, users)
    return export
