"""Busy streets, on PostgreSQL: many phones pushing at the same instant about the same electors never deadlock.

A push locks every elector it may write before anything references them, in one global order and in a mode
the foreign-key checks pass through, so pushes queue instead of deadlocking: no push fails, and PostgreSQL
never detects a deadlock (not merely one absorbed by retrying). SQLite serialises writers, so the story
runs on PostgreSQL only.
"""
from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from server.extensions import db
from server.models import Assignment, AssignmentItem, AssignmentKind, AssignmentUser, ContactRecord, ElectorState, Role
from server.services import accounts
from tests.factories import PASSWORD, add_street, make_world
from tests.server.concurrency import answered, concurrently
from tests.server.phone import HttpPhone

PHONES = 8
ELECTORS = 20
ROUNDS = 4
PER_PUSH = 34


@pytest.fixture
def busy_street(app):
    """Eight canvassers who all hold the same walk list of twenty houses, one elector each."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs real concurrent transactions; SQLite serialises writers")
    world = make_world()
    electors = add_street(world.home, ELECTORS)
    users = [accounts.create_user(email=f"busy{i}@example.test", name=f"Busy {i}", password=PASSWORD,
                                  role=Role.CANVASSER, constituency_code=world.home.constituency.code)
             for i in range(PHONES)]
    now = datetime.now(timezone.utc)
    walk = Assignment(campaign_id=world.campaign.id, constituency_id=world.home.constituency.id,
                      kind=AssignmentKind.WALK, name="Long Street", starts_at=now - timedelta(days=1),
                      ends_at=now + timedelta(days=7))
    walk.items = [AssignmentItem(property_id=e.property_id, position=i) for i, e in enumerate(electors)]
    walk.assignees = [AssignmentUser(user_id=u.id) for u in users]
    db.session.add(walk)
    db.session.commit()
    return world, electors, [u.email for u in users]


def _deadlocks() -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar()


def _states() -> dict:
    db.session.expire_all()
    return {s.elector_id: (s.intention, s.intention_at, s.last_contact_at, dict(s.contacts), s.presence)
            for s in db.session.scalars(select(ElectorState))}


@pytest.mark.postgres_only
def test_eight_phones_pushing_overlapping_batches_about_one_street_at_once_never_deadlock(app, busy_street, caplog):
    from server.services import sync

    world, electors, emails = busy_street
    phones = [HttpPhone(app.test_client(), email, app=app) for email in emails]
    rng = random.Random(20261128)
    db.engine.dispose()  # every backend that ran before this story reports its statistics as it exits
    before = _deadlocks()
    caplog.set_level(logging.WARNING, logger="server.services.sync")
    sent = 0
    for _ in range(ROUNDS):
        batches = []
        for phone in phones:
            batch = []
            for _ in range(PER_PUSH):
                elector = rng.choice(electors)
                at = datetime.now(timezone.utc) - timedelta(minutes=rng.randrange(1, 600))
                if rng.random() < 0.1:
                    batch.append(phone.update(elector, {"phone": f"0770090{rng.randrange(10000):04d}"},
                                              base_version=1, at=at))
                elif rng.random() < 0.6:
                    batch.append(phone.contact(world, elector, "SPOKE", rng.choice(["LAB", "UND"]), at=at))
                else:
                    batch.append(phone.contact(world, elector, "NH", at=at))
            batches.append(batch)
        results = concurrently(app, *[lambda c, p=p, b=b: answered(p.push(b, c)) for p, b in zip(phones, batches)])
        for (status, body), batch in zip(results, batches):
            assert status == 200, body
            assert {r["status"] for r in body["results"]} <= {"applied", "conflict"}, body["results"]
        sent += sum(1 for batch in batches for m in batch if m["type"] == "contact")

    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == sent
    assert not [r for r in caplog.records if "retried" in r.getMessage()], "a push had to be retried"
    db.engine.dispose()
    found = before
    for _ in range(20):  # the pool's backends flush their statistics as they exit
        found = _deadlocks()
        if found != before:
            break
        time.sleep(0.1)
    assert found == before, f"PostgreSQL detected {found - before} deadlock(s)"
    incremental = _states()
    sync.rebuild()
    assert _states() == incremental, "a concurrent push left a stale derived state"
