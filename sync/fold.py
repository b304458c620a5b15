"""An elector's derived state is a deterministic fold over its events.

The same set of events gives the same state whatever order they arrived in and however often each
arrived: events are first grouped into chains (a record with its corrections and retractions), each
chain is reduced to one effective contact by a fixed precedence, and the effective contacts are
folded in (time, id) order. Nothing here depends on arrival order or on received_at.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

# Within one chain: a retraction beats a correction, which beats the original record.
KIND_RANK = {"record": 0, "correction": 1, "retraction": 2}
# Outcome meanings that say where the elector is.
PRESENCE = {"spoke": "present", "moved": "moved", "deceased": "deceased"}


@dataclass(frozen=True)
class ContactEvent:
    """One stored contact record, as the fold sees it."""

    id: uuid.UUID
    kind: str  # record, correction, retraction, resolution (a CLP admin's decision on a conflict)
    occurred_at: datetime  # corrected by the server
    channel: str = "door"
    meaning: str | None = None  # the outcome's meaning (spoke, not_home, moved, ...)
    intention: str | None = None
    strength: str | None = None
    supersedes: uuid.UUID | None = None
    user_id: int | None = None
    call_back_at: datetime | None = None  # when the elector asked to be called back (outcome call_back)


@dataclass(frozen=True)
class FlagEvent:
    """A flag raised on an elector from a device: moved, deceased, or do not contact."""

    id: uuid.UUID
    flag: str
    occurred_at: datetime


@dataclass
class ElectorState:
    intention: str | None = None
    strength: str | None = None
    intention_at: datetime | None = None
    last_contact_at: datetime | None = None
    last_spoke_at: datetime | None = None
    contacts: dict[str, int] = field(default_factory=dict)  # by channel
    do_not_contact: bool = False
    presence: str = "unknown"  # unknown, present, moved, deceased
    # The latest effective contact on each channel, which the volunteers working the same list see
    # (what happened, not what was said): at the door, and on the phone with any call-back time asked for.
    last_door_at: datetime | None = None
    last_door_outcome: str | None = None
    last_call_at: datetime | None = None
    last_call_outcome: str | None = None
    call_back_at: datetime | None = None

    @property
    def moved(self) -> bool:
        return self.presence == "moved"

    @property
    def deceased(self) -> bool:
        return self.presence == "deceased"


def _chain_root(event: ContactEvent, by_id: dict[uuid.UUID, ContactEvent],
                links: Mapping[uuid.UUID, uuid.UUID]) -> uuid.UUID:
    """Follow `supersedes` back to the original record (which may not have arrived yet), through stored
    contacts and through the links of refused corrections."""
    seen = {event.id}
    current = event.supersedes
    while current is not None and current not in seen:
        seen.add(current)
        parent = by_id.get(current)
        following = parent.supersedes if parent is not None else links.get(current)
        if following is None:
            return current
        current = following
    return current if current is not None else event.id


def effective_contacts(events: Iterable[ContactEvent],
                       links: Mapping[uuid.UUID, uuid.UUID] | None = None) -> list[ContactEvent]:
    """Reduce each chain to the contact that stands, or to nothing if it was retracted. ``links`` maps
    refused corrections (never stored) to what they superseded, so chains stay whole through them."""
    links = links or {}
    by_id = {e.id: e for e in events if e.kind != "resolution"}  # duplicates collapse here
    chains: dict[uuid.UUID, list[ContactEvent]] = {}
    effective = []
    for event in by_id.values():
        if event.supersedes is None:
            # The common case, an original record: its chain's root is itself.
            chain = chains.get(event.id)
            if chain is None:
                chains[event.id] = [event]
            else:
                chain.append(event)
        else:
            chains.setdefault(_chain_root(event, by_id, links), []).append(event)
    for root, chain in chains.items():
        if len(chain) == 1:
            # A chain of one: the record stands as it is, unless it is a retraction (a chain of a correction
            # alone still takes its root's id, below).
            winner = chain[0]
        else:
            winner = max(chain, key=lambda e: (KIND_RANK[e.kind], e.occurred_at, e.id))
        if winner.kind == "retraction":
            continue
        original = by_id.get(root)
        # A correction changes what was recorded, not when the contact happened.
        at = original.occurred_at if original is not None else min(e.occurred_at for e in chain)
        effective.append(winner if winner.id == root and winner.occurred_at == at
                         else replace(winner, occurred_at=at, id=root))
    return sorted(effective, key=lambda e: (e.occurred_at, e.id))


def fold(contacts: Iterable[ContactEvent], flags: Iterable[FlagEvent] = (),
         links: Mapping[uuid.UUID, uuid.UUID] | None = None) -> ElectorState:
    """The elector's current state from every event known about them (``links``: see effective_contacts)."""
    contacts = list(contacts)
    state = ElectorState()
    presence_at: tuple | None = None
    for event in effective_contacts(contacts, links):
        state.contacts[event.channel] = state.contacts.get(event.channel, 0) + 1
        state.last_contact_at = event.occurred_at
        if event.meaning == "spoke":
            state.last_spoke_at = event.occurred_at
            if event.intention is not None:
                state.intention, state.strength, state.intention_at = event.intention, event.strength, event.occurred_at
        if event.meaning == "do_not_contact":
            state.do_not_contact = True
        if event.meaning in PRESENCE:  # events are in time order, so the latest says where they are
            state.presence, presence_at = PRESENCE[event.meaning], (event.occurred_at, event.id)
        if event.channel == "door":
            state.last_door_at, state.last_door_outcome = event.occurred_at, event.meaning
        elif event.channel == "phone":
            state.last_call_at, state.last_call_outcome = event.occurred_at, event.meaning
            state.call_back_at = event.call_back_at if event.meaning == "call_back" else None
    # An admin's resolution settles the intention as of its time, without being a contact itself;
    # a later canvass still supersedes it.
    resolutions = sorted({e for e in contacts if e.kind == "resolution"}, key=lambda e: (e.occurred_at, e.id))
    for resolution in resolutions:
        if state.intention_at is None or resolution.occurred_at >= state.intention_at:
            state.intention, state.strength = resolution.intention, resolution.strength
            state.intention_at = resolution.occurred_at
    for flag in sorted(set(flags), key=lambda f: (f.occurred_at, f.id)):
        if flag.flag == "do_not_contact":
            state.do_not_contact = True
        elif flag.flag in ("moved", "deceased") and (presence_at is None or (flag.occurred_at, flag.id) > presence_at):
            presence_at = (flag.occurred_at, flag.id)
            state.presence = flag.flag
    return state


def intention_conflict(new: ContactEvent, others: Iterable[ContactEvent], window: timedelta,
                       links: Mapping[uuid.UUID, uuid.UUID] | None = None) -> ContactEvent | None:
    """Another volunteer's contact, close in time, that recorded a different intention (never one of
    the same conversation: a correction does not conflict with what it corrects)."""
    if new.meaning != "spoke" or new.intention is None:
        return None
    others = [o for o in others if o.id != new.id]
    own_chain = _chain_root(new, {e.id: e for e in others + [new] if e.kind != "resolution"}, links or {})
    candidates = [
        other for other in effective_contacts(others, links)  # resolutions are not contacts, so never conflict
        if other.id != own_chain and other.meaning == "spoke" and other.intention is not None
        and other.intention != new.intention and other.user_id != new.user_id
        and abs(other.occurred_at - new.occurred_at) <= window
    ]
    return min(candidates, key=lambda e: (abs(e.occurred_at - new.occurred_at), e.id), default=None)
