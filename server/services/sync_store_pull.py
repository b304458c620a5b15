"""The pull half of the sync engine's SQL store (server/services/sync_store.py): what a device is entitled to,
what it holds, the pages it is sent and a download's snapshot, and the data of each entity as a phone holds it.

``PullSide`` is mixed into ``SqlStore``, never used alone: it works through the store's session and query helpers
(``_any``, ``_rows_insert``, ``_active_suppressions``) and, for the pending page and the snapshot, through the
store's per-transaction cache of the storage's row (``_read``, ``_pending_writes``).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import (
    Text,
    and_,
    cast,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import selectinload

from server.models import (
    Assignment,
    AssignmentItem,
    AssignmentKind,
    AssignmentUser,
    Campaign,
    CampaignCode,
    CodeSet,
    ContactRecord,
    DeviceHolding,
    DeviceStorage,
    Elector,
    ElectorState,
    ElectorStatus,
    Member,
    Property,
    Suppression,
)
from server.models.sync import PullSnapshotChunk
from sync.rules import suppression_applies
from sync.fold import ContactEvent
from sync import views
from sync.store import Entitlement, Snapshot

# Materialised data must match the versions just read from the database, not rows the session
# happened to load earlier (a CLI command or job may serve several syncs in one session).
FRESH = {"populate_existing": True}
# A download's snapshot (sync.store.Snapshot) is stored in chunks of this many items, so a page reads one or two.
SNAPSHOT_CHUNK = 1000
# Longer than any transaction that adds a suppression stays open (see PullSide.suppression_mark).
SNAPSHOT_MARGIN = timedelta(hours=1)
ELECTOR_NUMBER = Elector.elector_number.fget  # the printed number, from a plain row as from an elector


class PullSide:
    """The pull's reads and writes; see the module."""

    def _active_assignments(self, user_id, now):
        return (select(Assignment.id).join(AssignmentUser, AssignmentUser.assignment_id == Assignment.id)
                .where(AssignmentUser.user_id == user_id, Assignment.starts_at <= now, Assignment.ends_at > now))

    def entitlement(self, user_id, now):
        ent = Entitlement()
        # Plain rows, not ORM objects: this reads every item of the user's lists, and loading (then expiring)
        # an object per item was most of its cost.
        assignments = self.session.execute(
            select(Assignment.id, Assignment.campaign_id, Assignment.kind, Assignment.name, Assignment.starts_at,
                   Assignment.ends_at, Assignment.session_at, Assignment.meeting_place)
            .where(Assignment.id.in_(self._active_assignments(user_id, now))).order_by(Assignment.id)).all()
        items: dict[int, list] = {a.id: [] for a in assignments}
        if assignments:
            for item in self.session.execute(
                    select(AssignmentItem.assignment_id, AssignmentItem.property_id, AssignmentItem.elector_id,
                           AssignmentItem.member_id, AssignmentItem.position, AssignmentItem.reason)
                    .where(AssignmentItem.assignment_id.in_(list(items)))
                    .order_by(AssignmentItem.assignment_id, AssignmentItem.position, AssignmentItem.id)):
                items[item.assignment_id].append(item)
        # How the user reaches each person, and since when (the earliest start of the lists doing so).
        walked: dict[int, datetime] = {}  # property -> since
        door_since: dict[int, datetime] = {}
        phone_since: dict[int, datetime] = {}  # elector -> since
        member_since: dict[int, tuple[datetime, str | None]] = {}  # member -> (since, why they are called)

        def earliest(into, key, at):
            if key not in into or at < into[key]:
                into[key] = at

        for a in assignments:
            listed = phone_since if a.kind == AssignmentKind.CALL else door_since
            for item in items[a.id]:
                if item.property_id is not None:
                    earliest(walked, item.property_id, a.starts_at)
                if item.elector_id is not None:
                    earliest(listed, item.elector_id, a.starts_at)
                if item.member_id is not None and (item.member_id not in member_since
                                                   or a.starts_at < member_since[item.member_id][0]):
                    member_since[item.member_id] = (a.starts_at, item.reason)
        electors = []
        if walked or door_since or phone_since:
            reachable = or_(self._any(Elector.property_id, walked),
                            self._any(Elector.id, set(door_since) | set(phone_since)))
            electors = self.session.execute(
                select(Elector.id, Elector.version, Elector.status, Elector.property_id).where(reachable)).all()
        for e_id, _, _, property_id in electors:
            if property_id in walked:
                earliest(door_since, e_id, walked[property_id])
        suppressions = self._active_suppressions({e.id for e in electors})
        property_ids = set(walked)
        versions = ent.versions
        for e_id, e_version, e_status, property_id in electors:
            active_here = suppressions.get(e_id)
            if active_here:  # most electors have none: they are held however the user reaches them
                ways = [way for way, since in (("door", door_since), ("phone", phone_since)) if e_id in since]
                if all(suppression_applies(active_here, way) for way in ways):
                    ent.suppressed[e_id] = ("erasure" if any(k == "erasure" for k, _ in active_here)
                                            else "do_not_contact")
                    continue
            if e_status == ElectorStatus.CURRENT:
                versions[("elector", e_id)] = e_version * 2 + (1 if e_id in phone_since else 0)
                property_ids.add(property_id)
        if property_ids:
            for p_id, p_version in self.session.execute(select(Property.id, Property.version)
                                                        .where(self._any(Property.id, property_ids))):
                ent.versions[("property", p_id)] = p_version
        held = [eid for (entity, eid) in ent.versions if entity == "elector"]
        self._entitle_activity(ent, held, door_since, phone_since)
        self._entitle_members(ent, member_since)
        # Lists and campaigns last: a list names only the people the user may hold, and both carry their
        # content's version, so any change to them reaches the phones.
        campaign_ids = {a.campaign_id for a in assignments}
        if campaign_ids:
            for c in self.session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids)).options(
                    selectinload(Campaign.codes), selectinload(Campaign.questions)), execution_options=FRESH):
                ent.derive("campaign", c.id, campaign_for_device(c))
        for a in assignments:
            ent.derive("assignment", a.id, assignment_for_device(a, items[a.id], ent.versions))
        return ent

    def _entitle_activity(self, ent: Entitlement, elector_ids, door_since: dict, phone_since: dict) -> None:
        for elector_id, data in self._activities(elector_ids, door_since, phone_since).items():
            ent.derive("activity", elector_id, data)

    def _activities(self, elector_ids, door_since: dict, phone_since: dict) -> dict[int, dict]:
        """What the team has done about these electors since the lists reaching them began."""
        found: dict[int, dict] = {}
        if not elector_ids:
            return found
        for state in self.session.execute(select(
                ElectorState.elector_id, ElectorState.last_door_at, ElectorState.last_door_outcome,
                ElectorState.last_call_at, ElectorState.last_call_outcome, ElectorState.call_back_at).where(
                self._any(ElectorState.elector_id, elector_ids),
                or_(ElectorState.last_door_at.is_not(None), ElectorState.last_call_at.is_not(None)))):
            shown = views.activity(state, door_since.get(state.elector_id), phone_since.get(state.elector_id))
            if shown is not None:
                found[state.elector_id] = {"elector_id": state.elector_id, **shown}
        return found

    def _entitle_members(self, ent: Entitlement, member_since: dict) -> None:
        """Members on the user's call lists (not those who objected), with the latest call to each."""
        if not member_since:
            return
        objected = self.member_suppressions(set(member_since))
        members = [m for m in self.session.scalars(select(Member).where(self._any(Member.id, member_since)),
                                                   execution_options=FRESH)
                   if not suppression_applies(objected.get(m.id, []), "phone")]
        calls: dict[int, list] = {}
        for r in self.session.execute(select(
                ContactRecord.id, ContactRecord.member_id, ContactRecord.kind, ContactRecord.occurred_at,
                ContactRecord.channel, self._meaning().label("meaning"), ContactRecord.supersedes_id,
                ContactRecord.call_back_at).where(self._any(ContactRecord.member_id, [m.id for m in members]))):
            calls.setdefault(r.member_id, []).append(ContactEvent(
                r.id, r.kind.value, r.occurred_at, r.channel.value, r.meaning.value if r.meaning else None,
                supersedes=r.supersedes_id, call_back_at=r.call_back_at))
        for m in members:
            since, reason = member_since[m.id]
            ent.derive("member", m.id, views.member(m.id, m.first_name, m.last_name, m.phone, reason,
                                                    views.latest_call(calls.get(m.id, []), since)))

    @staticmethod
    def _meaning():
        """The meaning of a contact record's outcome, from its campaign's code set."""
        return (select(CampaignCode.meaning).where(
            CampaignCode.campaign_id == ContactRecord.campaign_id, CampaignCode.code_set == CodeSet.OUTCOME,
            CampaignCode.code == ContactRecord.outcome).correlate(ContactRecord).scalar_subquery())

    def holdings(self, device_id, storage_id):
        rows = self.session.execute(select(DeviceHolding.entity, DeviceHolding.entity_id, DeviceHolding.version)
                                    .where(DeviceHolding.device_id == device_id,
                                           DeviceHolding.storage_id == storage_id))
        return {(r.entity, r.entity_id): r.version for r in rows}

    def forget_holdings(self, device_id, storage_id):
        self.session.execute(delete(DeviceHolding).where(DeviceHolding.device_id == device_id,
                                                         DeviceHolding.storage_id == storage_id))
        self._pending_writes.pop((device_id, storage_id), None)
        self._forget_read(device_id, storage_id, "pending")
        self.session.execute(update(DeviceStorage).where(DeviceStorage.device_id == device_id,
                                                         DeviceStorage.storage_id == storage_id).values(pending=[]))

    def confirm_pending(self, device_id, storage_id, confirmed):
        pending = self._read(device_id, storage_id, "pending") or []
        if confirmed and pending:
            held = [e for e in pending if e[2] is not None]
            gone = [e for e in pending if e[2] is None]
            if held and self.dialect == "postgresql":
                # One statement, the page's rows as one JSON document: a page's thousand rows as executemany
                # cost more than all the rest of a page (and as array parameters, most of it).
                stmt = self._rows_insert(DeviceHolding, [{"entity": e, "entity_id": i, "version": v}
                                                         for e, i, v in held],
                                         device_id=device_id, storage_id=storage_id)
                self.session.execute(stmt.on_conflict_do_update(
                    index_elements=["device_id", "storage_id", "entity", "entity_id"],
                    set_={"version": stmt.excluded.version}))
            elif held:
                stmt = self._insert(DeviceHolding)
                self.session.execute(stmt.on_conflict_do_update(
                    index_elements=["device_id", "storage_id", "entity", "entity_id"],
                    set_={"version": stmt.excluded.version}),
                    [{"device_id": device_id, "storage_id": storage_id, "entity": e, "entity_id": i, "version": v}
                     for e, i, v in held])
            for entity in {e for e, _, _ in gone}:
                self.session.execute(delete(DeviceHolding).where(
                    DeviceHolding.device_id == device_id, DeviceHolding.storage_id == storage_id,
                    DeviceHolding.entity == entity,
                    self._any(DeviceHolding.entity_id, [i for e, i, _ in gone if e == entity])))
        if pending:  # consumed: written as empty unless a page is staged before the commit
            self._pending_writes[(device_id, storage_id)] = ([], False)

    def stage(self, device_id, storage_id, entries):
        self._pending_writes[(device_id, storage_id)] = ([list(e) for e in entries], True)

    def materialise(self, entity, ids, user_id, entitled):
        if entity in ("campaign", "assignment", "activity", "member"):  # computed with the entitlement
            return {i: entitled.data[(entity, i)] for i in ids}
        # Plain rows read now, so the data matches the database, never rows the session loaded earlier.
        if entity == "property":
            # The address lines as text, and a page's worth decoded in one call: the driver would parse each
            # house's JSON on its own, a thousand calls a page.
            rows = self.session.execute(select(
                Property.id, cast(Property.address_lines, Text), Property.postcode, Property.street,
                Property.house_number, Property.building, Property.flat, Property.sort_key,
                Property.polling_district_id).where(self._any(Property.id, ids))).all()
            lines = json.loads("[" + ",".join(r[1] or "null" for r in rows) + "]")
            return {p_id: {"id": p_id, "address_lines": address, "postcode": postcode, "street": street,
                           "house_number": number, "building": building, "flat": flat, "sort_key": sort_key,
                           "polling_district_id": district}
                    for (p_id, _, postcode, street, number, building, flat, sort_key, district), address
                    in zip(rows, lines)}
        if entity == "elector":
            rows = self.session.execute(select(
                Elector.id, Elector.property_id, Elector.prefix, Elector.number, Elector.suffix, Elector.surname,
                Elector.forenames, Elector.version, Elector.phone).where(self._any(Elector.id, ids)))
            out = {}
            for e in rows:
                body = {"id": e.id, "property_id": e.property_id, "elector_number": ELECTOR_NUMBER(e),
                        "surname": e.surname, "forenames": e.forenames, "version": e.version}
                if entitled.versions.get(("elector", e.id), 0) % 2:  # a phone number only where they are to call
                    body["phone"] = e.phone
                out[e.id] = body
            return out
        raise ValueError(f"unknown entity {entity!r}")

    # -- pull snapshots ---------------------------------------------------------------------------
    def lists_fingerprint(self, user_id, now):
        # Every change a device should see bumps a list's version (name, dates, items, who holds it).
        return [[r.id, r.version, r.starts_at.isoformat(), r.ends_at.isoformat()] for r in self.session.execute(
            select(Assignment.id, Assignment.version, Assignment.starts_at, Assignment.ends_at)
            .where(Assignment.id.in_(self._active_assignments(user_id, now))).order_by(Assignment.id))]

    def suppression_mark(self, now):
        # Suppression ids are handed out before their transactions commit, so one committed late may have an id
        # below others already seen (docs: sync-pitfalls 3). The mark is therefore every id above the newest
        # suppression made more than SNAPSHOT_MARGIN ago (a transaction still open then has an id above it):
        # those visible now are accounted for, and later pages look only at ids above the newest seen and at
        # the gaps below it.
        after = self.session.scalar(select(Suppression.id).where(Suppression.created_at < now - SNAPSHOT_MARGIN)
                                    .order_by(Suppression.id.desc()).limit(1)) or 0
        seen = sorted(self.session.scalars(select(Suppression.id).where(Suppression.id > after)))
        gaps, expected = [], after + 1
        for i in seen:
            gaps.extend(range(expected, min(i, expected + len(seen) + 1)))
            expected = i + 1
            if len(gaps) > len(seen):  # ids far apart: list those seen instead (the shorter list)
                return {"after": after, "seen": seen}
        return {"after": after, "newest": seen[-1] if seen else after, "gaps": gaps}

    def suppressed_since(self, mark):
        if "seen" in mark:
            newer = and_(Suppression.id > mark["after"], Suppression.id.not_in(mark["seen"]))
        else:
            newer = Suppression.id > mark["newest"]
            if mark["gaps"]:
                newer = or_(newer, Suppression.id.in_(mark["gaps"]))
        return {("member", m) if m is not None else ("elector", e) for e, m in self.session.execute(
            select(Suppression.elector_id, Suppression.member_id).where(newer))}

    def holds_any(self, device_id, storage_id, keys):
        if not keys:
            return False
        by_entity: dict[str, list[int]] = {}
        for entity, entity_id in keys:
            by_entity.setdefault(entity, []).append(entity_id)
        return self.session.scalar(select(DeviceHolding.entity_id).where(
            DeviceHolding.device_id == device_id, DeviceHolding.storage_id == storage_id,
            or_(*(and_(DeviceHolding.entity == entity, DeviceHolding.entity_id.in_(ids))
                  for entity, ids in by_entity.items()))).limit(1)) is not None

    def snapshot(self, device_id, storage_id):
        state = self._read(device_id, storage_id, "snapshot")
        return Snapshot.from_dict(state) if state else None

    def save_snapshot(self, device_id, storage_id, snapshot, items=None):
        where = (PullSnapshotChunk.device_id == device_id, PullSnapshotChunk.storage_id == storage_id)
        if items is not None:
            self.session.execute(delete(PullSnapshotChunk).where(*where))
            self.session.execute(insert(PullSnapshotChunk), [
                {"device_id": device_id, "storage_id": storage_id, "token": snapshot.token, "chunk": n,
                 "items": items[start:start + SNAPSHOT_CHUNK]}  # tuples are written as JSON arrays
                for n, start in enumerate(range(0, len(items), SNAPSHOT_CHUNK))])
        self._forget_read(device_id, storage_id, "snapshot")
        self.session.execute(update(DeviceStorage).where(
            DeviceStorage.device_id == device_id, DeviceStorage.storage_id == storage_id)
            .values(snapshot=snapshot.to_dict()))

    def snapshot_items(self, device_id, storage_id, snapshot, start, count):
        first, last = start // SNAPSHOT_CHUNK, (start + count - 1) // SNAPSHOT_CHUNK
        chunks = self.session.execute(select(PullSnapshotChunk.items).where(
            PullSnapshotChunk.device_id == device_id, PullSnapshotChunk.storage_id == storage_id,
            PullSnapshotChunk.token == snapshot.token, PullSnapshotChunk.chunk.between(first, last))
            .order_by(PullSnapshotChunk.chunk)).scalars().all()
        items = [tuple(i) for chunk in chunks for i in chunk]
        offset = start - first * SNAPSHOT_CHUNK
        return items[offset:offset + count]

    def drop_snapshot(self, device_id, storage_id):
        self._forget_read(device_id, storage_id, "snapshot")
        self.session.execute(delete(PullSnapshotChunk).where(PullSnapshotChunk.device_id == device_id,
                                                             PullSnapshotChunk.storage_id == storage_id))
        self.session.execute(update(DeviceStorage).where(
            DeviceStorage.device_id == device_id, DeviceStorage.storage_id == storage_id,
            DeviceStorage.snapshot.is_not(None)).values(snapshot=None))

    def derive(self, entity, ids, user_id, now):
        """Activity or members for these ids only: how the user reaches them, read from the items naming them."""
        ent = Entitlement()
        if not ids:
            return {}
        active = self._active_assignments(user_id, now)
        if entity == "activity":
            door_since: dict[int, datetime] = {}
            phone_since: dict[int, datetime] = {}
            listed = (select(AssignmentItem.elector_id, Assignment.kind, Assignment.starts_at)
                      .join(Assignment, Assignment.id == AssignmentItem.assignment_id)
                      .where(Assignment.id.in_(active), self._any(AssignmentItem.elector_id, ids)))
            for elector_id, kind, starts_at in self.session.execute(listed):
                into = phone_since if kind == AssignmentKind.CALL else door_since
                into[elector_id] = min(into.get(elector_id, starts_at), starts_at)
            at_home = (select(Elector.id, Assignment.starts_at)
                       .join(AssignmentItem, AssignmentItem.property_id == Elector.property_id)
                       .join(Assignment, Assignment.id == AssignmentItem.assignment_id)
                       .where(Assignment.id.in_(active), self._any(Elector.id, ids)))
            for elector_id, starts_at in self.session.execute(at_home):
                door_since[elector_id] = min(door_since.get(elector_id, starts_at), starts_at)
            return self._activities(ids, door_since, phone_since)  # the engine computes their versions
        elif entity == "member":
            member_since: dict[int, tuple[datetime, str | None]] = {}
            for member_id, reason, starts_at in self.session.execute(
                    select(AssignmentItem.member_id, AssignmentItem.reason, Assignment.starts_at)
                    .join(Assignment, Assignment.id == AssignmentItem.assignment_id)
                    .where(Assignment.id.in_(active), self._any(AssignmentItem.member_id, ids))
                    .order_by(Assignment.starts_at, Assignment.id)):
                if member_id not in member_since or starts_at < member_since[member_id][0]:
                    member_since[member_id] = (starts_at, reason)
            self._entitle_members(ent, member_since)
        else:
            raise ValueError(f"{entity!r} comes with the whole entitlement")
        return {i: ent.data[(entity, i)] for i in ids if (entity, i) in ent.data}


