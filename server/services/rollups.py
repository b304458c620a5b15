"""Keeping the monitoring rollups (server/models/activity.py, docs/monitoring.md) equal to the contact records.

Each elector's records in a campaign are reduced to the contacts that stand (``sync.fold.effective_contacts``: a
correction replaces what it corrects, a retraction removes it) and counted into (district, week, volunteer)
cells: contacts, doors (a property, a canvasser and a day), calls, conversations, and electors reached (once,
at their first conversation). Two ways keep the cells current, and they agree with each other and with a
rebuild:

* **By difference** (``_apply_deltas``), for new records: a touched property's cells are worked out with and
  without the new records, and the difference is added. Every record is new in exactly one run, so the
  differences add up to the whole; a run costs what arrived, not the campaign's history.
* **Whole** (``_recompute_districts``), a (campaign, polling district) at a time, for what no new record
  announces: an import undone (its records deleted) and a register edition loaded (the electorate changed)
  are queued in ``rollup_dirty``; and ``rebuild`` recomputes every district.

The scheduler's ``rollups`` job (``catch_up``) finds the new records without touching the push path. Every
record carries ``received_at``; the job reads the records received since its watermark, up to a new watermark
below which nothing can still be uncommitted (on PostgreSQL, the start of the oldest transaction still open; on
SQLite, the job holds the only write lock while it reads). A record's ``received_at`` is stamped by the web
server's clock a moment before its transaction takes its lock or its first statement, so it may fall just below
a watermark taken meanwhile: each run reads again the ``OVERLAP`` before the old watermark, skipping the records
the last run counted there (their ids are kept on the cursor).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from sqlalchemy import delete, func, or_, select, text, update

from server.extensions import db
from server.models import (
    ActivityElectorate,
    ActivityRollup,
    ActivitySeat,
    Campaign,
    CampaignCode,
    CodeSet,
    ContactRecord,
    Elector,
    PollingDistrict,
    RollupCursor,
    RollupDirty,
    SyncReceipt,
)
from server.orm import dialect_insert, utcnow
from sync.fold import ContactEvent, effective_contacts

log = logging.getLogger(__name__)

# Outcome meanings where someone was spoken to: a conversation. An elector is "reached" (counts towards the
# contact rate) at their first conversation in the campaign.
CONVERSATION = frozenset({"spoke", "refused", "call_back", "do_not_contact"})
CURSOR = "activity"
# Each run reads again what was received this long before the last watermark: longer than SQLite's busy timeout
# (a writer waiting for the lock after stamping received_at), and than the clock difference between the web
# servers (which stamp received_at) and PostgreSQL (whose transaction start times set the watermark).
OVERLAP = timedelta(seconds=30)
ALL_DISTRICTS = -1  # a dirty mark for every district of a CLP
ALL_CAMPAIGNS = 0  # ...and for every campaign it works on
_CHUNK = 50  # districts recomputed at once (a rebuild holds one chunk's records in memory)


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week ``moment`` falls in: weeks run Monday to Sunday."""
    return week_of_day(moment.astimezone(timezone.utc).date())


def week_of_day(day: date) -> date:
    return day - timedelta(days=day.weekday())


class Key(NamedTuple):
    campaign_id: int
    constituency_id: int
    district_key: int  # polling district id; 0 for records with no elector


# --------------------------------------------------------------------------------------------------
# Marking work that no new record announces.


def mark_dirty(marks: Iterable[tuple[int, int, int]]) -> None:
    """Queue (campaign, CLP, district) keys for the next run, in the caller's transaction. Use ALL_CAMPAIGNS and
    ALL_DISTRICTS for "every"."""
    rows = [{"campaign_id": c, "constituency_id": k, "district_key": d, "marked_at": utcnow()}
            for c, k, d in sorted(set(marks))]
    if rows:
        stmt = dialect_insert(db.session, RollupDirty).values(rows)
        db.session.execute(stmt.on_conflict_do_nothing(index_elements=["campaign_id", "constituency_id",
                                                                         "district_key"]))


