"""Reading a council's electoral register CSV: encodings, heading spellings, rows, markers, dates and
addresses. Pure: no database, so every rule here is tested on plain text.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Iterable, Mapping, Sequence

from server.errors import ValidationFailed
from server.models import FRANCHISE_MARKERS

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
