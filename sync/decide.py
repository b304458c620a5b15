"""How the engine judges one mutation (docs/sync-protocol.md §7.5): who may write about whom, deliveries
after access ended, suppression, the campaign's code sets, and conflicts between volunteers.

The engine locks, reads and writes; this module only decides, from what was read for the whole batch.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sync.clock import ClockReading, correct
from sync.fold import ContactEvent, intention_conflict
from sync.protocol import Mutation, MutationType, Status, parse_datetime
from sync.rules import answer_problem, suppression_applies
from sync.store import ContactRow, DeviceContext, ElectorChange, ReviewRequest, Store

if TYPE_CHECKING:
    from sync.engine import Limits

HELD_DETAILS = {"reason": "access_ended"}
SUSPENDED_DETAILS = {"reason": "access_suspended"}  # made after the user's CLP's access was suspended
# What a volunteer reports about where an elector is, which a CLP admin confirms in the review queue.
PRESENCE_REPORTS = ("moved", "deceased")


@dataclass
class Decision:
    status: Status
    details: Any = None
    contact: ContactRow | None = None
    changes: tuple[ElectorChange, ...] = ()
    reviews: list[ReviewRequest] = field(default_factory=list)
    elector_id: int | None = None
    constituency_id: int | None = None
    reason: str | None = None


@dataclass
class BatchView:
    """What one push (or one accepted delivery) reads before deciding: everything about its mutations."""

    campaigns: dict
    electors: dict
    writable: set[int]  # the electors named that the device may write about
    properties: dict
    writable_properties: set[int]
    suppressions: dict
    members: dict  # the members named that the device may write about (call lists of members)
    member_suppressions: dict
    targets: dict  # contact id -> ("elector" | "member", id)
    history: tuple[dict, dict]


class Decider:
    """Decides each mutation of a batch, given the store (for reads) and the engine's limits."""

    def __init__(self, store: Store, limits: Limits):
        self.store = store
        self.limits = limits

    def writable(self, ctx: DeviceContext, mutations: list[Mutation], now: datetime) -> set[int]:
        """The electors named in ``mutations`` that this device may write about (step 3 of §7.5)."""
        elector_ids = {m.data["elector_id"] for m in mutations if "elector_id" in m.data}
        if not elector_ids:
            return set()
        scoped = {e.id: e.property_id for e in self.store.electors(elector_ids).values()
                  if ctx.covers(e.constituency_id)}
        if ctx.lists_only and scoped:
            return self.store.writable_electors(ctx.user_id, scoped, ctx.lists_as_of or now,
                                                self.limits.assignment_grace)
        return set(scoped)

    def read(self, ctx: DeviceContext, mutations: list[Mutation], now: datetime, writable: set[int]) -> BatchView:
        """Everything the decisions need, read in a few queries for the whole batch (after the locks)."""
        property_ids = {m.data["property_id"] for m in mutations if m.type == MutationType.ELECTOR_NEW}
        at, grace = ctx.lists_as_of or now, self.limits.assignment_grace
        # Nothing is read about electors the device may not write about.
        spoken = {m.data["elector_id"] for m in mutations if m.data.get("intention") is not None} & writable
        # Earlier contacts of electors given an intention in this batch; each decision adds its own.
        history = {eid: contacts for eid, (contacts, _) in self.store.events(spoken).items()} if spoken else {}
        members = self._writable_members(ctx, mutations, at)
        return BatchView(
            campaigns=self.store.campaigns({m.data["campaign_id"] for m in mutations if "campaign_id" in m.data}),
            electors=self.store.electors(writable),
            writable=writable,
            properties=self.store.property_constituencies(property_ids),
            writable_properties=(self.store.writable_properties(ctx.user_id, property_ids, at, grace)
                                 if ctx.lists_only and property_ids else set()),
            suppressions=self.store.suppressions(writable),
            members=members,
            member_suppressions=self.store.member_suppressions(set(members)) if members else {},
            targets=self.store.contact_people({uuid.UUID(m.data["supersedes"]) for m in mutations
                                               if "supersedes" in m.data}),
            history=(history, self.store.chain_links(spoken) if spoken else {}),
        )

    def _writable_members(self, ctx: DeviceContext, mutations: list[Mutation], at: datetime) -> dict:
        member_ids = {m.data["member_id"] for m in mutations if "member_id" in m.data}
        if not member_ids:
            return {}
        found = {i: info for i, info in self.store.members(member_ids).items() if ctx.covers(info.constituency_id)}
        if ctx.lists_only and found:
            allowed = self.store.writable_members(ctx.user_id, set(found), at, self.limits.assignment_grace)
            found = {i: info for i, info in found.items() if i in allowed}
        return found

    @staticmethod
    def suspended(ctx: DeviceContext, made_at: datetime) -> bool:
        """Made once the CLP's access was suspended: held for review like a delivery after access ended.
        Judged by the corrected time, so what was made before the suspension counts whenever it arrives."""
        return ctx.suspended_from is not None and made_at >= ctx.suspended_from

    @staticmethod
    def outside(ctx: DeviceContext) -> Decision:
        """The one answer for everything a device may not write about, whether or not it exists or has
        objected, so the answer tells a stranger nothing."""
        return Decision(Status.FORBIDDEN, {"reason": "not_on_your_lists" if ctx.lists_only else "out_of_scope"})

    def decide(self, ctx: DeviceContext, m: Mutation, clock: ClockReading, now: datetime,
                    batch: BatchView) -> Decision:
        """What to do with one mutation, in the order docs/sync-protocol.md §7.5 gives."""
        if m.type == MutationType.ELECTOR_NEW:
            constituency_id = batch.properties.get(m.data["property_id"])
            if (constituency_id is None or not ctx.covers(constituency_id)
                    or (ctx.lists_only and m.data["property_id"] not in batch.writable_properties)):
                return self.outside(ctx)
            if ctx.access_ended_at is not None:
                return Decision(Status.HELD, HELD_DETAILS, constituency_id=constituency_id)
            when = correct(m.occurred_at, clock, server_now=now)
            if self.suspended(ctx, when.at):
                return Decision(Status.HELD, SUSPENDED_DETAILS, constituency_id=constituency_id)
            data = {k: m.data.get(k) for k in ("property_id", "surname", "forenames", "phone", "notes")}
            data.update(found_at=when.at.isoformat(), user_id=ctx.user_id, mutation_id=str(m.id))
            return Decision(Status.APPLIED, reviews=[ReviewRequest(constituency_id, "new_elector", None, data)])

        if "member_id" in m.data:
            person, suppressions = batch.members.get(m.data["member_id"]), batch.member_suppressions
        else:
            person, suppressions = batch.electors.get(m.data["elector_id"]), batch.suppressions
            if person is not None and person.id not in batch.writable:
                person = None
        if person is None:
            return self.outside(ctx)
        if ctx.access_ended_at is not None:
            # Access ended: delivered, and held for a CLP admin to accept or reject; never applied directly.
            return Decision(Status.HELD, HELD_DETAILS, constituency_id=person.constituency_id)
        campaign = batch.campaigns.get(m.data.get("campaign_id")) if "campaign_id" in m.data else None
        when = correct(m.occurred_at, clock, server_now=now, not_before=campaign.starts_at if campaign else None)
        if self.suspended(ctx, when.at):
            return Decision(Status.HELD, SUSPENDED_DETAILS, constituency_id=person.constituency_id)
        channel = m.data.get("channel")
        if suppression_applies(suppressions.get(person.id, []), {"door": "door", "phone": "phone"}.get(channel)):
            # Suppression wins: nothing personal about this contact is stored.
            return Decision(Status.SUPPRESSED)
        if m.type == MutationType.ELECTOR_UPDATE:
            return self._decide_update(ctx, m, person, when.at, now)
        if campaign is None or (campaign.constituency_id is not None and not ctx.covers(campaign.constituency_id)):
            return Decision(Status.REJECTED, {"data.campaign_id": ["No such campaign for your CLP."]})
        about = ("member" if "member_id" in m.data else "elector", person.id)
        if "supersedes" in m.data:
            target = batch.targets.get(uuid.UUID(m.data["supersedes"]))
            if target is not None and target != about:
                return Decision(Status.REJECTED, {"data.supersedes": [f"That contact is about another {about[0]}."]})
        meaning, problems = self._check_codes(m, campaign)
        if problems:
            return Decision(Status.REJECTED, problems)
        kind = {MutationType.CONTACT: "record", MutationType.CONTACT_CORRECTION: "correction",
                MutationType.CONTACT_RETRACTION: "retraction"}[m.type]
        elector_id = person.id if about[0] == "elector" else None
        row = ContactRow(
            id=m.id, kind=kind, campaign_id=campaign.id, constituency_id=person.constituency_id,
            elector_id=elector_id, member_id=person.id if elector_id is None else None, channel=channel,
            outcome=m.data.get("outcome"), intention=m.data.get("intention"), strength=m.data.get("strength"),
            survey_answers=m.data.get("survey_answers") or {}, notes=m.data.get("notes") or m.data.get("reason"),
            supersedes_id=uuid.UUID(m.data["supersedes"]) if "supersedes" in m.data else None,
            occurred_at=when.at, device_occurred_at=m.occurred_at, clock_flags=when.flags, received_at=now,
            user_id=ctx.user_id, device_id=ctx.device_id, content_hash=m.content_hash, meaning=meaning,
            call_back_at=parse_datetime(m.data.get("call_back_at")) if meaning == "call_back" else None,
        )
        details = {"clock_flags": list(when.flags)} if when.flags else None
        decision = Decision(Status.APPLIED, details, contact=row, elector_id=elector_id)
        if elector_id is not None and kind != "retraction":
            contacts, links = batch.history
            self._check_intention_conflict(decision, row, contacts.setdefault(elector_id, []),
                                           links.get(elector_id, {}))
            if meaning in PRESENCE_REPORTS:
                decision.reviews.append(self._presence_report(ctx, m, person, meaning, when.at))
        return decision

    @staticmethod
    def _presence_report(ctx: DeviceContext, m: Mutation, elector, flag: str, at: datetime) -> ReviewRequest:
        """Someone reported moved away or deceased: a CLP admin confirms it (the register decides in the end)."""
        return ReviewRequest(elector.constituency_id, "presence_report", elector.id, {
            "flag": flag, "reported_at": at.isoformat(), "user_id": ctx.user_id, "mutation_id": str(m.id)})

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

    def _check_intention_conflict(self, decision: Decision, row: ContactRow, contacts: list, links: dict) -> None:
        """Compare with earlier contacts of the elector (``contacts`` gains this one for the rest of the batch)."""
        new = ContactEvent(row.id, row.kind, row.occurred_at, row.channel, row.meaning, row.intention,
                           row.strength, row.supersedes_id, row.user_id)
        other = intention_conflict(new, contacts, self.limits.conflict_window, links)
        contacts.append(new)
        if other is None:
            return
        decision.status = Status.CONFLICT
        decision.details = {**(decision.details or {}), "conflicts_with": str(other.id)}
        decision.reviews.append(ReviewRequest(row.constituency_id, "intention_conflict", row.elector_id, {
            "records": [str(other.id), str(row.id)],
            "intentions": [other.intention, row.intention],
        }))

    def _decide_update(self, ctx, m: Mutation, elector, at: datetime, now: datetime) -> Decision:
        changes = m.data["changes"]
        field_name = next((name for name in changes if name == "phone"), None)
        decision = Decision(Status.APPLIED, elector_id=elector.id, constituency_id=elector.constituency_id,
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
                decision.reviews.append(ReviewRequest(elector.constituency_id, "field_conflict", elector.id, {
                    "field": field_name, "values": [rivals[-1][0], changes[field_name]],
                    "base_version": m.base_version, "mutation_id": str(m.id),
                }))
        for flag in PRESENCE_REPORTS:
            if changes.get(flag) is True:
                decision.reviews.append(self._presence_report(ctx, m, elector, flag, at))
        return decision

