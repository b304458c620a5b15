"""Electoral register import: brings one constituency's register up to date from a council's CSV export.

Electors are matched by elector number, so every reference to them (contact history, lists) survives a
new edition; departed electors are marked removed, never deleted. Parsing (register_parse) is pure;
writing is bulk and all or nothing, so a file with one bad row changes nothing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Mapping

from sqlalchemy import insert, select, update

from server.errors import NotFound, ValidationFailed
from server.extensions import db
from server.models import (
    Constituency,
    Elector,
    ElectorStatus,
    PollingDistrict,
    Property,
    RegisterEdition,
    Ward,
)
from server.orm import utcnow
from server.services import audit
from server.services.register_parse import (
    MODES,
    UNALLOCATED_WARD_CODE,
    UNALLOCATED_WARD_NAME,
    ParsedAddress,
    ParsedRegister,
    Problem,
    RegisterRejected,
    RegisterRow,
    address_key,
    decode_register,
    parse_address,
    parse_register,
)

# ---------------------------------------------------------------------------------------------------
# The import


@dataclass
class ImportSummary:
    """What an import did (or, for a dry run, would do)."""

    constituency_code: str
    edition_label: str
    mode: str
    filename: str | None
    sha256: str
    encoding: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    rejected: int = 0
    properties_added: int = 0
    properties_updated: int = 0
    districts_created: list[str] = field(default_factory=list)
    dry_run: bool = False
    edition_id: int | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("added", "updated", "removed", "unchanged", "rejected")}


@dataclass
class _FileProperty:
    lines: tuple[str, ...]
    postcode: str
    uprn: str | None
    key: str
    district: str
    parsed: ParsedAddress
    existing_id: int | None = None
    shared: bool = False


_CHUNK = 900  # stays under SQLite's bound-parameter limit


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _read_source(source: str | Path | IO[bytes], filename: str | None) -> tuple[bytes, str | None]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        return path.read_bytes(), filename or path.name
    data = source.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    name = filename or getattr(source, "filename", None) or getattr(source, "name", None)
    return data, Path(name).name if isinstance(name, str) else None


def _file_properties(rows: list[RegisterRow]) -> tuple[list[_FileProperty], dict[int, _FileProperty]]:
    """The distinct properties in the file (by UPRN where given, else by address), and each row's property."""
    uprn_of_key: dict[str, str] = {}
    for row in rows:
        if row.uprn:
            uprn_of_key.setdefault(address_key(row.address_lines, row.postcode), row.uprn)
    by_identity: dict[tuple[str, str], _FileProperty] = {}
    row_prop: dict[int, _FileProperty] = {}
    for row in rows:
        key = address_key(row.address_lines, row.postcode)
        uprn = row.uprn or uprn_of_key.get(key)
        identity = ("uprn", uprn) if uprn else ("key", key)
        fp = by_identity.get(identity)
        if fp is None:
            if uprn and uprn_of_key[key] != uprn:
                # Two UPRNs at one written address (flat numbers missing): keep them apart, keys must be unique.
                key = f"{key[:380]}#{uprn}"
            fp = by_identity[identity] = _FileProperty(
                lines=row.address_lines, postcode=row.postcode, uprn=uprn, key=key, district=row.prefix,
                parsed=parse_address(row.address_lines),
            )
        row_prop[row.line] = fp
    return list(by_identity.values()), row_prop


def _match_properties(file_props: list[_FileProperty], by_key: dict[str, int], by_uprn: dict[str, int]) -> None:
    """Point each file property at the stored one it is: by UPRN first, then by address."""
    claimed: dict[int, _FileProperty] = {}
    for fp in file_props:
        if fp.uprn and fp.uprn in by_uprn:
            fp.existing_id = by_uprn[fp.uprn]
            claimed[fp.existing_id] = fp
    for fp in file_props:
        if fp.existing_id is None and fp.key in by_key:
            fp.existing_id = by_key[fp.key]
            if fp.existing_id in claimed:
                fp.shared = claimed[fp.existing_id].shared = True
            claimed[fp.existing_id] = fp


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


def import_register(
    source: str | Path | IO[bytes],
    constituency_code: str,
    *,
    mode: str = "full",
    edition_label: str | None = None,
    mapping: Mapping[str, str] | None = None,
    create_districts: bool = False,
    dry_run: bool = False,
    actor_user_id: int | None = None,
    filename: str | None = None,
) -> ImportSummary:
    """Import one register file into one constituency, all or nothing, and audit it."""
    if mode not in MODES:
        raise ValidationFailed(f"Mode must be one of {', '.join(MODES)}.", details={"mode": [f"unknown mode {mode!r}"]})
    data, filename = _read_source(source, filename)
    # Locking the constituency row (PostgreSQL; SQLite writers are serial anyway) makes two imports into one
    # CLP queue up instead of both inserting the same new electors.
    constituency = db.session.scalar(
        select(Constituency).where(Constituency.code == constituency_code).with_for_update())
    if constituency is None:
        raise NotFound(f"No constituency has the code {constituency_code!r}.")
    text, encoding = decode_register(data)
    label = (edition_label or (Path(filename).stem if filename else "") or utcnow().strftime("%Y-%m-%d")).strip()
    summary = ImportSummary(
        constituency_code=constituency.code, edition_label=label[:120], mode=mode, filename=filename,
        sha256=hashlib.sha256(data).hexdigest(), encoding=encoding, dry_run=dry_run,
    )
    parsed = parse_register(text, mapping)
    summary.rows = parsed.rows_read
    try:
        _import(parsed, constituency, summary, create_districts=create_districts, actor_user_id=actor_user_id)
    except Exception:
        db.session.rollback()
        raise
    return summary


