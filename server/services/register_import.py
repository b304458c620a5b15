"""Electoral register import: brings one constituency's register up to date from a council's CSV export.

Electors are matched by elector number, so every reference to them (contact history, lists) survives a
new edition; departed electors are marked removed, never deleted. Parsing (register_parse) is pure.

The file is streamed: each run of CHUNK_ROWS rows is checked, compared with what is stored and written before
the next is read, all in one transaction, so memory stays bounded whatever the register's size and a file
with one bad row still changes nothing. A dry run does the same work and rolls it back, so what it reports
is exactly what the import would do.

Two guards stop the wrong file: a full register that would mark removed more than REGISTER_MAX_REMOVAL_SHARE
of the constituency's current electors (another CLP's register, or part of one), and an edition dated before
the latest one imported. ``force`` overrides them; a dry run reports their verdict.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Iterator, Mapping

from flask import current_app
from sqlalchemy import func, insert, select, text, update

from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import (
    Constituency,
    Elector,
    ElectorStatus,
    PollingDistrict,
    Property,
    RegisterEdition,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
    Ward,
)
from server.orm import utcnow
from server.services import audit, erasure, provisional, rollups
from server.services.register_parse import (
    MAX_LISTED_PROBLEMS,
    MODES,
    UNALLOCATED_WARD_CODE,
    UNALLOCATED_WARD_NAME,
    Chunk,
    ParsedAddress,
    Problem,
    RegisterRejected,
    RegisterRow,
    RowChecker,
    address_key,
    edition_date_from_filename,
)
from server.services.register_read import READ_BYTES, SNIFF_BYTES, EncodingProbe, RecordReader, text_stream

CHUNK_ROWS = 5000  # rows checked and written at a time: bounds memory, and keeps each statement's batch large
_CHUNK = 900  # stays under SQLite's bound-parameter limit


class ImportRefused(Conflict):
    """A guard refused the file; ``details["guards"]`` gives each verdict, ``details["rows"]`` any bad rows."""


@dataclass
class Guard:
    """One wrong-file check and its verdict, in words for the person importing."""

    name: str  # "edition_date" or "removal_share"
    passed: bool
    message: str

    def as_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "message": self.message}


@dataclass
class ImportSummary:
    """What an import did (or, for a dry run, would do)."""

    constituency_code: str
    edition_label: str
    mode: str
    filename: str | None
    sha256: str
    encoding: str
    edition_date: date | None = None
    edition_date_source: str | None = None  # "given" or "file name"
    rows: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    rejected: int = 0
    properties_added: int = 0
    properties_updated: int = 0
    districts_created: list[str] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)
    dry_run: bool = False
    forced: bool = False
    edition_id: int | None = None
    # Electors this edition lists who asked to be erased: kept erased (names not restored), including anyone
    # listed under a new number whose name and address match an erasure's fingerprint.
    erased_kept: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("added", "updated", "removed", "unchanged", "rejected")}

    @property
    def refusals(self) -> list[Guard]:
        return [g for g in self.guards if not g.passed]


@dataclass
class _FileProperty:
    lines: tuple[str, ...]
    postcode: str
    uprn: str | None
    key: str
    district: str
    parsed: ParsedAddress
    existing: object | None = None  # the stored property's row
    existing_id: int | None = None
    shared: bool = False


class _Bits:
    """A set of row ids as a bitmap: an eighth of a byte per id, where a set of ints costs ~60 bytes each."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, n: int) -> None:
        if n >> 3 >= len(self._bits):
            self._bits.extend(bytes(max((n >> 3) + 1, len(self._bits) * 3 // 2) - len(self._bits)))
        self._bits[n >> 3] |= 1 << (n & 7)

    def __contains__(self, n: int) -> bool:
        return n >> 3 < len(self._bits) and bool(self._bits[n >> 3] & (1 << (n & 7)))


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@contextmanager
def _open_source(source: str | Path | IO, filename: str | None) -> Iterator[tuple[IO[bytes], str | None]]:
    """The file as a seekable binary stream (it is read twice: to hash it, then to import it), and its name."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        with path.open("rb") as handle:
            yield handle, filename or path.name
        return
    name = filename or getattr(source, "filename", None) or getattr(source, "name", None)
    name = Path(name).name if isinstance(name, str) else None
    if getattr(source, "seekable", lambda: False)() and isinstance(source.read(0), bytes):
        yield source, name
        return
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        if isinstance(source.read(0), str):
            while text := source.read(READ_BYTES):
                spool.write(text.encode("utf-8"))
        else:
            shutil.copyfileobj(source, spool, READ_BYTES)
        spool.seek(0)
        yield spool, name


def _probe(binary: IO[bytes]) -> tuple[str, str, str]:
    """One pass over the bytes: their SHA-256, the codec to read them with and the encoding's name."""
    digest = hashlib.sha256()
    start = binary.tell()
    head = binary.read(SNIFF_BYTES)
    probe = EncodingProbe(head)
    chunk = head
    while chunk:
        digest.update(chunk)
        probe.feed(chunk)
        chunk = binary.read(READ_BYTES)
    binary.seek(start)
    return digest.hexdigest(), *probe.finish()


def import_register(
    source: str | Path | IO[bytes],
    constituency_code: str,
    *,
    mode: str = "full",
    edition_label: str | None = None,
    edition_date: date | None = None,
    mapping: Mapping[str, str] | None = None,
    create_districts: bool = False,
    dry_run: bool = False,
    force: bool = False,
    max_removal_share: float | None = None,
    actor_user_id: int | None = None,
    filename: str | None = None,
) -> ImportSummary:
    """Import one register file into one constituency, all or nothing, and audit it."""
    if mode not in MODES:
        raise ValidationFailed(f"Mode must be one of {', '.join(MODES)}.", details={"mode": [f"unknown mode {mode!r}"]})
    if max_removal_share is None:
        max_removal_share = current_app.config["REGISTER_MAX_REMOVAL_SHARE"]
    # Locking the constituency row (PostgreSQL; SQLite writers are serial anyway) makes two imports into one
    # CLP queue up instead of both inserting the same new electors.
    try:
        constituency = db.session.scalar(
            select(Constituency).where(Constituency.code == constituency_code).with_for_update())
        if constituency is None:
            raise NotFound(f"No constituency has the code {constituency_code!r}.")
        _plan_each_query()
        with _open_source(source, filename) as (binary, filename):
            sha256, codec, encoding = _probe(binary)
            label = (edition_label or (Path(filename).stem if filename else "")
                     or utcnow().strftime("%Y-%m-%d")).strip()
            summary = ImportSummary(
                constituency_code=constituency.code, edition_label=label[:120], mode=mode, filename=filename,
                sha256=sha256, encoding=encoding, dry_run=dry_run, forced=force,
            )
            if edition_date is not None:
                summary.edition_date, summary.edition_date_source = edition_date, "given"
            elif (inferred := edition_date_from_filename(filename)) is not None:
                summary.edition_date, summary.edition_date_source = inferred, "file name"
            run = _Import(constituency, summary, create_districts=create_districts, actor_user_id=actor_user_id)
            run.check_edition_date()
            stream = text_stream(binary, codec)
            try:
                reader = RecordReader(stream)
                checker = RowChecker(reader.headings, mapping)
                for chunk in checker.chunks(reader, CHUNK_ROWS):
                    run.take(chunk)
                run.finish(checker, max_removal_share)
            finally:
                stream.detach()  # the caller's binary stream stays open
    except Exception:
        db.session.rollback()
        raise
    return summary


class _Import:
    """One import's state across chunks: what it has written, and what it has counted for the guards."""

    def __init__(self, constituency: Constituency, summary: ImportSummary, *, create_districts: bool,
                 actor_user_id: int | None) -> None:
        self.constituency = constituency
        self.cid = cid = constituency.id
        self.summary = summary
        self.create_districts = create_districts
        self.actor_user_id = actor_user_id
        self.now = utcnow()
        self.districts: dict[str, int | None] = dict(db.session.execute(
            select(PollingDistrict.code, PollingDistrict.id).where(PollingDistrict.constituency_id == cid)).all())
        # Provisional electors (accepted from the review queue) are never in a register file: they are
        # settled after it (server/services/provisional.py), not counted as removed by it.
        self.current_before = db.session.scalar(select(func.count()).select_from(Elector).where(
            Elector.constituency_id == cid, Elector.status == ElectorStatus.CURRENT, Elector.provisional.is_(False)))
        # Properties above this id were created by this import (ids only grow), so they are not "updated".
        self.last_property_id = db.session.scalar(select(func.max(Property.id))) or 0
        self.problems: list[Problem] = []
        self.rejected = 0
        self.unread_keys = 0  # rows rejected before their elector number was known
        self.matched_current = 0
        self.claimed = _Bits()  # properties this file has already placed an elector in
        self.counted = _Bits()  # stored properties already counted as updated
        self.writing = True
        self.edition: RegisterEdition | None = None
        # Erasures by fingerprint (few): a row matching one is written already erased, and stays suppressed.
        self.erasures = erasure.erased_fingerprints("elector")

    # -- guards -------------------------------------------------------------------------------------

    def check_edition_date(self) -> None:
        """Refuse at once (before reading a row) an edition older than the latest imported, unless forced."""
        summary = self.summary
        latest = db.session.execute(
            select(RegisterEdition.published_on, RegisterEdition.label)
            .where(RegisterEdition.constituency_id == self.cid, RegisterEdition.published_on.is_not(None))
            .order_by(RegisterEdition.published_on.desc(), RegisterEdition.id.desc()).limit(1)).first()
        dated = summary.edition_date
        source = "as given" if summary.edition_date_source == "given" else "from its file name"
        if dated is None:
            guard = Guard("edition_date", True, "the edition's date is not known (give it with --edition-date), "
                                                "so it was not compared with the editions already imported")
        elif latest is None:
            guard = Guard("edition_date", True, f"the edition is dated {dated} ({source}); no dated edition has "
                                                "been imported before")
        elif dated < latest.published_on:
            guard = Guard("edition_date", False, (
                f"the edition is dated {dated} ({source}), before {latest.label!r} ({latest.published_on}), the "
                f"latest edition imported into {self.constituency.code}: importing it would turn the register "
                "back. Check the file, give its real date with --edition-date, or import it with --force"))
        else:
            guard = Guard("edition_date", True, f"the edition is dated {dated} ({source}), not before the latest "
                                                f"imported ({latest.published_on})")
        summary.guards.append(guard)
        if not guard.passed and not summary.forced and not summary.dry_run:
            raise self._refused()

    def _removal_guard(self, max_share: float) -> None:
        summary, current = self.summary, self.current_before
        # Rows rejected before their elector number was read might each have matched a current elector, so
        # with such rows the count is a lower bound and the guard refuses only when even that is too many.
        removed = max(0, current - self.matched_current - self.unread_keys)
        summary.removed = removed
        bound = "at least " if self.unread_keys else ""
        share = removed / current if current else 0.0
        counted = f"{bound}{removed:,} of the {current:,} current electors removed ({share:.1%})"
        if share > max_share:
            summary.guards.append(Guard("removal_share", False, (
                f"it would mark {counted}, more than the {max_share:.0%} allowed (REGISTER_MAX_REMOVAL_SHARE): "
                f"is it another constituency's register, or only part of one? Check the file; if the council "
                "really has removed them, import it with --force")))
        else:
            summary.guards.append(Guard("removal_share", True, (
                f"it would mark {counted}; at most {max_share:.0%} may be")))

    def _refused(self) -> ImportRefused:
        summary = self.summary
        reasons = " Also, ".join(g.message[0].upper() + g.message[1:] + "." for g in summary.refusals)
        message = f"The register was not imported: {reasons}"
        if self.rejected:
            message += f" {self.rejected} of {summary.rows} rows also have problems."
        return ImportRefused(message + " Nothing was written.", details={
            "guards": [g.as_dict() for g in summary.guards], "rows": [p.as_dict() for p in self.problems],
            "rejected": self.rejected, "rows_read": summary.rows})

    # -- each chunk ---------------------------------------------------------------------------------

    def take(self, chunk: Chunk) -> None:
        """Check one chunk against what is stored and, while the file is still clean, write it."""
        if self.edition is None:
            self._start_edition()
        rows = chunk.rows
        self.rejected += chunk.rejected
        self.unread_keys += chunk.rejected
        problems = list(chunk.problems)
        unknown = sorted({r.prefix for r in rows} - self.districts.keys())
        if unknown and self.create_districts:
            self.districts.update(_create_districts(self.cid, unknown) if self.writing else dict.fromkeys(unknown))
            self.summary.districts_created.extend(unknown)
        elif unknown:
            for row in rows:
                if row.prefix not in self.districts:
                    problems.append(Problem(row.line, "prefix", (
                        f"polling district {row.prefix} is not known in {self.constituency.code} "
                        "(import with --create-districts to add it under 'Unallocated')")))
        foreign = _uprns_elsewhere(self.cid, {r.uprn for r in rows if r.uprn})
        for row in rows:
            if row.uprn in foreign:
                problems.append(Problem(row.line, "uprn", f"UPRN {row.uprn} belongs to a property in another "
                                                          "constituency"))
        self.rejected += len({p.line for p in problems[len(chunk.problems):]})
        if problems:
            problems.sort(key=lambda p: p.line)
            self.problems.extend(problems[:MAX_LISTED_PROBLEMS - len(self.problems)])
            self.writing = False
        existing = self._existing_electors(rows)
        self.matched_current += sum(1 for row in rows if (old := existing.get(row.key)) is not None
                                    and old.status == ElectorStatus.CURRENT)
        if self.writing:
            self._write(rows, existing)

    def _start_edition(self) -> None:
        summary = self.summary
        self.edition = RegisterEdition(
            constituency_id=self.cid, label=summary.edition_label, mode=summary.mode, filename=summary.filename,
            sha256=summary.sha256, published_on=summary.edition_date, imported_by_id=self.actor_user_id,
            imported_at=self.now,
        )
        db.session.add(self.edition)
        db.session.flush()

    def _existing_electors(self, rows: list[RegisterRow]) -> dict[tuple[str, int, int], object]:
        numbers: dict[str, set[int]] = {}
        for row in rows:
            numbers.setdefault(row.prefix, set()).add(row.number)
        found = {}
        for prefix, wanted in numbers.items():
            for batch in _chunks(sorted(wanted)):
                for e in db.session.execute(select(
                    Elector.id, Elector.prefix, Elector.number, Elector.suffix, Elector.surname, Elector.forenames,
                    Elector.markers, Elector.attainer_date, Elector.property_id, Elector.polling_district_id,
                    Elector.status, Elector.version, Elector.erased_at,
                ).where(Elector.constituency_id == self.cid, Elector.prefix == prefix, Elector.number.in_(batch))):
                    found[(e.prefix, e.number, e.suffix)] = e
        return found

    def _stored_properties(self, file_props: list[_FileProperty]) -> tuple[dict[str, object], dict[str, object]]:
        """The stored properties this chunk's homes might be, by UPRN and by address key."""
        columns = (Property.id, Property.address_key, Property.uprn, Property.address_lines, Property.postcode,
                   Property.polling_district_id, Property.street, Property.house_number, Property.building,
                   Property.flat, Property.sort_key)
        uprns = sorted({fp.uprn for fp in file_props if fp.uprn})
        keys = sorted({fp.key for fp in file_props} | {_uprn_key(fp.key, fp.uprn) for fp in file_props if fp.uprn})
        by_uprn, by_key = {}, {}
        for batch in _chunks(uprns):
            for p in db.session.execute(select(*columns).where(Property.constituency_id == self.cid,
                                                               Property.uprn.in_(batch))):
                by_uprn[p.uprn] = p
        for batch in _chunks(keys):
            for p in db.session.execute(select(*columns).where(Property.constituency_id == self.cid,
                                                               Property.address_key.in_(batch))):
                by_key[p.address_key] = p
        return by_uprn, by_key

    def _match(self, file_props: list[_FileProperty], by_uprn: dict, by_key: dict) -> None:
        """Point each of the chunk's homes at the stored property it is: by UPRN first, then by address."""
        here: dict[int, _FileProperty] = {}
        for fp in file_props:
            if fp.uprn and fp.uprn in by_uprn:
                fp.existing = by_uprn[fp.uprn]
                here[fp.existing.id] = fp
        for fp in file_props:
            if fp.existing is not None or fp.key not in by_key:
                continue
            old = by_key[fp.key]
            if fp.uprn and old.uprn and old.uprn != fp.uprn and old.id in self.claimed:
                # An earlier row of this file gave the property at this written address another UPRN: this is
                # a different home (flat numbers missing), kept apart as a whole-file read keeps it.
                fp.key = _uprn_key(fp.key, fp.uprn)
                if fp.key not in by_key:
                    continue
                old = by_key[fp.key]
            fp.existing = old
            if old.id in here:
                fp.shared = here[old.id].shared = True
            here[old.id] = fp
        for fp in file_props:
            if fp.existing is not None:
                fp.existing_id = fp.existing.id

    def _write(self, rows: list[RegisterRow], existing: dict) -> None:
        summary, cid, now, districts = self.summary, self.cid, self.now, self.districts
        edition_id = self.edition.id
        file_props, row_prop = _file_properties(rows)
        by_uprn, by_key = self._stored_properties(file_props)
        self._match(file_props, by_uprn, by_key)

        new_props = [fp for fp in file_props if fp.existing is None]
        rewritten, kept, uprn_only = [], [], []
        for fp in file_props:
            old = fp.existing
            if old is None or fp.shared:
                continue  # a property two file entries share keeps its record as it is
            if old.id in self.claimed:
                # An earlier chunk wrote this home from its first row, as a whole-file read would; a later row
                # adds only a UPRN the first lacked.
                if fp.uprn and not old.uprn:
                    uprn_only.append({"id": old.id, "uprn": fp.uprn})
                continue
            if fp.key == old.address_key:
                rewrite = (list(fp.lines), fp.postcode, fp.parsed.street, fp.parsed.house_number, fp.parsed.building,
                           fp.parsed.flat, fp.parsed.sort_key) != (list(old.address_lines), old.postcode, old.street,
                                                                  old.house_number, old.building, old.flat,
                                                                  old.sort_key)
            else:
                # Matched by UPRN at a new address: take the new address unless another property already has it.
                rewrite = fp.key not in by_key
            if (rewrite or (fp.uprn is not None and fp.uprn != old.uprn)
                    or districts.get(fp.district) != old.polling_district_id):
                values = {"id": old.id, "polling_district_id": districts[fp.district], "uprn": fp.uprn or old.uprn}
                (rewritten if rewrite else kept).append({**values, **_prop_values(fp)} if rewrite else values)

        if new_props:
            with _one_plan_for_many():
                db.session.execute(insert(Property).execution_options(render_nulls=True), [
                    {"constituency_id": cid, "polling_district_id": districts[fp.district], "uprn": fp.uprn,
                     "created_at": now, **_prop_values(fp)} for fp in new_props])
            # Read the new ids back by address key (unique per constituency) rather than with RETURNING, which
            # turns the executemany into huge multi-row statements that psycopg spends longer parsing.
            ids_by_key = {}
            for batch in _chunks([fp.key for fp in new_props]):
                ids_by_key.update(db.session.execute(select(Property.address_key, Property.id).where(
                    Property.constituency_id == cid, Property.address_key.in_(batch))).all())
            for fp in new_props:
                fp.existing_id = ids_by_key[fp.key]
            summary.properties_added += len(new_props)
        for batch in (rewritten, kept, uprn_only):
            if batch:
                db.session.execute(update(Property), batch)
        # Devices holding these properties must fetch them again (sync compares versions); a property this
        # import created, or already counted, is not bumped twice.
        changed = [v["id"] for batch in (rewritten, kept, uprn_only) for v in batch
                   if v["id"] <= self.last_property_id and v["id"] not in self.counted]
        for pid in changed:
            self.counted.add(pid)
        summary.properties_updated += len(changed)
        for ids in _chunks(changed):
            db.session.execute(update(Property).where(Property.id.in_(ids)).values(version=Property.version + 1))
        for fp in file_props:
            self.claimed.add(fp.existing_id)

        # Electors: compare each row with what is held, by elector number. Someone erased stays erased: their
        # names, markers and date are never written back, whichever number the edition gives them.
        adds: list[RegisterRow] = []
        changes: list[tuple[RegisterRow, object]] = []
        unchanged_ids: list[int] = []
        erased_rows: dict[int, Suppression] = {}  # row line -> the erasure it matches (new to erasure here)
        for row in rows:
            old = existing.get(row.key)
            property_id = row_prop[row.line].existing_id
            erased = old is not None and old.erased_at is not None
            if not erased and self.erasures:
                match = self.erasures.get(erasure.fingerprint("elector", row.surname, row.forenames,
                                                              row.address_lines, row.postcode))
                if match is not None:
                    erased_rows[row.line] = match
            if old is None:
                adds.append(row)
            elif (old.status != ElectorStatus.CURRENT or property_id != old.property_id
                    or districts[row.prefix] != old.polling_district_id or row.line in erased_rows
                    or (not erased and (old.surname, old.forenames, old.markers, old.attainer_date)
                        != (row.surname, row.forenames, row.markers, row.attainer_date))):
                changes.append((row, old))
            else:
                unchanged_ids.append(old.id)
            if erased or row.line in erased_rows:
                summary.erased_kept += 1
        summary.added += len(adds)
        summary.updated += len(changes)
        summary.unchanged += len(unchanged_ids)

        def personal(row: RegisterRow, old) -> dict:
            if row.line in erased_rows or (old is not None and old.erased_at is not None):
                return {"surname": "", "forenames": "", "markers": "", "attainer_date": None,
                        "erased_at": old.erased_at if old is not None and old.erased_at else now}
            return {"surname": row.surname, "forenames": row.forenames, "markers": row.markers,
                    "attainer_date": row.attainer_date, "erased_at": None}

        if adds:
            with _one_plan_for_many():
                db.session.execute(insert(Elector).execution_options(render_nulls=True), [{
                    "constituency_id": cid, "polling_district_id": districts[row.prefix],
                    "property_id": row_prop[row.line].existing_id, "prefix": row.prefix, "number": row.number,
                    "suffix": row.suffix, **personal(row, None), "status": ElectorStatus.CURRENT,
                    "version": 1, "first_seen_edition_id": edition_id, "last_seen_edition_id": edition_id,
                    "created_at": now, "updated_at": now,
                } for row in adds])
        if changes:
            db.session.execute(update(Elector), [{
                "id": old.id, "polling_district_id": districts[row.prefix],
                "property_id": row_prop[row.line].existing_id, **personal(row, old), "status": ElectorStatus.CURRENT,
                "removed_at": None, "version": old.version + 1, "last_seen_edition_id": edition_id,
                "updated_at": now,
            } for row, old in changes])
        table = Elector.__table__
        for ids in _chunks(unchanged_ids):
            # Seen again but not changed: devices need nothing new, so updated_at and version stay as they were.
            db.session.execute(update(table).where(table.c.id.in_(ids)).values(
                last_seen_edition_id=edition_id, updated_at=table.c.updated_at))
        if erased_rows:
            self._keep_erased([row for row in rows if row.line in erased_rows], erased_rows, existing)

    def _keep_erased(self, rows: list[RegisterRow], matches: dict[int, Suppression], existing: dict) -> None:
        """Suppress (for good) the entries just written erased because their name and address match an erasure."""
        ids = {}
        for row in rows:
            old = existing.get(row.key)
            ids[row.line] = old.id if old is not None else db.session.scalar(select(Elector.id).where(
                Elector.constituency_id == self.cid, Elector.prefix == row.prefix, Elector.number == row.number,
                Elector.suffix == row.suffix))
        for row in rows:
            original, elector_id = matches[row.line], ids[row.line]
            db.session.add(Suppression(
                constituency_id=self.cid, elector_id=elector_id, kind=SuppressionKind.ERASURE,
                channel=SuppressionChannel.ALL, source=original.source, created_by_id=self.actor_user_id,
                created_at=self.now, fingerprint=original.fingerprint,
                reason=f"Erased at their request (suppression {original.id}); listed again by the register as "
                       f"{row.elector_number} in {self.summary.edition_label[:80]}."))
            audit.record("rights.erasure_kept", actor_user_id=self.actor_user_id, target_type="elector",
                         target_id=elector_id, constituency_id=self.cid, subjects=[("elector", elector_id)],
                         details={"suppression_id": original.id, "register_edition_id": self.edition.id,
                                  "elector_number": row.elector_number})
        db.session.flush()

    # -- the end ------------------------------------------------------------------------------------

    def finish(self, checker: RowChecker, max_removal_share: float) -> None:
        """Apply the guards and the all-or-nothing rule, then mark the departed removed and commit."""
        summary = self.summary
        summary.rows = checker.rows_read
        summary.rejected = self.rejected
        if not checker.rows_read:
            raise ValidationFailed("The file has a heading row but no electors.", details={"rows": []})
        if summary.mode == "full":
            self._removal_guard(max_removal_share)
        if summary.refusals and not summary.forced and (not summary.dry_run or self.problems):
            raise self._refused()
        if self.problems:
            raise RegisterRejected(
                f"The register was not imported: {self.rejected} of {summary.rows} rows have problems. "
                "Nothing was written.",
                details={"rows": [p.as_dict() for p in self.problems], "rejected": self.rejected,
                         "rows_read": summary.rows, "guards": [g.as_dict() for g in summary.guards]},
            )
        if summary.dry_run:
            db.session.rollback()
            return

        settled = provisional.settle_after_register(self.cid, self.edition.id, self.actor_user_id,
                                                    full=summary.mode == "full")
        if summary.mode == "full":
            table = Elector.__table__
            db.session.execute(update(table).where(
                table.c.constituency_id == self.cid, table.c.status == ElectorStatus.CURRENT,
                (table.c.last_seen_edition_id != self.edition.id) | table.c.last_seen_edition_id.is_(None),
            ).values(status=ElectorStatus.REMOVED, removed_at=self.now, version=table.c.version + 1,
                     updated_at=self.now))
        edition = self.edition
        edition.added, edition.updated = summary.added, summary.updated
        edition.unchanged, edition.removed = summary.unchanged, summary.removed
        summary.edition_id = edition.id
        audit.record(
            "register.import", actor_user_id=self.actor_user_id, target_type="register_edition",
            target_id=edition.id, constituency_id=self.cid, region_id=self.constituency.region_id,
            details={"edition": summary.edition_label, "mode": summary.mode, "filename": summary.filename,
                     "sha256": summary.sha256, "encoding": summary.encoding, "rows": summary.rows,
                     "edition_date": summary.edition_date.isoformat() if summary.edition_date else None,
                     "counts": summary.counts, "properties_added": summary.properties_added,
                     "properties_updated": summary.properties_updated,
                     "districts_created": summary.districts_created, "provisional": settled,
                     "erased_kept": summary.erased_kept,
                     "forced_past": [g.name for g in summary.refusals]},
        )
        # The electorate changed: every campaign's rollups for this CLP are worked out again.
        rollups.mark_dirty([(rollups.ALL_CAMPAIGNS, self.cid, rollups.ALL_DISTRICTS)])
        db.session.commit()


def _plan_each_query() -> None:
    """On PostgreSQL, plan every query for its own values, for the rest of this transaction.

    psycopg prepares a statement once it has run five times, and PostgreSQL may then keep a generic plan made
    while the tables were still small: a sequential scan for each chunk's lookups, quadratic over a large
    register. SET LOCAL ends with the transaction.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


@contextmanager
def _one_plan_for_many():
    """Around a bulk INSERT (one statement a row in psycopg's pipeline), let PostgreSQL plan it only once."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        db.session.execute(text("SET LOCAL plan_cache_mode = auto"))
    yield
    _plan_each_query()


def _prop_values(fp: _FileProperty) -> dict:
    return {
        "address_lines": list(fp.lines), "postcode": fp.postcode, "address_key": fp.key,
        "street": fp.parsed.street, "house_number": fp.parsed.house_number, "building": fp.parsed.building,
        "flat": fp.parsed.flat, "sort_key": fp.parsed.sort_key,
    }


def _uprn_key(key: str, uprn: str) -> str:
    """The address key of one of several homes (told apart by UPRN) at one written address."""
    return f"{key[:380]}#{uprn}"


def _file_properties(rows: list[RegisterRow]) -> tuple[list[_FileProperty], dict[int, _FileProperty]]:
    """The distinct properties in the rows (by UPRN where given, else by address), and each row's property."""
    uprn_of_key: dict[str, str] = {}
    keys = {row.line: address_key(row.address_lines, row.postcode) for row in rows}
    for row in rows:
        if row.uprn:
            uprn_of_key.setdefault(keys[row.line], row.uprn)
    by_identity: dict[tuple[str, str], _FileProperty] = {}
    row_prop: dict[int, _FileProperty] = {}
    for row in rows:
        key = keys[row.line]
        uprn = row.uprn or uprn_of_key.get(key)
        identity = ("uprn", uprn) if uprn else ("key", key)
        fp = by_identity.get(identity)
        if fp is None:
            if uprn and uprn_of_key[key] != uprn:
                # Two UPRNs at one written address (flat numbers missing): keep them apart, keys must be unique.
                key = _uprn_key(key, uprn)
            fp = by_identity[identity] = _FileProperty(
                lines=row.address_lines, postcode=row.postcode, uprn=uprn, key=key, district=row.prefix,
                parsed=row.address,
            )
        row_prop[row.line] = fp
    return list(by_identity.values()), row_prop


def _uprns_elsewhere(constituency_id: int, uprns: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(uprns)):
        found.update(db.session.scalars(select(Property.uprn).where(
            Property.uprn.in_(chunk), Property.constituency_id != constituency_id)))
    return found


def _create_districts(constituency_id: int, codes: list[str]) -> dict[str, int]:
    """New polling districts go under an "Unallocated" ward until an admin places them."""
    ward = db.session.scalar(select(Ward).where(
        Ward.constituency_id == constituency_id, Ward.code == UNALLOCATED_WARD_CODE))
    if ward is None:
        ward = Ward(constituency_id=constituency_id, code=UNALLOCATED_WARD_CODE, name=UNALLOCATED_WARD_NAME)
        db.session.add(ward)
        db.session.flush()
    ids = db.session.scalars(
        insert(PollingDistrict).returning(PollingDistrict.id, sort_by_parameter_order=True),
        [{"ward_id": ward.id, "constituency_id": constituency_id, "code": code, "name": code} for code in codes],
    )
    return dict(zip(codes, ids))
