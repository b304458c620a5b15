"""What volunteers are told about their own work: a list given or changed, a session about to begin, records
stuck on their phone; and what CLP admins are told about their CLP's phones that went quiet holding work.

Each is a notice (server/services/notices.py), so the app lists it and web push delivers it (docs/push.md,
"What is sent"). The texts name no elector and no member; the admins' digest names no volunteer either.
The scheduled ones carry a key, so a job that runs twice writes each once.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from server.auth.standing import clp_access
from server.config import parse_quiet_hours
from server.extensions import db
from server.models import (
    Assignment,
    AssignmentKind,
    AssignmentUser,
    Constituency,
    Device,
    DeviceStorage,
    Notice,
    Role,
    User,
)
from server.orm import utcnow
from server.services import notices, push
from server.services.sync_health import as_utc, latest_reports

LONDON = push.LONDON
LIST_LINK = "#/lists"  # the volunteer's lists: a list given a moment ago reaches the phone when this syncs
SYNC_LINK = "#/sync"  # the Sync screen: "Sync now", and the export of unsent records
DASHBOARD_LINK = "#/admin/dashboard"  # sync health: which phones, and whose
UNSYNCED_AFTER = timedelta(hours=24)
NOTICE_MAX = 500  # Notice.text


def _fit(text: str) -> str:
    return text if len(text) <= NOTICE_MAX else text[:NOTICE_MAX - 1] + "…"


def _uk_day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def _session_words(session_at: datetime, now: datetime) -> str:
    """"18:30 today", "18:30 tomorrow" or "18:30 on Fri 4 Dec", in UK time."""
    local, today = session_at.astimezone(LONDON), _uk_day(now)
    if local.date() == today:
        day = "today"
    elif local.date() == today + timedelta(days=1):
        day = "tomorrow"
    else:
        day = f"on {local:%a} {local.day} {local:%b}"
    return f"{local:%H:%M} {day}"


def _activity(assignment: Assignment) -> str:
    return "phone bank" if assignment.kind == AssignmentKind.CALL else "canvassing"


def _session(assignment: Assignment, now: datetime, *, place: bool = True) -> str:
    """The list's session as a sentence, or nothing if it has none (or it has begun); without its meeting
    place for a push (``place=False``: typed by an admin, it could name anyone)."""
    if assignment.session_at is None or assignment.session_at <= now:
        return ""
    where = f", {assignment.meeting_place}" if assignment.meeting_place and place else ""
    return f" Session: {_activity(assignment)} at {_session_words(assignment.session_at, now)}{where}."


# --------------------------------------------------------------------------------- lists given and changed

def _list_text(assignment: Assignment, change: str, now: datetime) -> str:
    if change == "new":
        text = f"You have a new {assignment.kind.value} list: {assignment.name}."
    else:
        text = f"Your list {assignment.name} has changed."
    return _fit(text + _session(assignment, now))


def _list_push(assignment: Assignment, change: str, now: datetime) -> str:
    """``_list_text`` as pushed: without the list's name or meeting place (typed by an admin)."""
    if change == "new":
        text = f"You have a new {assignment.kind.value} list."
    else:
        text = "One of your lists has changed."
    return _fit(text + _session(assignment, now, place=False))


def _pending_about(user_id: int, assignment_id: int) -> Notice | None:
    """This person's notice about the list that has been neither pushed nor read, if any: the one to update."""
    return db.session.scalar(select(Notice).where(
        Notice.user_id == user_id, Notice.kind == "assignment", Notice.key.like(f"list:{assignment_id}:%"),
        Notice.pushed_at.is_(None), Notice.read_at.is_(None)).order_by(Notice.id.desc()).limit(1))


def _tell(user_id: int, assignment: Assignment, change: str, now: datetime) -> bool:
    """Write, or bring up to date, one person's notice about one list; True if a notice was written or changed.

    A notice still waiting to be pushed is rewritten rather than joined by another, so an admin who edits a
    list ten times sends one push. It stays "new" for someone who has not yet heard of the list."""
    pending = _pending_about(user_id, assignment.id)
    if pending is not None and "assignment_ids" in pending.data:  # "You have 3 new lists": all still news
        return False
    if pending is not None:
        change = pending.data.get("change", change) if change == "changed" else change
        text = _list_text(assignment, change, now)
        # Only while still unsent: a push job holding the notice (PostgreSQL row lock) sends the old text, and
        # then this finds it sent and writes a new notice instead.
        rewritten = db.session.execute(
            update(Notice).where(Notice.id == pending.id, Notice.pushed_at.is_(None), Notice.read_at.is_(None))
            .values(text=text, data=notices.with_push({"assignment_id": assignment.id, "change": change},
                                                      _list_push(assignment, change, now)))
            .execution_options(synchronize_session=False)).rowcount
        if rewritten:
            return True
    return notices.add(user_id, kind="assignment", key=f"list:{assignment.id}:{change}:{now:%Y%m%dT%H%M%S%f}",
                       text=_list_text(assignment, change, now), push=_list_push(assignment, change, now),
                       link=LIST_LINK, data={"assignment_id": assignment.id, "change": change})


