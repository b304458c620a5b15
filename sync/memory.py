"""An in-memory Store: the reference semantics for the contract suite, and a store for unit tests.

It holds a small world (campaigns, properties, electors, assignments, suppressions) seeded by the
caller, and everything sync writes. A transaction is a snapshot restored on error.
"""
from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sync import views
from sync.rules import suppression_applies
from sync.fold import ContactEvent, ElectorState, FlagEvent
from sync.store import (
    CampaignInfo,
    MemberInfo,
    OutboxHealth,
    ContactRow,
    ElectorChange,
    ElectorInfo,
    Entitlement,
    Receipt,
    ReviewRequest,
    Snapshot,
    StorageState,
    Store,
)


@dataclass
class MemoryAssignment:
    id: int
    campaign_id: int
    kind: str  # walk or call
    name: str
    starts_at: datetime
    ends_at: datetime
    user_ids: set[int]
    property_ids: list[int] = field(default_factory=list)
    elector_ids: list[int] = field(default_factory=list)
    version: int = 1
    member_ids: list[int] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)  # member id -> why they are called


@dataclass
class _World:
    campaigns: dict[int, tuple[CampaignInfo, dict]] = field(default_factory=dict)  # info, device data
    properties: dict[int, dict] = field(default_factory=dict)
    electors: dict[int, dict] = field(default_factory=dict)
    members: dict[int, dict] = field(default_factory=dict)
    assignments: dict[int, MemoryAssignment] = field(default_factory=dict)
    suppressions: list[dict] = field(default_factory=list)
    contacts: dict[uuid.UUID, ContactRow] = field(default_factory=dict)
    changes: list[tuple[ElectorChange, int]] = field(default_factory=list)  # change, version it made
    receipts: dict[uuid.UUID, Receipt] = field(default_factory=dict)
    storages: dict[tuple, StorageState] = field(default_factory=dict)
    outbox_reports: dict[tuple, OutboxHealth] = field(default_factory=dict)
    holdings: dict[tuple, dict] = field(default_factory=dict)
    pending: dict[tuple, list] = field(default_factory=dict)
    snapshots: dict[tuple, dict] = field(default_factory=dict)  # storage -> snapshot state
    snapshot_items: dict[tuple, list] = field(default_factory=dict)  # (storage, token) -> work list
    states: dict[int, ElectorState] = field(default_factory=dict)
    reviews: list[ReviewRequest] = field(default_factory=list)
    queue: set[int] = field(default_factory=set)