def _import(parsed: ParsedRegister, constituency: Constituency, summary: ImportSummary, *,
            create_districts: bool, actor_user_id: int | None) -> None:
    """Check the rows against what is stored, work out every change, then write it all in one transaction."""
    cid = constituency.id
    problems = list(parsed.problems)
    rows = parsed.rows
    if not rows and not problems:
        raise ValidationFailed("The file has a heading row but no electors.", details={"rows": []})

    districts = dict(db.session.execute(
        select(PollingDistrict.code, PollingDistrict.id).where(PollingDistrict.constituency_id == cid)).all())
    unknown = sorted({r.prefix for r in rows} - districts.keys())
    if unknown and not create_districts:
        for row in rows:
            if row.prefix not in districts:
                problems.append(Problem(row.line, "prefix",
                                        f"polling district {row.prefix} is not known in {constituency.code} "
                                        "(import with --create-districts to add it under 'Unallocated')"))
    foreign_uprns = _uprns_elsewhere(cid, {r.uprn for r in rows if r.uprn})
    for row in rows:
        if row.uprn in foreign_uprns:
            problems.append(Problem(row.line, "uprn", f"UPRN {row.uprn} belongs to a property in another constituency"))
    if problems:
        problems.sort(key=lambda p: p.line)
        summary.rejected = len({p.line for p in problems})
        raise RegisterRejected(
            f"The register was not imported: {summary.rejected} of {parsed.rows_read} rows have problems. "
            "Nothing was written.",
            details={"rows": [p.as_dict() for p in problems], "rejected": summary.rejected,
                     "rows_read": parsed.rows_read},
        )
    summary.districts_created = unknown
    district_code_of = {v: k for k, v in districts.items()}

    # Everything this constituency already holds, loaded once: the import works from dicts, not queries.
    existing_props = db.session.execute(select(
        Property.id, Property.address_key, Property.uprn, Property.address_lines, Property.postcode,
        Property.polling_district_id, Property.street, Property.house_number, Property.building, Property.flat,
        Property.sort_key,
    ).where(Property.constituency_id == cid)).all()
    props_by_id = {p.id: p for p in existing_props}
    props_by_key = {p.address_key: p.id for p in existing_props}
    props_by_uprn = {p.uprn: p.id for p in existing_props if p.uprn}
    existing = {(e.prefix, e.number, e.suffix): e for e in db.session.execute(select(
        Elector.id, Elector.prefix, Elector.number, Elector.suffix, Elector.surname, Elector.forenames,
        Elector.markers, Elector.attainer_date, Elector.property_id, Elector.polling_district_id, Elector.status,
        Elector.version,
    ).where(Elector.constituency_id == cid))}

    file_props, row_prop = _file_properties(rows)
    _match_properties(file_props, props_by_key, props_by_uprn)
    new_props = [fp for fp in file_props if fp.existing_id is None]
    prop_updates: list[tuple[_FileProperty, bool]] = []  # (property, whether its address is rewritten)
    for fp in file_props:
        if fp.existing_id is None or fp.shared:
            continue  # a property two file entries share keeps its record as it is
        old = props_by_id[fp.existing_id]
        if fp.key == old.address_key:
            rewrite = (list(fp.lines), fp.postcode, fp.parsed.street, fp.parsed.house_number, fp.parsed.building,
                       fp.parsed.flat, fp.parsed.sort_key) != (list(old.address_lines), old.postcode, old.street,
                                                              old.house_number, old.building, old.flat, old.sort_key)
        else:
            # Matched by UPRN at a new address: take the new address unless another property already has it.
            rewrite = props_by_key.get(fp.key) is None
        if (rewrite or (fp.uprn is not None and fp.uprn != old.uprn)
                or district_code_of.get(old.polling_district_id) != fp.district):
            prop_updates.append((fp, rewrite))
    summary.properties_added = len(new_props)
    summary.properties_updated = len(prop_updates)

    # Electors: compare each row with what is held, by elector number.
    adds: list[RegisterRow] = []
    changes: list[tuple[RegisterRow, object]] = []
    unchanged_ids: list[int] = []
    for row in rows:
        old = existing.get(row.key)
        fp = row_prop[row.line]
        if old is None:
            adds.append(row)
            continue
        if (old.status != ElectorStatus.CURRENT or fp.existing_id != old.property_id
                or district_code_of.get(old.polling_district_id) != row.prefix
                or (old.surname, old.forenames, old.markers, old.attainer_date)
                != (row.surname, row.forenames, row.markers, row.attainer_date)):
            changes.append((row, old))
        else:
            unchanged_ids.append(old.id)
    seen = {row.key for row in rows}
    departed = [e.id for key, e in existing.items() if e.status == ElectorStatus.CURRENT and key not in seen] \
        if summary.mode == "full" else []
    summary.added, summary.updated = len(adds), len(changes)
    summary.removed, summary.unchanged = len(departed), len(unchanged_ids)
    if summary.dry_run:
        db.session.rollback()
        return

    # Writing: every statement below is a bulk executemany or a chunked WHERE id IN (...).
    now = utcnow()
    if unknown:
        districts.update(_create_districts(cid, unknown))
    edition = RegisterEdition(
        constituency_id=cid, label=summary.edition_label, mode=summary.mode, filename=summary.filename,
        sha256=summary.sha256, imported_by_id=actor_user_id, imported_at=now,
        added=summary.added, updated=summary.updated, unchanged=summary.unchanged, removed=summary.removed,
    )
    db.session.add(edition)
    db.session.flush()
    summary.edition_id = edition.id

    def prop_values(fp: _FileProperty) -> dict:
        return {
            "address_lines": list(fp.lines), "postcode": fp.postcode, "address_key": fp.key,
            "street": fp.parsed.street, "house_number": fp.parsed.house_number, "building": fp.parsed.building,
            "flat": fp.parsed.flat, "sort_key": fp.parsed.sort_key,
        }

    if new_props:
        db.session.execute(insert(Property).execution_options(render_nulls=True), [
            {"constituency_id": cid, "polling_district_id": districts[fp.district], "uprn": fp.uprn,
             "created_at": now, **prop_values(fp)} for fp in new_props])
        # Read the new ids back by address key (unique per constituency) rather than with RETURNING, whose
        # results SQLAlchemy splices together batch by batch: quadratic for tens of thousands of rows.
        ids_by_key = dict(db.session.execute(
            select(Property.address_key, Property.id).where(Property.constituency_id == cid)).all())
        for fp in new_props:
            fp.existing_id = ids_by_key[fp.key]
    if prop_updates:
        rewritten = [{"id": fp.existing_id, "polling_district_id": districts[fp.district],
                      "uprn": fp.uprn or props_by_id[fp.existing_id].uprn, **prop_values(fp)}
                     for fp, rewrite in prop_updates if rewrite]
        kept = [{"id": fp.existing_id, "polling_district_id": districts[fp.district],
                 "uprn": fp.uprn or props_by_id[fp.existing_id].uprn}
                for fp, rewrite in prop_updates if not rewrite]
        for batch in (rewritten, kept):
            if batch:
                db.session.execute(update(Property), batch)
        # Devices holding these properties must fetch them again (sync compares versions).
        changed = [fp.existing_id for fp, _ in prop_updates]
        for start in range(0, len(changed), 1000):
            db.session.execute(update(Property).where(Property.id.in_(changed[start:start + 1000]))
                               .values(version=Property.version + 1))

    if adds:
        db.session.execute(insert(Elector).execution_options(render_nulls=True), [{
            "constituency_id": cid, "polling_district_id": districts[row.prefix],
            "property_id": row_prop[row.line].existing_id, "prefix": row.prefix, "number": row.number,
            "suffix": row.suffix, "surname": row.surname, "forenames": row.forenames, "markers": row.markers,
            "attainer_date": row.attainer_date, "status": ElectorStatus.CURRENT, "version": 1,
            "first_seen_edition_id": edition.id, "last_seen_edition_id": edition.id,
            "created_at": now, "updated_at": now,
        } for row in adds])
    if changes:
        db.session.execute(update(Elector), [{
            "id": old.id, "polling_district_id": districts[row.prefix], "property_id": row_prop[row.line].existing_id,
            "surname": row.surname, "forenames": row.forenames, "markers": row.markers,
            "attainer_date": row.attainer_date, "status": ElectorStatus.CURRENT, "removed_at": None,
            "version": old.version + 1, "last_seen_edition_id": edition.id, "updated_at": now,
        } for row, old in changes])
    table = Elector.__table__
    for ids in _chunks(departed):
        db.session.execute(update(table).where(table.c.id.in_(ids)).values(
            status=ElectorStatus.REMOVED, removed_at=now, version=table.c.version + 1, updated_at=now))
    for ids in _chunks(unchanged_ids):
        # Seen again but not changed: devices need nothing new, so updated_at and version stay as they were.
        db.session.execute(update(table).where(table.c.id.in_(ids)).values(
            last_seen_edition_id=edition.id, updated_at=table.c.updated_at))

    audit.record(
        "register.import", actor_user_id=actor_user_id, target_type="register_edition", target_id=edition.id,
        constituency_id=cid, region_id=constituency.region_id,
        details={"edition": summary.edition_label, "mode": summary.mode, "filename": summary.filename,
                 "sha256": summary.sha256, "encoding": summary.encoding, "rows": summary.rows,
                 "counts": summary.counts, "properties_added": summary.properties_added,
                 "properties_updated": summary.properties_updated, "districts_created": summary.districts_created},
    )
    db.session.commit()