def keys_of_records(where) -> set[Key]:
    """The keys of the records matching ``where`` (to mark before the records are deleted)."""
    rows = db.session.execute(
        select(ContactRecord.campaign_id, ContactRecord.constituency_id,
               func.coalesce(Elector.polling_district_id, 0))
        .outerjoin(Elector, Elector.id == ContactRecord.elector_id).where(where).distinct())
    return {Key(*row) for row in rows}


# --------------------------------------------------------------------------------------------------
# Recomputing.


def outcome_meanings(campaign_id: int) -> dict[str, str]:
    return {code: meaning.value for code, meaning in db.session.execute(
        select(CampaignCode.code, CampaignCode.meaning).where(
            CampaignCode.campaign_id == campaign_id, CampaignCode.code_set == CodeSet.OUTCOME,
            CampaignCode.meaning.is_not(None)))}


RECORD_COLUMNS = (ContactRecord.id, ContactRecord.kind, ContactRecord.supersedes_id, ContactRecord.occurred_at,
            ContactRecord.channel, ContactRecord.outcome, ContactRecord.user_id, ContactRecord.elector_id)


def effective_events(rows, meanings: dict[str, str], links: dict | None = None) -> list[ContactEvent]:
    """The contacts that stand among one elector's records (or among a CLP's records with no elector).
    ``links``: the elector's refused corrections and what they superseded, as the sync engine's fold uses them."""
    events = [ContactEvent(id=r.id, kind=r.kind.value, occurred_at=r.occurred_at, channel=r.channel.value,
                           meaning=meanings.get(r.outcome), supersedes=r.supersedes_id, user_id=r.user_id)
              for r in rows]
    if all(e.kind == "record" for e in events):
        return sorted(events, key=lambda e: (e.occurred_at, e.id))
    return effective_contacts(events, links)


def elector_links(elector_ids: list[int]) -> dict[int, dict]:
    """Refused corrections and retractions, by elector: a later correction may name one, and still belongs to the
    original's chain through its receipt (sync.engine.chain_link; the sync store's chain_links)."""
    links: dict[int, dict] = defaultdict(dict)
    for start in range(0, len(elector_ids), 5000):
        for mutation_id, elector_id, supersedes_id in db.session.execute(
                select(SyncReceipt.mutation_id, SyncReceipt.elector_id, SyncReceipt.supersedes_id)
                .where(SyncReceipt.elector_id.in_(elector_ids[start:start + 5000]),
                       SyncReceipt.supersedes_id.is_not(None), SyncReceipt.status.not_in(("applied", "conflict")))):
            links[elector_id][mutation_id] = supersedes_id
    return links


class Tally:
    """Rows being worked out: (district, week, user) -> [contacts, doors, calls, conversations, reached]."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, date, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        self.doors: set[tuple[int, int, date]] = set()

    def add(self, contacts: list[ContactEvent], district: int, property_id: int | None) -> None:
        first = None
        for e in contacts:
            user = e.user_id or 0
            cell = self.cells[(district, week_of(e.occurred_at), user)]
            cell[0] += 1
            if e.channel == "door" and property_id is not None:
                day = e.occurred_at.astimezone(timezone.utc).date()
                if (property_id, user, day) not in self.doors:
                    self.doors.add((property_id, user, day))
                    cell[1] += 1
            elif e.channel == "phone":
                cell[2] += 1
            if e.meaning in CONVERSATION:
                cell[3] += 1
                if first is None:
                    first = e
        if first is not None and property_id is not None:  # reached: electors only, once, at the first talk
            self.cells[(district, week_of(first.occurred_at), first.user_id or 0)][4] += 1

    def minus(self, other: "Tally") -> dict[tuple[int, date, int], list[int]]:
        """What this tally adds to ``other``, cell by cell, leaving out cells that do not change."""
        out = {}
        for key in set(self.cells) | set(other.cells):
            mine, theirs = self.cells.get(key, (0,) * 5), other.cells.get(key, (0,) * 5)
            change = [a - b for a, b in zip(mine, theirs)]
            if any(change):
                out[key] = change
        return out


COUNTS = ("contacts", "doors", "calls", "conversations", "reached")


def _places(districts) -> dict[int, tuple[int, int]]:
    """Each district's (CLP, ward)."""
    return {d: (clp, ward) for d, clp, ward in db.session.execute(
        select(PollingDistrict.id, PollingDistrict.constituency_id, PollingDistrict.ward_id)
        .where(PollingDistrict.id.in_(sorted(districts))))}


