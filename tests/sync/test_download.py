"""A download in many pages, served from a snapshot of the work list taken at its first page.

Each story runs on the in-memory reference store and on the SQL store (SQLite or PostgreSQL, per
TEST_DATABASE_URL). The promise under test: paging changes nothing a phone ends with. It ends with exactly
what a one-shot download gives; an objection made mid-download leaves the phone at its next pull; a list
changed mid-download reaches it within the download; anything else changed mid-download reaches it at the
latest by the first pull after the download.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from sync.engine import SyncEngine
from tests.sync.harness import MemoryHarness
from tests.sync.phone import Phone

PAGE = 7


@pytest.fixture(params=["memory", "sql"])
def harness(request):
    if request.param == "memory":
        return MemoryHarness()
    request.getfixturevalue("app")
    from tests.sync.sql_harness import SqlHarness

    return SqlHarness()


class Street:
    """A canvasser with a walk list of 20 houses (1 to 3 electors each) and a call list of 6 people with
    phones and 2 members; a second canvasser on the same walk list has already knocked some doors."""

    def __init__(self, h):
        self.h = h
        clp = h.clp()
        self.campaign = h.campaign(clp)
        self.user = h.user(clp)
        self.properties, self.electors = [], []
        for n in range(1, 21):
            prop = h.property(clp, n)
            self.properties.append(prop)
            for k in range(1 + n % 3):
                self.electors.append(h.elector(prop, f"Walker{n}", f"E{k}"))
        far = [h.property(clp, n, "Far Road") for n in range(1, 7)]
        self.callees = [h.elector(p, f"Caller{i}", "Pat", phone=f"07700 900{i:03d}") for i, p in enumerate(far)]
        self.members = {h.member(clp, "Mo", f"Member{i}", phone=f"07700 901{i:03d}"): "Welcome call"
                        for i in range(2)}
        self.walk = h.assign(self.campaign, "walk", [self.user], properties=self.properties)
        self.call = h.assign(self.campaign, "call", [self.user], electors=self.callees, members=self.members)
        self.teammate = h.user(clp)
        h.assign(self.campaign, "walk", [self.teammate], properties=self.properties)
        mate = Phone(h, h.device(self.teammate))
        mate.sync_down()
        knocked = mate.push([mate.contact(e, self.campaign, outcome="NH") for e in self.electors[::4]])
        assert set(knocked) == {"applied"}

    def phone(self) -> Phone:
        return Phone(self.h, self.h.device(self.user))

    def one_shot(self) -> dict:
        """What a new phone of the same user gets in a single page: the reference."""
        other = self.phone()
        assert other.pull(limit=2000)["has_more"] is False
        return other.local


def pull_until(phone: Phone, done) -> None:
    for _ in range(200):
        response = phone.pull(PAGE)
        assert response["has_more"], "the download ended before the moment the story needs"
        if done():
            return
    raise AssertionError("never reached")


def test_a_download_in_many_pages_ends_with_exactly_what_a_one_shot_download_gives(harness, monkeypatch):
    street = Street(harness)
    phone = street.phone()
    computed = []
    afresh = SyncEngine._page
    monkeypatch.setattr(SyncEngine, "_page", lambda self, *a, **k: computed.append(1) or afresh(self, *a, **k))
    pages = phone.sync_down(PAGE)
    assert pages > 10
    assert len(computed) == 1  # the entitlement was computed once, at the first page
    assert phone.local == street.one_shot()
    entitled = harness.store.entitlement(street.user, harness.clock())
    assert set(phone.local) == set(entitled.versions)
    assert {entity for entity, _ in phone.local} == {"campaign", "assignment", "property", "elector", "member",
                                                      "activity"}
    # The download is complete: its snapshot is gone, and the next pull has nothing to send.
    assert harness.store.snapshot(phone.device.device_id, phone.storage_id) is None
    assert phone.pull(PAGE)["changes"] == []


def test_an_objection_mid_download_removes_the_elector_at_the_next_pull_and_the_unsent_never_arrive(harness):
    street = Street(harness)
    phone = street.phone()
    pull_until(phone, lambda: len(phone.electors()) >= 3)
    held = sorted(phone.electors())[0]
    unsent = next(e for e in reversed(street.electors) if e not in phone.electors())
    erased = sorted(phone.electors())[1]
    harness.suppress(held)
    harness.suppress(unsent)
    harness.suppress(erased, kind="erasure")
    response = phone.pull(PAGE)  # the very next pull, mid-download
    deletes = {(c["id"], c["reason"]) for c in response["changes"] if c["op"] == "delete"}
    assert (held, "suppressed") in deletes and (erased, "erased") in deletes
    assert held not in phone.electors() and erased not in phone.electors()
    phone.sync_down(PAGE)
    assert not {held, unsent, erased} & phone.electors()
    assert phone.local == street.one_shot()


def test_a_phone_only_objection_mid_download_keeps_a_walked_elector(harness):
    street = Street(harness)
    phone = street.phone()
    pull_until(phone, lambda: len(phone.electors()) >= 1)
    walked = next(iter(phone.electors()))
    harness.suppress_channel(walked, "phone")
    assert not any(c["op"] == "delete" for c in phone.pull(PAGE)["changes"])
    phone.sync_down(PAGE)
    assert walked in phone.electors()
    assert phone.local == street.one_shot()


def test_a_list_changed_mid_download_reaches_the_phone_within_the_download(harness):
    street = Street(harness)
    phone = street.phone()
    pull_until(phone, lambda: len(phone.electors()) >= 2)
    extra = extend_walk_list(harness, street)
    harness.end_assignment(street.call)
    phone.sync_down(PAGE)  # no pull after the end: the change came within the download
    assert extra in phone.electors()
    assert not set(street.callees) & phone.electors()
    assert ("assignment", street.call) not in phone.local
    assert not any(entity == "member" for entity, _ in phone.local)
    assert phone.local == street.one_shot()


def test_a_register_change_mid_download_reaches_the_phone_by_the_first_pull_after_it(harness):
    street = Street(harness)
    phone = street.phone()
    pull_until(phone, lambda: len(phone.electors()) >= 2)
    sent, unsent = sorted(phone.electors())[0], street.electors[-1]
    harness.rename(sent, "Renamed")
    harness.rename(unsent, "Renamed too")
    phone.sync_down(PAGE)
    assert phone.local[("elector", unsent)]["surname"] == "Renamed too"
    phone.pull(PAGE)  # the first pull after the download computes afresh
    assert phone.local[("elector", sent)]["surname"] == "Renamed"
    assert phone.local == street.one_shot()


def test_a_page_lost_mid_download_is_sent_again_from_current_data(harness):
    street = Street(harness)
    phone = street.phone()
    pull_until(phone, lambda: len(phone.electors()) >= 2)
    lost = harness.engine.pull(phone.device, storage_id=phone.storage_id, cursor=phone.cursor, limit=PAGE)
    assert lost["changes"]  # never stored: the app presents its previous cursor again
    harness.suppress(street.electors[-1])
    again = phone.pull(PAGE)
    assert not again["reset_required"]
    phone.sync_down(PAGE)
    assert phone.local == street.one_shot()
    # The cursor of the lost page is now stale.
    stale = harness.engine.pull(phone.device, storage_id=phone.storage_id, cursor=lost["cursor"])
    assert stale["reset_required"] and stale["reason"] == "stale_cursor"


def test_a_new_download_from_nothing_mid_download_starts_over_cleanly(harness):
    street = Street(harness)
    phone = street.phone()
    pull_until(phone, lambda: len(phone.electors()) >= 2)
    phone.cursor, phone.local = None, {}  # the app lost its database
    harness.clock.advance(timedelta(minutes=1))
    phone.sync_down(PAGE)
    assert phone.local == street.one_shot()


def extend_walk_list(h, street: Street) -> int:
    """A CLP admin adds a house to the walk list (the list's version is bumped, as the console does)."""
    clp_property = street.properties[0]
    if isinstance(h, MemoryHarness):
        clp = h.store.world.properties[clp_property]["constituency_id"]
        prop = h.property(clp, 99, "New Street")
        elector = h.elector(prop, "Newcomer", "Nell")
        assignment = h.store.world.assignments[street.walk]
        assignment.property_ids.append(prop)
        assignment.version += 1
        return elector
    from server.extensions import db
    from server.models import Assignment, AssignmentItem, Property

    clp = db.session.get(Property, clp_property).constituency_id
    prop = h.property(clp, 99, "New Street")
    elector = h.elector(prop, "Newcomer", "Nell")
    assignment = db.session.get(Assignment, street.walk)
    db.session.add(AssignmentItem(assignment_id=assignment.id, property_id=prop, position=99))
    assignment.version += 1
    db.session.commit()
    return elector


def test_a_suppression_committed_late_with_a_lower_id_is_still_seen_as_new(app):
    """Suppression ids are taken before their transactions commit: one that commits after the snapshot may have
    an id below others the snapshot saw (sync-pitfalls 3). The snapshot's mark must still count it as new."""
    from server.extensions import db
    from server.models import Suppression
    from tests.sync.sql_harness import SqlHarness

    h = SqlHarness()
    clp = h.clp()
    people = [h.elector(h.property(clp, n), f"Late{n}", "Lou") for n in range(1, 6)]
    for elector in people[:4]:
        h.suppress(elector)
    ids = sorted(db.session.scalars(db.select(Suppression.id)))
    in_flight = db.session.get(Suppression, ids[1])  # as if its transaction had not committed yet
    row = {c: getattr(in_flight, c) for c in ("id", "constituency_id", "elector_id", "kind", "channel", "reason",
                                               "source", "created_at")}
    db.session.delete(in_flight)
    db.session.commit()
    mark = h.store.suppression_mark(h.clock())
    assert h.store.suppressed_since(mark) == set()
    db.session.add(Suppression(**row))  # it commits now, below the newest id the mark saw
    db.session.commit()
    h.suppress(people[4])
    assert h.store.suppressed_since(mark) == {("elector", people[1]), ("elector", people[4])}
