"""An elector's derived state is a deterministic fold over its events: property-based proof.

The same set of events must give the same state whatever order they arrived in and however often each
arrived. Hypothesis builds random histories (records with chains of corrections and retractions, some
whose original never arrived, admins' resolutions, flags) for the fold, and random outboxes from several
phones, delivered in random orders, batch splits, resends and interleavings, for the engine.
"""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import PROTOCOL_VERSION, SCHEMA_VERSION
from sync.engine import SyncEngine
from sync.fold import ContactEvent, FlagEvent, effective_contacts, fold, intention_conflict
from sync.store import DeviceContext
from tests.sync.harness import INTENTIONS, OUTCOMES, START, STRENGTHS, MemoryHarness

FOLD = settings(max_examples=200, deadline=None)
ENGINE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.data_too_large])

MEANINGS = (None, "spoke", "not_home", "no_answer", "refused", "moved", "deceased", "do_not_contact")
CHANNELS = ("door", "phone", "other")
WINDOW = timedelta(hours=48)


# ------------------------------------------------------------------------------------------ fold level
# Times come from a coarse grid, so ties (broken by id) are common rather than vanishingly rare.
times = st.integers(min_value=0, max_value=12).map(lambda n: START - timedelta(minutes=20 * n))
intentions = st.sampled_from((None, *INTENTIONS))
strengths = st.sampled_from((None, *STRENGTHS))
users = st.integers(min_value=1, max_value=3)


def _fresh_id(draw, used: set[uuid.UUID]) -> uuid.UUID:
    new = draw(st.uuids().filter(lambda u: u not in used))
    used.add(new)
    return new


@dataclass
class Chain:
    """One contact as the generator made it: its record, and the corrections and retractions of it."""

    root: uuid.UUID
    channel: str
    root_at: datetime
    events: list[ContactEvent] = field(default_factory=list)  # only the ones that arrived

    @property
    def retracted(self) -> bool:
        return any(e.kind == "retraction" for e in self.events)

    @property
    def stands(self) -> bool:
        return bool(self.events) and not self.retracted

    @property
    def root_arrived(self) -> bool:
        return any(e.id == self.root for e in self.events)

    @property
    def at(self):
        """When the contact happened: the original's time, or the earliest we know of if it never arrived."""
        return self.root_at if self.root_arrived else min(e.occurred_at for e in self.events)


@dataclass
class History:
    chains: list[Chain]
    resolutions: list[ContactEvent]
    flags: list[FlagEvent]

    @property
    def contacts(self) -> list[ContactEvent]:
        return [e for chain in self.chains for e in chain.events]


def _content(draw) -> dict:
    meaning = draw(st.sampled_from(MEANINGS))
    intention = draw(intentions) if meaning == "spoke" else None
    return {"meaning": meaning, "intention": intention, "strength": draw(strengths) if intention else None}


@st.composite
def chains(draw, used: set[uuid.UUID]) -> Chain:
    root = _fresh_id(draw, used)
    channel = draw(st.sampled_from(CHANNELS))
    record = ContactEvent(root, "record", draw(times), channel, user_id=draw(users), **_content(draw))
    chain = Chain(root, channel, record.occurred_at)
    # Usually the original arrived; sometimes only its corrections or retraction did (it is still in an
    # outbox, or was lost).
    if draw(st.integers(0, 4)) > 0:
        chain.events.append(record)
    corrected = [root]  # a follow-up names the original or a correction of it
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(("correction", "correction", "retraction")))
        supersedes = draw(st.sampled_from(corrected))
        event_id = _fresh_id(draw, used)
        content = _content(draw) if kind == "correction" else {}
        chain.events.append(ContactEvent(event_id, kind, draw(times), channel, supersedes=supersedes,
                                         user_id=record.user_id, **content))
        if kind == "correction":
            corrected.append(event_id)
    return chain