def record_chains(campaign_id: int, where, upper: datetime | None):
    """The campaign's records matching ``where``, each with its elector's district and property, grouped by elector;
    and the links of refused corrections for the electors that need them."""
    stmt = (select(*RECORD_COLUMNS, Elector.polling_district_id, Elector.property_id)
            .join(Elector, Elector.id == ContactRecord.elector_id)
            .where(ContactRecord.campaign_id == campaign_id, where))
    if upper is not None:  # what arrives later is counted by a later run
        stmt = stmt.where(ContactRecord.received_at <= upper)
    by_elector: dict[int, list] = defaultdict(list)
    for r in db.session.execute(stmt):
        by_elector[r.elector_id].append(r)
    # Only electors with a correction or retraction can have a chain that runs through a refused one.
    links = elector_links(sorted(e for e, records in by_elector.items() if any(r.kind.value != "record" for r in records)))
    return by_elector, links


def _recompute_districts(campaign_id: int, keys: list[Key], meanings: dict[str, str], upper: datetime | None) -> None:
    """Write these districts' rows whole, from their records received up to ``upper``."""
    districts = sorted(k.district_key for k in keys if k.district_key)
    no_elector = sorted({k.constituency_id for k in keys if not k.district_key})
    for start in range(0, len(districts), _CHUNK):
        chunk = districts[start:start + _CHUNK]
        places = _places(chunk)
        by_elector, links = record_chains(campaign_id, Elector.polling_district_id.in_(chunk), upper)
        tally = Tally()
        for elector_id, records in by_elector.items():
            tally.add(effective_events(records, meanings, links.get(elector_id)), records[0].polling_district_id,
                      records[0].property_id)
        db.session.execute(delete(ActivityRollup).where(ActivityRollup.campaign_id == campaign_id,
                                                        ActivityRollup.district_key.in_(chunk)))
        _insert(campaign_id, tally.cells, places)
    for clp in no_elector:
        stmt = select(*RECORD_COLUMNS).where(ContactRecord.campaign_id == campaign_id, ContactRecord.constituency_id == clp,
                                       ContactRecord.elector_id.is_(None))
        if upper is not None:
            stmt = stmt.where(ContactRecord.received_at <= upper)
        tally = Tally()
        tally.add(effective_events(db.session.execute(stmt).all(), meanings), 0, None)
        db.session.execute(delete(ActivityRollup).where(ActivityRollup.campaign_id == campaign_id,
                                                        ActivityRollup.district_key == 0,
                                                        ActivityRollup.constituency_id == clp))
        _insert(campaign_id, tally.cells, {0: (clp, None)})


def _row(campaign_id: int, key: tuple[int, date, int], counts, places: dict) -> dict | None:
    district, week, user = key
    if district not in places:  # a district that no longer exists: nothing to count
        return None
    clp, ward = places[district]
    return {"campaign_id": campaign_id, "district_key": district, "week": week, "user_key": user,
            "constituency_id": clp, "ward_id": ward, **dict(zip(COUNTS, counts))}