def _settle_unsent(user_ids: Iterable[int], key_prefix: str, now: datetime) -> None:
    """Never push these people's waiting notices under ``key_prefix`` (the app still lists them)."""
    user_ids = list(user_ids)
    if user_ids:
        db.session.execute(update(Notice).where(
            Notice.user_id.in_(user_ids), Notice.key.like(f"{key_prefix}%"), Notice.pushed_at.is_(None))
            .values(pushed_at=now, push_outcome=push.EXPIRED).execution_options(synchronize_session=False))


def assignment_changed(assignment: Assignment, added_user_ids: Iterable[int] = (), changed: bool = False,
                       removed_user_ids: Iterable[int] = ()) -> int:
    """Tell the people newly given a list that they have it, and (``changed``: its name, dates, session or
    items) its other holders that it changed. A waiting notice is not pushed to someone who lost the list,
    nor once the list has ended: ending a list is not news worth a push. Returns how many notices were
    written or updated; the caller commits."""
    now = utcnow()
    _settle_unsent(removed_user_ids, f"list:{assignment.id}:", now)
    if assignment.ends_at <= now:
        list_ended(assignment)
        return 0
    added = set(added_user_ids)
    told = sum(_tell(u, assignment, "new", now) for u in sorted(added))
    if changed:
        others = sorted({a.user_id for a in assignment.assignees} - added)
        told += sum(_tell(u, assignment, "changed", now) for u in others)
    return told


def list_ended(assignment: Assignment) -> None:
    """A list ended: nothing is announced, and what was still waiting to be pushed about it is not pushed."""
    _settle_unsent([a.user_id for a in assignment.assignees], f"list:{assignment.id}:", utcnow())


def lists_given(assignments: list[Assignment], user_ids: Iterable[int]) -> int:
    """Lists made together and given to the same people: one notice each, however many lists were cut."""
    user_ids = sorted(set(user_ids))
    if len(assignments) == 1 or not user_ids:
        return sum(assignment_changed(a, added_user_ids=user_ids) for a in assignments)
    now = utcnow()
    first = assignments[0]
    if first.ends_at <= now:
        return 0
    text = _fit(f"You have {len(assignments)} new {first.kind.value} lists, starting with {first.name}."
                + _session(first, now))
    pushed = _fit(f"You have {len(assignments)} new {first.kind.value} lists." + _session(first, now, place=False))
    data = {"assignment_id": first.id, "assignment_ids": [a.id for a in assignments], "change": "new"}
    return sum(notices.add(u, kind="assignment", key=f"list:{first.id}:new:{now:%Y%m%dT%H%M%S%f}", text=text,
                           push=pushed, link=LIST_LINK, data=data) for u in user_ids)


# ------------------------------------------------------------------------------------------- sessions

def _quiet_until(now: datetime) -> datetime | None:
    """When the quiet hours ``now`` falls in end (UTC), or None outside them."""
    if not push.in_quiet_hours(now):
        return None
    _, end = parse_quiet_hours(current_app.config["PUSH_QUIET_HOURS"])
    local = now.astimezone(LONDON)
    until = datetime.combine(local.date(), end, tzinfo=LONDON)
    if until <= local:
        until = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=LONDON)
    return until.astimezone(timezone.utc)


def _reminder_key(assignment_id: int, session_at: datetime) -> str:
    return f"reminder:{assignment_id}:{int(session_at.timestamp())}"


def _settle_overtaken_reminders(now: datetime) -> int:
    """Reminders not yet pushed whose session has begun, moved, lost its list or whose list ended: pushing
    them now would send someone to the wrong place or time, so they are settled unsent (expired)."""
    waiting = list(db.session.scalars(select(Notice).where(Notice.kind == "reminder", Notice.pushed_at.is_(None))))
    if not waiting:
        return 0
    lists = {a.id: a for a in db.session.scalars(select(Assignment).where(
        Assignment.id.in_({n.data.get("assignment_id") for n in waiting})))}
    stale = []
    for n in waiting:
        a = lists.get(n.data.get("assignment_id"))
        if (a is None or a.session_at is None or a.ends_at <= now or a.session_at <= now
                or n.key != _reminder_key(a.id, a.session_at)):
            stale.append(n.id)
    if stale:
        db.session.execute(update(Notice).where(Notice.id.in_(stale), Notice.pushed_at.is_(None))
                           .values(pushed_at=now, push_outcome=push.EXPIRED)
                           .execution_options(synchronize_session=False))
    return len(stale)


