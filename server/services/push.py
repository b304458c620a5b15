"""Web push: browsers subscribe through the API; a job (server/jobs/push.py, never a request) sends each new
notice to its reader's devices. docs/push.md says what a payload carries, when notices are held back, and
what failures do.

A payload is {title, body, link, id}: the notice's own text (which names no one but the reader's CLP) and an
app route; the app fetches anything else after the tap. A subscription's endpoint is a capability URL: it is
never logged, audited or returned.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update

from server.auth.policy import Principal
from server.config import parse_quiet_hours
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import Device, Notice, PushSubscription, User
from server.orm import dialect_insert, utcnow
from server.services import audit

log = logging.getLogger(__name__)

try:
    from zoneinfo import ZoneInfo

    LONDON = ZoneInfo("Europe/London")
except Exception:  # no tz database on this machine: quiet hours and days are then read in UTC
    LONDON = timezone.utc

TITLE = "Groundwork"
# How each notice's push was settled (Notice.push_outcome; pushed_at says when).
DELIVERED, NO_DEVICES, READ, EXPIRED = "delivered", "no_devices", "read", "expired"
OUTCOMES = (DELIVERED, NO_DEVICES, READ, EXPIRED)
WINDOW = timedelta(days=3)  # a notice not pushed by then is not pushed at all (the app still shows it)
TTL = 24 * 3600  # seconds a push service keeps a message for a phone that is off
TIMEOUT = (5, 15)  # connect, read: a slow push service never holds the job for long
BACKOFF_FIRST, BACKOFF_MAX = timedelta(minutes=1), timedelta(hours=6)  # doubling between the two
RETRY_AFTER_MAX = timedelta(days=1)  # the longest Retry-After honoured
# Failed sends in a row before a subscription is dropped: with the backoff above, days of failing.
MAX_FAILURES = 20
PER_USER = 10  # subscriptions kept per person (one per device; the oldest go)


# ------------------------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class Keys:
    public_key: str
    private_key: str
    subject: str


def keys() -> Keys | None:
    """The VAPID keys and subject, or None when push is off (any of the three unset)."""
    cfg = current_app.config
    values = [cfg.get(name) for name in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT")]
    if not all(values):
        return None
    return Keys(values[0].strip().rstrip("="), values[1].strip(), values[2].strip())


def service_host(endpoint: str) -> str:
    """The push service an endpoint belongs to (its host): safe to log and show, unlike the endpoint."""
    return (urlsplit(endpoint).hostname or "").lower()


def allowed_host(host: str) -> bool:
    """Whether PUSH_SERVICE_HOSTS names this host (or a domain it is in)."""
    names = [h.strip().lower().lstrip(".") for h in current_app.config["PUSH_SERVICE_HOSTS"].split(",")]
    return any(n and (host == n or host.endswith("." + n)) for n in names)


def in_quiet_hours(now: datetime) -> bool:
    """Whether ``now`` falls in PUSH_QUIET_HOURS, read in UK time."""
    hours = parse_quiet_hours(current_app.config["PUSH_QUIET_HOURS"])
    if hours is None:
        return False
    start, end = hours
    local = now.astimezone(LONDON).time().replace(tzinfo=None)
    return start <= local < end if start < end else (local >= start or local < end)


def day_start(now: datetime) -> datetime:
    """Midnight of ``now``'s day in the UK, in UTC: the daily cap counts from here."""
    local = now.astimezone(LONDON)
    return datetime.combine(local.date(), time(0), tzinfo=LONDON).astimezone(timezone.utc)


# ---------------------------------------------------------------------------------------------- the API

def public_key() -> str:
    """The applicationServerKey browsers subscribe with; NotFound while push is off."""
    configured = keys()
    if configured is None:
        raise NotFound("Notices on devices are not set up on this server.", {"reason": "push_not_configured"})
    return configured.public_key


