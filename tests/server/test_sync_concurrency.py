"""Sync under real concurrent transactions on PostgreSQL: no duplicates, no 500, nothing skipped, no stale state.

The stories need two transactions genuinely in flight at once, so they run on PostgreSQL only: SQLite
serialises writers, which would make them pass without proving anything. One story (a session that already
holds an elector while another transaction renames it) needs no concurrency and runs on both.
"""
from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, update

from server.extensions import db
from server.models import ContactRecord, Elector, ElectorState, Role, SyncReceipt
from tests.factories import bearer, login, make_world

NOW = datetime.now(timezone.utc)
WAIT = 60  # seconds; a thread still running after this is a hang, reported as a failure


@pytest.fixture
def world(app):
    """The standard world, on PostgreSQL; the stories using it skip on SQLite."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs two real concurrent transactions; SQLite serialises writers")
    return make_world()


class App:
    """A phone running the app, talking HTTP to the server (as in test_sync_api).

    Each request runs in its own app context, so it has its own database session, as in production;
    the test's own session (which built the world) never serves a request.
    """

    def __init__(self, app, role: Role):
        self.app = app
        self.client = app.test_client()
        with app.app_context():
            self.token = login(self.client, role, device_name=f"{role.value}'s phone {uuid.uuid4().hex[:6]}")
            devices = self.client.get("/api/v1/devices", headers=bearer(self.token)).get_json()
        self.device_id = devices[-1]["id"]
        self.storage_id = str(uuid.uuid4())
        self.seq = 0
        self.cursor = None
        self.local: dict = {}

    def contact(self, world, elector, outcome="SPOKE", intention=None, at=None, **data):
        self.seq += 1
        return {"id": str(uuid.uuid4()), "seq": self.seq, "type": "contact",
                "occurred_at": (at or datetime.now(timezone.utc)).isoformat(), "base_version": None,
                "data": {"campaign_id": world.campaign.id, "elector_id": elector.id, "channel": "door",
                         "outcome": outcome, "intention": intention, **data}}

    def update(self, elector, changes, base_version=None, at=None):
        self.seq += 1
        return {"id": str(uuid.uuid4()), "seq": self.seq, "type": "elector_update",
                "occurred_at": (at or datetime.now(timezone.utc)).isoformat(), "base_version": base_version,
                "data": {"elector_id": elector.id, "changes": changes}}

    def body(self, mutations):
        return {"device_id": self.device_id, "storage_id": self.storage_id, "protocol_version": 1,
                "schema_version": 1, "device_time": datetime.now(timezone.utc).isoformat(), "mutations": mutations}

    def push(self, mutations, client=None) -> tuple[int, dict | None]:
        with self.app.app_context():
            response = (client or self.client).post("/api/v1/sync/push", json=self.body(mutations),
                                                    headers=bearer(self.token))
            return response.status_code, response.get_json(silent=True)

    def pull(self, client=None, limit=None) -> dict:
        params = {"storage_id": self.storage_id}
        if self.cursor:
            params["cursor"] = self.cursor
        if limit:
            params["limit"] = limit
        with self.app.app_context():
            response = (client or self.client).get("/api/v1/sync/pull", query_string=params,
                                                   headers=bearer(self.token))
            assert response.status_code == 200, response.get_data(as_text=True)
            body = response.get_json()
        assert not body["wipe"] and not body["reset_required"], body
        for change in body["changes"]:  # stored with the cursor, as the app does in one transaction
            key = (change["entity"], change["id"])
            if change["op"] == "delete":
                self.local.pop(key, None)
            else:
                self.local[key] = change["data"]
        self.cursor = body["cursor"]
        return body

    def surname(self, elector) -> str:
        return self.local[("elector", elector.id)]["surname"]


def concurrently(app, *calls: Callable) -> list:
    """Run each call in its own thread, app context and test client, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index, call):
        try:
            with app.app_context():
                client = app.test_client()
                barrier.wait(timeout=WAIT)
                results[index] = call(client)
        except BaseException as exc:  # reported in the test's thread below
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a concurrent push hung"
    if failures:
        raise failures[0]
    return results


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
    phone = App(app, Role.CANVASSER)
    electors = world.home.electors
    for round_ in range(1, 6):
        batch = [phone.contact(world, electors[i % 3], *(("SPOKE", "LAB") if i % 2 else ("NH", None)))
                 for i in range(200)]
        # Two tabs, or a service worker replaying the outbox while the page sends it too.
        first, second = concurrently(app, lambda c: phone.push(batch, c), lambda c: phone.push(batch, c))
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
    phone = App(app, Role.CANVASSER)
    electors = world.home.electors
    batch = [phone.contact(world, electors[i % 3], "NH") for i in range(300)]
    # The outbox was sent in two overlapping pushes (a retry with more records) while the first was in flight.
    first, second = concurrently(app, lambda c: phone.push(batch[:200], c), lambda c: phone.push(batch[100:], c))
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
    phone = App(app, Role.CANVASSER)
    ava, ben = world.home.electors[0], world.home.electors[1]
    phone.pull()
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
        body = in_thread(app, phone.pull, on_timeout=late.rollback)
        assert [(c["entity"], c["id"]) for c in body["changes"]] == [("elector", ben.id)]
        assert (phone.surname(ava), phone.surname(ben)) == ("Ashfordson", "Early")
        late.commit()
    finally:
        late.close()
    body = phone.pull()
    assert [(c["entity"], c["id"]) for c in body["changes"]] == [("elector", ava.id)]
    assert (phone.surname(ava), phone.surname(ben)) == ("Late", "Early")
    assert phone.pull()["changes"] == []


@pytest.mark.postgres_only
def test_a_change_committed_in_the_middle_of_a_pull_is_sent_again_on_the_next_pull(app, world):
    phone = App(app, Role.CANVASSER)
    ava = world.home.electors[0]
    phone.pull()
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
        phone.pull()
    finally:
        event.remove(db.engine, "before_cursor_execute", commit_between_reads)
    assert fired.is_set(), "the pull never read the electors' data; the test no longer tests the race"
    phone.pull()
    assert phone.surname(ava) == "Midway"
    assert phone.pull()["changes"] == []


@pytest.mark.postgres_only
def test_a_late_commit_during_a_paged_first_download_is_not_skipped(app, world):
    phone = App(app, Role.CANVASSER)
    ava, ben = world.home.electors[0], world.home.electors[1]
    late = db.engine.connect()
    try:
        late.begin()
        _rename(late, ava, "Late")  # began before the download, commits in the middle of it
        pages, committed = 0, False
        while True:
            body = in_thread(app, lambda: phone.pull(limit=1), on_timeout=late.rollback)
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
    while phone.pull(limit=1)["changes"]:
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
    token = login(client, Role.CANVASSER)
    storage = str(uuid.uuid4())

    def pull(cursor=None):
        params = {"storage_id": storage, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/sync/pull", query_string=params, headers=bearer(token))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def ava_in(body):
        return [c for c in body["changes"] if (c["entity"], c["id"]) == ("elector", ava.id)]

    first = pull()
    assert db.session.get(Elector, ava.id).surname == "Ashfordson"  # this session now holds Ava
    with db.engine.begin() as other:
        _rename(other, ava, "Renamed")
    sent = ava_in(pull(first["cursor"]))
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

    canvasser, banker = App(app, Role.CANVASSER), App(app, Role.PHONE_BANKER)
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
        results = concurrently(app, *[lambda c, p=p, b=b: p.push(b, c) for p, b in zip((canvasser, banker), batches)])
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