def _insert(campaign_id: int, cells: dict, places: dict) -> None:
    rows = [r for key, counts in cells.items() if (r := _row(campaign_id, key, counts, places)) is not None]
    for start in range(0, len(rows), 5000):
        db.session.execute(ActivityRollup.__table__.insert(), rows[start:start + 5000])


def _apply_deltas(campaign_id: int, properties: set[int], new_ids: set, meanings: dict[str, str],
                  upper: datetime) -> set[int]:
    """Add what the new records change to the rows, property by property: each touched property's contribution
    worked out with and without them (a door is a property, a canvasser and a day; an elector is reached once),
    and the difference added. Every record is new in exactly one run, so the differences add up to what a
    rebuild computes. Returns the CLPs touched."""
    clps: set[int] = set()
    ordered = sorted(properties)
    for start in range(0, len(ordered), 500):
        by_elector, links = record_chains(campaign_id, Elector.property_id.in_(ordered[start:start + 500]), upper)
        after, before = Tally(), Tally()
        for elector_id, records in by_elector.items():
            district, prop = records[0].polling_district_id, records[0].property_id
            after.add(effective_events(records, meanings, links.get(elector_id)), district, prop)
            old = [r for r in records if r.id not in new_ids]
            before.add(effective_events(old, meanings, links.get(elector_id)) if old else [], district, prop)
        change = after.minus(before)
        if not change:
            continue
        places = _places({d for d, _, _ in change})
        rows = [r for key, counts in change.items() if (r := _row(campaign_id, key, counts, places)) is not None]
        clps |= {r["constituency_id"] for r in rows}
        table = ActivityRollup.__table__
        for first in range(0, len(rows), 1000):
            stmt = dialect_insert(db.session, ActivityRollup).values(rows[first:first + 1000])
            db.session.execute(stmt.on_conflict_do_update(
                index_elements=["campaign_id", "district_key", "week", "user_key"],
                set_={c: table.c[c] + stmt.excluded[c] for c in COUNTS}))
        # A cell left with no contact is no row at all, as a rebuild leaves it.
        db.session.execute(delete(ActivityRollup).where(
            ActivityRollup.campaign_id == campaign_id, ActivityRollup.district_key.in_(sorted(places)),
            ActivityRollup.contacts <= 0))
    return clps


def _electorate(campaign: Campaign, clps: list[int]) -> None:
    """Each district's electors on the register at any time in the campaign's window: in Groundwork by its last
    day, and not removed before its first. People added provisionally (not on the register) are not counted."""
    end = datetime.combine(campaign.ends_on + timedelta(days=1), time(), timezone.utc)
    start = datetime.combine(campaign.starts_on, time(), timezone.utc)
    counts = db.session.execute(
        select(Elector.polling_district_id, Elector.constituency_id, PollingDistrict.ward_id, func.count())
        .join(PollingDistrict, PollingDistrict.id == Elector.polling_district_id)
        .where(Elector.constituency_id.in_(clps), Elector.provisional.is_(False), Elector.created_at < end,
               or_(Elector.removed_at.is_(None), Elector.removed_at >= start))
        .group_by(Elector.polling_district_id, Elector.constituency_id, PollingDistrict.ward_id)).all()
    db.session.execute(delete(ActivityElectorate).where(ActivityElectorate.campaign_id == campaign.id,
                                                        ActivityElectorate.constituency_id.in_(clps)))
    if counts:
        db.session.execute(ActivityElectorate.__table__.insert(), [
            {"campaign_id": campaign.id, "polling_district_id": d, "constituency_id": clp, "ward_id": ward,
             "electors": n} for d, clp, ward, n in counts])


def measure_columns() -> list:
    """The rollup rows summed (each count) and their volunteers counted once: the columns of any total."""
    return [*(func.coalesce(func.sum(ActivityRollup.__table__.c[c]), 0).label(c) for c in COUNTS),
            func.count(func.distinct(ActivityRollup.user_key)).filter(ActivityRollup.user_key != 0)
            .label("volunteers")]


