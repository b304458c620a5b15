"""The storage interface the engine needs, and the plain records that cross it.

Implementations: ``sync.memory.MemoryStore`` (tests, reference semantics) and the server's SQLAlchemy
store. Methods are called inside ``transaction()``; a store raises plain exceptions, never HTTP ones.
One contract suite (tests/sync/contract.py) runs the engine against every implementation.
"""
from __future__ import annotations

import json
import uuid
import zlib
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.fold import ContactEvent, ElectorState, FlagEvent


class DataRefused(Exception):
    """The database refused a value the validation let through (out of range, not storable).

    The engine then applies the batch one mutation at a time, so only the mutation at fault is refused."""


@dataclass(frozen=True)
class DeviceContext:
    """Who is syncing: the device, its user's scope, and whether their access has ended."""

    device_id: uuid.UUID
    user_id: int
    constituency_ids: frozenset[int] | None  # None: every constituency
    # Set once an admin withdrew the device's access or deactivated its user: what it delivers is held
    # for a CLP admin's review, never applied directly, and its pulls answer "wipe".
    access_ended_at: datetime | None = None
    # Set while the user's CLP is suspended, or a suspension of it is scheduled: what was made from then on
    # (by the corrected clock) is held for review as above, and what was made before is judged as usual,
    # whenever it arrives. Once it has begun, pulls send removals only (nothing new) and never say wipe.
    suspended_from: datetime | None = None
    # Canvassers and phone bankers write only about the electors and properties on their lists.
    lists_only: bool = False
    # When list membership is judged (None: at the push). Held records are judged as at their delivery.
    lists_as_of: datetime | None = None

    def covers(self, constituency_id: int) -> bool:
        return self.constituency_ids is None or constituency_id in self.constituency_ids


@dataclass
class StorageState:
    """The server's memory of one storage instance on one device (a wipe makes a new instance)."""

    device_id: uuid.UUID
    storage_id: uuid.UUID
    last_seq: int = 0
    acked_token: int = 0  # the last pull page the device confirmed it stored
    pending_token: int | None = None  # the page sent but not yet confirmed
    clock_offset_seconds: float = 0.0
    last_push_at: datetime | None = None
    last_pull_at: datetime | None = None


@dataclass(frozen=True)
class OutboxHealth:
    """What a storage instance last reported of its outbox (docs/sync-protocol.md 7.11), as stored: the
    oldest unsent record's time corrected for the device clock, and when the server received the report."""

    unsent: int
    oldest_at: datetime | None
    app_version: str | None
    reported_at: datetime


@dataclass(frozen=True)
class Receipt:
    """What became of one mutation id, so a resend gets the same answer without redoing the work."""

    mutation_id: uuid.UUID
    device_id: uuid.UUID
    seq: int
    status: str
    content_hash: str
    details: Any = None
    # For corrections and retractions: the chain link (see sync.engine.chain_link).
    elector_id: int | None = None
    supersedes_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    constituency_id: int | None
    starts_at: datetime
    ends_at: datetime
    outcomes: dict[str, tuple[str | None, tuple[str, ...]]]  # code -> (meaning, channels)
    intentions: frozenset[str]
    strengths: frozenset[str]
    questions: dict[str, dict]  # key -> {"kind": ..., "options": ...}


@dataclass(frozen=True)
class ElectorInfo:
    id: int
    constituency_id: int
    version: int
    phone: str | None = None
    property_id: int | None = None


@dataclass(frozen=True)
class MemberInfo:
    """A party member on a call list (a welcome call): contacts may be about them instead of an elector."""

    id: int
    constituency_id: int


@dataclass(frozen=True)
class ContactRow:
    """A contact record to store: the device's content plus the server's times and flags."""

    id: uuid.UUID
    kind: str
    campaign_id: int
    constituency_id: int
    elector_id: int | None  # exactly one of elector_id and member_id
    channel: str
    outcome: str | None
    intention: str | None
    strength: str | None
    survey_answers: dict
    notes: str | None
    supersedes_id: uuid.UUID | None
    occurred_at: datetime  # corrected
    device_occurred_at: datetime  # as claimed
    clock_flags: tuple[str, ...]
    received_at: datetime
    user_id: int
    device_id: uuid.UUID
    content_hash: str
    meaning: str | None = None  # not stored: resolved from the campaign for the fold
    member_id: int | None = None
    call_back_at: datetime | None = None  # asked for by the elector or member (outcome call_back)


