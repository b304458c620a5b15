"""Do-not-contact: objections an admin records when they arrive by letter, email or in person, and lifting
one when the person changes their mind.

A suppression is the authority on whether someone may be contacted. Phones stop holding a suppressed
elector at their next pull (sync entitlement reads the active suppressions), and walk and call lists built
afterwards leave them out. An erasure is for good and is not handled here (the data protection issue).
"""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from server.auth.policy import Principal, scope_clause
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import Elector, Suppression, SuppressionChannel, SuppressionKind, User
from server.orm import utcnow
from server.services import audit
from server.services.paging import Page, paginate

# How the objection reached the party; stored as the suppression's source.
RECEIVED_BY = ("letter", "email", "phone", "in_person")


def list_suppressions(principal: Principal, *, active: bool = True, name: str | None = None,
                      page: int, per_page: int) -> Page:
    stmt = (select(Suppression).where(scope_clause(principal, Suppression), Suppression.elector_id.is_not(None),
                                      Suppression.kind == SuppressionKind.DO_NOT_CONTACT)
            .join(Elector, Elector.id == Suppression.elector_id)
            .options(selectinload(Suppression.elector).selectinload(Elector.property)))
    if active:
        stmt = stmt.where(Suppression.lifted_at.is_(None))
    for word in (name or "").lower().split():
        stmt = stmt.where(or_(func.lower(Elector.surname).contains(word, autoescape=True),
                              func.lower(Elector.forenames).contains(word, autoescape=True)))
    return paginate(stmt.order_by(Suppression.created_at.desc(), Suppression.id.desc()), page, per_page)


def _lock_elector(elector_id: int) -> None:
    # As a push does before adding one: serialises objections for one person, so there is one, not two.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Elector.id).where(Elector.id == elector_id).with_for_update(key_share=True))


def record(principal: Principal, *, elector_id: int, channel: str, received_by: str, reason: str) -> tuple[Suppression, bool]:
    """Record an objection. If one already covers the channel, that one is returned and nothing is added."""
    elector = db.session.scalar(select(Elector).where(Elector.id == elector_id, scope_clause(principal, Elector)))
    if elector is None:
        raise ValidationFailed(details={"elector_id": ["No such elector in your scope."]})
    channel = SuppressionChannel(channel)
    _lock_elector(elector.id)
    covering = db.session.scalar(select(Suppression).where(
        Suppression.elector_id == elector.id, Suppression.lifted_at.is_(None),
        or_(Suppression.kind == SuppressionKind.ERASURE,
            Suppression.channel.in_((SuppressionChannel.ALL, channel)))).limit(1))
    if covering is not None:
        return covering, False
    suppression = Suppression(constituency_id=elector.constituency_id, elector_id=elector.id,
                              kind=SuppressionKind.DO_NOT_CONTACT, channel=channel, reason=reason.strip(),
                              source=received_by, created_by_id=principal.user_id)
    db.session.add(suppression)
    db.session.flush()
    audit.record_for(principal, "suppression.create", target_type="suppression", target_id=suppression.id,
                     constituency_id=elector.constituency_id,
                     details={"elector_id": elector.id, "channel": channel.value, "received_by": received_by})
    db.session.commit()
    return suppression, True


def lift(principal: Principal, suppression_id: int, *, reason: str) -> Suppression:
    """The person asked to be contacted again. The objection stays on record, marked lifted, by whom and why."""
    suppression = db.session.scalar(select(Suppression).where(Suppression.id == suppression_id,
                                                              scope_clause(principal, Suppression)))
    if suppression is None:
        raise NotFound("No such objection in your scope.")
    if suppression.kind == SuppressionKind.ERASURE:
        raise Conflict("An erasure is for good and cannot be lifted.", {"suppression_id": [suppression_id]})
    if suppression.lifted_at is None:
        suppression.lifted_at, suppression.lifted_by_id = utcnow(), principal.user_id
        audit.record_for(principal, "suppression.lift", target_type="suppression", target_id=suppression.id,
                         constituency_id=suppression.constituency_id,
                         details={"elector_id": suppression.elector_id, "reason": reason.strip()})
        db.session.commit()
    return suppression


def describe(suppressions: list[Suppression]) -> list[dict]:
    """Objections in words, for the console: who, where, how each arrived and who took it."""
    user_ids = {i for s in suppressions for i in (s.created_by_id, s.lifted_by_id) if i is not None}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    out = []
    for s in suppressions:
        elector = s.elector
        out.append({
            "id": s.id, "elector_id": s.elector_id, "channel": s.channel.value, "received_by": s.source,
            "reason": s.reason, "created_at": s.created_at, "created_by": names.get(s.created_by_id),
            "lifted_at": s.lifted_at, "lifted_by": names.get(s.lifted_by_id),
            "name": f"{elector.forenames} {elector.surname}",
            "address": elector.property.address if elector.property else None,
            "elector_number": elector.elector_number,
        })
    return out