@st.composite
def histories(draw, max_chains: int = 6) -> History:
    used: set[uuid.UUID] = set()
    made = [draw(chains(used)) for _ in range(draw(st.integers(0, max_chains)))]
    resolutions = [ContactEvent(_fresh_id(draw, used), "resolution", draw(times), "door",
                                intention=draw(st.sampled_from(INTENTIONS)), strength=draw(strengths),
                                user_id=draw(users))
                   for _ in range(draw(st.integers(0, 2)))]
    flags = [FlagEvent(_fresh_id(draw, used), draw(st.sampled_from(("moved", "do_not_contact"))), draw(times))
             for _ in range(draw(st.integers(0, 3)))]
    return History(made, resolutions, flags)


def _arrivals(data, events: list) -> list:
    """The same events as they might arrive: in any order, some of them more than once."""
    if not events:
        return []
    resent = data.draw(st.lists(st.sampled_from(events), max_size=2 * len(events)), label="resent")
    return data.draw(st.permutations(events + resent), label="arrival order")


@FOLD
@given(histories(), st.data())
def test_the_state_is_the_same_whatever_order_the_events_arrived_in(history, data):
    contacts = history.contacts + history.resolutions
    expected = fold(contacts, history.flags)
    shuffled = data.draw(st.permutations(contacts), label="contacts order")
    flags = data.draw(st.permutations(history.flags), label="flags order")
    assert fold(shuffled, flags) == expected
    assert effective_contacts(shuffled) == effective_contacts(contacts)


@FOLD
@given(histories(), st.data())
def test_the_state_is_the_same_however_often_each_event_arrived(history, data):
    contacts = history.contacts + history.resolutions
    expected = fold(contacts, history.flags)
    assert fold(_arrivals(data, contacts), _arrivals(data, history.flags)) == expected


@FOLD
@given(histories())
def test_each_contact_stands_once_under_its_original_id_and_a_retracted_one_not_at_all(history):
    effective = effective_contacts(history.contacts + history.resolutions)
    ids = [e.id for e in effective]
    assert len(ids) == len(set(ids)), "a chain counted more than once"
    assert set(ids) == {chain.root for chain in history.chains if chain.stands}
    by_root = {chain.root: chain for chain in history.chains}
    for contact in effective:
        chain = by_root[contact.id]
        # A correction changes what was recorded, not when the contact happened.
        assert contact.occurred_at == chain.at
        assert contact.kind in ("record", "correction")
        assert contact.channel == chain.channel
    assert [(e.occurred_at, e.id) for e in effective] == sorted((e.occurred_at, e.id) for e in effective)


@FOLD
@given(histories())
def test_contact_counts_are_the_contacts_still_standing_per_channel(history):
    state = fold(history.contacts + history.resolutions, history.flags)
    standing = [chain for chain in history.chains if chain.stands]
    assert state.contacts == dict(Counter(chain.channel for chain in standing))
    assert state.last_contact_at == max((chain.at for chain in standing), default=None)


@FOLD
@given(histories())
def test_an_admins_resolution_is_never_a_contact(history):
    with_resolutions = fold(history.contacts + history.resolutions, history.flags)
    without = fold(history.contacts, history.flags)
    assert with_resolutions.contacts == without.contacts
    assert with_resolutions.last_contact_at == without.last_contact_at
    assert with_resolutions.last_spoke_at == without.last_spoke_at
    assert with_resolutions.presence == without.presence
    assert with_resolutions.do_not_contact == without.do_not_contact
    assert effective_contacts(history.contacts + history.resolutions) == effective_contacts(history.contacts)
    resolution_ids = {r.id for r in history.resolutions}
    for new in history.contacts:
        found = intention_conflict(new, history.contacts + history.resolutions, WINDOW)
        assert found is None or found.id not in resolution_ids


@FOLD
@given(histories(), st.data())
def test_a_conflict_is_found_whatever_order_the_other_contacts_arrived_in(history, data):
    contacts = history.contacts + history.resolutions
    if not history.contacts:
        return
    new = data.draw(st.sampled_from(history.contacts), label="new contact")
    others = [e for e in contacts if e.id != new.id]
    expected = intention_conflict(new, others, WINDOW)
    assert intention_conflict(new, _arrivals(data, others), WINDOW) == expected


