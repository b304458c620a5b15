"""Members for their CLP's membership secretary: who joined, what their consent lets the party use, a CSV of
that view, and a welcome call list for the CLP's phone bankers. Every view and export is audited with the
members it showed and the purpose given; regional staff and national admins read that trail.

Consent decides each field: no phone number for someone who did not agree to phone contact, no email
without email consent, no address without post consent. An objection (do not contact) on a channel hides
that channel too. Erased members are never shown.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select

from server.auth.policy import Permission, Principal, ScopeKind, scope_clause
from server.errors import NotFound, ValidationFailed
from server.extensions import db
from server.models import (
    AuditEvent,
    AuditSubject,
    Constituency,
    Member,
    MemberStatus,
    Role,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
    User,
)
from server.services import audit, lists
from server.services.csv_safe import SafeWriter
from server.services.paging import Page, paginate

# Members still with the party: lapsed and resigned members are not welcomed or exported.
CURRENT = (MemberStatus.NEW, MemberStatus.ACTIVE)
# The channels an objection can close, by the member field each one hides.
CHANNEL_OF = {"email": SuppressionChannel.TEXT, "phone": SuppressionChannel.PHONE, "post": SuppressionChannel.POST}
EXPORT_COLUMNS = ["Membership number", "First name", "Last name", "Joined", "Status", "Email", "Phone",
                  "Address", "Postcode"]


def _constituency(principal: Principal, constituency_id: int | None) -> Constituency:
    """One CLP in scope: the one named, else the principal's own (a secretary's)."""
    constituency_id = principal.constituency_id if constituency_id is None else constituency_id
    found = None if constituency_id is None else db.session.scalar(select(Constituency).where(
        Constituency.id == constituency_id, scope_clause(principal, Constituency)))
    if found is None:
        if constituency_id is None:
            raise ValidationFailed(details={"constituency_id": ["Choose the CLP."]})
        raise NotFound("No such CLP in your scope.", {"constituency_id": [constituency_id]})
    return found


def _constituencies(principal: Principal, constituency_id: int | None) -> tuple[list[int], str]:
    """The CLPs asked about, and their name in words: the one named, a secretary's own, or (for national and
    regional roles asking for none) every CLP in their scope."""
    if constituency_id is not None or principal.scope_kind == ScopeKind.CONSTITUENCY:
        clp = _constituency(principal, constituency_id)
        return [clp.id], clp.name
    ids = list(db.session.scalars(select(Constituency.id).where(scope_clause(principal, Constituency))))
    return ids, "the CLPs in your scope"


def _objections(member_ids: list[int]) -> dict[int, set[str]]:
    """Each member's active objections, as the member fields they close ("email", "phone", "post")."""
    closed: dict[int, set[str]] = {}
    if not member_ids:
        return closed
    rows = db.session.execute(select(Suppression.member_id, Suppression.kind, Suppression.channel).where(
        Suppression.member_id.in_(member_ids), Suppression.lifted_at.is_(None)))
    for member_id, kind, channel in rows:
        fields = closed.setdefault(member_id, set())
        for name, chan in CHANNEL_OF.items():
            if kind == SuppressionKind.ERASURE or channel in (SuppressionChannel.ALL, chan):
                fields.add(name)
    return closed


def describe(members: list[Member]) -> list[dict]:
    """What a secretary may see of each member: always who and when; contact details only as consent allows."""
    closed = _objections([m.id for m in members])
    out = []
    for m in members:
        shut = closed.get(m.id, set())
        allowed = {"email": m.consent_email and "email" not in shut, "phone": m.consent_phone and "phone" not in shut,
                   "post": m.consent_post and "post" not in shut}
        out.append({
            "id": m.id, "membership_number": m.membership_number, "first_name": m.first_name,
            "last_name": m.last_name, "joined_on": m.joined_on, "status": m.status.value,
            "consent": {"email": m.consent_email, "phone": m.consent_phone, "post": m.consent_post},
            "objected": sorted(shut),
            "email": m.email if allowed["email"] else None,
            "phone": m.phone if allowed["phone"] else None,
            "address_lines": list(m.address_lines or []) if allowed["post"] else None,
            "postcode": m.postcode if allowed["post"] else None,
        })
    return out


