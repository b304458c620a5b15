"""The sync engine: exactly-once push with a status per mutation, and resumable, acknowledged pull.

Push: each mutation is validated, checked against scope, suppression and access, then claimed by
inserting its receipt (the claim is the point of exactly-once: a concurrent resend waits and loses)
and applied in the same transaction. Nothing is acknowledged that is not committed.

Pull: the device's holdings (entity -> version it confirmed) are compared with what its user is
entitled to now. Anything new or changed is sent; anything held but no longer entitled is sent as a
delete. Because this compares versions rather than reading a log past a cursor, a change that
commits late is simply seen by the next pull: nothing can be skipped.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sync import PROTOCOL_VERSION, SCHEMA_VERSION, SUPPORTED_PROTOCOL_VERSIONS
from sync.clock import ClockReading, correct
from sync.cursor import decode_cursor, encode_cursor, new_token
from sync.errors import BatchTooLarge, InvalidEnvelope, UnsupportedProtocol, WrongDevice
from sync.fold import ContactEvent, fold, intention_conflict
from sync.protocol import Errors, Mutation, MutationType, Result, Status, parse_datetime, parse_mutation
from sync.rules import answer_problem, suppression_applies
from sync.store import (
    ContactRow,
    DeviceContext,
    ElectorChange,
    Receipt,
    ReviewRequest,
    StorageState,
    Store,
)

ENTITY_ORDER = {"campaign": 0, "assignment": 1, "property": 2, "elector": 3}
DOORSTEP_OBJECTION = "Asked not to be contacted (recorded by a volunteer)."
LANDED = {Status.APPLIED.value, Status.CONFLICT.value}


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


@dataclass
class _Decision:
    status: Status
    details: Any = None
    contact: ContactRow | None = None
    changes: tuple[ElectorChange, ...] = ()
    review: ReviewRequest | None = None
    elector_id: int | None = None
    constituency_id: int | None = None
    reason: str | None = None


def chain_link(m: Mutation) -> tuple[int | None, uuid.UUID | None]:
    """(elector, superseded record) of a correction or retraction, kept on its receipt whatever its status.

    A refused correction is never stored as a contact, but a later correction may name it; the link on
    its receipt still ties that later one to the original conversation, in whatever order they arrive.
    """
    if "supersedes" not in m.data:
        return None, None
    return m.data.get("elector_id"), uuid.UUID(m.data["supersedes"])


class SyncEngine:
    def __init__(self, store: Store, limits: Limits | None = None):
        self.store = store
        self.limits = limits or Limits()

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
    def _envelope(self, ctx: DeviceContext, body: Any) -> tuple[uuid.UUID, datetime | None, list]:
        if not isinstance(body, dict):
            raise InvalidEnvelope("The body must be a JSON object.")
        version = body.get("protocol_version")
        if version not in SUPPORTED_PROTOCOL_VERSIONS:
            raise UnsupportedProtocol(
                "This version of the app is too old for the server. Update the app, and your unsent "
                "records will be sent afterwards.",
                {"supported_protocol_versions": sorted(SUPPORTED_PROTOCOL_VERSIONS), "got": version},
            )
        errors = Errors()
        for name in sorted(set(body) - {"device_id", "storage_id", "protocol_version", "schema_version",
                                        "device_time", "mutations"}):
            errors.add(name, "Unknown field.")
        try:
            device_id = uuid.UUID(str(body.get("device_id")))
        except ValueError:
            device_id = None
            errors.add("device_id", "The device id from login is required.")
        try:
            storage_id = uuid.UUID(str(body.get("storage_id")))
        except ValueError:
            storage_id = None
            errors.add("storage_id", "A UUID naming this device's local storage is required.")
        if not isinstance(body.get("schema_version"), int):
            errors.add("schema_version", "A whole number is required.")
        device_time = None
        if body.get("device_time") is not None:
            device_time = parse_datetime(body["device_time"])
            if device_time is None:
                errors.add("device_time", "An ISO 8601 time with a zone, read from the device clock at push time.")
        mutations = body.get("mutations")
        if not isinstance(mutations, list):
            errors.add("mutations", "A list of mutations is required.")
        if errors:
            raise InvalidEnvelope("The push request is invalid.", errors.fields)
        if device_id != ctx.device_id:
            raise WrongDevice("This push names a different device from the one logged in.")
        if len(mutations) > self.limits.max_mutations:
            raise BatchTooLarge(
                f"At most {self.limits.max_mutations} mutations per push; send the rest in the next one.",
                {"max_mutations_per_push": self.limits.max_mutations, "got": len(mutations)},
            )
        return storage_id, device_time, mutations

    def push(self, ctx: DeviceContext, body: Any) -> dict:
        """Apply a batch from a device's outbox; one result per mutation, in order."""
        storage_id, device_time, raw_mutations = self._envelope(ctx, body)
        results: list[Result | None] = [None] * len(raw_mutations)
        parsed: list[tuple[int, Mutation]] = []
        for index, raw in enumerate(raw_mutations):
            mutation, errors = parse_mutation(raw)
            if mutation is None:
                raw = raw if isinstance(raw, dict) else {}
                raw_id, raw_seq = raw.get("id"), raw.get("seq")
                results[index] = Result(str(raw_id) if raw_id is not None else None,
                                        raw_seq if isinstance(raw_seq, int) else None, Status.REJECTED, errors.fields)
            else:
                parsed.append((index, mutation))

        with self.store.transaction():
            now = self.store.now()
            clock = ClockReading.estimate(now, device_time)
            storage = self.store.storage(ctx.device_id, storage_id) or StorageState(ctx.device_id, storage_id)
            fresh, repeats = self._answer_replays(parsed, results)
            decisions, electors = self._decide(ctx, fresh, clock, now)
            receipts = [Receipt(m.id, ctx.device_id, m.seq, d.status.value, m.content_hash, d.details,
                                *chain_link(m)) for (_, m), d in zip(fresh, decisions)]
            claimed = self.store.claim(receipts)
            lost = [m.id for _, m in fresh if m.id not in claimed]
            raced = self.store.receipts(lost) if lost else {}
            touched: set[int] = set()
            contacts, reviews, effects = [], [], []
            for (index, mutation), decision in zip(fresh, decisions):
                if mutation.id not in claimed:  # another push of the same mutation got there first
                    results[index] = self._replay(mutation, raced[mutation.id])
                    continue
                results[index] = Result(str(mutation.id), mutation.seq, decision.status, decision.details)
                if decision.contact is not None:
                    contacts.append(decision.contact)
                effects.append(decision)
                if decision.review:
                    reviews.append(decision.review)
                if decision.elector_id is not None and decision.status in (Status.APPLIED, Status.CONFLICT):
                    touched.add(decision.elector_id)
                link_elector, _ = chain_link(mutation)
                if link_elector in electors:  # even refused, its chain link may join others' chains
                    touched.add(link_elector)
            # The same id twice in one batch: answered like a resend of the first copy, from its receipt.
            own = {r.mutation_id: r for r in receipts}
            for index, mutation in repeats:
                results[index] = self._replay(mutation, raced.get(mutation.id) or own[mutation.id])
            # Elector rows are locked in id order, as reconciliation does, so concurrent pushes cannot deadlock.
            for decision in sorted(effects, key=lambda d: d.elector_id or 0):
                self._apply_changes(decision, ctx)
            if contacts:
                self.store.insert_contacts(contacts)
            if reviews:
                self.store.add_review_items(reviews)
            self._reconcile_after_push(touched)
            storage.last_seq = max([storage.last_seq] + [m.seq for _, m in parsed])
            storage.clock_offset_seconds = clock.offset.total_seconds()
            storage.last_push_at = now
            self.store.save_storage(storage)
        return {
            "server_time": now,
            "results": [r.to_dict() for r in results],
            "last_seq": storage.last_seq,
            "clock": {"offset_seconds": round(clock.offset.total_seconds(), 3), "skewed": clock.skewed},
        }

    def _answer_replays(self, parsed: list[tuple[int, Mutation]], results: list):
        """Answer mutations already processed (by id). Return the new ones, and repeats of a new id
        within this batch (answered once the first copy is decided)."""
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
        # A mutation refused before is refused again, for the same reason.
        return Result(str(mutation.id), mutation.seq, Status(receipt.status), receipt.details)

    # ------------------------------------------------------------------------------------ decisions
    def _decide(self, ctx: DeviceContext, fresh: list[tuple[int, Mutation]], clock: ClockReading,
                now: datetime) -> tuple[list[_Decision], dict]:
        mutations = [m for _, m in fresh]
        elector_ids = {m.data["elector_id"] for m in mutations if "elector_id" in m.data}
        campaigns = self.store.campaigns({m.data["campaign_id"] for m in mutations if "campaign_id" in m.data})
        electors = self.store.electors(elector_ids)
        suppressions = self.store.suppressions(elector_ids)
        targets = self.store.contact_electors({uuid.UUID(m.data["supersedes"]) for m in mutations
                                               if "supersedes" in m.data})
        properties = self.store.property_constituencies({m.data["property_id"] for m in mutations
                                                         if m.type == MutationType.ELECTOR_NEW})
        spoken = {m.data["elector_id"] for m in mutations if m.data.get("intention") is not None}
        # Earlier contacts of electors given an intention in this batch; each decision adds its own.
        history = {eid: contacts for eid, (contacts, _) in self.store.events(spoken).items()} if spoken else {}
        links = self.store.chain_links(spoken) if spoken else {}
        return [self._decide_one(ctx, m, clock, now, campaigns, electors, suppressions, targets, properties,
                                 (history, links)) for m in mutations], electors

    def _decide_one(self, ctx, m: Mutation, clock, now, campaigns, electors, suppressions, targets,
                    properties, history) -> _Decision:
        """What to do with one mutation. ``targets``: stored contacts it may supersede, by id, with their
        elector; ``history``: (earlier contacts, chain links) of electors given an intention in this batch."""
        if m.type == MutationType.ELECTOR_NEW:
            constituency_id = properties.get(m.data["property_id"])
            if constituency_id is None:
                return _Decision(Status.REJECTED, {"data.property_id": ["No such property."]})
            if not ctx.covers(constituency_id):
                return _Decision(Status.FORBIDDEN, {"reason": "out_of_scope"})
            when = correct(m.occurred_at, clock, server_now=now)
            if ctx.access_until is not None and when.at > ctx.access_until:
                return _Decision(Status.FORBIDDEN, {"reason": "access_withdrawn"})
            data = {k: m.data.get(k) for k in ("property_id", "surname", "forenames", "phone", "notes")}
            data.update(found_at=when.at.isoformat(), user_id=ctx.user_id, mutation_id=str(m.id))
            return _Decision(Status.APPLIED, review=ReviewRequest(constituency_id, "new_elector", None, data))

        elector = electors.get(m.data["elector_id"])
        if elector is None:
            return _Decision(Status.REJECTED, {"data.elector_id": ["No such elector."]})
        if not ctx.covers(elector.constituency_id):
            return _Decision(Status.FORBIDDEN, {"reason": "out_of_scope"})
        campaign = campaigns.get(m.data.get("campaign_id")) if "campaign_id" in m.data else None
        when = correct(m.occurred_at, clock, server_now=now, not_before=campaign.starts_at if campaign else None)
        if ctx.access_until is not None and when.at > ctx.access_until:
            return _Decision(Status.FORBIDDEN, {"reason": "access_withdrawn",
                                                "access_ended_at": ctx.access_until.isoformat()})
        channel = m.data.get("channel")
        if suppression_applies(suppressions.get(elector.id, []), {"door": "door", "phone": "phone"}.get(channel)):
            # Suppression wins: nothing personal about this contact is stored.
            return _Decision(Status.SUPPRESSED)
        if m.type == MutationType.ELECTOR_UPDATE:
            return self._decide_update(ctx, m, elector, when.at, now)
        if campaign is None or (campaign.constituency_id is not None and not ctx.covers(campaign.constituency_id)):
            return _Decision(Status.REJECTED, {"data.campaign_id": ["No such campaign for your CLP."]})
        if "supersedes" in m.data:
            target = targets.get(uuid.UUID(m.data["supersedes"]))
            if target is not None and target != elector.id:
                return _Decision(Status.REJECTED, {"data.supersedes": ["That contact is about another elector."]})
        meaning, problems = self._check_codes(m, campaign)
        if problems:
            return _Decision(Status.REJECTED, problems)
        kind = {MutationType.CONTACT: "record", MutationType.CONTACT_CORRECTION: "correction",
                MutationType.CONTACT_RETRACTION: "retraction"}[m.type]
        row = ContactRow(
            id=m.id, kind=kind, campaign_id=campaign.id, constituency_id=elector.constituency_id,
            elector_id=elector.id, channel=channel, outcome=m.data.get("outcome"),
            intention=m.data.get("intention"), strength=m.data.get("strength"),
            survey_answers=m.data.get("survey_answers") or {}, notes=m.data.get("notes") or m.data.get("reason"),
            supersedes_id=uuid.UUID(m.data["supersedes"]) if "supersedes" in m.data else None,
            occurred_at=when.at, device_occurred_at=m.occurred_at, clock_flags=when.flags, received_at=now,
            user_id=ctx.user_id, device_id=ctx.device_id, content_hash=m.content_hash, meaning=meaning,
        )
        details = {"clock_flags": list(when.flags)} if when.flags else None
        decision = _Decision(Status.APPLIED, details, contact=row, elector_id=elector.id)
        if kind != "retraction":
            contacts, links = history
            self._check_intention_conflict(decision, row, contacts.setdefault(row.elector_id, []),
                                           links.get(row.elector_id, {}))
        return decision

    @staticmethod
    def _check_codes(m: Mutation, campaign) -> tuple[str | None, dict]:
        problems: dict[str, list[str]] = {}
        meaning = None
        if m.type != MutationType.CONTACT_RETRACTION:
            outcome = campaign.outcomes.get(m.data["outcome"])
            if outcome is None:
                problems["data.outcome"] = [f"Not an outcome of this campaign: {', '.join(sorted(campaign.outcomes))}."]
            else:
                meaning, channels = outcome
                if channels and m.data["channel"] not in channels:
                    problems["data.outcome"] = [f"This outcome is for {', '.join(channels)} contacts."]
            intention, strength = m.data.get("intention"), m.data.get("strength")
            if intention is not None and intention not in campaign.intentions:
                problems["data.intention"] = ["Not a voting intention code of this campaign."]
            if intention is not None and meaning is not None and meaning != "spoke":
                problems["data.intention"] = ["A voting intention is recorded only when you spoke to the elector."]
            if strength is not None and strength not in campaign.strengths:
                problems["data.strength"] = ["Not a strength code of this campaign."]
            answers = m.data.get("survey_answers") or {}
            unknown = sorted(set(answers) - set(campaign.questions))
            if unknown:
                problems["data.survey_answers"] = [f"Not questions of this campaign: {', '.join(unknown)}."]
            wrong = [f"{key}: {message}" for key, value in sorted(answers.items()) if key in campaign.questions
                     and (message := answer_problem(campaign.questions[key], value))]
            if wrong:
                problems.setdefault("data.survey_answers", []).extend(wrong)
        return meaning, problems

    def _check_intention_conflict(self, decision: _Decision, row: ContactRow, contacts: list, links: dict) -> None:
        """Compare with earlier contacts of the elector (``contacts`` gains this one for the rest of the batch)."""
        new = ContactEvent(row.id, row.kind, row.occurred_at, row.channel, row.meaning, row.intention,
                           row.strength, row.supersedes_id, row.user_id)
        other = intention_conflict(new, contacts, self.limits.conflict_window, links)
        contacts.append(new)
        if other is None:
            return
        decision.status = Status.CONFLICT
        decision.details = {**(decision.details or {}), "conflicts_with": str(other.id)}
        decision.review = ReviewRequest(row.constituency_id, "intention_conflict", row.elector_id, {
            "records": [str(other.id), str(row.id)],
            "intentions": [other.intention, row.intention],
        })

    def _decide_update(self, ctx, m: Mutation, elector, at: datetime, now: datetime) -> _Decision:
        changes = m.data["changes"]
        field_name = next((name for name in changes if name == "phone"), None)
        decision = _Decision(Status.APPLIED, elector_id=elector.id, constituency_id=elector.constituency_id,
                             reason=m.data.get("reason"))
        decision.changes = tuple(
            ElectorChange(m.id, elector.id, name, changes[name], m.base_version, at, now, ctx.user_id, ctx.device_id)
            for name in sorted(changes)
        )
        if field_name and m.base_version is not None and m.base_version < elector.version:
            rivals = [(value, version, user) for value, version, user
                      in self.store.field_changes_since(elector.id, field_name, m.base_version)
                      if value != changes[field_name]]
            if rivals:
                decision.status = Status.CONFLICT
                decision.details = {"field": field_name, "base_version": m.base_version,
                                    "current_version": elector.version}
                decision.review = ReviewRequest(elector.constituency_id, "field_conflict", elector.id, {
                    "field": field_name, "values": [rivals[-1][0], changes[field_name]],
                    "base_version": m.base_version, "mutation_id": str(m.id),
                })
        return decision

    def _apply_changes(self, decision: _Decision, ctx: DeviceContext) -> None:
        """Effects beyond the contact record itself. An objection, however recorded, becomes a suppression."""
        for change in decision.changes:
            self.store.apply_change(change)
            if change.field == "do_not_contact":
                self.store.suppress(change.elector_id, decision.constituency_id,
                                    decision.reason or DOORSTEP_OBJECTION, ctx.user_id)
        if decision.contact is not None and decision.contact.meaning == "do_not_contact":
            self.store.suppress(decision.contact.elector_id, decision.contact.constituency_id,
                                decision.contact.notes or DOORSTEP_OBJECTION, ctx.user_id)

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
        if ctx.access_until is not None:
            # A revoked device must delete every piece of personal data it holds.
            return {**base, "wipe": True, "cursor": None}
        with self.store.transaction():
            storage = self.store.storage(ctx.device_id, storage_id)
            if cursor is None:
                # A pull from nothing: the device holds nothing, whatever we thought before.
                storage = storage or StorageState(ctx.device_id, storage_id)
                self.store.forget_holdings(ctx.device_id, storage_id)
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
            page, has_more = self._page(ctx, storage_id, limit, now)
            if page:
                # Random, so a page sent to one tab can never be confirmed by another tab's cursor.
                storage.pending_token = token = new_token()
            else:
                token = storage.acked_token
            storage.last_pull_at = now
            self.store.save_storage(storage)
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

    def _page(self, ctx: DeviceContext, storage_id: uuid.UUID, limit: int, now: datetime) -> tuple[list, bool]:
        entitled = self.store.entitlement(ctx.user_id, now)
        held = self.store.holdings(ctx.device_id, storage_id)
        deletes = sorted(key for key in held if key not in entitled.versions)
        upserts = sorted((key for key, version in entitled.versions.items() if held.get(key) != version),
                         key=lambda k: (ENTITY_ORDER[k[0]], k[1]))
        wanted = (deletes + upserts)[:limit]
        has_more = len(deletes) + len(upserts) > limit
        by_entity: dict[str, list[int]] = {}
        for entity, entity_id in wanted:
            if (entity, entity_id) in entitled.versions:
                by_entity.setdefault(entity, []).append(entity_id)
        data = {entity: self.store.materialise(entity, ids, ctx.user_id) for entity, ids in by_entity.items()}
        changes, staged = [], []
        for entity, entity_id in wanted:
            if (entity, entity_id) not in entitled.versions:
                reason = "out_of_scope"
                if entity == "elector" and entity_id in entitled.suppressed:
                    reason = "erased" if entitled.suppressed[entity_id] == "erasure" else "suppressed"
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
        return changes, has_more
