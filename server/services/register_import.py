"""Electoral register import: brings one constituency's register up to date from a council's CSV export.

Electors are matched by elector number, so every reference to them (contact history, lists) survives a
new edition; departed electors are marked removed, never deleted. Parsing is pure; writing is bulk and
all or nothing, so a file with one bad row changes nothing.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Iterable, Mapping, Sequence

from sqlalchemy import insert, select, update

from server.errors import NotFound, ValidationFailed
from server.extensions import db
from server.models import (
    FRANCHISE_MARKERS,
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

MODES = ("full", "update")
UNALLOCATED_WARD_CODE = "UNALLOC"
UNALLOCATED_WARD_NAME = "Unallocated"

# Canonical fields, with the heading spellings councils' systems use for them. Headings are compared
# with case, spaces, underscores and punctuation removed, so "Elector_Surname" finds "surname".
FIELD_LABELS = {
    "prefix": "Elector Number Prefix",
    "number": "Elector Number",
    "suffix": "Elector Number Suffix",
    "markers": "Elector Markers",
    "dob": "Elector DOB",
    "surname": "Elector Surname",
    "forenames": "Elector Forename",
    "name": "Elector Name",
    "postcode": "Postcode",
    "uprn": "UPRN",
    "address": "Address",
    **{f"address{n}": f"Address{n}" for n in range(1, 10)},
}
HEADING_ALIASES = {
    "prefix": ["Elector Number Prefix", "ElectorNumberPrefix", "Elector Prefix", "Prefix", "PD", "PD Code",
               "Polling District", "Polling District Code", "Poll District", "District Code"],
    # "ElectorNumber" may hold the whole number ("AA1-12/1"); that is told apart by its value.
    "number": ["Elector Number", "Elector No", "Elector No.", "Elec No", "Number", "No", "Roll Number",
               "Roll No", "Full Elector Number"],
    "suffix": ["Elector Number Suffix", "ElectorNumberSuffix", "Elector Suffix", "Suffix", "Number Suffix"],
    "markers": ["Elector Markers", "Elector Marker", "Markers", "Marker", "MarkersRegisterText", "Franchise Flag",
                "Franchise Flags", "Franchise Marker", "Franchise Markers", "Franchise", "Flags"],
    "dob": ["Elector DOB", "ElectorDOB", "DOB", "Date of Birth", "Elector Date of Birth", "Birth Date",
            "Attainer Date", "Attainer DOB", "Attainment Date", "Date of Attainment", "Elector Attainment Date"],
    "surname": ["Elector Surname", "Surname", "Last Name", "Lastname", "Family Name", "Elector Last Name"],
    "forenames": ["Elector Forename", "Elector Forenames", "Forename", "Forenames", "Forename(s)", "First Name",
                  "First Names", "Firstname", "Given Name", "Given Names", "Given Name(s)", "Christian Name",
                  "Elector First Name"],
    "name": ["Elector Name", "Name", "Full Name", "Elector Full Name"],
    "postcode": ["PostCode", "Post Code", "Elector Postcode", "PropertyPostCode", "Property Post Code",
                 "Address Postcode", "Registered Postcode"],
    "uprn": ["UPRN", "Property UPRN", "Elector UPRN", "Unique Property Reference Number"],
    "address": ["Address", "Full Address", "Elector Address", "Property Address", "Registered Address"],
}
# "Address1", "Address 1", "Address Line 1", "PropertyAddress1", "Addr_1", "Elector Address 1"...
_ADDRESS_LINE = re.compile(r"^(?:property|elector|registered|postal|qualifying)?(?:address|addr)(?:line)?([1-9])$")


def _norm_heading(heading: str) -> str:
    return re.sub(r"[^a-z0-9]", "", heading.lower())


_ALIAS_INDEX = {_norm_heading(alias): name for name, aliases in HEADING_ALIASES.items() for alias in aliases}


def canonical_field(heading: str) -> str | None:
    """The canonical field a heading stands for, or None if it is not one we recognise."""
    key = _norm_heading(heading)
    if key in _ALIAS_INDEX:
        return _ALIAS_INDEX[key]
    match = _ADDRESS_LINE.match(key)
    return f"address{match.group(1)}" if match else None


# ---------------------------------------------------------------------------------------------------
# Errors


class RegisterRejected(ValidationFailed):
    """The file had bad rows; ``details["rows"]`` lists every problem as {line, field, message}."""


# ---------------------------------------------------------------------------------------------------
# Values


_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")
_PREFIX = re.compile(r"^[A-Z0-9]{1,8}$")
# "AA1-12", "AA1-12/1", "AA1 12-1": the printed elector number with its polling district letters.
_FULL_NUMBER = re.compile(r"^([A-Za-z0-9]{1,8})\s*[-\s]\s*(\d+)(?:\s*[/.-]\s*(\d+))?$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00)?)?$")


def normalise_postcode(raw: str) -> str | None:
    """``"ef1  1aa"`` -> ``"EF1 1AA"``; None if it is not a UK postcode."""
    value = re.sub(r"\s+", " ", raw.strip().upper())
    if value in {"GIR 0AA", "GIR0AA"}:
        return "GIR 0AA"
    match = _POSTCODE.match(value)
    return f"{match.group(1)} {match.group(2)}" if match else None


def parse_markers(raw: str) -> tuple[str, list[str]]:
    """Markers as stored (unique letters in alphabetical order: "N E" -> "EN") and any unknown characters."""
    letters = re.sub(r"[\s,;/|+]", "", raw.upper())
    unknown = sorted({c for c in letters if c not in FRANCHISE_MARKERS})
    return "".join(sorted(set(letters) - set(unknown))), unknown


def parse_date(raw: str) -> date:
    """A register date: dd/mm/yyyy (as councils print them) or ISO yyyy-mm-dd. Raises ValueError."""
    value = raw.strip()
    if match := _DMY.match(value):
        day, month, year = (int(g) for g in match.groups())
    elif match := _ISO.match(value):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise ValueError("is not a date in the form dd/mm/yyyy")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("is not a real date") from None


# ---------------------------------------------------------------------------------------------------
# Addresses


_FLAT = re.compile(
    r"^(flat|apartment|apt\.?|unit|room|maisonette|studio)\s*(?:no\.?\s*)?([0-9]+[a-z]?|[a-z])\b[\s,]*(.*)$", re.I)
_FLOOR_FLAT = re.compile(r"^(basement|lower ground|ground|first|second|third|top|upper|lower)(\s+floor)?"
                         r"(\s+(flat|maisonette))?$", re.I)
_NUMBER_ONLY = re.compile(r"^(\d+)\s*([a-z])?(?:\s*-\s*\d+[a-z]?)?$", re.I)
_NUMBER_STREET = re.compile(r"^(\d+)\s*([a-z])?(?:\s*-\s*\d+[a-z]?)?,?\s+([a-z].*)$", re.I)
_STREET_WORDS = {
    "road", "rd", "street", "st", "lane", "ln", "avenue", "ave", "close", "way", "grove", "view", "drive",
    "crescent", "place", "gardens", "terrace", "square", "hill", "walk", "row", "mews", "rise", "park",
    "parade", "vale", "green", "gate", "wharf", "yard", "fields", "meadows", "approach", "boulevard",
    "broadway", "causeway", "chase", "circus", "copse", "croft", "dale", "embankment", "esplanade", "glade",
    "glen", "grange", "hollow", "lea", "link", "loke", "mount", "nook", "orchard", "passage", "path",
    "promenade", "quay", "ride", "ridge", "spur", "strand", "vista", "wynd",
}
_FLAT_WORDS = {"apt": "Apartment", "apt.": "Apartment"}


@dataclass(frozen=True)
class ParsedAddress:
    """The parts of an address a walk list is ordered by."""

    street: str | None
    house_number: int | None
    building: str | None
    flat: str | None
    sort_key: str


def _natural(text: str | None) -> str:
    # Zero-padding every run of digits makes string order match numeric order ("Flat 2" < "Flat 10").
    return re.sub(r"\d+", lambda m: m.group().zfill(6), (text or "").lower())


def _looks_like_street(line: str) -> bool:
    words = line.lower().split()
    return bool(words) and words[-1] in _STREET_WORDS


def parse_address(lines: Sequence[str]) -> ParsedAddress:
    """Split register address lines into flat, building, house number and street, and a walk-order key."""
    parts = [p.strip() for line in lines for p in line.split(",") if p.strip()]
    flat = building = street = None
    number: int | None = None
    letter = ""
    before: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if flat is None and (m := _FLAT.match(part)):
            word = _FLAT_WORDS.get(m.group(1).lower(), m.group(1).title())
            flat = f"{word} {m.group(2).upper()}"
            if m.group(3):
                before.append(m.group(3))
        elif flat is None and not before and _FLOOR_FLAT.match(part):
            flat = part
        elif (m := _NUMBER_ONLY.match(part)) and i + 1 < len(parts):
            number, letter, street = int(m.group(1)), (m.group(2) or "").upper(), parts[i + 1]
            break
        elif m := _NUMBER_STREET.match(part):
            number, letter, street = int(m.group(1)), (m.group(2) or "").upper(), m.group(3)
            break
        else:
            before.append(part)
        i += 1
    if street is not None:
        building = before[0] if before else None
    elif before:
        # A named house with no number: "Rose Cottage, Mill Lane, Elmford".
        if _looks_like_street(before[0]):
            street = before[0]
        else:
            building = before[0]
            street = before[1] if len(before) > 2 or (len(before) == 2 and _looks_like_street(before[1])) else None
    # Street, then house number (named houses after numbered ones), then building, then flat: the flats of
    # one building sort together, in numeric order. Every part starts with a digit or letter and an absent
    # part is "0", so byte order and PostgreSQL's linguistic collations (which skip punctuation) agree.
    number_key = f"{number:06d}{letter.lower() or '0'}" if number is not None else "9999990"

    def part(text: str | None) -> str:
        return "1" + _natural(text) if text else "0"

    sort_key = "|".join([part(street), number_key, part(building), part(flat)])[:200]
    return ParsedAddress(
        street=street[:120] if street else None,
        house_number=number,
        building=building[:120] if building else None,
        flat=flat[:60] if flat else None,
        sort_key=sort_key,
    )


def address_key(lines: Sequence[str], postcode: str) -> str:
    """Normalised address + postcode: the same home gives the same key whatever the layout or punctuation."""
    words = " ".join(re.sub(r"[^a-z0-9]+", " ", line.lower()).strip() for line in lines if line.strip())
    return f"{' '.join(words.split())}|{postcode.replace(' ', '')}"[:400]


# ---------------------------------------------------------------------------------------------------
# Parsing and row checks (pure: no database)


@dataclass(frozen=True)
class RegisterRow:
    """One elector as the file gives them, already checked and normalised."""

    line: int
    prefix: str
    number: int
    suffix: int
    markers: str
    attainer_date: date | None
    surname: str
    forenames: str
    address_lines: tuple[str, ...]
    postcode: str
    uprn: str | None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.prefix, self.number, self.suffix)

    @property
    def elector_number(self) -> str:
        base = f"{self.prefix}-{self.number}"
        return f"{base}/{self.suffix}" if self.suffix else base


@dataclass(frozen=True)
class Problem:
    """Why one row was rejected: the physical line in the file (header = 1), the field and a message."""

    line: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ParsedRegister:
    headings: list[str]
    columns: dict[str, int]
    rows: list[RegisterRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows_read: int = 0


def decode_register(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without a BOM), else Windows-1252, as councils' exports come."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        # The five bytes cp1252 leaves undefined; latin-1 maps every byte, so the import can still report rows.
        return data.decode("latin-1"), "latin-1"


def read_csv(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The headings and every non-blank record with the physical line it starts on (header = line 1)."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headings: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    previous = 0
    try:
        for record in reader:
            line, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if headings is None:
                headings = [cell.strip() for cell in record]
            else:
                rows.append((line, record))
    except csv.Error as exc:
        raise ValidationFailed(f"The file is not readable CSV near line {previous + 1}: {exc}.",
                               details={"rows": [{"line": previous + 1, "field": "row", "message": str(exc)}]}) from exc
    if headings is None:
        raise ValidationFailed("The file is empty: there is no heading row.", details={"headings": []})
    return headings, rows


def resolve_columns(headings: Sequence[str], mapping: Mapping[str, str] | None = None) -> dict[str, int]:
    """Which column holds each canonical field: the explicit mapping first, then recognised headings."""
    columns: dict[str, int] = {}
    taken: set[int] = set()
    by_exact = {h: i for i, h in reversed(list(enumerate(headings)))}
    by_norm = {_norm_heading(h): i for i, h in reversed(list(enumerate(headings)))}
    problems = []
    for name, heading in (mapping or {}).items():
        name = name.strip().lower()
        if name not in FIELD_LABELS:
            problems.append(f"{name!r} is not a register field (fields: {', '.join(FIELD_LABELS)})")
            continue
        index = by_exact.get(heading, by_norm.get(_norm_heading(heading)))
        if index is None:
            problems.append(f"the mapping names heading {heading!r} for {name}, but the file has no such heading")
            continue
        columns[name] = index
        taken.add(index)
    if problems:
        raise ValidationFailed(
            "The column mapping does not fit this file: " + "; ".join(problems) + ". Headings seen: "
            + ", ".join(headings) + ".",
            details={"mapping": problems, "headings": list(headings)},
        )
    for index, heading in enumerate(headings):
        name = canonical_field(heading)
        if name and name not in columns and index not in taken:
            columns[name] = index
            taken.add(index)

    missing = []
    if "number" not in columns:
        missing.append("number")
    if "surname" not in columns and "name" not in columns:
        missing.append("surname")
    if "surname" in columns and "forenames" not in columns and "name" not in columns:
        missing.append("forenames")
    if "postcode" not in columns:
        missing.append("postcode")
    if "address" not in columns and not any(f"address{n}" in columns for n in range(1, 10)):
        missing.append("address1")
    if missing:
        described = ", ".join(f"{FIELD_LABELS[m]} (field {m!r})" for m in missing)
        raise ValidationFailed(
            f"The file has no column for {described}. Headings seen: {', '.join(headings) or '(none)'}. "
            f"Name the column with --map FIELD=HEADING, e.g. --map {missing[0]}=\"{FIELD_LABELS[missing[0]]}\".",
            details={"missing": missing, "headings": list(headings),
                     "columns": {name: headings[i] for name, i in columns.items()}},
        )
    return columns


def parse_rows(
    headings: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]], mapping: Mapping[str, str] | None = None
) -> ParsedRegister:
    """Check and normalise every row; a bad row becomes Problems (all of them) rather than an exception."""
    columns = resolve_columns(headings, mapping)
    result = ParsedRegister(headings=list(headings), columns=columns)
    label = {name: headings[i] or FIELD_LABELS[name] for name, i in columns.items()}
    address_columns = [columns[f"address{n}"] for n in range(1, 10) if f"address{n}" in columns]
    seen: dict[tuple[str, int, int], int] = {}
    width = len(headings)

    for line, record in rows:
        result.rows_read += 1
        problems: list[Problem] = []

        def bad(name: str, message: str) -> None:
            problems.append(Problem(line, name, message))

        if len(record) < width:
            result.problems.append(Problem(
                line, "row", f"the row has {len(record)} of the {width} fields in the heading row (cut short?)"))
            continue
        if any(cell.strip() for cell in record[width:]):
            result.problems.append(Problem(
                line, "row", f"the row has {len(record)} fields but the heading row has {width}"))
            continue

        def get(name: str) -> str:
            return " ".join(record[columns[name]].split()) if name in columns else ""

        # Elector number: separate prefix/number/suffix columns, or one "AA1-12/1" value.
        prefix, raw_number, raw_suffix = get("prefix").upper(), get("number"), get("suffix")
        number = suffix = None
        if full := _FULL_NUMBER.match(raw_number):
            number_prefix = full.group(1).upper()
            if prefix and prefix != number_prefix:
                bad("prefix", f"{label['prefix']} {prefix!r} does not match {label['number']} {raw_number!r}")
            prefix, number = number_prefix, int(full.group(2))
            suffix = int(full.group(3)) if full.group(3) else None
        if not prefix:
            if "prefix" in columns:
                bad("prefix", f"{label['prefix']} is missing")
            else:
                bad("number", f"{label['number']} {raw_number!r} is not a full elector number like AA1-12 "
                              "(the file has no prefix column)")
        elif not _PREFIX.match(prefix):
            bad("prefix", f"{label['prefix'] if 'prefix' in columns else label['number']} {prefix!r} "
                          "is not a polling district code")
        if number is None:
            if not raw_number:
                bad("number", f"{label['number']} is missing")
            elif raw_number.isdigit() and int(raw_number) > 0:
                number = int(raw_number)
            else:
                bad("number", f"{label['number']} {raw_number!r} is not a whole number")
        if raw_suffix and raw_suffix not in {"0", "00"}:
            if not raw_suffix.isdigit():
                bad("suffix", f"{label['suffix']} {raw_suffix!r} is not a whole number")
            elif suffix is not None and suffix != int(raw_suffix):
                bad("suffix", f"{label['suffix']} {raw_suffix!r} does not match {label['number']} {raw_number!r}")
            else:
                suffix = int(raw_suffix)
        suffix = suffix or 0

        markers, unknown = parse_markers(get("markers"))
        if unknown:
            bad("markers", f"{label['markers']} {get('markers')!r} has unknown marker(s) {', '.join(unknown)} "
                           f"(known: {' '.join(FRANCHISE_MARKERS)})")

        # A date here is the attainer's coming-of-age date; registers print no other date of birth.
        attainer_date = None
        if raw_date := get("dob"):
            try:
                attainer_date = parse_date(raw_date)
            except ValueError as exc:
                bad("dob", f"{label['dob']} {raw_date!r} {exc}")

        if "surname" in columns:
            surname, forenames = get("surname"), get("forenames")
            if not forenames and "name" in columns and not surname:
                surname, _, forenames = (s.strip() for s in get("name").partition(","))
        else:
            whole = get("name")
            if "," in whole:
                surname, _, forenames = (s.strip() for s in whole.partition(","))
            else:
                # "Forenames Surname" when the council leaves out the comma.
                forenames, _, surname = whole.rpartition(" ")
        if not surname and not forenames:
            bad("surname", "the elector has no name (" + " and ".join(
                label[n] for n in ("surname", "forenames", "name") if n in columns) + " are empty)")
        elif not surname:
            bad("surname", f"{label.get('surname', label.get('name'))} is missing")
        if len(surname) > 120 or len(forenames) > 200:
            bad("surname", "the name is too long (surname up to 120, forenames up to 200 characters)")

        raw_postcode = get("postcode")
        postcode = normalise_postcode(raw_postcode) if raw_postcode else None
        if not raw_postcode:
            bad("postcode", f"{label['postcode']} is missing")
        elif postcode is None:
            bad("postcode", f"{label['postcode']} {raw_postcode!r} is not a valid UK postcode")

        if address_columns:
            lines = tuple(v for v in (" ".join(record[i].split()) for i in address_columns) if v)
        else:
            lines = tuple(p.strip() for p in get("address").split(",") if p.strip())
        if postcode and lines and normalise_postcode(lines[-1]) == postcode:
            lines = lines[:-1]  # some exports repeat the postcode as the last address line
        if not lines:
            bad("address", "the address is missing")

        uprn = get("uprn") or None
        if uprn is not None:
            if not uprn.isdigit() or len(uprn.lstrip("0")) > 12:
                bad("uprn", f"{label['uprn']} {uprn!r} is not a UPRN (up to 12 digits)")
            else:
                uprn = uprn.lstrip("0") or "0"

        if not problems and number is not None:
            key = (prefix, number, suffix)
            # Only good rows claim an elector number, so a bad row is reported once, for what is wrong with it.
            if key in seen:
                number_text = f"{prefix}-{number}" + (f"/{suffix}" if suffix else "")
                bad("number", f"elector number {number_text} is already on line {seen[key]}")
            else:
                seen[key] = line
        if problems:
            result.problems.extend(problems)
            continue
        result.rows.append(RegisterRow(
            line=line, prefix=prefix, number=number, suffix=suffix, markers=markers, attainer_date=attainer_date,
            surname=surname, forenames=forenames, address_lines=lines, postcode=postcode, uprn=uprn,
        ))
    return result


def parse_register(text: str, mapping: Mapping[str, str] | None = None) -> ParsedRegister:
    """Parse a whole register file's text: headings, checked rows and problems."""
    headings, rows = read_csv(text)
    return parse_rows(headings, rows, mapping)


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