@dataclass(frozen=True)
class ElectorChange:
    """A device's change to a shared elector field, or a flag it raised (moved, do not contact)."""

    id: uuid.UUID
    elector_id: int
    field: str
    value: Any
    base_version: int | None
    occurred_at: datetime
    received_at: datetime
    user_id: int
    device_id: uuid.UUID


@dataclass(frozen=True)
class ReviewRequest:
    """Something a CLP admin must look at: a conflict, or a person found who is not on the register."""

    constituency_id: int
    kind: str  # intention_conflict, field_conflict, new_elector
    elector_id: int | None
    data: dict


@dataclass
class Entitlement:
    """Everything a user's devices should hold now, with the version of each entity."""

    versions: dict[tuple[str, int], int] = field(default_factory=dict)  # (entity, id) -> version
    suppressed: dict[int, str] = field(default_factory=dict)  # elector id -> kind, for delete reasons
    # The data of entities that exist only as a view for this user (activity, member), computed with
    # the entitlement; their version is content_version(data).
    data: dict[tuple[str, int], dict] = field(default_factory=dict)

    def derive(self, entity: str, entity_id: int, data: dict) -> None:
        """Add an entity whose version is its content."""
        self.versions[(entity, entity_id)] = content_version(data)
        self.data[(entity, entity_id)] = data


@dataclass
class Snapshot:
    """A download's work list, computed once at its first page and served page by page (docs/sync-protocol.md
    8.6): what the device lacked then, in page order, stored by the store as ids, versions and delete reasons.

    It is used only by the pull that confirms the page it last served (``page_token``); any other pull (a lost
    page, a second tab, a pull from nothing) drops it and computes afresh. Each page first checks that it is
    still true enough to serve: the user's current lists (``lists``) unchanged, and no suppression newer than
    ``suppressions`` naming someone the device holds or is about to be sent. Otherwise the page is computed
    afresh, so an objection still reaches the phone at its next pull; any other change reaches it at the
    latest by the pull after the download (the next pull with nothing left in the snapshot recomputes)."""

    token: int  # names its stored items, so two racing downloads of one storage never mix theirs
    page_token: int  # the page it served last: only the cursor confirming that page continues it
    position: int  # the next item to send
    size: int
    lists: list  # the store's fingerprint of the user's current lists when it was taken
    suppressions: dict  # the store's mark of the suppressions it already accounts for

    def to_dict(self) -> dict:
        return {"token": self.token, "page_token": self.page_token, "position": self.position, "size": self.size,
                "lists": self.lists, "suppressions": self.suppressions}

    @classmethod
    def from_dict(cls, data: Any) -> "Snapshot | None":
        try:
            return cls(int(data["token"]), int(data["page_token"]), int(data["position"]), int(data["size"]),
                       list(data["lists"]), dict(data["suppressions"]))
        except (KeyError, TypeError, ValueError):
            return None  # unreadable: the pull computes afresh


# One item of a snapshot's work list: (entity, id, version or None for a delete, delete reason or None).
SnapshotItem = tuple[str, int, "int | None", "str | None"]