# ---------------------------------------------------------------------------------------- engine level
ELECTORS = 3
# An objection recorded on the doorstep suppresses the elector, and a suppression refuses what arrives after
# it: that depends on arrival order by design (suppression wins), so it has no place in these outboxes.
OUTBOX_OUTCOMES = sorted(code for code, (meaning, _) in OUTCOMES.items() if meaning != "do_not_contact")
PHONE_CLOCK_ERRORS = (timedelta(0), timedelta(days=1), -timedelta(hours=3))  # the engine corrects these


@dataclass
class World:
    harness: MemoryHarness
    campaign: int
    electors: list[int]
    devices: list[DeviceContext]

    @property
    def engine(self) -> SyncEngine:
        return self.harness.engine

    @property
    def store(self):
        return self.harness.store


def build_world(phones: int, suppressed: frozenset[int] = frozenset()) -> World:
    """One CLP, a campaign, three electors, and a canvasser per phone; suppressions come before any push."""
    h = MemoryHarness()
    clp = h.clp()
    campaign = h.campaign(clp)
    props = [h.property(clp, 1), h.property(clp, 2)]
    electors = [h.elector(props[i % 2], f"Voter{i}", "Sam") for i in range(ELECTORS)]
    devices = []
    for n in range(phones):
        # Fixed device ids, so every world built for one example knows the same phones.
        devices.append(DeviceContext(uuid.UUID(int=n + 1), h.user(clp), frozenset({clp})))
    for index in suppressed:
        h.suppress(electors[index])
    return World(h, campaign, electors, devices)


TEMPLATE = build_world(3)  # ids are handed out in order, so every world has these ids


@dataclass
class Outbox:
    """Every mutation the phones made, in the order they made them: (phone index, raw mutation)."""

    phones: int
    mutations: list[tuple[int, dict]]

    def ids_of(self, kinds: set[str]) -> set[uuid.UUID]:
        return {uuid.UUID(m["id"]) for _, m in self.mutations if m["type"] in kinds}


STEP_KINDS = ("contact", "contact", "contact", "correction", "correction", "retraction", "moved",
              "orphan_correction", "orphan_retraction")


@st.composite
def outboxes(draw) -> Outbox:
    phones = draw(st.integers(2, 3))
    seqs = [0] * phones
    made: list[tuple[int, dict]] = []
    contacts: list[dict] = []  # records and corrections, which later steps may correct or retract
    used: set[uuid.UUID] = set()

    def mutation(phone: int, type_: str, data: dict, minutes_ago: int) -> dict:
        seqs[phone] += 1
        at = START - timedelta(minutes=minutes_ago) + PHONE_CLOCK_ERRORS[phone]
        raw = {"id": str(_fresh_id(draw, used)), "seq": seqs[phone], "type": type_, "occurred_at": at.isoformat(),
               "base_version": None, "data": data}
        made.append((phone, raw))
        return raw

    for _ in range(draw(st.integers(1, 12))):
        phone = draw(st.integers(0, phones - 1))
        kind = draw(st.sampled_from(STEP_KINDS))
        minutes_ago = draw(st.integers(0, 12)) * 10
        elector = TEMPLATE.electors[draw(st.integers(0, ELECTORS - 1))]
        outcome = draw(st.sampled_from(OUTBOX_OUTCOMES))
        # Mostly valid codes; a wrong channel for the outcome is refused whatever the order.
        channel = draw(st.sampled_from(("door", "door", "phone")))
        intention = draw(intentions) if outcome == "SPOKE" else None
        content = {"outcome": outcome, "intention": intention,
                   "strength": draw(strengths) if intention else None, "survey_answers": {}, "notes": None}
        if kind in ("correction", "retraction") and not contacts:
            kind = "contact"
        if kind == "moved":
            mutation(phone, "elector_update", {"elector_id": elector, "changes": {"moved": True}}, minutes_ago)
            continue
        if kind == "contact":
            data = {"campaign_id": TEMPLATE.campaign, "elector_id": elector, "channel": channel, **content}
            contacts.append(mutation(phone, "contact", data, minutes_ago))
            continue
        if kind.startswith("orphan"):  # its original is never delivered (lost with a wiped phone)
            target = {"id": str(_fresh_id(draw, used)), "data": {"elector_id": elector, "channel": channel}}
        else:
            target = draw(st.sampled_from(contacts))
        about = {"campaign_id": TEMPLATE.campaign, "elector_id": target["data"]["elector_id"],
                 "channel": target["data"]["channel"], "supersedes": target["id"]}
        if kind.endswith("correction"):
            contacts.append(mutation(phone, "contact_correction", {**about, **content}, minutes_ago))
        else:
            mutation(phone, "contact_retraction", {**about, "reason": "Recorded by mistake"}, minutes_ago)
    return Outbox(phones, made)