def assignment_for_device(a, items, entitled_versions: dict) -> dict:
    """A walk or call list as a phone holds it (``a`` and ``items``: its row and its items' rows, in order): its
    items name only the people the user may hold."""
    shown = [{k: v for k, v in (("property_id", i.property_id), ("elector_id", i.elector_id),
                                ("member_id", i.member_id), ("position", i.position)) if v is not None}
             for i in items]
    return {"id": a.id, "name": a.name, "kind": a.kind.value, "campaign_id": a.campaign_id,
            "starts_at": a.starts_at.isoformat(), "ends_at": a.ends_at.isoformat(),
            "session_at": a.session_at.isoformat() if a.session_at else None, "meeting_place": a.meeting_place,
            "items": views.list_items(shown, entitled_versions)}


def campaign_for_device(c: Campaign) -> dict:
    """A campaign's code sets, questions and script: what the app needs to record contacts offline."""
    # A retired code or question stays, flagged: the app no longer offers it, but still names it on the
    # records that carry it.
    def retired(x) -> dict:
        return {"retired": True} if x.retired_at is not None else {}

    def codes(code_set):
        return [{"code": x.code, "label": x.label, "meaning": x.meaning.value if x.meaning else None,
                 "channels": x.channels or [], "colour": x.colour, **retired(x)}
                for x in sorted(c.codes, key=lambda x: x.position) if x.code_set == code_set]

    return {"id": c.id, "name": c.name, "kind": c.kind.value, "starts_on": c.starts_on.isoformat(),
            "ends_on": c.ends_on.isoformat(), "call_script": c.call_script,
            "outcomes": codes(CodeSet.OUTCOME), "intentions": codes(CodeSet.INTENTION),
            "strengths": codes(CodeSet.STRENGTH),
            "questions": [{"key": q.key, "text": q.text, "kind": q.kind.value, "options": q.options, **retired(q)}
                          for q in sorted(c.questions, key=lambda q: q.position)]}
