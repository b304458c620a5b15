"""Sync under real concurrent transactions on PostgreSQL: no duplicates, no 500, nothing skipped, no stale state.

The stories need two transactions genuinely in flight at once, so they run on PostgreSQL only: SQLite
serialises writers, which would make them pass without proving anything. One story (a session that already
holds an elector while another transaction renames it) needs no concurrency and runs on both.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, update

from server.extensions import db
from server.models import AssignmentKind, ContactRecord, Elector, ElectorState, Role, SyncReceipt
from tests.factories import assign, make_world
from tests.server.concurrency import WAIT, answered, concurrently
from tests.server.phone import HttpPhone

NOW = datetime.now(timezone.utc)


@pytest.fixture
def world(app):
    """The standard world, on PostgreSQL; the stories using it skip on SQLite."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs two real concurrent transactions; SQLite serialises writers")
    return whole_street(make_world())


def whole_street(world):
    """The canvasser walks the whole of the home CLP's street and the phone banker calls all of it, so both
    may write about every elector of it."""
    assign(world, Role.CANVASSER, AssignmentKind.WALK, property=world.home.properties[1])
    for elector in world.home.electors[:2]:
        assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=elector)
    return world


def pulled(phone: HttpPhone, limit=None) -> dict:
    """A pull that must be an ordinary page (no wipe, no reset)."""
    response = phone.pull(limit=limit)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert not body["wipe"] and not body["reset_required"], body
    return body


