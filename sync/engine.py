"""The sync engine: exactly-once push with a status per mutation, and resumable, acknowledged pull.

Push: each mutation is validated, checked against the user's lists, access and suppression, then
claimed by inserting its receipt (the claim is the point of exactly-once: a concurrent resend waits and
loses) and applied in the same transaction. Nothing is acknowledged that is not committed. Every elector
row a push may write is locked first, in id order, so pushes about the same street queue rather than
deadlock; a value the database refuses costs only its own mutation, never the batch.

Pull: the device's holdings (entity -> version it confirmed) are compared with what its user is
entitled to now. Anything new or changed is sent; anything held but no longer entitled is sent as a
delete. Because this compares versions rather than reading a log past a cursor, a change that
commits late is simply seen by the next pull: nothing can be skipped.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sync import PROTOCOL_VERSION, SCHEMA_VERSION, SUPPORTED_PROTOCOL_VERSIONS
from sync.clock import SKEW_TOLERANCE, ClockReading, correct
from sync.cursor import decode_cursor, encode_cursor, new_token
from sync.errors import BatchTooLarge, InvalidEnvelope, UnsupportedProtocol, WrongDevice
from sync.decide import Decider, Decision
from sync.fold import ContactEvent, FlagEvent, fold
from sync.protocol import (
    ELECTOR_FLAGS,
    MUTATION_FIELDS,
    Errors,
    Mutation,
    OutboxReport,
    Result,
    Status,
    content_hash,
    parse_datetime,
    parse_mutation,
    parse_outbox_report,
    parse_uuid,
)
from sync.rules import MAX_BIGINT, MAX_ID
from sync.store import (
    DataRefused,
    DeviceContext,
    Entitlement,
    OutboxHealth,
    Receipt,
    ReviewRequest,
    Snapshot,
    SnapshotItem,
    StorageState,
    Store,
    content_version,
)

# Pages send what a record needs before the record: campaigns, then lists, addresses, people, activity.
ENTITY_ORDER = {"campaign": 0, "assignment": 1, "property": 2, "elector": 3, "member": 4, "activity": 5}
# Entities that exist only as a view for the user, computed with the entitlement (their version is their content).
DERIVED = ("member", "activity")
DOORSTEP_OBJECTION = "Asked not to be contacted (recorded by a volunteer)."
LANDED = {Status.APPLIED.value, Status.CONFLICT.value}
NOT_STORABLE = ["The server could not store this record as it is. Export it and give it to your organiser."]


@dataclass(frozen=True)
class Limits:
    max_mutations: int = 500
    max_bytes: int = 2 * 1024 * 1024
    page_size: int = 500
    max_page_size: int = 2000
    # How long the server keeps a device's pull state; a device silent for longer starts afresh.
    tombstone_retention: timedelta = timedelta(days=90)
    # Two volunteers recording different intentions this close together is a conflict to review.
    conflict_window: timedelta = timedelta(hours=48)
    # Above this many electors touched by one push, reconciliation is left to the scheduled job.
    reconcile_inline_max: int = 2000
    # How long after a list ends its volunteers may still deliver records about it (late outboxes).
    assignment_grace: timedelta = timedelta(days=7)
    # A download computes what the device lacks once, at its first page, and serves the rest from that
    # snapshot. Off: every page is computed afresh from the whole entitlement (the bench's "before").
    pull_snapshots: bool = True


Claim = Callable[[list[Receipt]], set[uuid.UUID]]


def chain_link(m: Mutation) -> tuple[int | None, uuid.UUID | None]:
    """(elector, superseded record) of a correction or retraction, kept on its receipt whatever its status.

    A refused correction is never stored as a contact, but a later correction may name it; the link on
    its receipt still ties that later one to the original conversation, in whatever order they arrive.
    """
    if "supersedes" not in m.data:
        return None, None
    return m.data.get("elector_id"), uuid.UUID(m.data["supersedes"])


class _Known:
    """The store, as the decider sees it during one push: what the push read about its locked electors
    (their rows, their events and chain links, read once under the lock) is served from memory; everything
    else goes to the store. The lists handed out are copies, as the decider adds to them."""

    def __init__(self, store: Store, electors: dict, events: dict | None, links: dict | None):
        self._store, self._electors, self._events, self._links = store, electors, events, links

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def electors(self, ids):
        if set(ids) <= self._electors.keys():
            return {i: self._electors[i] for i in ids}
        return self._store.electors(ids)

    def events(self, elector_ids):
        if self._events is not None and set(elector_ids) <= self._events.keys():
            return {i: (list(self._events[i][0]), list(self._events[i][1])) for i in elector_ids}
        return self._store.events(elector_ids)

    def chain_links(self, elector_ids):
        if self._links is not None and set(elector_ids) <= self._events.keys():
            return {i: dict(self._links[i]) for i in elector_ids if i in self._links}
        return self._store.chain_links(elector_ids)


def _is_version(value: Any) -> bool:
    return type(value) is int and value in SUPPORTED_PROTOCOL_VERSIONS


class SyncEngine:
    def __init__(self, store: Store, limits: Limits | None = None):
        self.store = store
        self.limits = limits or Limits()
        self.decider = Decider(store, self.limits)

    # ------------------------------------------------------------------------------------------ hello
    def hello(self) -> dict:
        """What a client must know before it syncs: versions, limits, retention, the server's time."""
        return {
            "protocol_version": PROTOCOL_VERSION,
            "supported_protocol_versions": sorted(SUPPORTED_PROTOCOL_VERSIONS),
            "schema_version": SCHEMA_VERSION,
            "server_time": self.store.now(),
            "limits": {
                "max_mutations_per_push": self.limits.max_mutations,
                "max_push_bytes": self.limits.max_bytes,
                "page_size": self.limits.page_size,
                "max_page_size": self.limits.max_page_size,
            },
            "tombstone_retention_days": self.limits.tombstone_retention.days,
        }

    # ------------------------------------------------------------------------------------------- push
    def _envelope(self, ctx: DeviceContext, body: Any) -> tuple[uuid.UUID, datetime | None, list,
                                                                OutboxReport | None]:
        if not isinstance(body, dict):
            raise InvalidEnvelope("The body must be a JSON object.")
        version = body.get("protocol_version")
        if not _is_version(version):  # only the integer itself: true and 1.0 are not version 1
            raise UnsupportedProtocol(
                "This version of the app is too old for the server. Update the app, and your unsent "
                "records will be sent afterwards.",
                {"supported_protocol_versions": sorted(SUPPORTED_PROTOCOL_VERSIONS), "got": version},
            )
        errors = Errors()
        for name in sorted(set(body) - {"device_id", "storage_id", "protocol_version", "schema_version",
                                        "device_time", "mutations", "outbox"}):
            errors.add(name, "Unknown field.")
        device_id = parse_uuid(body.get("device_id"))
        if device_id is None:
            errors.add("device_id", "The device id from login is required.")
        storage_id = parse_uuid(body.get("storage_id"))
        if storage_id is None:
            errors.add("storage_id", "A UUID naming this device's local storage is required.")
        schema_version = body.get("schema_version")
        if type(schema_version) is not int or not 1 <= schema_version <= MAX_ID:
            errors.add("schema_version", "A whole number is required (the app's local schema version).")
        device_time = None
        if body.get("device_time") is not None:
            device_time = parse_datetime(body["device_time"])
            if device_time is None:
                errors.add("device_time", "An ISO 8601 time with a zone, between 1900 and 2999, read from the "
                                          "device clock at push time.")
        mutations = body.get("mutations")
        if not isinstance(mutations, list):
            errors.add("mutations", "A list of mutations is required.")
        report = parse_outbox_report(body.get("outbox"), errors)
        if errors:
            raise InvalidEnvelope("The push request is invalid.", errors.fields)
        if device_id != ctx.device_id:
            raise WrongDevice("This push names a different device from the one logged in.")
        if len(mutations) > self.limits.max_mutations:
            raise BatchTooLarge(
                f"At most {self.limits.max_mutations} mutations per push; send the rest in the next one.",
                {"max_mutations_per_push": self.limits.max_mutations, "got": len(mutations)},
            )
        return storage_id, device_time, mutations, report

    def push(self, ctx: DeviceContext, body: Any) -> dict:
        """Apply a batch from a device's outbox; one result per mutation, in order."""
        storage_id, device_time, raw_mutations, report = self._envelope(ctx, body)
        results: list[Result | None] = [None] * len(raw_mutations)
        parsed: list[tuple[int, Mutation]] = []
        resent, known = self._resends(raw_mutations)
        for index, raw in enumerate(raw_mutations):
            if index in resent:
                parsed.append((index, resent[index]))
                continue
            mutation, errors = parse_mutation(raw)
            if mutation is None:
                raw = raw if isinstance(raw, dict) else {}
                raw_id, raw_seq = raw.get("id"), raw.get("seq")
                results[index] = Result(str(raw_id) if raw_id is not None else None,
                                        raw_seq if type(raw_seq) is int else None, Status.REJECTED, errors.fields)
            else:
                parsed.append((index, mutation))
        try:
            with self.store.transaction():
                now, clock, last_seq = self._push_in_transaction(ctx, storage_id, device_time, parsed, results,
                                                                 report=report, known=known)
        except DataRefused:
            # The database refused a value that validation let through. Apply the batch one mutation at a
            # time, each in its own transaction, so only the mutation at fault is refused (with no receipt:
            # a resend is judged afresh, so nothing is refused for ever by a server defect).
            for item in parsed:
                try:
                    with self.store.transaction():
                        now, clock, last_seq = self._push_in_transaction(ctx, storage_id, device_time, [item],
                                                                         results, report=report)
                except DataRefused:
                    index, mutation = item
                    results[index] = Result(str(mutation.id), mutation.seq, Status.REJECTED,
                                            {"mutation": NOT_STORABLE})
            with self.store.transaction():
                now, clock, last_seq = self._push_in_transaction(ctx, storage_id, device_time, [], results,
                                                                 seen=parsed, report=report)
        return {
            "server_time": now,
            "results": [r.to_dict() for r in results],
            "last_seq": last_seq,
            "clock": {"offset_seconds": round(clock.offset.total_seconds(), 3), "skewed": clock.skewed},
        }

    def _resends(self, raws: list) -> tuple[dict[int, Mutation], dict[uuid.UUID, Receipt]]:
        """Mutations sent before with exactly the same content, by index: their receipt answers them (7.7), so
        they are not validated again. The same content (the receipt's hash: type, time, base version and data),
        an id, a seq and no other field is what passed validation the first time, so validating it again could
        only say the same; anything else, a different content included, is validated as usual first. Also
        returns the receipts read: those of every mutation that can be valid, so none is read twice."""
        ids: dict[int, uuid.UUID] = {}
        for index, raw in enumerate(raws):
            if (isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw.keys() <= MUTATION_FIELDS
                    and type(raw.get("seq")) is int and 1 <= raw["seq"] <= MAX_BIGINT):
                try:
                    ids[index] = uuid.UUID(raw["id"])
                except ValueError:
                    pass
        known = self.store.receipts(list(set(ids.values()))) if ids else {}
        out: dict[int, Mutation] = {}
        for index, mutation_id in ids.items():
            receipt = known.get(mutation_id)
            if receipt is not None:
                raw = raws[index]
                digest = content_hash(raw)
                if digest == receipt.content_hash:
                    # Only what a replay's answer and the storage's last seq read: the id, the seq and the hash.
                    out[index] = Mutation(mutation_id, raw["seq"], None, None, raw.get("data"),
                                          raw.get("base_version"), digest, raw)
        return out, known

    def _push_in_transaction(self, ctx: DeviceContext, storage_id: uuid.UUID, device_time: datetime | None,
                             parsed: list[tuple[int, Mutation]], results: list,
                             seen: list[tuple[int, Mutation]] | None = None,
                             report: OutboxReport | None = None, known: dict | None = None):
        """Answer ``parsed`` into ``results`` and record the storage's progress (``seen``: its seqs).
        ``known``: the receipts of every id in ``parsed``, when already read in this transaction."""
        now = self.store.now()
        clock = ClockReading.estimate(now, device_time)
        storage = self.store.storage(ctx.device_id, storage_id) or StorageState(ctx.device_id, storage_id)
        fresh, repeats = self._answer_replays(parsed, results, known)
        answers, receipts = self._apply(ctx, fresh, clock, now, self.store.claim)
        for index, result in answers:
            results[index] = result
        # The same id twice in one batch: answered like a resend of the first copy, from its receipt.
        if repeats:
            stored = self.store.receipts([m.id for _, m in repeats])
            for index, mutation in repeats:
                results[index] = self._replay(mutation, stored.get(mutation.id) or receipts[mutation.id])
        storage.last_seq = max([storage.last_seq] + [m.seq for _, m in (seen if seen is not None else parsed)])
        storage.clock_offset_seconds = clock.offset.total_seconds()
        storage.last_push_at = now
        self.store.save_storage(storage)
        if report is not None:
            # The oldest record's time is corrected like any device time (7.8), so a dead clock cannot make
            # stuck work look years old or not yet made.
            oldest = correct(report.oldest_at, clock, server_now=now).at if report.oldest_at else None
            self.store.save_outbox_report(ctx.device_id, storage_id, OutboxHealth(
                report.unsent, oldest, report.app_version, now))
        return now, clock, storage.last_seq

    def _apply(self, ctx: DeviceContext, fresh: list[tuple[int, Mutation]], clock: ClockReading, now: datetime,
               claim: Claim) -> tuple[list[tuple[int, Result]], dict[uuid.UUID, Receipt]]:
        """Decide, claim and apply new mutations; return each one's result and the receipts built."""
        if not fresh:
            return [], {}
        mutations = [m for _, m in fresh]
        # Every elector this batch may write is locked before anything that references it is written, and
        # before what the decisions depend on is read: in one global order (by id), in a mode that lets
        # foreign-key checks through, so no deadlock is possible between pushes, or with reconciliation,
        # whatever order their batches list the electors in. Electors a device may not write about are
        # not locked: a stranger's push cannot hold up anyone else's.
        writable = self.decider.writable(ctx, mutations, now)
        # Locked and read in one go: the electors' rows and, when the push will fold them itself (not left to
        # the scheduled job), all their events. The decisions read the history they need from these, and the
        # fold after the writes adds this push's own events to them instead of reading everything again.
        # Nothing can add to a locked elector's history meanwhile that is not folded again under this lock.
        inline = len(writable) <= self.limits.reconcile_inline_max
        electors, history, links = self.store.locked_history(writable, events=inline)
        decider = Decider(_Known(self.store, electors, history, links), self.limits)
        batch = decider.read(ctx, mutations, now, writable)
        decisions = [decider.decide(ctx, m, clock, now, batch) for m in mutations]
        receipts = {m.id: Receipt(m.id, ctx.device_id, m.seq, d.status.value, m.content_hash, d.details,
                                  *(chain_link(m) if d.status not in (Status.FORBIDDEN, Status.HELD)
                                    else (None, None)))
                    for m, d in zip(mutations, decisions)}
        # One lock order for all; by .int, which orders as the UUIDs do but compares in C.
        claimed = claim(sorted(receipts.values(), key=lambda r: r.mutation_id.int))
        lost = [m.id for m in mutations if m.id not in claimed]
        raced = self.store.receipts(lost) if lost else {}
        answers: list[tuple[int, Result]] = []
        touched: set[int] = set()
        contacts, reviews, effects = [], [], []
        held: dict[int, list[dict]] = {}
        for (index, mutation), decision in zip(fresh, decisions):
            if mutation.id not in claimed:  # another push of the same mutation got there first
                answers.append((index, self._replay(mutation, raced[mutation.id])))
                continue
            answers.append((index, Result(str(mutation.id), mutation.seq, decision.status, decision.details)))
            if decision.status == Status.HELD:
                held.setdefault(decision.constituency_id, []).append(mutation.raw)
                continue
            if decision.contact is not None:
                contacts.append(decision.contact)
            effects.append(decision)
            reviews.extend(decision.reviews)
            if decision.elector_id is not None and decision.status in (Status.APPLIED, Status.CONFLICT):
                touched.add(decision.elector_id)
            link_elector, _ = chain_link(mutation)
            if decision.status != Status.FORBIDDEN and link_elector in batch.electors:
                touched.add(link_elector)  # even refused, its chain link may join others' chains
        for decision in sorted(effects, key=lambda d: d.elector_id or 0):
            self._apply_changes(decision, ctx)
        if contacts:
            self.store.insert_contacts(contacts)
        for constituency_id, raws in sorted(held.items()):
            reviews.append(ReviewRequest(constituency_id, "held_delivery", None, {
                "user_id": ctx.user_id, "device_id": str(ctx.device_id), "delivered_at": now.isoformat(),
                "access_ended_at": (ctx.access_ended_at or ctx.suspended_from).isoformat(),
                "suspended": ctx.access_ended_at is None,
                "clock_offset_seconds": clock.offset.total_seconds(), "mutations": raws, "decisions": {},
            }))
        if reviews:
            self.store.add_review_items(reviews)
        if history is not None and touched <= history.keys():
            self._fold_after_push(touched, history, links, contacts, effects,
                                  [receipts[i] for i in claimed if i in receipts])
        else:
            self._reconcile_after_push(touched)
        return answers, receipts

    def _fold_after_push(self, touched: set[int], history: dict, links: dict, contacts: list, effects: list,
                         claimed: list[Receipt]) -> None:
        """``reconcile(touched)``, from the history read under the lock and what this push has just written:
        its contacts, its flags and the chain links of its refused corrections (what ``events`` and
        ``chain_links`` would read back now)."""
        if not touched:
            return
        events = {eid: (list(history[eid][0]), list(history[eid][1])) for eid in touched}
        chains = {eid: dict(links.get(eid, {})) for eid in touched}
        for row in contacts:
            if row.elector_id in events:
                events[row.elector_id][0].append(ContactEvent(
                    row.id, row.kind, row.occurred_at, row.channel, row.meaning, row.intention, row.strength,
                    row.supersedes_id, row.user_id, row.call_back_at))
        for decision in effects:
            for change in decision.changes:
                if change.field in ELECTOR_FLAGS and change.elector_id in events:
                    events[change.elector_id][1].append(FlagEvent(change.id, change.field, change.occurred_at))
        for r in claimed:
            if r.supersedes_id is not None and r.elector_id in chains and r.status not in LANDED:
                chains[r.elector_id][r.mutation_id] = r.supersedes_id
        # Only electors with events have a state (as reconcile).
        self.store.save_states({eid: fold(*events[eid], links=chains[eid]) for eid in sorted(touched)
                                if events[eid] != ([], [])})

    def settle_held(self, ctx: DeviceContext, raws: list[dict], *, delivered_at: datetime,
                    clock_offset_seconds: float) -> list[Result]:
        """Apply mutations that a device delivered after its access ended, now a CLP admin has accepted them.

        They are judged as the device's own pushes would have been when they arrived (lists as at the
        delivery, the clock offset measured then), credited to its user, and their held receipts are
        replaced by the outcome. Runs inside the caller's transaction."""
        ctx = replace(ctx, access_ended_at=None, suspended_from=None, lists_as_of=delivered_at)
        offset = timedelta(seconds=clock_offset_seconds)
        clock = ClockReading(offset, abs(offset) > SKEW_TOLERANCE)
        fresh, answers, refused = [], [], []
        for index, raw in enumerate(raws):
            mutation, errors = parse_mutation(raw)
            if mutation is not None:
                fresh.append((index, mutation))
                continue
            # Valid when delivered, but the rules have changed since: refused now, and its receipt says so.
            answers.append((index, Result(raw["id"], raw["seq"], Status.REJECTED, errors.fields)))
            refused.append(Receipt(uuid.UUID(raw["id"]), ctx.device_id, raw["seq"], Status.REJECTED.value,
                                   content_hash(raw), errors.fields))
        if refused:
            self.store.settle(refused)
        applied, _ = self._apply(ctx, fresh, clock, self.store.now(), self.store.settle)
        return [result for _, result in sorted(answers + applied, key=lambda a: a[0])]

    def _answer_replays(self, parsed: list[tuple[int, Mutation]], results: list, known: dict | None = None):
        """Answer mutations already processed (by id). Return the new ones, and repeats of a new id
        within this batch (answered once the first copy is decided)."""
        if known is None:
            known = self.store.receipts([m.id for _, m in parsed]) if parsed else {}
        fresh, repeats, seen = [], [], set()
        for index, mutation in parsed:
            receipt = known.get(mutation.id)
            if receipt is not None:
                results[index] = self._replay(mutation, receipt)
            elif mutation.id in seen:
                repeats.append((index, mutation))
            else:
                seen.add(mutation.id)
                fresh.append((index, mutation))
        return fresh, repeats

    @staticmethod
    def _replay(mutation: Mutation, receipt: Receipt) -> Result:
        if receipt.content_hash != mutation.content_hash:
            return Result(str(mutation.id), mutation.seq, Status.ID_REUSED,
                          {"message": "This id was already used for different content; the first version is kept."})
        if receipt.status in LANDED:
            return Result(str(mutation.id), mutation.seq, Status.DUPLICATE)
        # A mutation refused (or held) before is answered the same again, for the same reason.
        return Result(str(mutation.id), mutation.seq, Status(receipt.status), receipt.details)

    # ------------------------------------------------------------------------------------ decisions
    def _apply_changes(self, decision: Decision, ctx: DeviceContext) -> None:
        """Effects beyond the contact record itself. An objection, however recorded, becomes a suppression."""
        for change in decision.changes:
            self.store.apply_change(change)
            if change.field == "do_not_contact":
                self.store.suppress(change.elector_id, decision.constituency_id,
                                    decision.reason or DOORSTEP_OBJECTION, ctx.user_id)
        if decision.contact is not None and decision.contact.meaning == "do_not_contact":
            self.store.suppress(decision.contact.elector_id, decision.contact.constituency_id,
                                decision.contact.notes or DOORSTEP_OBJECTION, ctx.user_id,
                                member_id=decision.contact.member_id)

    # ------------------------------------------------------------------------------- reconciliation
    def _reconcile_after_push(self, elector_ids: set[int]) -> None:
        if len(elector_ids) > self.limits.reconcile_inline_max:
            self.store.enqueue_reconcile(elector_ids)
        elif elector_ids:
            self.reconcile(elector_ids)

    def reconcile(self, elector_ids: set[int]) -> int:
        """Recompute the derived state of these electors from all their events."""
        self.store.lock_electors(elector_ids)  # so two concurrent pushes cannot write a stale state
        events = self.store.events(elector_ids)
        links = self.store.chain_links(elector_ids)
        # Only electors with events have a state (events are never deleted, so none loses one here).
        states = {eid: fold(*events[eid], links=links.get(eid, {})) for eid in elector_ids
                  if events.get(eid, ([], [])) != ([], [])}
        self.store.save_states(states)
        return len(states)

    # ------------------------------------------------------------------------------------------- pull
    def pull(self, ctx: DeviceContext, *, storage_id: uuid.UUID, cursor: str | None,
             limit: int | None = None) -> dict:
        """The next page of changes this device is entitled to, or an instruction (wipe, reset)."""
        limit = min(limit or self.limits.page_size, self.limits.max_page_size)
        now = self.store.now()
        base = {"server_time": now, "changes": [], "has_more": False, "wipe": False, "reset_required": False}
        if ctx.access_ended_at is not None:
            # A device whose access ended must delete every piece of personal data it holds.
            return {**base, "wipe": True, "cursor": None}
        with self.store.transaction():
            storage = self.store.storage(ctx.device_id, storage_id, pages=True)
            snapshot = None
            if cursor is None:
                # A pull from nothing: the device holds nothing, whatever we thought before.
                storage = storage or StorageState(ctx.device_id, storage_id)
                self.store.forget_holdings(ctx.device_id, storage_id)
                self.store.drop_snapshot(ctx.device_id, storage_id)
                storage.acked_token, storage.pending_token = new_token(), None
            else:
                reason = self._check_cursor(storage, storage_id, cursor, now)
                if reason:
                    return {**base, "reset_required": True, "reason": reason, "cursor": None}
                token = decode_cursor(cursor)[1]
                confirmed = token == storage.pending_token
                self.store.confirm_pending(ctx.device_id, storage_id, confirmed=confirmed)
                if confirmed:
                    storage.acked_token = token
                storage.pending_token = None
                snapshot = self.store.snapshot(ctx.device_id, storage_id)
                if snapshot is not None and not (confirmed and snapshot.page_token == token):
                    # The page the snapshot served never arrived (or another tab's did): compute afresh.
                    self.store.drop_snapshot(ctx.device_id, storage_id)
                    snapshot = None
            # While the CLP is suspended nothing new is sent, but removals are (an objection or an erasure
            # must reach every phone); nothing is wiped, as the phone may hold work not yet delivered.
            removals_only = ctx.suspended_from is not None and ctx.suspended_from <= now
            served = None
            if snapshot is not None and not removals_only:
                served = self._snapshot_page(ctx, storage_id, snapshot, limit, now)
            if served is None:
                if snapshot is not None:
                    self.store.drop_snapshot(ctx.device_id, storage_id)
                page, has_more, rest = self._page(ctx, storage_id, limit, now, removals_only=removals_only)
                snapshot = rest if has_more else None
            else:
                page, has_more, snapshot = served
            if page:
                # Random, so a page sent to one tab can never be confirmed by another tab's cursor.
                storage.pending_token = token = new_token()
            else:
                token = storage.acked_token
            storage.last_pull_at = now
            self.store.save_storage(storage)
            if isinstance(snapshot, tuple):  # a download's first page: its work list, stored once
                self.store.save_snapshot(ctx.device_id, storage_id, replace(snapshot[0], page_token=token),
                                         snapshot[1])
            elif snapshot is not None and has_more:
                self.store.save_snapshot(ctx.device_id, storage_id, replace(snapshot, page_token=token))
            elif served is not None:
                self.store.drop_snapshot(ctx.device_id, storage_id)  # the download is complete
        return {**base, "changes": page, "has_more": has_more, "cursor": encode_cursor(storage_id, token)}

    def _check_cursor(self, storage: StorageState | None, storage_id: uuid.UUID, cursor: str,
                      now: datetime) -> str | None:
        decoded = decode_cursor(cursor)
        if decoded is None:
            return "invalid_cursor"
        cursor_storage, token = decoded
        if storage is None or cursor_storage != storage_id:
            return "unknown_storage"
        if storage.last_pull_at is not None and now - storage.last_pull_at > self.limits.tombstone_retention:
            return "cursor_expired"
        if token not in (storage.acked_token, storage.pending_token):
            return "stale_cursor"
        return None

    def _page(self, ctx: DeviceContext, storage_id: uuid.UUID, limit: int, now: datetime, *,
              removals_only: bool = False) -> tuple[list, bool, tuple[Snapshot, list[SnapshotItem]] | None]:
        """A page computed afresh: the whole entitlement against the holdings. When more is left than one page
        holds, also the rest of the work list as a snapshot, so the download's next pages need not do this
        again."""
        # What makes a snapshot out of date is read before the entitlement it goes with (see the store).
        guard = None if removals_only or not self.limits.pull_snapshots else (
            self.store.lists_fingerprint(ctx.user_id, now), self.store.suppression_mark(now))
        entitled = self.store.entitlement(ctx.user_id, now)
        held = self.store.holdings(ctx.device_id, storage_id)
        deletes = sorted(key for key in held if key not in entitled.versions)
        upserts = [] if removals_only else sorted(
            (key for key, version in entitled.versions.items() if held.get(key) != version),
            key=lambda k: (ENTITY_ORDER[k[0]], k[1]))
        work = deletes + upserts
        wanted = work[:limit]
        has_more = len(work) > limit
        by_entity: dict[str, list[int]] = {}
        for entity, entity_id in wanted:
            if (entity, entity_id) in entitled.versions:
                by_entity.setdefault(entity, []).append(entity_id)
        data = {entity: self.store.materialise(entity, ids, ctx.user_id, entitled) for entity, ids in by_entity.items()}
        changes, staged = [], []
        for entity, entity_id in wanted:
            if (entity, entity_id) not in entitled.versions:
                reason = _delete_reason(entity, entity_id, entitled)
                changes.append({"entity": entity, "id": entity_id, "op": "delete", "reason": reason})
                staged.append((entity, entity_id, None))
                continue
            body = data[entity].get(entity_id)
            if body is None:  # gone between the entitlement and now; the next pull deletes it
                continue
            version = entitled.versions[(entity, entity_id)]
            changes.append({"entity": entity, "id": entity_id, "op": "upsert", "version": version, "data": body})
            staged.append((entity, entity_id, version))
        self.store.stage(ctx.device_id, storage_id, staged)
        rest = None
        if has_more and guard is not None:
            items: list[SnapshotItem] = [
                (e, i, None, _delete_reason(e, i, entitled)) if (e, i) not in entitled.versions
                else (e, i, entitled.versions[(e, i)], None) for e, i in work[limit:]]
            rest = (Snapshot(new_token(), 0, 0, len(items), guard[0], guard[1]), items)
        return changes, has_more, rest

    def _snapshot_page(self, ctx: DeviceContext, storage_id: uuid.UUID, snapshot: Snapshot, limit: int,
                       now: datetime) -> tuple[list, bool, Snapshot] | None:
        """The next page of a download from its snapshot, or None when the snapshot is out of date (then the
        page is computed afresh): the user's lists changed, or a suppression the snapshot does not account for
        names someone the device holds or this page would send."""
        if self.store.lists_fingerprint(ctx.user_id, now) != snapshot.lists:
            return None
        items = self.store.snapshot_items(ctx.device_id, storage_id, snapshot, snapshot.position, limit)
        if not items:
            return None
        objected = self.store.suppressed_since(snapshot.suppressions)
        if objected and (any((e, i) in objected for e, i, version, _ in items if version is not None)
                         or self.store.holds_any(ctx.device_id, storage_id, objected)):
            return None
        by_entity: dict[str, list[int]] = {}
        for entity, entity_id, version, _ in items:
            if version is not None:
                if entity in ("campaign", "assignment"):
                    return None  # their data comes with the whole entitlement (only after many deletes)
                by_entity.setdefault(entity, []).append(entity_id)
        versions = Entitlement(versions={(e, i): v for e, i, v, _ in items if v is not None})
        data = {entity: (self.store.derive(entity, ids, ctx.user_id, now) if entity in DERIVED
                         else self.store.materialise(entity, ids, ctx.user_id, versions))
                for entity, ids in by_entity.items()}
        changes, staged = [], []
        for entity, entity_id, version, reason in items:
            if version is None:
                changes.append({"entity": entity, "id": entity_id, "op": "delete", "reason": reason})
                staged.append((entity, entity_id, None))
                continue
            body = data[entity].get(entity_id)
            if body is None:  # gone since the snapshot; the next computation deletes it if the device holds it
                continue
            if entity in DERIVED:
                version = content_version(body)  # their data is computed now, so is their version
            changes.append({"entity": entity, "id": entity_id, "op": "upsert", "version": version, "data": body})
            staged.append((entity, entity_id, version))
        self.store.stage(ctx.device_id, storage_id, staged)
        advanced = replace(snapshot, position=snapshot.position + len(items))
        return changes, advanced.position < advanced.size, advanced


def _delete_reason(entity: str, entity_id: int, entitled: Entitlement) -> str:
    if entity == "elector" and entity_id in entitled.suppressed:
        return "erased" if entitled.suppressed[entity_id] == "erasure" else "suppressed"
    return "out_of_scope"