def subscribe(principal: Principal, *, endpoint: str, p256dh: str, auth: str,
              user_agent: str | None = None) -> PushSubscription:
    """Store (or refresh) the caller's device's subscription, keyed by endpoint; it replaces any other of this
    device's. Audited when something changed. Commits."""
    if keys() is None:
        raise Conflict("Notices on devices are not set up on this server.", {"reason": "push_not_configured"})
    host = service_host(endpoint)
    if not allowed_host(host):
        raise ValidationFailed(details={"endpoint": ["Not the address of a browser's push service."]})
    now = utcnow()
    inserted = db.session.execute(dialect_insert(db.session, PushSubscription).values(
        endpoint=endpoint, user_id=principal.user_id, device_id=principal.device_id, p256dh=p256dh, auth=auth,
        created_at=now, failures=0, user_agent=(user_agent or "")[:400] or None,
    ).on_conflict_do_nothing(index_elements=["endpoint"]).returning(PushSubscription.id)).scalar()
    sub = db.session.scalars(select(PushSubscription).where(PushSubscription.endpoint == endpoint),
                             execution_options={"populate_existing": True}).one()
    now_mine = (sub.user_id, sub.device_id, sub.p256dh, sub.auth) == (principal.user_id, principal.device_id,
                                                                       p256dh, auth)
    changed = inserted is not None or not now_mine
    if not now_mine:  # the browser's keys changed, or another login on this browser took it over
        sub.user_id, sub.device_id, sub.p256dh, sub.auth = principal.user_id, principal.device_id, p256dh, auth
        sub.failures, sub.next_attempt_at, sub.created_at = 0, None, now
        sub.user_agent = (user_agent or "")[:400] or None
    if principal.device_id is not None:  # a browser has one subscription: an older one of this device is dead
        db.session.execute(delete(PushSubscription).where(PushSubscription.device_id == principal.device_id,
                                                          PushSubscription.id != sub.id))
    kept = select(PushSubscription.id).where(PushSubscription.user_id == principal.user_id).order_by(
        PushSubscription.created_at.desc(), PushSubscription.id.desc()).limit(PER_USER)
    db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == principal.user_id,
                                                      PushSubscription.id.not_in(kept.scalar_subquery())))
    if changed:
        audit.record_for(principal, "push.subscribe", target_type="push_subscription", target_id=sub.id,
                         details={"service": host, "device_id": str(principal.device_id)})
    db.session.commit()
    return sub


def unsubscribe(principal: Principal, endpoint: str) -> None:
    """Remove one of the caller's own subscriptions; NotFound for any other endpoint. Audited; commits."""
    sub = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint,
                                                           PushSubscription.user_id == principal.user_id))
    if sub is None:
        raise NotFound("No such subscription of yours.")
    audit.record_for(principal, "push.unsubscribe", target_type="push_subscription", target_id=sub.id,
                     details={"service": service_host(endpoint), "device_id": str(sub.device_id)})
    db.session.delete(sub)
    db.session.commit()


def view(sub: PushSubscription) -> dict:
    return {"id": sub.id, "device_id": sub.device_id, "service": service_host(sub.endpoint),
            "created_at": sub.created_at, "last_success_at": sub.last_success_at}


# ------------------------------------------------------------------------------------------------ sending

def payload(notice: Notice) -> str:
    """What a push carries: the notice's push text (its text when nobody typed any of it: see notices.add) and
    route, and its id to fetch details by after the tap."""
    body = (notice.data or {}).get("push") or notice.text
    return json.dumps({"title": TITLE, "body": body, "link": notice.link or "#/", "id": notice.id},
                      ensure_ascii=False)


def http_session() -> requests.Session:
    """The HTTP client for push services. Redirects are refused: an endpoint must not lead anywhere else."""
    session = requests.Session()
    session.max_redirects = 0
    return session


@dataclass
class Sent:
    status: int | None  # the push service's answer; None if it gave none (network, timeout)
    retry_after: timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a delay from ``now``, at most RETRY_AFTER_MAX."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value[:9]))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        delay = when - now
    return max(timedelta(0), min(delay, RETRY_AFTER_MAX))


def send(sub: PushSubscription, data: str, vapid, subject: str, http: requests.Session, now: datetime) -> Sent:
    """POST one encrypted message to one subscription; never raises for the push service's answer."""
    from pywebpush import WebPushException, webpush

    info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
    try:
        # A fresh claims dict each time: pywebpush writes the endpoint's origin into it as "aud".
        response = webpush(info, data, vapid_private_key=vapid, vapid_claims={"sub": subject}, ttl=TTL,
                           timeout=TIMEOUT, requests_session=http)
        return Sent(response.status_code)
    except WebPushException as exc:
        return Sent(exc.status_code, retry_after(exc.retry_after, now))
    except Exception as exc:  # no answer (network, TLS, timeout, a redirect), or keys that cannot be used
        log.warning("push to subscription %s at %s failed: %s", sub.id, service_host(sub.endpoint),
                    type(exc).__name__)
        return Sent(None)


def _live():
    """Subscriptions that may still be sent to: an active account, and a device not signed out or lost."""
    return and_(User.active.is_(True), or_(PushSubscription.device_id.is_(None), Device.revoked_at.is_(None)))


def _subscriptions():
    return (select(PushSubscription).join(User, User.id == PushSubscription.user_id)
            .outerjoin(Device, Device.id == PushSubscription.device_id))


def drop_dead_subscriptions() -> int:
    """Delete the subscriptions of disabled accounts and of devices that were signed out, revoked or lost."""
    dead = _subscriptions().where(~_live()).with_only_columns(PushSubscription.id)
    ids = list(db.session.scalars(dead))
    if ids:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids)))
    return len(ids)