def _seats(campaign_id: int, clps: list[int]) -> None:
    """Each CLP's totals, from the rows just written (volunteers counted once across districts and weeks)."""
    sums = {row.constituency_id: row for row in db.session.execute(
        select(ActivityRollup.constituency_id, *measure_columns())
        .where(ActivityRollup.campaign_id == campaign_id, ActivityRollup.constituency_id.in_(clps))
        .group_by(ActivityRollup.constituency_id))}
    electorate = dict(db.session.execute(
        select(ActivityElectorate.constituency_id, func.sum(ActivityElectorate.electors))
        .where(ActivityElectorate.campaign_id == campaign_id, ActivityElectorate.constituency_id.in_(clps))
        .group_by(ActivityElectorate.constituency_id)).all())
    db.session.execute(delete(ActivitySeat).where(ActivitySeat.campaign_id == campaign_id,
                                                  ActivitySeat.constituency_id.in_(clps)))
    now = utcnow()
    rows = []
    for clp in clps:
        s = sums.get(clp)
        if s is None and not electorate.get(clp):
            continue
        rows.append({"campaign_id": campaign_id, "constituency_id": clp, "electorate": int(electorate.get(clp) or 0),
                     "computed_at": now, **{c: int(getattr(s, c)) if s is not None else 0
                                            for c in ("contacts", "doors", "calls", "conversations", "reached",
                                                      "volunteers")}})
    if rows:
        db.session.execute(ActivitySeat.__table__.insert(), rows)


def recompute(keys: Iterable[Key], *, electorate_for: Iterable[tuple[int, int]] = (),
              touched: Iterable[tuple[int, int]] = (), upper: datetime | None = None) -> int:
    """Recompute these keys whole (from records received up to ``upper``), the electorates of the (campaign, CLP)
    pairs in ``electorate_for``, and the totals of every CLP touched (by the keys, or named in ``touched``). In
    the caller's transaction; returns how many keys were recomputed."""
    keys = sorted(set(keys))
    by_campaign: dict[int, list[Key]] = defaultdict(list)
    for key in keys:
        by_campaign[key.campaign_id].append(key)
    electorate: dict[int, set[int]] = defaultdict(set)
    for campaign_id, clp in electorate_for:
        electorate[campaign_id].add(clp)
    also: dict[int, set[int]] = defaultdict(set)
    for campaign_id, clp in touched:
        also[campaign_id].add(clp)
    for campaign_id in sorted(set(by_campaign) | set(electorate) | set(also)):
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            continue
        clps = {k.constituency_id for k in by_campaign[campaign_id]} | electorate[campaign_id] | also[campaign_id]
        # A CLP counted for the first time in this campaign gets its electorate too.
        known = set(db.session.scalars(select(ActivitySeat.constituency_id).where(
            ActivitySeat.campaign_id == campaign_id, ActivitySeat.constituency_id.in_(sorted(clps)))))
        need = sorted(electorate[campaign_id] | (clps - known))
        if need:
            _electorate(campaign, need)
        if by_campaign[campaign_id]:
            _recompute_districts(campaign_id, by_campaign[campaign_id], outcome_meanings(campaign_id), upper)
        _seats(campaign_id, sorted(clps))
    return len(keys)


# --------------------------------------------------------------------------------------------------
# The job, and the rebuild.


def _cursor() -> RollupCursor:
    """The cursor row, locked for this transaction: one run at a time (the job, or a rebuild)."""
    db.session.execute(dialect_insert(db.session, RollupCursor).values(name=CURSOR, keys_done=0, recent=[])
                       .on_conflict_do_nothing(index_elements=["name"]))
    if db.session.get_bind().dialect.name == "sqlite":
        # Writing first takes SQLite's one write lock: no other writer is part-way through a transaction.
        db.session.execute(update(RollupCursor).where(RollupCursor.name == CURSOR).values(name=CURSOR))
    return db.session.scalars(select(RollupCursor).where(RollupCursor.name == CURSOR).with_for_update()
                              .execution_options(populate_existing=True)).one()