def deliveries(data, outbox: Outbox) -> list[tuple[int, list[dict]]]:
    """A random way for the outbox to reach the server: any order, any batch split, resent batches."""
    order = data.draw(st.permutations(range(len(outbox.mutations))), label="arrival order")
    pushes: list[tuple[int, list[dict]]] = []
    for index in order:
        phone, raw = outbox.mutations[index]
        # A push comes from one phone; a new one starts at a change of phone or at a random cut.
        if pushes and pushes[-1][0] == phone and not data.draw(st.booleans(), label="cut here"):
            pushes[-1][1].append(raw)
        else:
            pushes.append((phone, [raw]))
    resends = data.draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.booleans()),
                                 max_size=4), label="resends")
    for source, later, twice_in_batch in resends:
        source %= len(pushes)
        phone, batch = pushes[source]
        batch = list(batch) + (batch[:1] if twice_in_batch else [])  # an app bug: one id twice in a batch
        # The ack was lost: the same batch comes again, some time after the first.
        pushes.insert(source + 1 + later % (len(pushes) - source), (phone, batch))
    return pushes


def deliver(world: World, pushes: list[tuple[int, list[dict]]]) -> dict[uuid.UUID, list[str]]:
    """Push everything; return every status each mutation id was answered with."""
    answers: dict[uuid.UUID, list[str]] = {}
    for phone, batch in pushes:
        device = world.devices[phone]
        body = {"device_id": str(device.device_id), "storage_id": str(uuid.UUID(int=100 + phone)),
                "protocol_version": PROTOCOL_VERSION, "schema_version": SCHEMA_VERSION,
                "device_time": (world.harness.clock() + PHONE_CLOCK_ERRORS[phone]).isoformat(),
                "mutations": batch}
        response = world.engine.push(device, body)
        assert len(response["results"]) == len(batch)
        for raw, result in zip(batch, response["results"]):
            assert result["id"] == raw["id"]
            answers.setdefault(uuid.UUID(raw["id"]), []).append(result["status"])
    return answers


def in_outbox_order(outbox: Outbox) -> list[tuple[int, list[dict]]]:
    """The well-behaved delivery: each phone's outbox in one push, phone after phone."""
    return [(phone, [m for p, m in outbox.mutations if p == phone]) for phone in range(outbox.phones)
            if any(p == phone for p, _ in outbox.mutations)]


def check_exactly_once(world: World, outbox: Outbox, answers: dict[uuid.UUID, list[str]]) -> None:
    """Every mutation landed at most once; a resend is a duplicate, or refused again for the same reason."""
    assert set(answers) == outbox.ids_of({"contact", "contact_correction", "contact_retraction", "elector_update"})
    landed = set()
    for mutation_id, statuses in answers.items():
        first, rest = statuses[0], statuses[1:]
        assert "id_reused" not in statuses, (mutation_id, statuses)
        if first in ("applied", "conflict"):
            landed.add(mutation_id)
            assert set(rest) <= {"duplicate"}, (mutation_id, statuses)
        else:
            assert first in ("rejected", "suppressed"), (mutation_id, statuses)
            assert set(rest) <= {first, "duplicate"}, (mutation_id, statuses)
    contact_ids = outbox.ids_of({"contact", "contact_correction", "contact_retraction"})
    assert set(world.store.world.contacts) == landed & contact_ids
    assert set(world.store.world.receipts) == set(answers)
    flags = [change.id for change, _ in world.store.world.changes]
    assert len(flags) == len(set(flags)) and set(flags) == landed - contact_ids


