"""Changes to a CLP's access, announced to its people when they are scheduled and never made silently.

Regional staff (their region's CLPs) and national admins schedule a suspension, suspend at once with a
recorded reason, restore, or call off a suspension before it takes effect. Each change is audited, and
every active account of the CLP gets a notice. What a change does is read at each request from the rows
(``server.auth.standing``), so nothing needs a job to take effect: see docs/access.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import aliased

from server.auth.policy import Principal, scope_clause
from server.auth.standing import ClpAccess, clp_access
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import AccessChange, AccessChangeKind, Constituency, User
from server.orm import utcnow
from server.services import audit, notices
from server.services.paging import Page, paginate

try:
    from zoneinfo import ZoneInfo

    LONDON = ZoneInfo("Europe/London")
except Exception:  # no tz database on this machine: dates in UTC are a day out at most around midnight
    LONDON = timezone.utc

NOTICE_LINK = "#/account"
NOTICE_MAX = 500  # Notice.text
# A restore stays in the CLP's own view for a week, so the app can say access came back.
RECENT_RESTORE = timedelta(days=7)


def uk_when(moment: datetime) -> str:
    """A moment as people in the UK read it: "Fri 4 Dec 2026", with the time unless it is midnight."""
    local = moment.astimezone(LONDON)
    day = f"{local:%a} {local.day} {local:%b %Y}"
    return day if (local.hour, local.minute) == (0, 0) else f"{day} at {local:%H:%M}"


def _clp(principal: Principal, constituency_id: int, *, lock: bool = False) -> Constituency:
    """The CLP if it is in the principal's scope (404 otherwise, as for anything out of scope).

    ``lock`` serialises changes to one CLP's access, so two officers cannot schedule two suspensions at
    once. FOR NO KEY UPDATE: pushes that insert rows referring to the CLP are not held up by it."""
    stmt = select(Constituency).where(Constituency.id == constituency_id, scope_clause(principal, Constituency))
    if lock and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(key_share=True)  # FOR NO KEY UPDATE
    clp = db.session.scalar(stmt)
    if clp is None:
        raise NotFound("No such CLP in your scope.")
    return clp


def _notify(clp: Constituency, change: AccessChange, key: str, said: str, reason: str) -> int:
    """A notice for each active account of the CLP; the app shows them, and web push delivers them. The
    reason is typed by staff, so the app shows it (``said: reason``) but a push carries only ``said``."""
    users = list(db.session.scalars(select(User.id).where(User.constituency_id == clp.id, User.active.is_(True))))
    text = f"{said}: {reason}"
    if len(text) > NOTICE_MAX:
        text = text[:NOTICE_MAX - 1] + "…"
    data = {"change_id": change.id, "kind": change.kind.value, "constituency_id": clp.id,
            "effective_at": change.effective_at.isoformat()}
    push = f"{said}. Open Groundwork to read why."
    return sum(notices.add(user_id, kind="access_change", key=key, text=text, link=NOTICE_LINK, data=data,
                           push=push) for user_id in users)


def _audit(principal: Principal, action: str, clp: Constituency, change: AccessChange, **details) -> None:
    audit.record_for(principal, action, target_type="access_change", target_id=change.id,
                     constituency_id=clp.id, region_id=clp.region_id,
                     details={"kind": change.kind.value, "effective_at": change.effective_at.isoformat(),
                              "reason": change.reason, **details})


def make_change(principal: Principal, *, constituency_id: int, kind: str, reason: str,
                effective_at: datetime | None = None) -> AccessChange:
    """Suspend a CLP's access from a future moment (scheduled) or at once, or restore it (at once).

    At most one suspension is pending or in effect at a time, so what the CLP is told is what happens."""
    kind = AccessChangeKind(kind)
    reason = (reason or "").strip()
    now = utcnow()
    problems: dict[str, list[str]] = {}
    if not reason:
        problems["reason"] = ["Say why: the CLP's people are shown it."]
    if kind == AccessChangeKind.RESTORE and effective_at is not None:
        problems["effective_at"] = ["A restore takes effect at once: leave effective_at out."]
    if kind == AccessChangeKind.SUSPEND and effective_at is not None and effective_at <= now:
        problems["effective_at"] = ["A scheduled suspension must start in the future. To suspend at once, use "
                                    "Suspend now (no effective_at)."]
    if problems:
        raise ValidationFailed(details=problems)
    clp = _clp(principal, constituency_id, lock=True)
    state = clp_access(db.session, clp.id, now)
    if kind == AccessChangeKind.SUSPEND and state.current is not None:
        raise Conflict(f"{clp.name}'s access is already suspended, since {uk_when(state.current.since)}.",
                       {"constituency_id": [clp.id], "change_id": state.current.change_id})
    if kind == AccessChangeKind.SUSPEND and state.upcoming is not None:
        raise Conflict(f"A suspension of {clp.name}'s access is already scheduled from "
                       f"{uk_when(state.upcoming.since)}: cancel it first to change it.",
                       {"constituency_id": [clp.id], "change_id": state.upcoming.change_id})
    if kind == AccessChangeKind.RESTORE and state.current is None:
        raise Conflict(f"{clp.name}'s access is not suspended; to call off a scheduled suspension, cancel it.",
                       {"constituency_id": [clp.id]})
    change = AccessChange(constituency_id=clp.id, kind=kind, effective_at=effective_at or now, reason=reason,
                          created_by_id=principal.user_id, created_at=now)
    db.session.add(change)
    db.session.flush()
    when = uk_when(change.effective_at)
    if kind == AccessChangeKind.RESTORE:
        action, text = "access.restore", f"{clp.name}'s access to Groundwork was restored on {when}"
    elif effective_at is None:
        action, text = "access.suspend_now", f"{clp.name}'s access to Groundwork is suspended from {when}"
    else:
        action, text = "access.schedule", f"{clp.name}'s access to Groundwork will be suspended from {when}"
    notified = _notify(clp, change, f"access:{change.id}", text, reason)
    _audit(principal, action, clp, change, notified=notified)
    db.session.commit()
    return change


def cancel(principal: Principal, change_id: int, *, reason: str) -> AccessChange:
    """Call off a scheduled suspension before it takes effect (409 once it has, or if already called off)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(details={"reason": ["Say why: the CLP's people are shown it."]})
    change = db.session.scalar(select(AccessChange).where(AccessChange.id == change_id,
                                                          scope_clause(principal, AccessChange)))
    if change is None:
        raise NotFound("No such access change in your scope.")
    clp = _clp(principal, change.constituency_id, lock=True)
    db.session.refresh(change)  # as it is now the CLP is locked
    now = utcnow()
    if change.cancelled_at is not None:
        raise Conflict("This change was already called off.", {"change_id": change.id})
    if change.effective_at <= now:
        raise Conflict("This change has already taken effect: restore the CLP's access instead.",
                       {"change_id": change.id, "effective_at": change.effective_at.isoformat()})
    change.cancelled_at, change.cancelled_by_id, change.cancel_reason = now, principal.user_id, reason
    _notify(clp, change, f"access:{change.id}:cancelled",
            f"The suspension of {clp.name}'s access planned from {uk_when(change.effective_at)} is called off",
            reason)
    _audit(principal, "access.cancel", clp, change, cancel_reason=reason)
    db.session.commit()
    return change


