"""The database side of an import's writes: the sync engine's store, tagging what an import adds with its
batch, and the register as the matcher sees it. Used by pipeline.py."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

from sqlalchemy import any_, bindparam, select
from sqlalchemy.exc import DataError
from sqlalchemy.types import ARRAY

from server.extensions import db
from server.models import ContactRecord, Device, Elector, Property, RecordKind, RecordSource, User
from server.orm import utcnow
from server.services.imports.errors import ImportRefused
from server.services.imports.matching import CandidateElector, ElectorIndex
from server.services.sync_store import SqlStore
from sync.engine import Limits, SyncEngine

CHUNK = 5000


class ImportStore(SqlStore):
    """SqlStore for an import: its transactions are savepoints inside the import's one transaction (which the
    pipeline commits, or rolls back for a preview), and what it writes carries the import batch."""

    def __init__(self, session, batch_id: int):
        super().__init__(session)
        self.batch_id = batch_id
        self.update_ids: list[str] = []
        self.touched: set[int] = set()  # electors to fold once every row is in (see import_engine)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """No transaction of its own: everything happens in the import's one transaction, with no savepoint per
        push (hundreds of subtransactions in one transaction slow PostgreSQL down for every session). A value
        the database refuses therefore fails the whole import, which changes nothing."""
        try:
            yield
            self._write_pending()
        except (DataError, UnicodeEncodeError, OverflowError):
            raise ImportRefused("not_storable", "A value in the file could not be stored, so nothing was "
                                                "imported. Check the file for unusual characters or numbers.") from None
        finally:
            self._forget_row_caches()

    def insert_contacts(self, rows):
        values = [{
            "id": r.id, "kind": r.kind, "campaign_id": r.campaign_id, "constituency_id": r.constituency_id,
            "elector_id": r.elector_id, "member_id": r.member_id, "call_back_at": r.call_back_at,
            "channel": r.channel, "outcome": r.outcome, "intention": r.intention,
            "strength": r.strength, "survey_answers": r.survey_answers, "notes": r.notes,
            "supersedes_id": r.supersedes_id, "occurred_at": r.occurred_at,
            "device_occurred_at": r.device_occurred_at, "clock_flags": list(r.clock_flags),
            "received_at": r.received_at, "user_id": r.user_id, "device_id": r.device_id,
            "source": RecordSource.IMPORT.value, "content_hash": r.content_hash, "import_batch_id": self.batch_id,
        } for r in rows]
        self.session.execute(self._insert(ContactRecord).on_conflict_do_nothing(index_elements=["id"]), values)

    def add_review_items(self, items):
        for item in items:
            item.data["import_batch_id"] = self.batch_id
        super().add_review_items(items)

    # -- the engine's reads by id, as one array parameter on PostgreSQL -------------------------------
    # An import sends tens of thousands of ids through the engine; "IN (:p1, ..., :p250)" costs more to build
    # and convert on the client than to run. "= ANY(:ids)" is one parameter: SqlStore's reads by id all go
    # through this hook, so the queries are otherwise the same.

    def _in(self, column, ids):
        ids = sorted(ids)
        if self.dialect != "postgresql":
            return column.in_(ids)
        return column == any_(bindparam(None, ids, type_=ARRAY(column.type)))

    def enqueue_reconcile(self, elector_ids):
        self.touched |= set(elector_ids)

    def reconcile_touched(self, engine: SyncEngine, chunk: int = 5000, progress=None) -> None:
        """Fold every elector the import touched, in large chunks, inside the import's transaction."""
        ids = sorted(self.touched)
        for start in range(0, len(ids), chunk):
            engine.reconcile(set(ids[start:start + chunk]))
            if progress:
                progress("folding", min(start + chunk, len(ids)), len(ids))
        self.touched.clear()

    def apply_change(self, change):
        self.update_ids.append(str(change.id))
        return super().apply_change(change)


def import_engine(store: ImportStore, limits: Limits) -> SyncEngine:
    """The sync engine with the server's rules, but no cap on a push's size, and the electors each push touches
    collected by the store (``enqueue_reconcile``) to be folded once at the end (``reconcile_touched``), in
    the same transaction: the import's derived state is never left for the scheduled job."""
    from dataclasses import replace

    return SyncEngine(store, replace(limits, max_mutations=10 ** 9, max_bytes=10 ** 12, reconcile_inline_max=0))


def import_device(user: User) -> Device:
    """The admin's import device: what sheet rows are pushed as. Its token can never log in."""
    name = f"Imports ({user.email})"[:120]
    device = db.session.scalar(select(Device).where(Device.user_id == user.id, Device.name == name,
                                                    Device.user_agent == "groundwork-import"))
    if device is None:
        device = Device(user_id=user.id, name=name, user_agent="groundwork-import",
                        token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                        token_expires_at=utcnow() - timedelta(days=1))
        db.session.add(device)
        db.session.flush()
    return device


def mutation_id(*parts) -> uuid.UUID:
    """A row's record id, from what makes it the same record: re-importing it names the same id."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "groundwork-import:" + ":".join(str(p) for p in parts))


class Register:
    """The constituency's electors (removed ones included) as the matcher sees them."""

    def __init__(self, constituency_id: int):
        rows = db.session.execute(
            select(Elector.id, Elector.prefix, Elector.number, Elector.suffix, Elector.surname, Elector.forenames,
                   Elector.removed_at, Elector.property_id, Property.house_number, Property.flat, Property.street,
                   Property.postcode, Property.address_lines)
            .join(Property, Property.id == Elector.property_id)
            .where(Elector.constituency_id == constituency_id)).all()
        self.electors: dict[int, CandidateElector] = {}
        self.property_of: dict[int, int] = {}
        self.properties: set[int] = set()
        for r in rows:
            self.electors[r.id] = CandidateElector(
                id=r.id, prefix=r.prefix, number=r.number, suffix=r.suffix, surname=r.surname or "",
                forenames=r.forenames or "", house_number=str(r.house_number) if r.house_number is not None else None,
                flat=r.flat, street=r.street, postcode=r.postcode, removed=r.removed_at is not None,
                address=", ".join(str(x) for x in (r.address_lines or [])))
            self.property_of[r.id] = r.property_id
            self.properties.add(r.property_id)
        self.index = ElectorIndex(self.electors.values())


class Places:
    """The polling districts and postcode sectors of a constituency's register: all that check_constituency
    reads, without loading every elector (an upload checks it inside the request)."""

    def __init__(self, constituency_id: int):
        from server.services.imports.identity import postcode_key

        self.prefixes = set(db.session.scalars(select(Elector.prefix).where(Elector.constituency_id == constituency_id)
                                               .distinct()))
        self.sectors = {key[:-2] for pc in db.session.scalars(
            select(Property.postcode).where(Property.constituency_id == constituency_id).distinct())
            if (key := postcode_key(pc) or "".join((pc or "").upper().split()))}


def held_keys(elector_ids: set[int]) -> set[tuple[int, str, str]]:
    """(elector, outcome, day) of every record already held about these electors: what a row must not repeat."""
    keys: set[tuple[int, str, str]] = set()
    ids = sorted(elector_ids)
    store = SqlStore(db.session)
    for start in range(0, len(ids), CHUNK):
        for elector_id, outcome, at in db.session.execute(
                select(ContactRecord.elector_id, ContactRecord.outcome, ContactRecord.occurred_at)
                .where(ImportStore._in(store, ContactRecord.elector_id, ids[start:start + CHUNK]),
                       ContactRecord.kind == RecordKind.RECORD)):
            keys.add((elector_id, outcome, at.date().isoformat()))
    return keys