class MemoryStore(Store):
    def __init__(self, clock: Callable[[], datetime] | None = None):
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.world = _World()
        self._lock = threading.RLock()

    # -- seeding (tests build their world through these) ------------------------------------------
    def add_campaign(self, info: CampaignInfo, data: dict) -> None:
        self.world.campaigns[info.id] = (info, data)

    def add_property(self, property_id: int, constituency_id: int, **data: Any) -> None:
        self.world.properties[property_id] = {"id": property_id, "constituency_id": constituency_id, "version": 1,
                                              **data}

    def add_elector(self, elector_id: int, property_id: int, **data: Any) -> None:
        prop = self.world.properties[property_id]
        self.world.electors[elector_id] = {"id": elector_id, "property_id": property_id,
                                           "constituency_id": prop["constituency_id"], "version": 1,
                                           "status": "current", "phone": None, **data}

    def add_member(self, member_id: int, constituency_id: int, **data: Any) -> None:
        self.world.members[member_id] = {"id": member_id, "constituency_id": constituency_id, "phone": None, **data}

    def add_assignment(self, assignment: MemoryAssignment) -> None:
        self.world.assignments[assignment.id] = assignment

    def add_suppression(self, elector_id: int | None, kind: str = "do_not_contact", channel: str = "all",
                        member_id: int | None = None) -> None:
        self.world.suppressions.append({"elector_id": elector_id, "member_id": member_id, "kind": kind,
                                        "channel": channel})

    # -- Store ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            snapshot = copy.deepcopy(self.world)
            try:
                yield
            except BaseException:
                self.world = snapshot
                raise

    def storage(self, device_id, storage_id, *, pages=False):
        state = self.world.storages.get((device_id, storage_id))
        return copy.copy(state) if state else None

    def save_storage(self, state: StorageState) -> None:
        key = (state.device_id, state.storage_id)
        previous = self.world.storages.get(key)
        saved = copy.copy(state)
        if previous is not None:
            saved.last_seq = max(previous.last_seq, state.last_seq)
        self.world.storages[key] = saved

    def save_outbox_report(self, device_id, storage_id, report: OutboxHealth) -> None:
        self.world.outbox_reports[(device_id, storage_id)] = report

    def receipts(self, mutation_ids):
        return {i: self.world.receipts[i] for i in mutation_ids if i in self.world.receipts}

    def claim(self, receipts):
        claimed = set()
        for receipt in receipts:
            if receipt.mutation_id not in self.world.receipts:
                self.world.receipts[receipt.mutation_id] = receipt
                claimed.add(receipt.mutation_id)
        return claimed

    def settle(self, receipts):
        settled = set()
        for receipt in receipts:
            if self.world.receipts.get(receipt.mutation_id, receipt).status == "held":
                self.world.receipts[receipt.mutation_id] = receipt
                settled.add(receipt.mutation_id)
        return settled

    def _lists(self, user_id, at, grace):
        return [a for a in self.world.assignments.values() if user_id in a.user_ids and a.starts_at <= at < a.ends_at + grace]

    def writable_electors(self, user_id, homes, at, grace):
        found = set()
        for a in self._lists(user_id, at, grace):
            found |= set(a.elector_ids) | {e["id"] for e in self.world.electors.values()
                                           if e["property_id"] in a.property_ids}
        return found & set(homes)

    def writable_properties(self, user_id, property_ids, at, grace):
        found = set()
        for a in self._lists(user_id, at, grace):
            found |= set(a.property_ids) | {self.world.electors[e]["property_id"] for e in a.elector_ids}
        return found & set(property_ids)

    def campaigns(self, ids):
        return {i: self.world.campaigns[i][0] for i in ids if i in self.world.campaigns}

    def electors(self, ids):
        return {i: ElectorInfo(i, e["constituency_id"], e["version"], e["phone"], e["property_id"])
                for i in ids if (e := self.world.electors.get(i)) is not None}

    def property_constituencies(self, ids):
        return {i: self.world.properties[i]["constituency_id"] for i in ids if i in self.world.properties}

    def suppressions(self, elector_ids):
        return self._suppressions("elector_id", elector_ids)

    def _suppressions(self, key, ids):
        found: dict[int, list] = {}
        for s in self.world.suppressions:
            if s.get(key) is not None and s[key] in ids:
                found.setdefault(s[key], []).append((s["kind"], s["channel"]))
        return found

    def members(self, ids):
        return {i: MemberInfo(i, m["constituency_id"]) for i in ids if (m := self.world.members.get(i)) is not None}

    def writable_members(self, user_id, member_ids, at, grace):
        found = set()
        for a in self._lists(user_id, at, grace):
            found |= set(a.member_ids)
        return found & set(member_ids)

    def member_suppressions(self, member_ids):
        return self._suppressions("member_id", member_ids)

    def contact_people(self, ids):
        out = {}
        for i in ids:
            row = self.world.contacts.get(i)
            if row is not None:
                out[i] = ("member", row.member_id) if row.member_id is not None else ("elector", row.elector_id)
        return out

    def chain_links(self, elector_ids):
        links: dict[int, dict] = {}
        for r in self.world.receipts.values():
            if r.supersedes_id is not None and r.elector_id in elector_ids and r.mutation_id not in self.world.contacts:
                links.setdefault(r.elector_id, {})[r.mutation_id] = r.supersedes_id
        return links

    def insert_contacts(self, rows):
        for row in rows:
            self.world.contacts.setdefault(row.id, row)

    def field_changes_since(self, elector_id, field, version):
        return [(c.value, made, c.user_id) for c, made in self.world.changes
                if c.elector_id == elector_id and c.field == field and made > version]

    def apply_change(self, change: ElectorChange) -> int:
        elector = self.world.electors[change.elector_id]
        if change.field == "phone":
            elector["phone"] = change.value
            elector["version"] += 1
        self.world.changes.append((change, elector["version"]))
        return elector["version"]

    def suppress(self, elector_id, constituency_id, reason, user_id, member_id=None):
        key, subject = ("member_id", member_id) if member_id is not None else ("elector_id", elector_id)
        if not any(s.get(key) == subject and (s["kind"] == "erasure" or s["channel"] == "all")
                   for s in self.world.suppressions):
            self.add_suppression(elector_id, member_id=member_id)

    def add_review_items(self, items):
        for item in items:
            if item.kind == "presence_report" and any(
                    r.kind == item.kind and r.elector_id == item.elector_id and r.data["flag"] == item.data["flag"]
                    for r in self.world.reviews):
                continue
            self.world.reviews.append(item)

    def lock_electors(self, elector_ids):
        pass  # the transaction holds the store's lock already

    def events(self, elector_ids):
        out: dict[int, tuple[list, list]] = {i: ([], []) for i in elector_ids}
        for row in self.world.contacts.values():
            if row.elector_id in out:
                out[row.elector_id][0].append(ContactEvent(
                    row.id, row.kind, row.occurred_at, row.channel, row.meaning, row.intention, row.strength,
                    row.supersedes_id, row.user_id, row.call_back_at))
        for change, _made in self.world.changes:
            if change.elector_id in out and change.field in ("moved", "deceased", "do_not_contact"):
                out[change.elector_id][1].append(FlagEvent(change.id, change.field, change.occurred_at))
        return out

    def save_states(self, states):
        self.world.states.update(copy.deepcopy(states))

    def enqueue_reconcile(self, elector_ids):
        self.world.queue |= set(elector_ids)

    def entitlement(self, user_id, now):
        ent = Entitlement()
        current = [a for a in self.world.assignments.values() if user_id in a.user_ids and a.starts_at <= now < a.ends_at]
        door_since: dict[int, datetime] = {}
        phone_since: dict[int, datetime] = {}  # elector -> since when this user reaches them so
        member_since: dict[int, tuple[datetime, str | None]] = {}

        def earliest(into, key, at):
            into[key] = min(into.get(key, at), at)

        for a in current:
            for pid in a.property_ids:
                ent.versions[("property", pid)] = self.world.properties[pid]["version"]
                for e in self.world.electors.values():
                    if e["property_id"] == pid:
                        earliest(door_since, e["id"], a.starts_at)
            for eid in a.elector_ids:
                earliest(phone_since if a.kind == "call" else door_since, eid, a.starts_at)
            for mid in a.member_ids:
                if mid not in member_since or a.starts_at < member_since[mid][0]:
                    member_since[mid] = (a.starts_at, a.reasons.get(mid))
        active: dict[int, list] = self.suppressions(set(door_since) | set(phone_since))
        for eid in set(door_since) | set(phone_since):
            elector = self.world.electors[eid]
            ways = {way for way, since in (("door", door_since), ("phone", phone_since)) if eid in since}
            if all(suppression_applies(active.get(eid, []), way) for way in ways):
                ent.suppressed[eid] = "erasure" if any(k == "erasure" for k, _ in active[eid]) else "do_not_contact"
            elif elector["status"] == "current":
                ent.versions[("elector", eid)] = elector["version"] * 2 + (1 if "phone" in ways else 0)
                pid = elector["property_id"]
                ent.versions[("property", pid)] = self.world.properties[pid]["version"]
                shown = views.activity(self.world.states.get(eid), door_since.get(eid), phone_since.get(eid))
                if shown is not None:
                    ent.derive("activity", eid, {"elector_id": eid, **shown})
        objected = self.member_suppressions(set(member_since))
        for mid, (since, reason) in member_since.items():
            m = self.world.members[mid]
            if suppression_applies(objected.get(mid, []), "phone"):
                continue
            calls = [ContactEvent(r.id, r.kind, r.occurred_at, r.channel, r.meaning, supersedes=r.supersedes_id,
                                  call_back_at=r.call_back_at) for r in self.world.contacts.values() if r.member_id == mid]
            ent.derive("member", mid, views.member(mid, m.get("first_name"), m.get("last_name"), m["phone"], reason,
                                                   views.latest_call(calls, since)))
        for a in current:
            ent.derive("campaign", a.campaign_id, self.world.campaigns[a.campaign_id][1])
            items = ([{"property_id": p} for p in a.property_ids] + [{"elector_id": e} for e in a.elector_ids]
                     + [{"member_id": m} for m in a.member_ids])
            ent.derive("assignment", a.id, {
                "id": a.id, "name": a.name, "kind": a.kind, "campaign_id": a.campaign_id,
                "starts_at": a.starts_at.isoformat(), "ends_at": a.ends_at.isoformat(),
                "items": views.list_items(items, ent.versions)})
        return ent

    def holdings(self, device_id, storage_id):
        return dict(self.world.holdings.get((device_id, storage_id), {}))

    def forget_holdings(self, device_id, storage_id):
        self.world.holdings[(device_id, storage_id)] = {}
        self.world.pending.pop((device_id, storage_id), None)

    def confirm_pending(self, device_id, storage_id, confirmed):
        key = (device_id, storage_id)
        entries = self.world.pending.pop(key, [])
        if confirmed:
            held = self.world.holdings.setdefault(key, {})
            for entity, entity_id, version in entries:
                if version is None:
                    held.pop((entity, entity_id), None)
                else:
                    held[(entity, entity_id)] = version

    def stage(self, device_id, storage_id, entries):
        self.world.pending[(device_id, storage_id)] = list(entries)

    def materialise(self, entity, ids, user_id, entitled):
        if entity in ("campaign", "assignment", "activity", "member"):
            return {i: entitled.data[(entity, i)] for i in ids}
        if entity == "property":
            return {i: {k: v for k, v in self.world.properties[i].items() if k not in ("constituency_id", "version")}
                    for i in ids}
        if entity == "elector":
            out = {}
            for i in ids:
                e = self.world.electors[i]
                body = {k: e[k] for k in ("id", "property_id", "elector_number", "surname", "forenames", "version")}
                if entitled.versions.get(("elector", i), 0) % 2:
                    body["phone"] = e["phone"]
                out[i] = body
            return out
        raise ValueError(f"unknown entity {entity!r}")

    # -- pull snapshots ---------------------------------------------------------------------------
    def lists_fingerprint(self, user_id, now):
        return sorted([a.id, a.version, a.starts_at.isoformat(), a.ends_at.isoformat()]
                      for a in self.world.assignments.values()
                      if user_id in a.user_ids and a.starts_at <= now < a.ends_at)

    def suppression_mark(self, now):
        # Transactions here are serial, so "every suppression so far" is exact.
        return {"seen": len(self.world.suppressions)}

    def suppressed_since(self, mark):
        return {("member", s["member_id"]) if s.get("member_id") is not None else ("elector", s["elector_id"])
                for s in self.world.suppressions[mark["seen"]:]}

    def holds_any(self, device_id, storage_id, keys):
        held = self.world.holdings.get((device_id, storage_id), {})
        return any(key in held for key in keys)

    def snapshot(self, device_id, storage_id):
        state = self.world.snapshots.get((device_id, storage_id))
        return Snapshot.from_dict(state) if state is not None else None

    def save_snapshot(self, device_id, storage_id, snapshot, items=None):
        key = (device_id, storage_id)
        self.world.snapshots[key] = copy.deepcopy(snapshot.to_dict())
        if items is not None:
            for other in [k for k in self.world.snapshot_items if k[0] == key]:
                del self.world.snapshot_items[other]
            self.world.snapshot_items[(key, snapshot.token)] = [tuple(i) for i in items]

    def snapshot_items(self, device_id, storage_id, snapshot, start, count):
        return list(self.world.snapshot_items.get(((device_id, storage_id), snapshot.token), [])[start:start + count])

    def drop_snapshot(self, device_id, storage_id):
        key = (device_id, storage_id)
        self.world.snapshots.pop(key, None)
        for other in [k for k in self.world.snapshot_items if k[0] == key]:
            del self.world.snapshot_items[other]

    def derive(self, entity, ids, user_id, now):
        entitled = self.entitlement(user_id, self.now() if now is None else now)
        return {i: entitled.data[(entity, i)] for i in ids if (entity, i) in entitled.data}