def _joined_since_where(constituency_ids: list[int], since: date) -> list:
    return [Member.constituency_id.in_(constituency_ids), Member.joined_on >= since, Member.status.in_(CURRENT),
            Member.erased_at.is_(None)]


def _joined_since(constituency_ids: list[int], since: date):
    return (select(Member).where(*_joined_since_where(constituency_ids, since))
            .order_by(Member.joined_on.desc(), Member.last_name, Member.first_name, Member.id))


@dataclass
class NewMembers:
    constituency_id: int | None  # None: every CLP in the caller's scope
    constituency: str
    since: date
    page: Page
    can_phone: int
    can_email: int


def new_members(principal: Principal, *, since: date, purpose: str, constituency_id: int | None = None,
                page: int = 1, per_page: int = 50) -> NewMembers:
    """Members who joined on or after ``since``, newest first; the view is audited with its purpose."""
    ids, name = _constituencies(principal, constituency_id)
    stmt = _joined_since(ids, since)
    found = paginate(stmt, page, per_page)
    counts = db.session.execute(select(
        func.count().filter(and_(Member.consent_phone.is_(True), Member.phone.is_not(None))),
        func.count().filter(and_(Member.consent_email.is_(True), Member.email.is_not(None))),
    ).where(*_joined_since_where(ids, since))).one()
    one = ids[0] if len(ids) == 1 else None
    found.items = describe(found.items)
    audit.record_for(principal, "members.view", target_type="constituency", target_id=one, constituency_id=one,
                     details={"purpose": purpose, "since": since.isoformat(), "page": page, "shown": len(found.items),
                              "total": found.total},
                     subjects=[("member", m["id"]) for m in found.items])
    db.session.commit()
    return NewMembers(one, name, since, found, counts[0], counts[1])


def export_csv(principal: Principal, *, since: date, purpose: str,
               constituency_id: int | None = None) -> tuple[str, str, int]:
    """The new-members view as CSV (formula cells neutralised), audited with its purpose and every member in it.

    Returns (filename, text, rows).
    """
    ids, name = _constituencies(principal, constituency_id)
    one = ids[0] if len(ids) == 1 else None
    shown = describe(list(db.session.scalars(_joined_since(ids, since))))
    handle = io.StringIO()
    writer = SafeWriter(handle)
    writer.writerow(EXPORT_COLUMNS)
    for m in shown:
        writer.writerow([m["membership_number"], m["first_name"], m["last_name"], m["joined_on"].isoformat(),
                         m["status"], m["email"] or "", m["phone"] or "", ", ".join(m["address_lines"] or []),
                         m["postcode"] or ""])
    audit.record_for(principal, "members.export", target_type="constituency", target_id=one, constituency_id=one,
                     details={"purpose": purpose, "since": since.isoformat(), "rows": len(shown),
                              "columns": EXPORT_COLUMNS},
                     subjects=[("member", m["id"]) for m in shown])
    db.session.commit()
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return f"new-members-{slug}-since-{since.isoformat()}.csv", handle.getvalue(), len(shown)


def callers(principal: Principal, constituency_id: int | None = None) -> list[dict]:
    """The active phone bankers (and admins, who phone too) of the CLP, or of every CLP in scope: who a
    welcome call list can go to."""
    ids, _ = _constituencies(principal, constituency_id)
    users = db.session.scalars(select(User).where(
        User.constituency_id.in_(ids), User.active.is_(True),
        User.role.in_((Role.PHONE_BANKER, Role.CLP_ADMIN))).order_by(User.role.desc(), User.name))
    return [{"id": u.id, "name": u.name, "role": u.role.value, "constituency_id": u.constituency_id} for u in users]