def check_state_is_a_rebuild(world: World) -> None:
    """What reconciliation left after each push equals a fold of everything stored."""
    states = world.store.world.states
    events = world.store.events(set(world.electors))
    links = world.store.chain_links(set(world.electors))
    rebuilt = {eid: fold(*events[eid], links=links.get(eid, {}))
               for eid in world.electors if events[eid] != ([], [])}
    assert states == rebuilt


@ENGINE
@given(outboxes(), st.data())
def test_two_servers_given_the_same_mutations_in_different_orders_derive_the_same_state(outbox, data):
    reference = build_world(outbox.phones)
    check_exactly_once(reference, outbox, deliver(reference, in_outbox_order(outbox)))
    for label in ("first server", "second server"):
        world = build_world(outbox.phones)
        assert world.electors == TEMPLATE.electors and world.campaign == TEMPLATE.campaign
        answers = deliver(world, deliveries(data, outbox))
        check_exactly_once(world, outbox, answers)
        # The conflict status may depend on what arrived first; what is stored and derived may not.
        assert world.store.world.contacts == reference.store.world.contacts, label
        assert world.store.world.states == reference.store.world.states, label
        check_state_is_a_rebuild(world)


@ENGINE
@given(outboxes(), st.frozensets(st.integers(0, ELECTORS - 1), min_size=1), st.data())
def test_an_elector_suppressed_before_any_push_gets_nothing_stored_whatever_the_order(outbox, suppressed, data):
    reference = build_world(outbox.phones, suppressed)
    deliver(reference, in_outbox_order(outbox))
    world = build_world(outbox.phones, suppressed)
    answers = deliver(world, deliveries(data, outbox))
    check_exactly_once(world, outbox, answers)
    gone = {TEMPLATE.electors[i] for i in suppressed}
    assert not any(row.elector_id in gone for row in world.store.world.contacts.values())
    assert not gone & set(world.store.world.states)
    assert world.store.world.contacts == reference.store.world.contacts
    assert world.store.world.states == reference.store.world.states
    check_state_is_a_rebuild(world)


def test_a_correction_of_a_refused_correction_still_counts_as_the_same_contact():
    """`supersedes` may name the original or an earlier correction of it, and a chain counts as at most one
    contact. When a correction in the middle was refused, its own corrections and its undo must still belong
    to the original's chain (the refused one's link is kept on its receipt)."""
    world = build_world(1)
    about = {"campaign_id": world.campaign, "elector_id": world.electors[0], "channel": "door"}
    made: list[dict] = []

    def mutation(type_: str, data: dict) -> dict:
        made.append({"id": str(uuid.uuid4()), "seq": len(made) + 1, "type": type_, "base_version": None,
                     "occurred_at": (START - timedelta(minutes=30 - len(made))).isoformat(), "data": data})
        return made[-1]

    record = mutation("contact", {**about, "outcome": "SPOKE", "intention": "LAB"})
    # Refused: a phone-only outcome on a door contact (say, from an older app's code list).
    refused = mutation("contact_correction", {**about, "outcome": "NA", "supersedes": record["id"]})
    # The volunteer corrects what their phone shows, the refused version: they spoke to a CON voter.
    again = mutation("contact_correction", {**about, "outcome": "SPOKE", "intention": "CON",
                                            "supersedes": refused["id"]})
    answers = deliver(world, [(0, list(made))])
    assert [answers[uuid.UUID(m["id"])] for m in made] == [["applied"], ["rejected"], ["applied"]]
    state = world.store.world.states[world.electors[0]]
    assert state.contacts == {"door": 1}, "one doorstep conversation counted as two contacts"
    assert state.intention == "CON"
    # Then they undo it: the whole contact is withdrawn.
    deliver(world, [(0, [mutation("contact_retraction", {**about, "supersedes": again["id"]})])])
    state = world.store.world.states[world.electors[0]]
    assert state.contacts == {} and state.intention is None, "the undone contact still stands"