def send_session_reminders(now: datetime | None = None) -> dict:
    """Remind each holder of a list whose session begins within SESSION_REMINDER_LEAD_MINUTES: once per
    session time, so a second run writes nothing and a moved session reminds again. Lists that ended, or
    whose CLP's access is suspended by the session's time, are skipped. A reminder written in quiet hours that
    end only after the session has begun is listed in the app but never pushed. Commits; returns counts."""
    now = now or utcnow()
    lead = timedelta(minutes=current_app.config["SESSION_REMINDER_LEAD_MINUTES"])
    done = {"reminders": 0, "overtaken": _settle_overtaken_reminders(now)}
    due = list(db.session.scalars(select(Assignment).where(
        Assignment.session_at.is_not(None), Assignment.session_at > now, Assignment.session_at <= now + lead,
        Assignment.ends_at > now).order_by(Assignment.session_at, Assignment.id)))
    quiet_until = _quiet_until(now)
    access: dict[int, object] = {}
    for a in due:
        if a.constituency_id not in access:
            access[a.constituency_id] = clp_access(db.session, a.constituency_id, now)
        suspended_from = access[a.constituency_id].suspended_from
        if suspended_from is not None and suspended_from <= a.session_at:
            continue
        holders = list(db.session.scalars(select(AssignmentUser.user_id).join(User, User.id == AssignmentUser.user_id)
                                          .where(AssignmentUser.assignment_id == a.id, User.active.is_(True))
                                          .order_by(AssignmentUser.user_id)))
        place = f", {a.meeting_place}" if a.meeting_place else f" for {a.name}"
        text = _fit(f"Reminder: {_activity(a)} at {_session_words(a.session_at, now)}{place}")
        pushed = f"Reminder: {_activity(a)} at {_session_words(a.session_at, now)}."
        key = _reminder_key(a.id, a.session_at)
        data = {"assignment_id": a.id, "session_at": a.session_at.isoformat()}
        for user_id in holders:
            if notices.add(user_id, kind="reminder", key=key, text=text, push=pushed, link=LIST_LINK, data=data):
                done["reminders"] += 1
        if quiet_until is not None and quiet_until >= a.session_at:  # it could only arrive too late
            _settle_unsent(holders, key, now)
    db.session.commit()
    return done


# ------------------------------------------------------------------------------------------- unsynced work

def _records(count: int) -> str:
    return f"{count} record{'s' if count != 1 else ''}"


def unsynced_work_alerts(now: datetime | None = None) -> dict:
    """Warn, at most once a UK day, each volunteer whose phone (not signed out) has held unsent records for
    more than a day; and tell each CLP's admins, once a day, how many of its phones are at risk (silent for
    SYNC_HEALTH_STALE_DAYS with unsent work, as on the sync-health dashboard), naming nobody. Commits;
    returns counts."""
    now = now or utcnow()
    today = _uk_day(now).isoformat()
    stale_cutoff = now - timedelta(days=current_app.config["SYNC_HEALTH_STALE_DAYS"])
    reports = latest_reports().subquery()
    storage = aliased(DeviceStorage, reports)
    rows = db.session.execute(
        select(storage.unsent_count, storage.oldest_unsent_at, storage.last_push_at, storage.last_pull_at,
               storage.reported_at, Device.id, Device.name, Device.revoked_at, User.id, User.active,
               User.constituency_id)
        .join(Device, Device.id == storage.device_id).join(User, User.id == Device.user_id)
        .order_by(Device.id)).all()
    done = {"unsynced": 0, "stale_devices": 0}
    at_risk: dict[int, int] = {}
    for (unsent, oldest, last_push, last_pull, reported, device_id, device_name, revoked_at, user_id, active,
         clp_id) in rows:
        oldest = as_utc(oldest)
        if active and revoked_at is None and oldest is not None and oldest < now - UNSYNCED_AFTER:
            verb = "have" if unsent != 1 else "has"
            text = _fit(f"{_records(unsent)} on your phone '{device_name}' {verb} not reached the party for over a "
                        f"day. Open Groundwork where there is signal to send them.")
            pushed = (f"{_records(unsent)} on one of your phones {verb} not reached the party for over a day. "
                      "Open Groundwork where there is signal to send them.")
            done["unsynced"] += notices.add(user_id, kind="unsynced", key=f"unsynced:{device_id}:{today}", text=text,
                                            push=pushed, link=SYNC_LINK,
                                            data={"device_id": str(device_id), "unsent": unsent})
        seen = max(as_utc(t) for t in (last_push, last_pull, reported) if t)
        if clp_id is not None and seen <= stale_cutoff:  # sync_health.report's "at risk"
            at_risk[clp_id] = at_risk.get(clp_id, 0) + 1
    if at_risk:
        admins = notices.holders_by_clp(Role.CLP_ADMIN, now)
        names = dict(db.session.execute(select(Constituency.id, Constituency.name)
                                        .where(Constituency.id.in_(sorted(at_risk)))).all())
        days = current_app.config["SYNC_HEALTH_STALE_DAYS"]
        for clp_id, count in sorted(at_risk.items()):
            phones = f"{count} phone{'s' if count != 1 else ''}"
            text = (f"{phones} in {names[clp_id]} {'have' if count != 1 else 'has'} held unsent work without "
                    f"syncing for {days} day{'s' if days != 1 else ''} or more. See which on the dashboard.")
            for user_id in sorted(admins.get(clp_id, ())):
                done["stale_devices"] += notices.add(
                    user_id, kind="stale_devices", key=f"stale-devices:{clp_id}:{today}", text=_fit(text),
                    link=DASHBOARD_LINK, data={"constituency_id": clp_id, "devices": count})
    db.session.commit()
    return done