def in_thread(app, call: Callable, on_timeout: Callable[[], None]):
    """Run one request in another thread, so a request wrongly blocked by an open transaction fails the
    test instead of hanging it (``on_timeout`` releases the blocker)."""
    box: dict = {}

    def run():
        try:
            with app.app_context():
                box["result"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(20)
    if thread.is_alive():
        on_timeout()
        thread.join(WAIT)
        pytest.fail("the pull waited for another transaction to finish")
    if "error" in box:
        raise box["error"]
    return box["result"]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _states() -> dict:
    db.session.expire_all()
    return {s.elector_id: (s.intention, s.strength, s.intention_at, s.last_contact_at, s.last_spoke_at,
                           dict(s.contacts), s.do_not_contact, s.presence)
            for s in db.session.scalars(select(ElectorState))}


def _rename(conn, elector, surname: str) -> None:
    """A register change, as the import makes it: a new value and a new version."""
    conn.execute(update(Elector).where(Elector.id == elector.id)
                 .values(surname=surname, version=Elector.version + 1))


# ---------------------------------------------------------------------------------- the same batch twice
@pytest.mark.postgres_only
def test_the_same_batch_pushed_by_two_clients_at_once_lands_once_and_never_500s(app, world):
    phone = HttpPhone(app.test_client(), Role.CANVASSER, app=app)
    electors = world.home.electors
    for round_ in range(1, 6):
        batch = [phone.contact(world, electors[i % 3], *(("SPOKE", "LAB") if i % 2 else ("NH", None)))
                 for i in range(200)]
        # Two tabs, or a service worker replaying the outbox while the page sends it too.
        first, second = concurrently(app, lambda c: answered(phone.push(batch, c)), lambda c: answered(phone.push(batch, c)))
        assert (first[0], second[0]) == (200, 200), (first, second)
        for index, mutation in enumerate(batch):
            statuses = sorted((first[1]["results"][index]["status"], second[1]["results"][index]["status"]))
            assert statuses == ["applied", "duplicate"], (mutation["id"], statuses)
        assert _count(ContactRecord) == 200 * round_
        assert _count(SyncReceipt) == 200 * round_
    db.session.expire_all()
    state = db.session.get(ElectorState, electors[1].id)
    assert state.intention == "LAB"
    assert sum(state.contacts.values()) == len([i for i in range(200) if i % 3 == 1]) * 5


@pytest.mark.postgres_only
def test_a_resend_racing_the_first_push_answers_each_mutation_once_even_when_batches_overlap(app, world):
    phone = HttpPhone(app.test_client(), Role.CANVASSER, app=app)
    electors = world.home.electors
    batch = [phone.contact(world, electors[i % 3], "NH") for i in range(300)]
    # The outbox was sent in two overlapping pushes (a retry with more records) while the first was in flight.
    first, second = concurrently(app, lambda c: answered(phone.push(batch[:200], c)),
                                 lambda c: answered(phone.push(batch[100:], c)))
    assert (first[0], second[0]) == (200, 200), (first, second)
    answers: dict[str, list[str]] = {}
    for response in (first[1], second[1]):
        for result in response["results"]:
            answers.setdefault(result["id"], []).append(result["status"])
    assert set(answers) == {m["id"] for m in batch}
    for mutation_id, statuses in answers.items():
        assert statuses.count("applied") == 1 and set(statuses) <= {"applied", "duplicate"}, (mutation_id, statuses)
    assert _count(ContactRecord) == 300


# ------------------------------------------------------------------------------ late commits and pulls
@pytest.mark.postgres_only
@pytest.mark.parametrize("late_begins", ["before the other writer", "after the other writer"])
def test_a_change_that_commits_after_a_later_one_was_pulled_is_still_pulled(app, world, late_begins):
    phone = HttpPhone(app.test_client(), Role.CANVASSER, app=app)
    ava, ben = world.home.electors[0], world.home.electors[1]
    pulled(phone)
    assert (phone.surname(ava), phone.surname(ben)) == ("Ashfordson", "Ashfordson")

    late = db.engine.connect()
    try:
        other = db.engine.connect()
        try:
            if late_begins == "before the other writer":
                late.begin()
                _rename(late, ava, "Late")
                other.begin()
                _rename(other, ben, "Early")
            else:
                other.begin()
                _rename(other, ben, "Early")
                late.begin()
                _rename(late, ava, "Late")
            other.commit()
        finally:
            other.close()
        # The device syncs while the late transaction is still open: it sees only what has committed.
        body = in_thread(app, lambda: pulled(phone), on_timeout=late.rollback)
        assert [(c["entity"], c["id"]) for c in body["changes"]] == [("elector", ben.id)]
        assert (phone.surname(ava), phone.surname(ben)) == ("Ashfordson", "Early")
        late.commit()
    finally:
        late.close()
    body = pulled(phone)
    assert [(c["entity"], c["id"]) for c in body["changes"]] == [("elector", ava.id)]
    assert (phone.surname(ava), phone.surname(ben)) == ("Late", "Early")
    assert pulled(phone)["changes"] == []


@pytest.mark.postgres_only
def test_a_change_committed_in_the_middle_of_a_pull_is_sent_again_on_the_next_pull(app, world):
    phone = HttpPhone(app.test_client(), Role.CANVASSER, app=app)
    ava = world.home.electors[0]
    pulled(phone)
    fired = threading.Event()
    armed = threading.Event()

    def commit_between_reads(conn, cursor, statement, parameters, context, executemany):
        # The pull has read the versions it is entitled to and is about to read the electors' data:
        # a register change commits exactly now.
        if armed.is_set() and not fired.is_set() and "elector.surname" in statement and "FROM elector" in statement:
            fired.set()
            with db.engine.begin() as writer:
                _rename(writer, ava, "Midway")

    # A rename first, so the pull has an elector to send, and so reads the data after the versions.
    with db.engine.begin() as writer:
        _rename(writer, ava, "Before")
    event.listen(db.engine, "before_cursor_execute", commit_between_reads)
    try:
        armed.set()
        pulled(phone)
    finally:
        event.remove(db.engine, "before_cursor_execute", commit_between_reads)
    assert fired.is_set(), "the pull never read the electors' data; the test no longer tests the race"
    pulled(phone)
    assert phone.surname(ava) == "Midway"
    assert pulled(phone)["changes"] == []


@pytest.mark.postgres_only
def test_a_late_commit_during_a_paged_first_download_is_not_skipped(app, world):
    phone = HttpPhone(app.test_client(), Role.CANVASSER, app=app)
    ava, ben = world.home.electors[0], world.home.electors[1]
    late = db.engine.connect()
    try:
        late.begin()
        _rename(late, ava, "Late")  # began before the download, commits in the middle of it
        pages, committed = 0, False
        while True:
            body = in_thread(app, lambda: pulled(phone, limit=1), on_timeout=late.rollback)
            pages += 1
            if not committed and [(c["entity"], c["id"]) for c in body["changes"]] == [("elector", ava.id)]:
                assert phone.surname(ava) == "Ashfordson"  # sent while the rename was still uncommitted
                late.commit()
                committed = True
                with db.engine.begin() as other:
                    _rename(other, ben, "Early")
            if not body["has_more"]:
                break
        assert committed and pages >= 5  # campaign, assignment, property, Ava, Ben: one per page
    finally:
        late.close()
    while pulled(phone, limit=1)["changes"]:
        pass
    assert (phone.surname(ava), phone.surname(ben)) == ("Late", "Early")


@pytest.fixture
def any_world(app):
    return make_world()


def test_a_pull_served_by_a_session_that_already_holds_the_elector_sends_the_committed_data(app, client, any_world):
    """The session lives as long as its app context: a test, a CLI command or a job can serve several syncs
    with elector rows already loaded. The pull reads versions fresh, so the data it sends must be fresh too,
    or the device is told it has the new version while holding the old data, and is never sent it again."""
    ava = any_world.home.electors[0]
    phone = HttpPhone(client, Role.CANVASSER)  # served in the test's own session, on purpose

    def ava_in(body):
        return [c for c in body["changes"] if (c["entity"], c["id"]) == ("elector", ava.id)]

    first = pulled(phone)
    assert db.session.get(Elector, ava.id).surname == "Ashfordson"  # this session now holds Ava
    with db.engine.begin() as other:
        _rename(other, ava, "Renamed")
    sent = ava_in(pulled(phone))
    assert len(sent) == 1 and sent[0]["version"] != ava_in(first)[0]["version"]
    assert sent[0]["data"]["surname"] == "Renamed", "new version, old data: the device will never be sent Renamed"


# ------------------------------------------------------------------- two devices, the same electors
@pytest.mark.postgres_only
@pytest.mark.parametrize("edits", [False, True], ids=["contacts only", "with phone number edits"])
def test_two_devices_pushing_at_once_about_the_same_electors_leave_the_state_a_rebuild_gives(app, world, edits):
    """Contacts only: both pushes reach reconciliation together, so a fold over a snapshot that misses the
    other push's records would be saved last. With edits: each batch also locks elector rows in its own
    order, so PostgreSQL may pick a deadlock victim, which must be retried rather than answered with a 500."""
    from server.services import sync

    canvasser, banker = HttpPhone(app.test_client(), Role.CANVASSER, app=app), HttpPhone(app.test_client(), Role.PHONE_BANKER, app=app)
    electors = world.home.electors
    rng = random.Random(20261121)
    stored = 0
    for round_ in range(6):
        batches = []
        for phone in (canvasser, banker):
            batch = []
            for _ in range(100):
                elector = rng.choice(electors)
                at = NOW - timedelta(minutes=rng.randrange(0, 600))
                kind = rng.random()
                if kind < 0.05:
                    batch.append(phone.update(elector, {"moved": True}, at=at))
                elif edits and kind < 0.1:  # a shared field, from an old version
                    batch.append(phone.update(elector, {"phone": f"0770090{rng.randrange(10000):04d}"},
                                              base_version=1, at=at))
                elif kind < 0.6:
                    batch.append(phone.contact(world, elector, "SPOKE", rng.choice(["LAB", "UND"]), at=at))
                else:
                    batch.append(phone.contact(world, elector, "NH", at=at))
            rng.shuffle(batch)
            batches.append(batch)
        results = concurrently(app, *[lambda c, p=p, b=b: answered(p.push(b, c)) for p, b in zip((canvasser, banker), batches)])
        for (status, body), batch in zip(results, batches):
            assert status == 200, body
            assert len(body["results"]) == len(batch)
            assert {r["status"] for r in body["results"]} <= {"applied", "conflict"}, body["results"]
        stored += sum(1 for batch in batches for m in batch if m["type"] == "contact")
        assert _count(ContactRecord) == stored
        incremental = _states()
        assert set(incremental) == {e.id for e in electors}
        sync.rebuild()
        assert _states() == incremental, f"round {round_}: a concurrent push left a stale derived state"