def content_version(data) -> int:
    """A version that changes whenever ``data`` does: a 31-bit digest of its canonical JSON."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return zlib.crc32(encoded) & 0x7FFFFFFF


class Store(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """The store's clock: the server time every ordering decision uses."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Everything inside commits together or not at all."""

    # -- devices ----------------------------------------------------------------------------------
    @abstractmethod
    def storage(self, device_id: uuid.UUID, storage_id: uuid.UUID, *, pages: bool = False) -> StorageState | None:
        """The storage's state, or None. ``pages``: the caller is a pull, which will ask for the pending page and
        the snapshot next (a store may read them now)."""

    @abstractmethod
    def save_storage(self, state: StorageState) -> None:
        """Insert or update; ``last_seq`` only ever grows, even when two pushes race."""

    def save_outbox_report(self, device_id: uuid.UUID, storage_id: uuid.UUID, report: OutboxHealth) -> None:
        """Record a storage's outbox report (the storage was saved just before). Stores that keep no
        health do nothing."""

    # -- push -------------------------------------------------------------------------------------
    @abstractmethod
    def receipts(self, mutation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Receipt]: ...

    @abstractmethod
    def claim(self, receipts: list[Receipt]) -> set[uuid.UUID]:
        """Insert receipts whose id is new; return those inserted. A concurrent claim of the same id
        waits for the other transaction and then loses, so each mutation takes effect once."""

    @abstractmethod
    def settle(self, receipts: list[Receipt]) -> set[uuid.UUID]:
        """Replace receipts still ``held`` by these (an admin accepted them); return those replaced."""

    @abstractmethod
    def writable_electors(self, user_id: int, homes: dict[int, int | None], at: datetime,
                          grace: timedelta) -> set[int]:
        """Those of the electors ``homes`` names (elector id: property id, as ``electors`` read them) on the
        user's lists at ``at``: listed, or living at a listed property, on an assignment that has started and
        ended less than ``grace`` ago."""

    @abstractmethod
    def writable_properties(self, user_id: int, property_ids: set[int], at: datetime,
                            grace: timedelta) -> set[int]:
        """Those of ``property_ids`` on the user's lists at ``at`` (listed, or home to a listed elector)."""

    @abstractmethod
    def campaigns(self, ids: set[int]) -> dict[int, CampaignInfo]: ...

    @abstractmethod
    def electors(self, ids: set[int]) -> dict[int, ElectorInfo]: ...

    @abstractmethod
    def property_constituencies(self, ids: set[int]) -> dict[int, int]: ...

    @abstractmethod
    def suppressions(self, elector_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
        """Active suppressions by elector: (kind, channel) pairs."""

    @abstractmethod
    def members(self, ids: set[int]) -> dict[int, MemberInfo]: ...

    @abstractmethod
    def writable_members(self, user_id: int, member_ids: set[int], at: datetime, grace: timedelta) -> set[int]:
        """Those of ``member_ids`` on the user's call lists at ``at`` (as ``writable_electors``)."""

    @abstractmethod
    def member_suppressions(self, member_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
        """Active suppressions by member: (kind, channel) pairs."""

    @abstractmethod
    def contact_people(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[str, int]]:
        """Whom each stored contact record is about, ("elector" or "member", id), for corrections and
        retractions."""

    @abstractmethod
    def insert_contacts(self, rows: list[ContactRow]) -> None: ...

    @abstractmethod
    def field_changes_since(self, elector_id: int, field: str, version: int) -> list[tuple[Any, int, int]]:
        """Changes to one field applied after ``version``: (value, applied version, user id)."""

    @abstractmethod
    def apply_change(self, change: ElectorChange) -> int:
        """Record the change; for a shared field, set it and bump the elector's version (returned)."""

    @abstractmethod
    def suppress(self, elector_id: int | None, constituency_id: int, reason: str, user_id: int,
                 member_id: int | None = None) -> None:
        """A do-not-contact from the doorstep or the phone, which every device must honour. Nothing is added
        when the person already has an active all-channel objection (one tap never makes two)."""

    @abstractmethod
    def add_review_items(self, items: list[ReviewRequest]) -> None:
        """Add to the review queue; a presence report (moved, deceased) about an elector who already has an
        open one of that kind is not added again."""

    # -- reconciliation ---------------------------------------------------------------------------
    @abstractmethod
    def lock_electors(self, elector_ids: set[int]) -> None:
        """Hold these electors until the transaction ends, taken in id order and in a mode that does not
        conflict with the foreign-key checks of rows that reference them (no deadlocks)."""

    @abstractmethod
    def events(self, elector_ids: set[int]) -> dict[int, tuple[list[ContactEvent], list[FlagEvent]]]: ...

    def locked_history(self, elector_ids: set[int], events: bool = True
                       ) -> tuple[dict[int, ElectorInfo], dict | None, dict | None]:
        """``lock_electors``, then what a push needs about them: their rows (``electors``) and, with ``events``,
        their ``events`` and ``chain_links`` (else None, None). A store may do this in fewer round trips."""
        self.lock_electors(elector_ids)
        if not events:
            return self.electors(elector_ids), None, None
        return self.electors(elector_ids), self.events(elector_ids), self.chain_links(elector_ids)

    @abstractmethod
    def chain_links(self, elector_ids: set[int]) -> dict[int, dict[uuid.UUID, uuid.UUID]]:
        """By elector: mutation id -> the record it superseded, for corrections and retractions that were
        refused (their links are in no stored contact)."""

    @abstractmethod
    def save_states(self, states: dict[int, ElectorState]) -> None: ...

    @abstractmethod
    def enqueue_reconcile(self, elector_ids: set[int]) -> None:
        """Leave a large catch-up to the scheduled reconciliation job."""

    # -- pull -------------------------------------------------------------------------------------
    @abstractmethod
    def entitlement(self, user_id: int, now: datetime) -> Entitlement: ...

    @abstractmethod
    def holdings(self, device_id: uuid.UUID, storage_id: uuid.UUID) -> dict[tuple[str, int], int]:
        """What the device has confirmed it stores: (entity, id) -> version."""

    @abstractmethod
    def forget_holdings(self, device_id: uuid.UUID, storage_id: uuid.UUID) -> None:
        """The device starts from nothing (first download, or after a reset)."""

    @abstractmethod
    def confirm_pending(self, device_id: uuid.UUID, storage_id: uuid.UUID, confirmed: bool) -> None:
        """Fold the pending page into the holdings (confirmed) or drop it (the device never got it)."""

    @abstractmethod
    def stage(self, device_id: uuid.UUID, storage_id: uuid.UUID,
              entries: list[tuple[str, int, int | None]]) -> None:
        """Record a page as pending: (entity, id, version), version None for a delete."""

    @abstractmethod
    def materialise(self, entity: str, ids: list[int], user_id: int, entitled: Entitlement) -> dict[int, dict]:
        """The data a device needs for each entity: the least personal data that does the job. A list's
        items name only the people in ``entitled`` (never someone who has objected)."""

    # -- pull snapshots (one download's work list, computed once) -----------------------------------
    @abstractmethod
    def lists_fingerprint(self, user_id: int, now: datetime) -> list:
        """What identifies the user's current lists and their versions (JSON-storable): a snapshot taken under
        another fingerprint is out of date."""

    @abstractmethod
    def suppression_mark(self, now: datetime) -> dict:
        """A mark (JSON-storable) of every suppression that may be visible now. Read it before the entitlement
        it goes with, so a suppression committed in between is counted as new, never as accounted for."""

    @abstractmethod
    def suppressed_since(self, mark: dict) -> set[tuple[str, int]]:
        """The people, ("elector", id) or ("member", id), named by suppressions not covered by ``mark``."""

    @abstractmethod
    def holds_any(self, device_id: uuid.UUID, storage_id: uuid.UUID, keys: set[tuple[str, int]]) -> bool:
        """Whether the device's holdings include any of ``keys``."""

    @abstractmethod
    def snapshot(self, device_id: uuid.UUID, storage_id: uuid.UUID) -> Snapshot | None: ...

    @abstractmethod
    def save_snapshot(self, device_id: uuid.UUID, storage_id: uuid.UUID, snapshot: Snapshot,
                      items: list[SnapshotItem] | None = None) -> None:
        """Store the snapshot's state; with ``items``, also its work list, replacing any other of this storage.
        The storage itself is saved first."""

    @abstractmethod
    def snapshot_items(self, device_id: uuid.UUID, storage_id: uuid.UUID, snapshot: Snapshot, start: int,
                       count: int) -> list[SnapshotItem]: ...

    @abstractmethod
    def drop_snapshot(self, device_id: uuid.UUID, storage_id: uuid.UUID) -> None:
        """Forget the storage's snapshot and its work list (the download completed, or it is out of date)."""

    @abstractmethod
    def derive(self, entity: str, ids: list[int], user_id: int, now: datetime) -> dict[int, dict]:
        """The current data of these ``activity`` or ``member`` entities for this user, computed for these ids
        only (a page served from a snapshot); an id the user no longer has is left out."""