# ------------------------------------------------------------------------------------------------ reading

@dataclass
class ChangeView:
    """An access change as the API shows it: with its CLP's name, its status, and who made it (by role)."""

    change: AccessChange
    constituency_name: str
    status: str  # scheduled, in_effect, past, cancelled
    created_by_role: str | None


def _status(change: AccessChange, now: datetime, deciding: set[int]) -> str:
    if change.cancelled_at is not None:
        return "cancelled"
    if change.effective_at > now:
        return "scheduled"
    return "in_effect" if change.id in deciding else "past"


def _deciding(constituency_ids: set[int], now: datetime) -> set[int]:
    """The change deciding each CLP's access now: the latest one in effect that was not cancelled."""
    if not constituency_ids:
        return set()
    rows = db.session.execute(
        select(AccessChange.id, AccessChange.constituency_id)
        .where(AccessChange.constituency_id.in_(sorted(constituency_ids)), AccessChange.cancelled_at.is_(None),
               AccessChange.effective_at <= now)
        .order_by(AccessChange.effective_at, AccessChange.id))
    latest: dict[int, int] = {}
    for change_id, constituency_id in rows:
        latest[constituency_id] = change_id
    return set(latest.values())


def view(change: AccessChange) -> ChangeView:
    """One change as the API shows it."""
    return views([change], utcnow())[0]


