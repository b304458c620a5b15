"""A harness per store implementation, so one contract suite can run against each of them.

Each harness builds the same small world (CLPs, a campaign with code sets, properties, electors,
assignments, users and devices) in its own store, and reads back what sync wrote.
"""
from __future__ import annotations

import itertools
import uuid
from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sync.engine import Limits, SyncEngine
from sync.fold import ElectorState
from sync.memory import MemoryAssignment, MemoryStore
from sync.store import CampaignInfo, DeviceContext

START = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)

OUTCOMES = {  # code -> (meaning, channels)
    "SPOKE": ("spoke", ("door", "phone")),
    "NH": ("not_home", ("door",)),
    "NA": ("no_answer", ("phone",)),
    "REF": ("refused", ("door", "phone")),
    "MOVED": ("moved", ("door", "phone")),
    "DEC": ("deceased", ("door", "phone")),
    "DNC": ("do_not_contact", ("door", "phone")),
    "CB": ("call_back", ("door", "phone")),
}
INTENTIONS = ("LAB", "CON", "LD", "GRN", "UND")
STRENGTHS = ("1", "2", "3")
QUESTIONS = {"postal_vote": {"kind": "yes_no", "options": None}}


class Clock:
    def __init__(self, at: datetime = START):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


class Harness(ABC):
    """What the contract suite needs from a backend."""

    def __init__(self, limits: Limits | None = None):
        self.clock = Clock()
        self._ids = itertools.count(1)
        self.limits = limits or Limits()

    @property
    def engine(self) -> SyncEngine:
        return SyncEngine(self.store, self.limits)

    @abstractmethod
    def clp(self) -> int: ...

    @abstractmethod
    def user(self, clp: int) -> int: ...

    @abstractmethod
    def device(self, user: int) -> DeviceContext: ...

    @abstractmethod
    def campaign(self, clp: int | None = None, starts: datetime | None = None) -> int: ...

    @abstractmethod
    def property(self, clp: int, number: int, street: str = "High Street") -> int: ...

    @abstractmethod
    def elector(self, prop: int, surname: str, forenames: str, phone: str | None = None) -> int: ...

    @abstractmethod
    def assign(self, campaign: int, kind: str, users: list[int], properties=(), electors=(),
               starts: datetime | None = None, ends: datetime | None = None,
               members: dict[int, str] | None = None) -> int:
        """A list; ``members`` maps member ids to why each is called (a call list of members)."""

    @abstractmethod
    def member(self, clp: int, first_name: str, last_name: str, phone: str | None = None) -> int: ...

    @abstractmethod
    def suppress(self, elector: int, kind: str = "do_not_contact") -> None: ...

    @abstractmethod
    def suppress_channel(self, elector: int, channel: str) -> None:
        """An objection to one channel only (e.g. "don't phone me")."""

    @abstractmethod
    def rename(self, elector: int, surname: str) -> None:
        """A register change to an elector (bumps its version)."""

    @abstractmethod
    def end_assignment(self, assignment: int) -> None: ...

    @abstractmethod
    def revoke(self, device: DeviceContext) -> DeviceContext: ...

    @abstractmethod
    def contacts(self) -> list[tuple[uuid.UUID, int, str]]:
        """Every stored contact record: (id, elector id, kind)."""

    @abstractmethod
    def state(self, elector: int) -> ElectorState | None: ...

    @abstractmethod
    def reviews(self) -> list[tuple[str, int | None]]:
        """Open review items: (kind, elector id)."""

    @abstractmethod
    def phone_of(self, elector: int) -> str | None: ...

    @abstractmethod
    def suppression_count(self, elector: int) -> int:
        """How many active suppressions the elector has."""


class MemoryHarness(Harness):
    def __init__(self, limits: Limits | None = None):
        super().__init__(limits)
        self.store = MemoryStore(clock=self.clock)
        self._users: dict[int, int] = {}

    def clp(self):
        return next(self._ids)

    def user(self, clp):
        user_id = next(self._ids)
        self._users[user_id] = clp
        return user_id

    def device(self, user):
        return DeviceContext(uuid.uuid4(), user, frozenset({self._users[user]}), lists_only=True)

    def campaign(self, clp=None, starts=None):
        campaign_id = next(self._ids)
        starts = starts or START - timedelta(days=30)
        info = CampaignInfo(campaign_id, clp, starts, starts + timedelta(days=120),
                            {code: (meaning, channels) for code, (meaning, channels) in OUTCOMES.items()},
                            frozenset(INTENTIONS), frozenset(STRENGTHS), QUESTIONS)
        self.store.add_campaign(info, {"id": campaign_id, "name": "Test campaign", "version": 1})
        return campaign_id

    def property(self, clp, number, street="High Street"):
        prop = next(self._ids)
        self.store.add_property(prop, clp, address_lines=[str(number), street], postcode="EF1 1AA",
                                street=street, house_number=number)
        return prop

    def elector(self, prop, surname, forenames, phone=None):
        elector = next(self._ids)
        self.store.add_elector(elector, prop, surname=surname, forenames=forenames, phone=phone,
                               elector_number=f"AA1-{elector}")
        return elector

    def assign(self, campaign, kind, users, properties=(), electors=(), starts=None, ends=None, members=None):
        assignment = next(self._ids)
        members = members or {}
        self.store.add_assignment(MemoryAssignment(
            assignment, campaign, kind, f"{kind} list", starts or self.clock() - timedelta(days=1),
            ends or self.clock() + timedelta(days=14), set(users), list(properties), list(electors),
            member_ids=list(members), reasons=dict(members)))
        return assignment

    def member(self, clp, first_name, last_name, phone=None):
        member = next(self._ids)
        self.store.add_member(member, clp, first_name=first_name, last_name=last_name, phone=phone)
        return member

    def suppress(self, elector, kind="do_not_contact"):
        self.store.add_suppression(elector, kind)

    def suppress_channel(self, elector, channel):
        self.store.add_suppression(elector, "do_not_contact", channel)

    def rename(self, elector, surname):
        record = self.store.world.electors[elector]
        record["surname"] = surname
        record["version"] += 1

    def end_assignment(self, assignment):
        self.store.world.assignments[assignment].ends_at = self.clock()

    def revoke(self, device):
        return replace(device, access_ended_at=self.clock())

    def contacts(self):
        return [(row.id, row.elector_id, row.kind) for row in self.store.world.contacts.values()]

    def state(self, elector):
        return self.store.world.states.get(elector)

    def reviews(self):
        return [(r.kind, r.elector_id) for r in self.store.world.reviews]

    def phone_of(self, elector):
        return self.store.world.electors[elector]["phone"]

    def suppression_count(self, elector):
        return sum(1 for s in self.store.world.suppressions if s.get("elector_id") == elector)