def _watermark() -> datetime:
    """A time below which every record received is committed (or rolled back): nothing can still appear there."""
    now = utcnow()
    if db.session.get_bind().dialect.name != "postgresql":
        return now
    oldest = db.session.execute(text(
        "SELECT min(xact_start) FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() "
        "AND datname = current_database()")).scalar()
    return min(now, oldest) if oldest is not None else now


def _campaigns_for(clp: int, campaigns: list[Campaign]) -> list[int]:
    return [c.id for c in campaigns if c.constituency_id in (None, clp)]


def _districts_of(clp: int, campaign_id: int) -> set[int]:
    """Every district of a CLP that may have rows: where its electors are, and where rows already are."""
    found = set(db.session.scalars(select(PollingDistrict.id).where(PollingDistrict.constituency_id == clp)))
    found |= set(db.session.scalars(select(ActivityRollup.district_key).where(
        ActivityRollup.campaign_id == campaign_id, ActivityRollup.constituency_id == clp)))
    return found | {0}


def catch_up() -> dict:
    """The scheduler's ``rollups`` job: bring the rollups up to date with what arrived since the last run. The
    first run rebuilds."""
    cursor = _cursor()
    if cursor.received_through is None:
        db.session.rollback()
        return rebuild()
    started = utcnow()
    lower = cursor.received_through
    upper = max(_watermark(), lower)  # never backwards: what was counted up to ``lower`` stays counted
    # What arrived since the last watermark, and again the OVERLAP before it, less what the last run counted.
    arrived = db.session.execute(
        select(ContactRecord.id, ContactRecord.campaign_id, ContactRecord.constituency_id, ContactRecord.received_at,
               Elector.polling_district_id, Elector.property_id)
        .outerjoin(Elector, Elector.id == ContactRecord.elector_id)
        .where(ContactRecord.received_at > lower - OVERLAP, ContactRecord.received_at <= upper)).all()
    counted = set(cursor.recent or [])
    new = [r for r in arrived if str(r.id) not in counted]

    keys: set[Key] = set()  # recomputed whole
    electorate: set[tuple[int, int]] = set()
    dirty = db.session.execute(select(RollupDirty).where(RollupDirty.marked_at <= started)).scalars().all()
    campaigns = list(db.session.scalars(select(Campaign)))
    # "Every campaign" means every campaign a rebuild would cover: not one long over that nobody worked on, which
    # a rebuild leaves without rows (and which would then count as in use, and gain rows for every CLP).
    covered = _covered(campaigns, set(db.session.scalars(select(ActivitySeat.campaign_id).distinct())))
    for mark in dirty:
        ids = _campaigns_for(mark.constituency_id, covered) if mark.campaign_id == ALL_CAMPAIGNS else [mark.campaign_id]
        for campaign_id in ids:
            if mark.district_key == ALL_DISTRICTS:
                electorate.add((campaign_id, mark.constituency_id))
                keys |= {Key(campaign_id, mark.constituency_id, d) for d in _districts_of(mark.constituency_id, campaign_id)}
            else:
                keys.add(Key(campaign_id, mark.constituency_id, mark.district_key))
    # New records: a district recomputed whole counts them anyway; records with no elector (few) recompute their
    # CLP's district 0; the rest change their properties' rows by difference.
    properties: dict[int, set[int]] = defaultdict(set)
    new_ids: dict[int, set] = defaultdict(set)
    for r in new:
        key = Key(r.campaign_id, r.constituency_id, r.polling_district_id or 0)
        if r.polling_district_id is None:
            keys.add(key)
        elif key not in keys:
            properties[r.campaign_id].add(r.property_id)
            new_ids[r.campaign_id].add(r.id)
    electorate |= _missing_seats(campaigns)
    touched = set()
    for campaign_id in sorted(properties):
        clps = _apply_deltas(campaign_id, properties[campaign_id], new_ids[campaign_id], outcome_meanings(campaign_id), upper)
        touched |= {(campaign_id, clp) for clp in clps}
    done = recompute(keys, electorate_for=electorate, touched=touched, upper=upper)
    for mark in dirty:
        db.session.execute(delete(RollupDirty).where(
            RollupDirty.campaign_id == mark.campaign_id, RollupDirty.constituency_id == mark.constituency_id,
            RollupDirty.district_key == mark.district_key, RollupDirty.marked_at == mark.marked_at))
    _advance(cursor, upper, arrived, done)
    db.session.commit()
    result = {"records": len(new), "properties": sum(map(len, properties.values())), "districts": done,
              "electorates": len(electorate), "dirty_marks": len(dirty)}
    if new or electorate or dirty:
        log.info("rollups: %s", result)
    return result