def views(changes: list[AccessChange], now: datetime) -> list[ChangeView]:
    """Changes as the API shows them, in the order given."""
    creator = aliased(User)
    ids = [c.id for c in changes]
    about = {row.id: (row.name, row.role) for row in db.session.execute(
        select(AccessChange.id, Constituency.name, creator.role)
        .join(Constituency, Constituency.id == AccessChange.constituency_id)
        .outerjoin(creator, creator.id == AccessChange.created_by_id)
        .where(AccessChange.id.in_(ids)))} if ids else {}
    deciding = _deciding({c.constituency_id for c in changes}, now)
    return [ChangeView(c, about[c.id][0], _status(c, now, deciding),
                       about[c.id][1].value if about[c.id][1] is not None else None) for c in changes]


def _standing(clp_id: int, name: str, state: ClpAccess) -> dict:
    current, upcoming = state.current, state.upcoming
    return {
        "constituency_id": clp_id, "constituency_name": name,
        "access": "suspended" if current else "normal",
        "suspended_since": current.since if current else None, "reason": current.reason if current else None,
        "change_id": current.change_id if current else None,
        "upcoming": {"change_id": upcoming.change_id, "effective_at": upcoming.since, "reason": upcoming.reason}
        if upcoming else None,
    }


def list_changes(principal: Principal, *, constituency_id: int | None = None, include_cancelled: bool = True,
                 page: int, per_page: int) -> dict:
    """Access changes in scope (newest first), and the CLPs whose access is suspended now or soon.

    With ``constituency_id``, that CLP's state is given whatever it is."""
    now = utcnow()
    scoped = scope_clause(principal, AccessChange)
    stmt = select(AccessChange).where(scoped)
    if constituency_id is not None:
        stmt = stmt.where(AccessChange.constituency_id == constituency_id)
    if not include_cancelled:
        stmt = stmt.where(AccessChange.cancelled_at.is_(None))
    result: Page = paginate(stmt.order_by(AccessChange.effective_at.desc(), AccessChange.id.desc()), page, per_page)
    # Few CLPs are ever suspended, so reading each one's state is cheap.
    candidates = select(AccessChange.constituency_id).where(
        scoped, AccessChange.kind == AccessChangeKind.SUSPEND, AccessChange.cancelled_at.is_(None)).distinct()
    ids = set(db.session.scalars(candidates))
    if constituency_id is not None:
        ids = {constituency_id} if principal.covers_constituency(constituency_id) else set()
    names = dict(db.session.execute(select(Constituency.id, Constituency.name).where(
        Constituency.id.in_(sorted(ids)), scope_clause(principal, Constituency))).all()) if ids else {}
    clps = []
    for clp_id in sorted(names, key=lambda i: (names[i], i)):
        state = clp_access(db.session, clp_id, now)
        if constituency_id is not None or state.current or state.upcoming:
            clps.append(_standing(clp_id, names[clp_id], state))
    return {"items": views(result.items, now), "page": result.page, "per_page": result.per_page,
            "pages": result.pages, "total": result.total, "clps": clps}


def mine(principal: Principal) -> dict:
    """The caller's own CLP's access: the suspension in effect (or a restore of the last week) and what is
    scheduled. Regional and national staff belong to no CLP: their access is normal and nothing is listed."""
    now = utcnow()
    if principal.constituency_id is None:
        return {"constituency_id": None, "constituency_name": None, "access": "normal", "suspended_since": None,
                "reason": None, "changes": []}
    live = (AccessChange.constituency_id == principal.constituency_id, AccessChange.cancelled_at.is_(None))
    current = db.session.scalar(select(AccessChange).where(*live, AccessChange.effective_at <= now)
                                .order_by(AccessChange.effective_at.desc(), AccessChange.id.desc()).limit(1))
    shown = list(db.session.scalars(select(AccessChange).where(*live, AccessChange.effective_at > now)
                                    .order_by(AccessChange.effective_at, AccessChange.id)))
    recent = current is not None and current.effective_at > now - RECENT_RESTORE
    if current is not None and (current.kind == AccessChangeKind.SUSPEND or recent):
        shown.insert(0, current)
    name = db.session.scalar(select(Constituency.name).where(Constituency.id == principal.constituency_id))
    state = _standing(principal.constituency_id, name, clp_access(db.session, principal.constituency_id, now))
    return {key: state[key] for key in ("constituency_id", "constituency_name", "access", "suspended_since",
                                        "reason")} | {"changes": views(shown, now)}
