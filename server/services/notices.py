"""What the app tells one person, and the daily digest that tells membership secretaries about new members.

A notice never names anyone beyond its reader: "3 new members joined Ashworth Vale this week". Each carries
a key, so a scheduled job that runs twice (or on two machines) writes it once.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from server.auth.policy import Principal
from server.errors import NotFound
from server.extensions import db
from server.models import Constituency, Member, MemberStatus, Notice, Role, RoleGrant, User
from server.orm import dialect_insert, utcnow

RECENT = 50


def add(user_id: int, *, kind: str, key: str, text: str, link: str | None = None, data: dict | None = None,
        push: str | None = None) -> bool:
    """Write a notice unless this person already has one with ``key``; True when written. Commit is the caller's.

    ``push`` is what web push carries instead of ``text`` when the text holds words someone typed (a reason, a
    list's name, a meeting place, a thank-you message): those could name anyone, and a push payload must name
    no elector or member (docs/push.md). The app shows the whole text once signed in, after the tap."""
    values = {"user_id": user_id, "kind": kind, "key": key[:120], "text": text[:500], "link": link,
              "data": with_push(data, push), "created_at": utcnow()}
    stmt = (dialect_insert(db.session, Notice).values(**values).on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(Notice.id))
    return db.session.execute(stmt).scalar() is not None


def with_push(data: dict | None, push: str | None) -> dict:
    """A notice's data with its push text (see ``add``)."""
    return {**(data or {}), "push": push[:500]} if push else dict(data or {})


def for_user(principal: Principal) -> list[Notice]:
    """The reader's notices: unread first, then the most recent."""
    return list(db.session.scalars(select(Notice).where(Notice.user_id == principal.user_id).order_by(
        Notice.read_at.is_not(None), Notice.created_at.desc(), Notice.id.desc()).limit(RECENT)))


def mark_read(principal: Principal, notice_id: int) -> Notice:
    notice = db.session.scalar(select(Notice).where(Notice.id == notice_id, Notice.user_id == principal.user_id))
    if notice is None:
        raise NotFound("No such notice.", {"notice_id": [notice_id]})
    if notice.read_at is None:
        notice.read_at = utcnow()
        db.session.commit()
    return notice


def holders_by_clp(role: Role, now) -> dict[int, set[int]]:
    """Who a CLP's notices for ``role`` go to: its active people in that role, or holding a grant of it that
    lasts ``now``, by CLP (membership secretaries for the digest, admins for milestones and stale phones)."""
    out: dict[int, set[int]] = {}
    rows = db.session.execute(select(User.constituency_id, User.id).where(
        User.active.is_(True), User.role == role, User.constituency_id.is_not(None)))
    granted = db.session.execute(select(RoleGrant.constituency_id, RoleGrant.user_id).join(
        User, User.id == RoleGrant.user_id).where(
        User.active.is_(True), RoleGrant.role == role, RoleGrant.revoked_at.is_(None),
        RoleGrant.starts_at <= now, RoleGrant.ends_at > now))
    for clp_id, user_id in [*rows, *granted]:
        out.setdefault(clp_id, set()).add(user_id)
    return out


def member_digest() -> int:
    """Tell each CLP's membership secretaries, once a day, how many new members arrived this week.

    "This week" is who joined in the last seven days. Written only on a day when some of them arrived in
    Groundwork (in the last 24 hours); returns how many notices were written.
    """
    now = utcnow()
    secretaries = holders_by_clp(Role.MEMBERSHIP_SECRETARY, now)
    if not secretaries:
        return 0
    week_ago, day_ago = now.date() - timedelta(days=6), now - timedelta(days=1)
    current = or_(Member.status == MemberStatus.NEW, Member.status == MemberStatus.ACTIVE)
    rows = db.session.execute(
        select(Member.constituency_id, func.count(), func.max(Member.created_at))
        .where(Member.constituency_id.in_(sorted(secretaries)), Member.joined_on >= week_ago,
               Member.erased_at.is_(None), current)
        .group_by(Member.constituency_id)).all()
    names = dict(db.session.execute(select(Constituency.id, Constituency.name).where(
        Constituency.id.in_([r[0] for r in rows]))).all())
    written = 0
    for clp_id, count, latest in rows:
        if latest is None or latest < day_ago:
            continue  # nobody new since yesterday's digest: say nothing
        text = f"{count} new member{'s' if count != 1 else ''} joined {names[clp_id]} this week"
        for user_id in sorted(secretaries[clp_id]):
            written += add(user_id, kind="new_members", key=f"new-members:{clp_id}:{now.date().isoformat()}",
                           text=text, link="#/admin/members", data={"constituency_id": clp_id, "count": count})
    db.session.commit()
    return written
