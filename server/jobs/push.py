"""The push job: sends new notices to their readers' devices (server/services/push.py; docs/push.md).

Runs in the scheduler every minute (``send_pending``), or now with ``flask jobs run push``; never in a web
request, since a push service may be slow to answer. Each notice is claimed on its own (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL) and settled in its own transaction, so a second run, here or on another machine,
never sends it again.
"""
from __future__ import annotations

import logging
from datetime import datetime

import requests
from sqlalchemy import select

from server.extensions import db
from server.jobs import lease
from server.models import Notice
from server.orm import utcnow
from server.services import push

log = logging.getLogger(__name__)

WAITS = ("capped", "waiting", "failed")  # a notice that waits holds back its reader's later ones


def send_pending(now: datetime | None = None, *, session: requests.Session | None = None) -> dict | str:
    """Push every unsettled notice to its reader's devices, outside quiet hours and within each person's daily
    cap, oldest first; returns how many of each outcome. Does nothing, and says so, while push is off."""
    configured = push.keys()
    if configured is None:
        log.info("push: VAPID keys are not set, so push is off and nothing was sent")
        return "push is off (VAPID keys not set): nothing sent"
    from py_vapid import Vapid

    now = now or utcnow()
    done = push.settle_stale(now)
    dropped = push.drop_dead_subscriptions()
    db.session.commit()
    if dropped:
        done["subscriptions_dropped"] = dropped
    pending = db.session.execute(select(Notice.user_id, Notice.id).where(Notice.pushed_at.is_(None))
                                 .order_by(Notice.user_id, Notice.created_at, Notice.id)).all()
    db.session.rollback()
    if push.in_quiet_hours(now):
        if pending:
            done["held_for_quiet_hours"] = len(pending)
        return dict(done)
    vapid = Vapid.from_string(configured.private_key)
    http = session or push.http_session()
    throttled: set[str] = set()
    waiting_user = None
    for user_id, notice_id in pending:
        if user_id == waiting_user:
            continue
        if not lease.still_mine():  # another scheduler leads now: the rest are its to send
            done["stopped_for_new_leader"] = 1
            break
        outcome = push.push_notice(notice_id, now, vapid, configured.subject, http, throttled)
        done[outcome] += 1
        if outcome in WAITS:
            waiting_user = user_id
    return dict(done)
