"""The sync engine's Store on SQLAlchemy: the same semantics as sync.memory, on SQLite and PostgreSQL.
This module holds the storage's row, the push and reconciliation; the pull's half is PullSide, in
server/services/sync_store_pull.py.

Claims use INSERT ... ON CONFLICT DO NOTHING, so a concurrent resend of the same batch waits for the
first and then loses cleanly; reconciliation locks its electors in id order first.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timezone

import orjson
from sqlalchemy import (
    ARRAY,
    JSON,
    DateTime,
    String,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import DataError
from sqlalchemy.types import NullType
from sqlalchemy.orm import Session

from server.models import (
    Assignment,
    AssignmentItem,
    AssignmentUser,
    Campaign,
    CampaignCode,
    CodeSet,
    ContactRecord,
    DeviceStorage,
    Elector,
    ElectorState,
    ElectorUpdate,
    Member,
    Property,
    ReconcileQueue,
    RecordSource,
    ReviewItem,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
    SurveyQuestion,
    SyncReceipt,
)
from server.orm import dialect_insert, utcnow
from sync.protocol import ELECTOR_FLAGS
from sync.fold import ContactEvent, FlagEvent
from sync.fold import ElectorState as FoldedState
from sync.store import (
    CampaignInfo,
    DataRefused,
    ElectorInfo,
    MemberInfo,
    OutboxHealth,
    Receipt,
    StorageState,
    Store,
)
from server.services.sync_store_pull import PullSide


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


def _json_document(rows: list[dict]) -> str:
    """Rows as one JSON text for PostgreSQL to read back: by orjson, which writes uuids and times itself (as
    str() and isoformat() would) fifteen times as fast as json with a default= hook, called per value; a push
    writes three documents of 500 rows, a rebuild thousands. An integer past 64 bits, which orjson refuses and
    validation should never let through, goes by json instead: a JSON column holds it, a bigint column refuses
    it like any value out of range."""
    try:
        return orjson.dumps(rows).decode()
    except orjson.JSONEncodeError:
        return json.dumps(rows, default=_json_value, separators=(",", ":"))


class SqlStore(PullSide, Store):
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
        """``column IN ids``, for the reads by id below: on PostgreSQL ``_any``'s one array parameter (an IN of
        500 parameters costs more to build and convert on the client than to run, and its text differs with
        every count, so psycopg cannot cache it); on SQLite a plain IN, which these batch sizes keep short."""
        if self.dialect != "postgresql":
            return column.in_(ids)
        return self._any(column, ids)

    def _rows_insert(self, model, rows: list[dict], **same):
        """PostgreSQL: ``INSERT INTO model (...) SELECT ... FROM json_populate_recordset(NULL::model, :rows)``,
        the whole batch as one JSON document: one short statement (cached by SQLAlchemy and psycopg alike) and
        one round trip whatever its size, and the encoding is orjson's (_json_document). (Array parameters, one
        per column, cost more: psycopg escapes each element of a text array in Python.) Rows are inserted in
        the order given; every column is named in the rows or in ``same`` (values shared by every row, bound
        once rather than written into each), so no Python-side default is missed."""
        table = model.__table__
        names = list(rows[0])
        document = cast(bindparam(None, _json_document(rows), type_=Text), JSON)
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
                  for r in sorted(receipts, key=lambda r: r.mutation_id.int)]  # one lock order for every claimer
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

    def writable_electors(self, user_id, homes, at, grace):
        # One read, through the indexes, of the list items naming one of the batch's electors or their homes
        # (read by ``electors`` already), so the cost follows the batch, not the size of the user's lists. A
        # join of electors to list items was planned, once psycopg had prepared it, as a walk through every item
        # of the lists with each batch id compared in turn: 30 to 57 ms a push with a list of 15,000 electors.
        properties = {p for p in homes.values() if p is not None}
        named = [self._in(AssignmentItem.elector_id, set(homes))]
        if properties:
            named.append(self._in(AssignmentItem.property_id, properties))
        listed, listed_homes = set(), set()
        for elector_id, property_id in self.session.execute(
                select(AssignmentItem.elector_id, AssignmentItem.property_id)
                .where(AssignmentItem.assignment_id.in_(self._lists(user_id, at, grace)), or_(*named))):
            listed.add(elector_id)
            listed_homes.add(property_id)
        return {e for e, p in homes.items() if e in listed or (p is not None and p in listed_homes)}

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
        # Plain rows, not ORM objects with their collections: every push reads its campaigns, and building
        # the objects cost more than the three queries.
        codes: dict[int, dict[CodeSet, list]] = {i: {s: [] for s in CodeSet} for i in ids}
        for campaign_id, code_set, code, meaning, channels in self.session.execute(
                select(CampaignCode.campaign_id, CampaignCode.code_set, CampaignCode.code, CampaignCode.meaning,
                       CampaignCode.channels).where(CampaignCode.campaign_id.in_(ids))
                .order_by(CampaignCode.code_set, CampaignCode.position)):
            codes[campaign_id][code_set].append((code, meaning, channels))
        questions: dict[int, dict] = {i: {} for i in ids}
        for campaign_id, key, kind, options in self.session.execute(
                select(SurveyQuestion.campaign_id, SurveyQuestion.key, SurveyQuestion.kind, SurveyQuestion.options)
                .where(SurveyQuestion.campaign_id.in_(ids)).order_by(SurveyQuestion.position)):
            questions[campaign_id][key] = {"kind": kind.value, "options": options}
        out = {}
        for c in self.session.execute(select(Campaign.id, Campaign.constituency_id, Campaign.starts_on,
                                             Campaign.ends_on).where(Campaign.id.in_(ids))):
            sets = codes[c.id]
            out[c.id] = CampaignInfo(
                id=c.id, constituency_id=c.constituency_id,
                starts_at=datetime.combine(c.starts_on, time.min, timezone.utc),
                ends_at=datetime.combine(c.ends_on, time.max, timezone.utc),
                outcomes={code: (meaning.value if meaning else None, tuple(channels or ()))
                          for code, meaning, channels in sets[CodeSet.OUTCOME]},
                intentions=frozenset(code for code, _, _ in sets[CodeSet.INTENTION]),
                strengths=frozenset(code for code, _, _ in sets[CodeSet.STRENGTH]),
                questions=questions[c.id],
            )
        return out

    def electors(self, ids):
        if not ids:
            return {}
        rows = self.session.execute(select(Elector.id, Elector.constituency_id, Elector.version, Elector.phone,
                                           Elector.property_id).where(self._in(Elector.id, ids)))
        return {r.id: ElectorInfo(*r) for r in rows}

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
        rows = self.session.execute(select(Elector.id, Elector.constituency_id, Elector.version, Elector.phone,
                                           Elector.property_id)
                                    .where(self._in(Elector.id, elector_ids)).order_by(Elector.id)
                                    .with_for_update(key_share=True))
        electors = {r.id: ElectorInfo(*r) for r in rows}
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
        # PostgreSQL returns timestamptz values zone-aware already, in the session's zone: made UTC for this
        # transaction, so they are UTCDateTime's values exactly (and orjson, which drops an offset's seconds,
        # such as Amsterdam's +00:19:32 before 1937, writes the folded states' times right).
        if self.dialect == "postgresql":
            self.session.execute(text("SET LOCAL TimeZone = 'UTC'"))
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
        # PostgreSQL: the rows as one JSON document in the statement, and the time of the update bound once.
        # SQLite: an executemany of the values.
        values = [{"elector_id": eid, "intention": s.intention, "strength": s.strength,
                   "intention_at": s.intention_at, "last_contact_at": s.last_contact_at,
                   "last_spoke_at": s.last_spoke_at, "contacts": s.contacts,
                   "do_not_contact": s.do_not_contact, "presence": s.presence, "last_door_at": s.last_door_at,
                   "last_door_outcome": s.last_door_outcome, "last_call_at": s.last_call_at,
                   "last_call_outcome": s.last_call_outcome, "call_back_at": s.call_back_at}
                  for eid, s in sorted(states.items())]
        if self.dialect == "postgresql":
            stmt, params = self._rows_insert(ElectorState, values, updated_at=now), None
        else:
            stmt, params = self._insert(ElectorState), [{**v, "updated_at": now} for v in values]
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=["elector_id"],
            set_={c: getattr(stmt.excluded, c) for c in [*values[0], "updated_at"] if c != "elector_id"}), params)
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