def _advance(cursor: RollupCursor, upper: datetime, seen, done: int) -> None:
    """Move the watermark to ``upper``, remembering the records counted in the OVERLAP before it (so the next run,
    reading that stretch again for late arrivals, does not count them twice)."""
    cursor.received_through, cursor.ran_at, cursor.keys_done = upper, utcnow(), done
    cursor.recent = sorted(str(r.id) for r in seen if r.received_at > upper - OVERLAP)


def _covered(campaigns: list[Campaign], in_use: set[int]) -> list[Campaign]:
    """The campaigns that have rollups: those running today, and those in use (``in_use``)."""
    today = utcnow().date()
    return [c for c in campaigns if c.id in in_use or c.starts_on <= today <= c.ends_on]


def _pairs_to_cover(campaigns: list[Campaign], in_use: set[int]) -> set[tuple[int, int]]:
    """The (campaign, CLP) pairs that get totals even with no contact yet, so a seat with none is shown as none
    rather than missing: campaigns running today or in use (``in_use``), and every CLP with a register that
    works on them."""
    chosen = _covered(campaigns, in_use)
    if not chosen:
        return set()
    # CLPs with polling districts: a register has been loaded (a small table, where the electors' is not).
    with_register = set(db.session.scalars(select(PollingDistrict.constituency_id).distinct()))
    return {(c.id, clp) for c in chosen for clp in with_register if c.constituency_id in (None, clp)}


def _missing_seats(campaigns: list[Campaign]) -> set[tuple[int, int]]:
    in_use = set(db.session.scalars(select(ActivitySeat.campaign_id).distinct()))
    have = {(c, k) for c, k in db.session.execute(select(ActivitySeat.campaign_id, ActivitySeat.constituency_id))}
    return _pairs_to_cover(campaigns, in_use) - have


def rebuild() -> dict:
    """Recompute every rollup from the contact records and the register (``flask monitoring rebuild``)."""
    cursor = _cursor()
    upper = _watermark()
    for model in (ActivityRollup, ActivityElectorate, ActivitySeat):
        db.session.execute(delete(model))
    keys = keys_of_records(ContactRecord.received_at <= upper)
    campaigns = list(db.session.scalars(select(Campaign)))
    pairs = _pairs_to_cover(campaigns, {k.campaign_id for k in keys})
    done = recompute(keys, electorate_for=pairs, upper=upper)
    db.session.execute(delete(RollupDirty))
    _advance(cursor, upper, db.session.execute(select(ContactRecord.id, ContactRecord.received_at).where(
        ContactRecord.received_at > upper - OVERLAP, ContactRecord.received_at <= upper)).all(), done)
    db.session.commit()
    log.info("rollups rebuilt: %s keys", done)
    return {"districts": done, "electorates": len(pairs), "rebuilt": True}


def as_of() -> datetime | None:
    """Records received up to this time are in the rollups."""
    return db.session.scalar(select(RollupCursor.received_through).where(RollupCursor.name == CURSOR))
