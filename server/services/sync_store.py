"""The sync engine's Store on SQLAlchemy: the same semantics as sync.memory, on SQLite and PostgreSQL.

Claims use INSERT ... ON CONFLICT DO NOTHING, so a concurrent resend of the same batch waits for the
first and then loses cleanly; reconciliation locks its electors in id order first.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import (
    ARRAY,
    JSON,
    DateTime,
    String,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    type_coerce,
    select,
    update,
)
from sqlalchemy.exc import DataError
from sqlalchemy.types import NullType
from sqlalchemy.orm import Session, selectinload

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
    ElectorUpdate,
    Member,
    Property,
    ReconcileQueue,
    RecordSource,
    ReviewItem,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
    SyncReceipt,
)
from server.models.sync import PullSnapshotChunk
from server.orm import dialect_insert, utcnow
from sync.protocol import ELECTOR_FLAGS
from sync.rules import suppression_applies
from sync.fold import ContactEvent, FlagEvent
from sync.fold import ElectorState as FoldedState
from sync import views
from sync.store import (
    CampaignInfo,
    DataRefused,
    ElectorInfo,
    Entitlement,
    MemberInfo,
    OutboxHealth,
    Receipt,
    Snapshot,
    StorageState,
    Store,
)

# Materialised data must match the versions just read from the database, not rows the session
# happened to load earlier (a CLI command or job may serve several syncs in one session).
FRESH = {"populate_existing": True}
# A download's snapshot (sync.store.Snapshot) is stored in chunks of this many items, so a page reads one or two.
SNAPSHOT_CHUNK = 1000
# Longer than any transaction that adds a suppression stays open (see SqlStore.suppression_mark).
SNAPSHOT_MARGIN = timedelta(hours=1)
ELECTOR_NUMBER = Elector.elector_number.fget  # the printed number, from a plain row as from an elector


def _pg_array(values, item_type):
    """An array parameter for PostgreSQL, sent as one text literal (``'{1,2,3}'``) and cast on the server.
    psycopg dumps a list parameter element by element in Python, and SQLAlchemy's ARRAY type processes each item
    again: for the thousands of ids a pull or a rebuild reads by, that cost more than running the query.
    Integers and UUIDs never need quoting inside an array literal; any other value goes as a real array.

    The literal's parameter has no SQL type (psycopg sends a str as "unknown"), so the cast types the parameter
    itself and the server parses it once. Typed as text, the cast would be a conversion run for every row the
    condition filters: a download's first page took 28 s instead of 0.3 s."""
    values = list(values)
    if {type(v) for v in values} <= _PLAIN_ARRAY_ITEMS:
        return cast(bindparam(None, "{" + ",".join(map(str, values)) + "}", type_=NullType()), ARRAY(item_type))
    return cast(bindparam(None, values, type_=ARRAY(item_type)), ARRAY(item_type))


_PLAIN_ARRAY_ITEMS = {int, uuid.UUID}