def settle_stale(now: datetime) -> Counter:
    """Settle, unsent, the notices already read in the app and those older than WINDOW."""
    done = Counter()
    for outcome, where in ((READ, Notice.read_at.is_not(None)), (EXPIRED, Notice.created_at < now - WINDOW)):
        result = db.session.execute(update(Notice).where(Notice.pushed_at.is_(None), where)
                                    .values(pushed_at=now, push_outcome=outcome)
                                    .execution_options(synchronize_session=False))
        if result.rowcount:
            done[outcome] += result.rowcount
    return done


def _claim(notice_id: int) -> Notice | None:
    """The notice, locked for this run, if it is still unsettled (on PostgreSQL two runs never both take it)."""
    stmt = select(Notice).where(Notice.id == notice_id, Notice.pushed_at.is_(None))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Notice)
    return db.session.scalars(stmt, execution_options={"populate_existing": True}).first()


def _overtaken(notice: Notice, now: datetime) -> bool:
    """Whether the notice is a session reminder whose session has already begun (server/services/reminders.py
    also settles those each run; this closes the minutes between its runs)."""
    at = (notice.data or {}).get("session_at") if notice.kind == "reminder" else None
    try:
        return at is not None and datetime.fromisoformat(at) <= now
    except (TypeError, ValueError):
        return False


def _settle(notice: Notice, outcome: str, now: datetime) -> None:
    notice.pushed_at, notice.push_outcome = now, outcome


def _delivered_today(user_id: int, now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(Notice).where(
        Notice.user_id == user_id, Notice.push_outcome == DELIVERED, Notice.pushed_at >= day_start(now))) or 0


def _record(sub: PushSubscription, sent: Sent, now: datetime) -> str:
    """Write what one send did to its subscription: 'ok', 'gone' (deleted), 'dropped' or 'failed'."""
    same = and_(PushSubscription.id == sub.id, PushSubscription.endpoint == sub.endpoint)
    if sent.ok:
        db.session.execute(update(PushSubscription).where(same).values(
            failures=0, next_attempt_at=None, last_success_at=now).execution_options(synchronize_session=False))
        return "ok"
    if sent.gone:  # the browser unsubscribed, or its push service forgot it: only if it is still this endpoint
        db.session.execute(delete(PushSubscription).where(same).execution_options(synchronize_session=False))
        return "gone"
    failures = sub.failures + 1
    if failures >= MAX_FAILURES:
        db.session.execute(delete(PushSubscription).where(same).execution_options(synchronize_session=False))
        log.warning("push: dropped subscription %s at %s after %s failures", sub.id, service_host(sub.endpoint),
                    failures)
        return "dropped"
    delay = min(BACKOFF_FIRST * 2 ** min(failures - 1, 16), BACKOFF_MAX)
    if sent.retry_after is not None:
        delay = max(delay, sent.retry_after)
    db.session.execute(update(PushSubscription).where(same).values(
        failures=failures, next_attempt_at=now + delay).execution_options(synchronize_session=False))
    log.warning("push to subscription %s at %s answered %s: next try in %s", sub.id, service_host(sub.endpoint),
                sent.status, delay)
    return "failed"


def push_notice(notice_id: int, now: datetime, vapid, subject: str, http: requests.Session,
                throttled: set[str]) -> str:
    """Send one notice to its reader's subscriptions that are due, and commit what came of it.

    Returns the notice's outcome ('delivered', 'no_devices'), or why it is still waiting: 'capped' (the day's
    cap is reached), 'waiting' (every subscription is backing off), 'failed' (no send got through), 'taken'
    (another run has it, or it is settled).
    """
    notice = _claim(notice_id)
    if notice is None:
        db.session.rollback()
        return "taken"
    if _overtaken(notice, now):  # a reminder whose session has begun would send someone too late
        _settle(notice, EXPIRED, now)
        db.session.commit()
        return EXPIRED
    subs = list(db.session.scalars(_subscriptions().where(PushSubscription.user_id == notice.user_id, _live())
                                   .order_by(PushSubscription.id)))
    for sub in [s for s in subs if not allowed_host(service_host(s.endpoint))]:  # PUSH_SERVICE_HOSTS changed
        db.session.delete(sub)
        subs.remove(sub)
    if not subs:
        _settle(notice, NO_DEVICES, now)
        db.session.commit()
        return NO_DEVICES
    if _delivered_today(notice.user_id, now) >= current_app.config["PUSH_MAX_PER_DAY"]:
        db.session.rollback()
        return "capped"
    due = [s for s in subs if (s.next_attempt_at is None or s.next_attempt_at <= now)
           and service_host(s.endpoint) not in throttled]
    if not due:
        db.session.rollback()
        return "waiting"
    data = payload(notice)
    results = [(sub, send(sub, data, vapid, subject, http, now)) for sub in due]  # no writes while sending
    delivered = False
    for sub, sent in results:
        delivered |= _record(sub, sent, now) == "ok"
        if sent.status == 429:  # the push service is throttling this server: leave it alone for this run
            throttled.add(service_host(sub.endpoint))
    if delivered:
        _settle(notice, DELIVERED, now)
    db.session.commit()
    return DELIVERED if delivered else "failed"
