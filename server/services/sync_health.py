"""Sync health (issue 11): which phones hold records that have not reached the server, from what each app
last reported of its outbox with a push (docs/sync-protocol.md 7.11), so organisers can chase a phone before
its work is lost, and dashboards can mark the weeks that may still change as provisional."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from server.auth.policy import Principal, scope_clause
from server.extensions import db
from server.models import Constituency, Device, DeviceStorage, Role, User
from server.orm import utcnow

# Who may see which volunteer holds the phone: the CLP's own admins and national admins. Regional staff
# see the role and the CLP, not the person (nor the device's name, which often names its owner).
SEES_NAMES = frozenset({Role.CLP_ADMIN, Role.NATIONAL_ADMIN})


def as_utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def latest_reports():
    """Each device's latest outbox report (of whichever of its storages reported last) that shows unsent
    work. A phone wiped and set up again reports from its new storage; the old one's report is superseded."""
    later = aliased(DeviceStorage)
    newest = (select(func.max(later.reported_at)).where(later.device_id == DeviceStorage.device_id)
              .scalar_subquery())
    return (select(DeviceStorage)
            .where(DeviceStorage.reported_at.is_not(None), DeviceStorage.reported_at == newest,
                   DeviceStorage.unsent_count > 0))


def report(principal: Principal, *, stale_days: int | None = None) -> dict:
    """Phones in scope whose latest report shows unsent records, those not seen for ``stale_days`` first,
    with totals per CLP."""
    stale_days = stale_days or current_app.config["SYNC_HEALTH_STALE_DAYS"]
    now = utcnow()
    cutoff = now - timedelta(days=stale_days)
    reports = latest_reports().subquery()
    storage = aliased(DeviceStorage, reports)
    rows = db.session.execute(
        select(storage, Device, User, Constituency)
        .join(Device, Device.id == storage.device_id)
        .join(User, User.id == Device.user_id)
        .outerjoin(Constituency, Constituency.id == User.constituency_id)
        .where(scope_clause(principal, Device))
    ).all()
    names = principal.role in SEES_NAMES
    devices, clps = [], {}
    for row, device, user, clp in rows:
        seen = max(t for t in (as_utc(row.last_push_at), as_utc(row.last_pull_at), as_utc(row.reported_at)) if t)
        at_risk = seen <= cutoff
        devices.append({
            "device_id": device.id,
            "device_name": device.name if names else None,
            "volunteer_name": user.name if names else None,
            "role": user.role.value,
            "constituency_id": clp.id if clp else None,
            "constituency_name": clp.name if clp else None,
            "last_push_at": row.last_push_at, "last_pull_at": row.last_pull_at, "last_seen_at": seen,
            "reported_at": row.reported_at, "unsent": row.unsent_count, "oldest_unsent_at": row.oldest_unsent_at,
            "app_version": row.app_version, "revoked_at": device.revoked_at,
            "days_silent": (now - seen).days, "at_risk": at_risk,
        })
        if clp is not None:
            total = clps.setdefault(clp.id, {"constituency_id": clp.id, "constituency_name": clp.name,
                                             "devices_with_unsent": 0, "records_unsent": 0,
                                             "devices_at_risk": 0, "records_at_risk": 0})
            total["devices_with_unsent"] += 1
            total["records_unsent"] += row.unsent_count
            if at_risk:
                total["devices_at_risk"] += 1
                total["records_at_risk"] += row.unsent_count
    # At risk first, the longest silent first; then the rest, the most unsent first.
    devices.sort(key=lambda d: (not d["at_risk"], d["last_seen_at"] if d["at_risk"] else now, -d["unsent"],
                                str(d["device_id"])))
    constituencies = sorted(clps.values(), key=lambda c: (-c["records_at_risk"], -c["records_unsent"],
                                                          c["constituency_name"]))
    return {"generated_at": now, "stale_days": stale_days, "constituencies": constituencies, "devices": devices}


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def provisional_weeks(constituency_ids: Iterable[int] | None) -> set[date]:
    """The ISO weeks (their Mondays) whose figures may still change for these CLPs (None: every CLP): every
    week from the one in which some phone's oldest unsent record was made up to the week of that phone's
    latest report, for phones (of volunteers of those CLPs) whose latest report shows unsent work."""
    reports = latest_reports().subquery()
    storage = aliased(DeviceStorage, reports)
    stmt = (select(storage.oldest_unsent_at, storage.reported_at)
            .join(Device, Device.id == storage.device_id).join(User, User.id == Device.user_id)
            .where(storage.oldest_unsent_at.is_not(None)))
    if constituency_ids is not None:
        stmt = stmt.where(User.constituency_id.in_(list(constituency_ids)))
    weeks: set[date] = set()
    for oldest, reported in db.session.execute(stmt):
        week, last = _week_start(as_utc(oldest).date()), _week_start(as_utc(reported).date())
        while week <= last:
            weeks.add(week)
            week += timedelta(days=7)
    return weeks