def _json_value(value):
    """What json.dumps cannot write itself, as PostgreSQL reads it back (uuid, timestamptz)."""
    if isinstance(value, (datetime, uuid.UUID)):
        return value.isoformat() if isinstance(value, datetime) else str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class SqlStore(Store):
    def __init__(self, session: Session, clock: Callable[[], datetime] = utcnow):
        self.session = session
        self.clock = clock
        self.dialect = session.get_bind().dialect.name
        # (campaign id, outcome code) -> meaning, when the caller has read them all (load_meanings): events()
        # then reads plain rows instead of resolving each record's meaning in SQL (a full rebuild's million).
        self.meanings: dict[tuple[int, str], str | None] | None = None
        # A pull touches its storage's row several times in one transaction. Its storage(..., pages=True) reads
        # the pending page and the snapshot with the rest (as text, decoded only if asked for), for
        # confirm_pending() and snapshot() just after; and the pending page is written once, with save_storage()
        # or at the commit, however often it changes before. Both live only inside transaction().
        self._read_ahead: dict[tuple, dict] = {}
        self._pending_writes: dict[tuple, tuple[list, bool]] = {}  # key -> (pending, may insert the row)

    def _insert(self, model):
        """The dialect's INSERT (for ON CONFLICT) on the model's table. Core, not the ORM: with a list of
        parameter sets it is one cached statement run as executemany, and None values are kept (the ORM's
        bulk insert drops them and splits the batch wherever the keys differ)."""
        return dialect_insert(self.session, model.__table__)

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            yield
            self._write_pending()
            self.session.commit()
        except (DataError, UnicodeEncodeError, OverflowError) as exc:
            # A value the database cannot hold: SQLSTATE class 22 from the server, or one the driver cannot
            # even encode (an unpaired surrogate, an integer past 64 bits).
            self.session.rollback()
            raise DataRefused(type(exc).__name__) from None  # the statement's values are personal data
        except BaseException:
            self.session.rollback()
            raise
        finally:
            self._forget_row_caches()

    def _forget_row_caches(self) -> None:
        """The end of a transaction, however it ended: nothing read or deferred in it outlives it."""
        self._read_ahead.clear()
        self._pending_writes.clear()

    def _write_pending(self) -> None:
        """The pending pages changed in this transaction and not yet written with their storage."""
        for (device_id, storage_id), (pending, create) in sorted(self._pending_writes.items()):
            if create:
                self._upsert_storage(device_id, storage_id, {"pending": pending})
            else:
                self.session.execute(update(DeviceStorage).where(
                    DeviceStorage.device_id == device_id, DeviceStorage.storage_id == storage_id)
                    .values(pending=pending))
        self._pending_writes.clear()

    # -- devices ----------------------------------------------------------------------------------
    def storage(self, device_id, storage_id, *, pages=False):
        # The columns the engine needs; for a pull (``pages``) also the pending page and the snapshot, as text
        # (decoded only if used), so that its confirm_pending() and snapshot() need not read the row again.
        key = (device_id, storage_id)
        self._read_ahead.pop(key, None)
        columns = [DeviceStorage.device_id, DeviceStorage.storage_id, DeviceStorage.last_seq,
                   DeviceStorage.acked_token, DeviceStorage.pending_token, DeviceStorage.clock_offset_seconds,
                   DeviceStorage.last_push_at, DeviceStorage.last_pull_at]
        if pages:
            columns += [cast(DeviceStorage.pending, Text), cast(DeviceStorage.snapshot, Text)]
        row = self.session.execute(select(*columns).where(DeviceStorage.device_id == device_id,
                                                          DeviceStorage.storage_id == storage_id)).first()
        if row is None:
            return None
        if pages:
            self._read_ahead[key] = {"pending": row[8], "snapshot": row[9]}
        return StorageState(*row[:8])

    def _read(self, device_id, storage_id, column: str):
        """The storage's pending page or snapshot: as storage() read it if nothing has written it since,
        else from the database."""
        key = (device_id, storage_id)
        if key in self._pending_writes and column == "pending":
            return self._pending_writes[key][0]
        ahead = self._read_ahead.get(key)
        if ahead is not None and column in ahead:
            text_value = ahead.pop(column)
            return json.loads(text_value) if text_value is not None else None
        return self.session.scalar(select(getattr(DeviceStorage, column)).where(
            DeviceStorage.device_id == device_id, DeviceStorage.storage_id == storage_id))

    def _forget_read(self, device_id, storage_id, column: str) -> None:
        self._read_ahead.get((device_id, storage_id), {}).pop(column, None)

    def _upsert_storage(self, device_id, storage_id, values: dict) -> None:
        stmt = self._insert(DeviceStorage).values(device_id=device_id, storage_id=storage_id, **values)
        self.session.execute(stmt.on_conflict_do_update(index_elements=["device_id", "storage_id"], set_=values))

    def save_storage(self, state: StorageState) -> None:
        greatest = func.greatest if self.dialect == "postgresql" else func.max
        written = self._pending_writes.pop((state.device_id, state.storage_id), None)
        if written is not None:
            self._forget_read(state.device_id, state.storage_id, "pending")
        stmt = self._insert(DeviceStorage).values(
            device_id=state.device_id, storage_id=state.storage_id, last_seq=state.last_seq,
            acked_token=state.acked_token, pending_token=state.pending_token,
            clock_offset_seconds=state.clock_offset_seconds, last_push_at=state.last_push_at,
            last_pull_at=state.last_pull_at, pending=written[0] if written is not None else [],
        )
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=["device_id", "storage_id"],
            set_={"last_seq": greatest(DeviceStorage.last_seq, stmt.excluded.last_seq),
                  "acked_token": stmt.excluded.acked_token, "pending_token": stmt.excluded.pending_token,
                  "clock_offset_seconds": stmt.excluded.clock_offset_seconds,
                  "last_push_at": stmt.excluded.last_push_at, "last_pull_at": stmt.excluded.last_pull_at,
                  **({"pending": stmt.excluded.pending} if written is not None else {})},
        ))

    def save_outbox_report(self, device_id, storage_id, report: OutboxHealth) -> None:
        self.session.execute(update(DeviceStorage).where(
            DeviceStorage.device_id == device_id, DeviceStorage.storage_id == storage_id,
        ).values(unsent_count=report.unsent, oldest_unsent_at=report.oldest_at, app_version=report.app_version,
                 reported_at=report.reported_at))

    # -- push -------------------------------------------------------------------------------------

    def _in(self, column, ids):
        """``column IN ids``, for the reads by id below: on PostgreSQL ``column = ANY(:ids)``, one array
        parameter (an IN of 500 parameters costs more to build and convert on the client than to run, and
        its text differs with every count, so psycopg cannot cache it)."""
        if self.dialect != "postgresql":
            return column.in_(ids)
        return column == any_(_pg_array(sorted(ids), column.type))

    def _rows_insert(self, model, rows: list[dict], **same):
        """PostgreSQL: ``INSERT INTO model (...) SELECT ... FROM json_populate_recordset(NULL::model, :rows)``,
        the whole batch as one JSON document: one short statement (cached by SQLAlchemy and psycopg alike) and
        one round trip whatever its size, and the encoding is the json module's, in C. (Array parameters, one
        per column, cost more: psycopg escapes each element of a text array in Python.) Rows are inserted in
        the order given; every column is named in the rows or in ``same`` (values shared by every row, bound
        once rather than written into each), so no Python-side default is missed."""
        table = model.__table__
        names = list(rows[0])
        document = cast(bindparam(None, json.dumps(rows, default=_json_value, separators=(",", ":")), type_=Text),
                        JSON)
        source = func.json_populate_recordset(literal_column(f"NULL::{table.name}"), document).table_valued(*names)
        shared = [literal(value, table.c[name].type) for name, value in same.items()]
        return self._insert(model).from_select(names + list(same),
                                               select(*(source.c[name] for name in names), *shared))

    def _any(self, column, ids):
        """``column IN ids`` as one parameter (an array on PostgreSQL, a JSON list on SQLite), for the pull's
        reads of thousands of ids: an IN of thousands of parameters costs more to build than to run."""
        ids = sorted(set(ids))
        if self.dialect == "postgresql":
            return column == any_(_pg_array(ids, column.type))
        listed = func.json_each(bindparam(None, json.dumps(ids))).table_valued("value")
        return column.in_(select(listed.c.value))

    def receipts(self, mutation_ids):
        if not mutation_ids:
            return {}
        t = SyncReceipt.__table__
        rows = self.session.execute(select(t.c.mutation_id, t.c.device_id, t.c.seq, t.c.status, t.c.content_hash,
                                           t.c.details, t.c.elector_id, t.c.supersedes_id)
                                    .where(self._in(t.c.mutation_id, mutation_ids)))
        return {r.mutation_id: Receipt(r.mutation_id, r.device_id, r.seq, r.status, r.content_hash, r.details,
                                       r.elector_id, r.supersedes_id) for r in rows}

    def claim(self, receipts):
        if not receipts:
            return set()
        now = self.now()
        values = [{"mutation_id": r.mutation_id, "device_id": r.device_id, "seq": r.seq, "status": r.status,
                   "content_hash": r.content_hash, "details": r.details, "elector_id": r.elector_id,
                   "supersedes_id": r.supersedes_id, "created_at": now}
                  for r in sorted(receipts, key=lambda r: r.mutation_id)]  # one lock order for every claimer
        if self.dialect == "postgresql":
            stmt = self._rows_insert(SyncReceipt, values).on_conflict_do_nothing(index_elements=["mutation_id"])
            return set(self.session.scalars(stmt.returning(SyncReceipt.__table__.c.mutation_id)))
        stmt = self._insert(SyncReceipt).on_conflict_do_nothing(index_elements=["mutation_id"])
        return set(self.session.scalars(stmt.returning(SyncReceipt.__table__.c.mutation_id), values))

    def settle(self, receipts):
        settled = set()
        for r in receipts:
            done = self.session.scalar(
                update(SyncReceipt).where(SyncReceipt.mutation_id == r.mutation_id, SyncReceipt.status == "held")
                .values(status=r.status, details=r.details, elector_id=r.elector_id, supersedes_id=r.supersedes_id)
                .returning(SyncReceipt.mutation_id))
            if done is not None:
                settled.add(done)
        return settled

    def _lists(self, user_id, at, grace):
        """The user's assignments that have started and ended less than ``grace`` before ``at``."""
        return (select(Assignment.id).join(AssignmentUser, AssignmentUser.assignment_id == Assignment.id)
                .where(AssignmentUser.user_id == user_id, Assignment.starts_at <= at, Assignment.ends_at > at - grace))

    def writable_electors(self, user_id, elector_ids, at, grace):
        lists = self._lists(user_id, at, grace)
        listed = select(AssignmentItem.elector_id).where(AssignmentItem.assignment_id.in_(lists),
                                                         self._in(AssignmentItem.elector_id, elector_ids))
        at_home = (select(Elector.id).join(AssignmentItem, AssignmentItem.property_id == Elector.property_id)
                   .where(AssignmentItem.assignment_id.in_(lists), self._in(Elector.id, elector_ids)))
        return set(self.session.scalars(listed.union(at_home)))

    def writable_properties(self, user_id, property_ids, at, grace):
        lists = self._lists(user_id, at, grace)
        listed = select(AssignmentItem.property_id).where(AssignmentItem.assignment_id.in_(lists),
                                                          AssignmentItem.property_id.in_(property_ids))
        homes = (select(Elector.property_id).join(AssignmentItem, AssignmentItem.elector_id == Elector.id)
                 .where(AssignmentItem.assignment_id.in_(lists), Elector.property_id.in_(property_ids)))
        return set(self.session.scalars(listed.union(homes)))

    def campaigns(self, ids):
        if not ids:
            return {}
        campaigns = self.session.scalars(
            select(Campaign).where(Campaign.id.in_(ids)).options(selectinload(Campaign.codes),
                                                                  selectinload(Campaign.questions)))
        out = {}
        for c in campaigns:
            codes = {s: [code for code in c.codes if code.code_set == s] for s in CodeSet}
            out[c.id] = CampaignInfo(
                id=c.id, constituency_id=c.constituency_id,
                starts_at=datetime.combine(c.starts_on, time.min, timezone.utc),
                ends_at=datetime.combine(c.ends_on, time.max, timezone.utc),
                outcomes={code.code: (code.meaning.value if code.meaning else None, tuple(code.channels or ()))
                          for code in codes[CodeSet.OUTCOME]},
                intentions=frozenset(code.code for code in codes[CodeSet.INTENTION]),
                strengths=frozenset(code.code for code in codes[CodeSet.STRENGTH]),
                questions={q.key: {"kind": q.kind.value, "options": q.options} for q in c.questions},
            )
        return out

    def electors(self, ids):
        if not ids:
            return {}
        rows = self.session.execute(select(Elector.id, Elector.constituency_id, Elector.version, Elector.phone)
                                    .where(self._in(Elector.id, ids)))
        return {r.id: ElectorInfo(r.id, r.constituency_id, r.version, r.phone) for r in rows}

    def property_constituencies(self, ids):
        if not ids:
            return {}
        return dict(self.session.execute(select(Property.id, Property.constituency_id).where(Property.id.in_(ids))).all())

    def suppressions(self, elector_ids):
        return self._suppressions(self._in(Suppression.elector_id, elector_ids)) if elector_ids else {}

    def _active_suppressions(self, elector_ids):
        """``suppressions``, for the thousands of electors of a pull (the ids as one parameter)."""
        return self._suppressions(self._any(Suppression.elector_id, elector_ids)) if elector_ids else {}

    def _suppressions(self, electors) -> dict[int, list]:
        """The unlifted suppressions of the electors ``electors`` selects, as (kind, channel) per elector."""
        found: dict[int, list] = {}
        for elector_id, kind, channel in self.session.execute(
                select(Suppression.elector_id, Suppression.kind, Suppression.channel)
                .where(electors, Suppression.lifted_at.is_(None))):
            found.setdefault(elector_id, []).append((kind.value, channel.value))
        return found

    def members(self, ids):
        if not ids:
            return {}
        rows = self.session.execute(select(Member.id, Member.constituency_id).where(Member.id.in_(ids)))
        return {r.id: MemberInfo(r.id, r.constituency_id) for r in rows}

    def writable_members(self, user_id, member_ids, at, grace):
        return set(self.session.scalars(select(AssignmentItem.member_id).where(
            AssignmentItem.assignment_id.in_(self._lists(user_id, at, grace)), AssignmentItem.member_id.in_(member_ids))))

    def member_suppressions(self, member_ids):
        if not member_ids:
            return {}
        found: dict[int, list] = {}
        for member_id, kind, channel in self.session.execute(
                select(Suppression.member_id, Suppression.kind, Suppression.channel)
                .where(Suppression.member_id.in_(member_ids), Suppression.lifted_at.is_(None))):
            found.setdefault(member_id, []).append((kind.value, channel.value))
        return found

    def contact_people(self, ids):
        if not ids:
            return {}
        return {r.id: ("member", r.member_id) if r.member_id is not None else ("elector", r.elector_id)
                for r in self.session.execute(select(ContactRecord.id, ContactRecord.elector_id, ContactRecord.member_id)
                                              .where(ContactRecord.id.in_(ids)))}

    def chain_links(self, elector_ids):
        if not elector_ids:
            return {}
        links: dict[int, dict] = {}
        for mutation_id, elector_id, supersedes_id in self.session.execute(
                select(SyncReceipt.mutation_id, SyncReceipt.elector_id, SyncReceipt.supersedes_id)
                .where(self._in(SyncReceipt.elector_id, elector_ids), SyncReceipt.supersedes_id.is_not(None),
                       SyncReceipt.status.not_in(("applied", "conflict")))):
            links.setdefault(elector_id, {})[mutation_id] = supersedes_id
        return links

    def insert_contacts(self, rows):
        values = [{
            "id": r.id, "kind": r.kind, "campaign_id": r.campaign_id, "constituency_id": r.constituency_id,
            "elector_id": r.elector_id, "member_id": r.member_id, "call_back_at": r.call_back_at,
            "channel": r.channel, "outcome": r.outcome, "intention": r.intention,
            "strength": r.strength, "survey_answers": r.survey_answers, "notes": r.notes,
            "supersedes_id": r.supersedes_id, "occurred_at": r.occurred_at,
            "device_occurred_at": r.device_occurred_at, "clock_flags": list(r.clock_flags),
            "received_at": r.received_at, "user_id": r.user_id, "device_id": r.device_id,
            "source": RecordSource.PWA.value, "content_hash": r.content_hash,
        } for r in rows]
        if not values:
            return
        # The receipt claim already made these ids unique; DO NOTHING only guards against another path.
        if self.dialect == "postgresql":
            self.session.execute(self._rows_insert(ContactRecord, values).on_conflict_do_nothing(index_elements=["id"]))
            return
        self.session.execute(self._insert(ContactRecord).on_conflict_do_nothing(index_elements=["id"]), values)

    def field_changes_since(self, elector_id, field, version):
        rows = self.session.execute(
            select(ElectorUpdate.value, ElectorUpdate.applied_version, ElectorUpdate.user_id)
            .where(ElectorUpdate.elector_id == elector_id, ElectorUpdate.field == field,
                   ElectorUpdate.applied_version > version)
            .order_by(ElectorUpdate.applied_version))
        return [tuple(r) for r in rows]

    def apply_change(self, change):
        if change.field == "phone":
            version = self.session.scalar(
                update(Elector).where(Elector.id == change.elector_id)
                .values(phone=change.value, version=Elector.version + 1, updated_at=self.now())
                .returning(Elector.version))
        else:
            version = self.session.scalar(select(Elector.version).where(Elector.id == change.elector_id))
        self.session.add(ElectorUpdate(
            id=change.id, elector_id=change.elector_id, field=change.field, value=change.value,
            base_version=change.base_version, applied_version=version, occurred_at=change.occurred_at,
            received_at=change.received_at, user_id=change.user_id, device_id=change.device_id))
        self.session.flush()
        return version

    def suppress(self, elector_id, constituency_id, reason, user_id, member_id=None):
        subject = Suppression.member_id == member_id if member_id is not None else Suppression.elector_id == elector_id
        already = self.session.scalar(select(Suppression.id).where(
            subject, Suppression.lifted_at.is_(None),
            or_(Suppression.kind == SuppressionKind.ERASURE, Suppression.channel == SuppressionChannel.ALL)).limit(1))
        if already is not None:  # the person's elector row is locked, so no other push can be adding one
            return
        self.session.add(Suppression(
            constituency_id=constituency_id, elector_id=elector_id, member_id=member_id,
            kind=SuppressionKind.DO_NOT_CONTACT, channel=SuppressionChannel.ALL, reason=reason, source="canvass",
            created_by_id=user_id))
        self.session.flush()

    def add_review_items(self, items):
        from server.services.erasure import without_erased  # a service, imported at use: the store loads without it

        # Nothing about someone erased goes into the queue by name (docs/data-protection.md).
        items = without_erased(self.session, items)
        for i in items:
            if i.kind == "presence_report" and self.session.scalar(select(ReviewItem.id).where(
                    ReviewItem.kind == i.kind, ReviewItem.elector_id == i.elector_id, ReviewItem.status == "open",
                    ReviewItem.data["flag"].as_string() == i.data["flag"]).limit(1)) is not None:
                continue
            self.session.add(ReviewItem(constituency_id=i.constituency_id, kind=i.kind, elector_id=i.elector_id,
                                        data=i.data, created_at=self.now()))
        self.session.flush()

    # -- reconciliation ---------------------------------------------------------------------------
    def lock_electors(self, elector_ids):
        if self.dialect == "sqlite" and elector_ids:
            # SQLite has no row locks, and pysqlite begins a transaction only at its first write: take the
            # database's write lock now, before the history is read, so no other process can commit about these
            # electors between that read and this transaction's writes (the fold would be stale). A no-op UPDATE
            # begins the transaction and takes the lock.
            self.session.execute(update(Elector.__table__).where(literal(False)).values(id=Elector.__table__.c.id))
            return
        # FOR NO KEY UPDATE, not FOR UPDATE: inserting a contact, a suppression or a state takes FOR KEY
        # SHARE on its elector, which FOR UPDATE blocks (and so deadlocks) but this lock lets through.
        if self.dialect == "postgresql" and elector_ids:
            self.session.execute(select(Elector.id).where(self._in(Elector.id, sorted(elector_ids)))
                                 .order_by(Elector.id).with_for_update(key_share=True))

    def locked_history(self, elector_ids, events=True):
        if self.dialect != "postgresql" or not elector_ids:
            return super().locked_history(elector_ids, events)
        # The lock and the rows in one statement (FOR NO KEY UPDATE, in id order, as lock_electors).
        rows = self.session.execute(select(Elector.id, Elector.constituency_id, Elector.version, Elector.phone)
                                    .where(self._in(Elector.id, elector_ids)).order_by(Elector.id)
                                    .with_for_update(key_share=True))
        electors = {r.id: ElectorInfo(r.id, r.constituency_id, r.version, r.phone) for r in rows}
        if not events:
            return electors, None, None
        return electors, self.events(elector_ids), self.chain_links(elector_ids)

    def load_meanings(self) -> None:
        """Read every outcome code's meaning once, for events() to resolve records with (see ``meanings``)."""
        self.meanings = {(campaign_id, code): meaning.value if meaning else None
                         for campaign_id, code, meaning in self.session.execute(
                             select(CampaignCode.campaign_id, CampaignCode.code, CampaignCode.meaning)
                             .where(CampaignCode.code_set == CodeSet.OUTCOME))}

    def events(self, elector_ids):
        out: dict[int, tuple[list, list]] = {i: ([], []) for i in elector_ids}
        if not elector_ids:
            return out
        if self.meanings is not None:
            self._plain_events(elector_ids, out)
        else:
            self._contact_events(elector_ids, out)
        for r in self.session.execute(select(ElectorUpdate.id, ElectorUpdate.elector_id, ElectorUpdate.field,
                                             ElectorUpdate.occurred_at)
                                      .where(self._in(ElectorUpdate.elector_id, elector_ids),
                                             ElectorUpdate.field.in_(ELECTOR_FLAGS))):
            out[r.elector_id][1].append(FlagEvent(r.id, r.field, r.occurred_at))
        return out

    def _plain_events(self, elector_ids, out) -> None:
        """The contact events, as plain values: kind and channel as stored (no enum objects), the meaning from
        ``meanings``. The same events as _contact_events."""
        t = ContactRecord.__table__
        meanings = self.meanings
        # PostgreSQL returns timestamptz values zone-aware already (the same instants UTCDateTime would give).
        when = (lambda c: type_coerce(c, DateTime(timezone=True))) if self.dialect == "postgresql" else (lambda c: c)
        rows = self.session.execute(select(
            t.c.id, t.c.elector_id, type_coerce(t.c.kind, String), when(t.c.occurred_at),
            type_coerce(t.c.channel, String), t.c.campaign_id, t.c.outcome, t.c.intention, t.c.strength,
            t.c.supersedes_id, t.c.user_id, when(t.c.call_back_at)).where(self._in(t.c.elector_id, elector_ids))).all()  # fetchall: one call, not a row at a time
        for (id_, elector_id, kind, occurred_at, channel, campaign_id, outcome, intention, strength, supersedes_id,
             user_id, call_back_at) in rows:
            out[elector_id][0].append(ContactEvent(
                id_, kind, occurred_at, channel, meanings.get((campaign_id, outcome)), intention, strength,
                supersedes_id, user_id, call_back_at))

    def _contact_events(self, elector_ids, out) -> None:
        meaning = self._meaning()
        rows = self.session.execute(select(
            ContactRecord.id, ContactRecord.elector_id, ContactRecord.kind, ContactRecord.occurred_at,
            ContactRecord.channel, meaning.label("meaning"), ContactRecord.intention, ContactRecord.strength,
            ContactRecord.supersedes_id, ContactRecord.user_id, ContactRecord.call_back_at,
        ).where(self._in(ContactRecord.elector_id, elector_ids)))
        for r in rows:
            out[r.elector_id][0].append(ContactEvent(
                r.id, r.kind.value, r.occurred_at, r.channel.value, r.meaning.value if r.meaning else None,
                r.intention, r.strength, r.supersedes_id, r.user_id, r.call_back_at))

    def save_states(self, states):
        if not states:
            return
        now = self.now()
        values = [{"elector_id": eid, "intention": s.intention, "strength": s.strength,
                   "intention_at": s.intention_at, "last_contact_at": s.last_contact_at,
                   "last_spoke_at": s.last_spoke_at, "contacts": s.contacts, "do_not_contact": s.do_not_contact,
                   "presence": s.presence, "last_door_at": s.last_door_at, "last_door_outcome": s.last_door_outcome,
                   "last_call_at": s.last_call_at, "last_call_outcome": s.last_call_outcome,
                   "call_back_at": s.call_back_at, "updated_at": now} for eid, s in sorted(states.items())]
        # PostgreSQL: the rows as one JSON document in the statement; SQLite: an executemany of the values.
        if self.dialect == "postgresql":
            stmt, params = self._rows_insert(ElectorState, values), None
        else:
            stmt, params = self._insert(ElectorState), values
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=["elector_id"],
            set_={c: getattr(stmt.excluded, c) for c in values[0] if c != "elector_id"}), params)
        self.session.execute(delete(ReconcileQueue.__table__).where(
            self._in(ReconcileQueue.__table__.c.elector_id, list(states))))

    def enqueue_reconcile(self, elector_ids):
        now = self.now()
        self.session.execute(self._insert(ReconcileQueue).on_conflict_do_nothing(index_elements=["elector_id"]),
                             [{"elector_id": e, "queued_at": now} for e in sorted(elector_ids)])

    def state(self, elector_id: int) -> FoldedState | None:
        """The stored derived state of one elector, in the engine's terms."""
        row = self.session.get(ElectorState, elector_id, populate_existing=True)
        if row is None:
            return None
        return FoldedState(row.intention, row.strength, row.intention_at, row.last_contact_at, row.last_spoke_at,
                           dict(row.contacts), row.do_not_contact, row.presence, row.last_door_at,
                           row.last_door_outcome, row.last_call_at, row.last_call_outcome, row.call_back_at)

    # -- pull -------------------------------------------------------------------------------------
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