def welcome_list(principal: Principal, args: dict):
    """Turn the new members who agreed to calls into call lists for the CLP's phone bankers.

    The lists carry only each member's name, phone number and join date to the phones (sync.views.member).
    """
    clp = _constituency(principal, args.get("constituency_id"))
    made = lists.create_call_lists(principal, {
        "source": "members", "constituency_id": clp.id, "joined_since": args["since"],
        "campaign_id": args["campaign_id"], "name": args.get("name") or f"Welcome calls: {clp.name}",
        "assignee_ids": args.get("assignee_ids") or [], "ends_at": args["ends_at"], "size": args.get("size")})
    member_ids = [item.member_id for a in made for item in a.items if item.member_id is not None]
    audit.record_for(principal, "members.welcome_list", target_type="assignment",
                     target_id=",".join(str(a.id) for a in made), constituency_id=clp.id,
                     details={"purpose": "Welcome calls to new members", "since": args["since"].isoformat(),
                              "members": len(member_ids)},
                     subjects=[("member", m) for m in member_ids])
    db.session.commit()
    return made


# Actions that read or handed on members' personal data, in words for the access log.
ACCESS_ACTIONS = {
    "members.view": "Viewed new members",
    "members.export": "Exported new members (CSV)",
    "members.welcome_list": "Made a welcome call list",
    "rights.subject_access": "Subject access export",
    "rights.erasure": "Erased",
}


def access_log(principal: Principal, *, constituency_id: int | None = None, membership_number: str | None = None,
               page: int = 1, per_page: int = 50) -> Page:
    """Who accessed which members' data, and when: the audit trail of member views and exports in scope.

    It names members by membership number only; it never shows their contact details.
    """
    if not principal.can(Permission.MEMBERS_ACCESS_LOG):  # the route checks too; services never trust callers
        raise NotFound("Nothing here.", {})
    touched = select(AuditSubject.event_id).where(AuditSubject.subject_type == "member")
    if membership_number:
        touched = touched.join(Member, Member.id == AuditSubject.subject_id).where(
            Member.membership_number == membership_number.strip().upper())
    stmt = (select(AuditEvent).where(AuditEvent.id.in_(touched), AuditEvent.action.in_(sorted(ACCESS_ACTIONS)),
                                     scope_clause(principal, AuditEvent))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    if constituency_id is not None:
        stmt = stmt.where(AuditEvent.constituency_id == constituency_id)
    found = paginate(stmt, page, per_page)
    found.items = _describe_access(found.items)
    return found


def _describe_access(events: list[AuditEvent]) -> list[dict]:
    ids = [e.id for e in events]
    numbers: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(
            select(AuditSubject.event_id, Member.membership_number)
            .join(Member, and_(AuditSubject.subject_type == "member", Member.id == AuditSubject.subject_id))
            .where(AuditSubject.event_id.in_(ids)).order_by(Member.membership_number))
        for event_id, number in rows:
            numbers[event_id].append(number)
    actors = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({e.actor_user_id for e in events if e.actor_user_id is not None})))}
    clps = dict(db.session.execute(select(Constituency.id, Constituency.name).where(
        Constituency.id.in_({e.constituency_id for e in events if e.constituency_id is not None}))).all())
    out = []
    for e in events:
        actor = actors.get(e.actor_user_id)
        out.append({
            "id": e.id, "at": e.at, "action": e.action, "described": ACCESS_ACTIONS.get(e.action, e.action),
            "actor": {"id": actor.id, "name": actor.name, "role": actor.role.value} if actor else None,
            "constituency": clps.get(e.constituency_id),
            "purpose": (e.details or {}).get("purpose"),
            "members": len(numbers[e.id]), "membership_numbers": numbers[e.id],
        })
    return out

