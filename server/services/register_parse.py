"""Reading a council's electoral register CSV: rows, markers, dates, and the limits every value keeps to
before it goes near the database. Pure: no database, so every rule here is tested on plain text. Bytes and
CSV records are read by register_read, headings by register_headings, addresses by register_address.
"""
from __future__ import annotations

import io
import re
from array import array
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Iterator, Mapping, Sequence

from server.errors import ValidationFailed
from server.models import FRANCHISE_MARKERS
from server.services.csv_safe import FORMULA_STARTS
# Re-exported: the importer, the demo builder and the tests read every register rule from here.
from server.services.register_address import ParsedAddress, address_key, parse_address  # noqa: F401
from server.services.register_headings import FIELD_LABELS, canonical_field, resolve_columns  # noqa: F401
from server.services.register_read import Problem, RecordReader, decode_register  # noqa: F401

MODES = ("full", "update")
UNALLOCATED_WARD_CODE = "UNALLOC"
UNALLOCATED_WARD_NAME = "Unallocated"


# ---------------------------------------------------------------------------------------------------
# Errors


class RegisterRejected(ValidationFailed):
    """The file had bad rows; ``details["rows"]`` lists the problems as {line, field, message}.

    ``details["rejected"]`` counts every rejected row; a huge file lists the first MAX_LISTED_PROBLEMS only.
    """


# ---------------------------------------------------------------------------------------------------
# Values


_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")
_PREFIX = re.compile(r"^[A-Z0-9]{1,8}$")
# "AA1-12", "AA1-12/1", "AA1 12-1": the printed elector number with its polling district letters.
_FULL_NUMBER = re.compile(r"^([A-Za-z0-9]{1,8})\s*[-\s]\s*([0-9]+)(?:\s*[/.-]\s*([0-9]+))?$")
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
# Limits: every value fits its database column, so the database never sees one it would refuse


MAX_INTEGER = 2**31 - 1  # an INTEGER column on PostgreSQL: elector number, suffix and house number
# The longest cell each field may hold (runs of spaces counted as one), each consistent with its column.
MAX_LENGTH = {
    "prefix": 8,  # Elector.prefix, PollingDistrict.code
    # Numbers: room for the longest full number, "ABCDEFGH-2147483647/2147483647"; the value is then checked
    # against MAX_INTEGER, which says more than a length would.
    "number": 32,
    "suffix": 32,
    "markers": 32,  # "E, F, G, K, L, M, N" with its separators; stored as at most 7 letters
    "dob": 19,  # "2027-03-01 00:00:00"
    "surname": 120,  # Elector.surname
    "forenames": 200,  # Elector.forenames
    "name": 322,  # "Surname, Forenames"
    "postcode": 10,  # Property.postcode
    "uprn": 20,  # 12 digits, which some exports pad with zeros
    "address": 380,  # all the lines together, so Property.address_key (400) is never cut short
    "address_line": 120,  # Property.street and Property.building: either may be a whole line
}
MAX_LISTED_PROBLEMS = 1000
# NUL is refused by PostgreSQL; the other control characters and lone surrogates (from a damaged UTF-16 file,
# or bytes no Windows code page defines) are never part of a name or an address.
_BAD_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_DIGITS = re.compile(r"^[0-9]+$")
# "register-2026-12-full.csv", "Elmford_2027_01_15.csv": a year and month, perhaps a day, set off by separators.
_FILENAME_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})[-_.](0[1-9]|1[0-2])(?:[-_.](0[1-9]|[12][0-9]|3[01]))?"
                            r"(?![0-9])")


def _show(value: str) -> str:
    """A value quoted for a message, cut short so a 12,000-character cell cannot flood the report."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _describe_character(char: str) -> str:
    code = ord(char)
    if code == 0:
        return "a NUL character (U+0000)"
    if 0xD800 <= code <= 0xDFFF:
        return f"a broken character (U+{code:04X}, half of a UTF-16 pair)"
    return f"a control character (U+{code:04X})"


def formula_start(text: str) -> str | None:
    """The character a name or address part starts with if a spreadsheet would take it for a formula.

    Such a cell is refused, line by line, rather than stored neutralised. A council's register system never
    writes a name or an address that starts with "=", "+", "-" or "@" (nobody is named "-1+1"), so one that
    does means the file was edited in a spreadsheet or tampered with on its way here: the data officer should
    hear about it and ask the council for a clean export, and prefixing a quote would quietly store a name
    that is on no register. Every CSV Groundwork writes neutralises such cells again (csv_safe), whatever the
    data came from.
    """
    return text[0] if text.startswith(FORMULA_STARTS) else None


def edition_date_from_filename(name: str | None) -> date | None:
    """The date in a file name such as ``register-2027-01-full.csv`` (the first of the month if no day is given)."""
    match = _FILENAME_DATE.search(name or "")
    if not match:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    try:
        return date(year, month, day)
    except ValueError:
        return None  # 2027-02-30: not a date, so not an edition date


# ---------------------------------------------------------------------------------------------------
# Rows (pure: no database)


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
    address: ParsedAddress

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.prefix, self.number, self.suffix)

    @property
    def elector_number(self) -> str:
        base = f"{self.prefix}-{self.number}"
        return f"{base}/{self.suffix}" if self.suffix else base


@dataclass
class ParsedRegister:
    headings: list[str]
    columns: dict[str, int]
    rows: list[RegisterRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows_read: int = 0


@dataclass
class Chunk:
    """A run of consecutive records: the good rows, and the problems of the bad ones."""

    rows: list[RegisterRow]
    problems: list[Problem]
    rejected: int


class _FirstLines:
    """The line each elector number was first seen on, in about four bytes an elector.

    Numbers run densely from 1 in each polling district, so a district keeps an array of lines indexed by
    number; suffixed numbers, and numbers far beyond how many the district has had so far, go to a dict. A
    1.7-million-row register needs a few MB here rather than the 200 MB a dict of every number would.
    """

    def __init__(self) -> None:
        self._dense: dict[str, array] = {}
        self._counts: dict[str, int] = {}
        self._sparse: dict[tuple[str, int, int], int] = {}

    def claim(self, key: tuple[str, int, int], line: int) -> int | None:
        """Remember ``key`` as seen on ``line``, or return the line it was already seen on."""
        prefix, number, suffix = key
        lines = self._dense.get(prefix)
        if lines is None:
            lines = self._dense[prefix] = array("I")
            self._counts[prefix] = 0
        if suffix == 0 and number < len(lines) and lines[number]:
            return lines[number]
        if (first := self._sparse.get(key)) is not None:
            return first
        count = self._counts[prefix] = self._counts[prefix] + 1
        if suffix == 0 and number < 4 * count + 64:
            if number >= len(lines):
                lines.frombytes(bytes(lines.itemsize * (max(number + 1, len(lines) * 3 // 2) - len(lines))))
            lines[number] = line
        else:
            self._sparse[key] = line
        return None


class RowChecker:
    """Checks and normalises rows one at a time, remembering across them only the elector numbers used."""

    def __init__(self, headings: Sequence[str], mapping: Mapping[str, str] | None = None) -> None:
        self.headings = list(headings)
        self.columns = resolve_columns(headings, mapping)
        self.width = len(headings)
        self.label = {name: (headings[i] or FIELD_LABELS[name])[:60] for name, i in self.columns.items()}
        self.address_columns = [(self.columns[f"address{n}"], self.label[f"address{n}"])
                                for n in range(1, 10) if f"address{n}" in self.columns]
        self._first_lines = _FirstLines()
        self._last_address: tuple[tuple[str, ...], ParsedAddress] | None = None
        self.rows_read = 0
        self.rejected = 0

    def check(self, line: int, record: Sequence[str]) -> RegisterRow | list[Problem]:
        """The row, checked and normalised, or every problem with it."""
        self.rows_read += 1
        result = self._cells_fit(line, record) or self._values(line, record)
        if isinstance(result, list):
            self.rejected += 1
        return result

    def chunks(self, records: Iterable[tuple[int, Sequence[str] | None, Problem | None]],
               size: int) -> Iterator[Chunk]:
        """Runs of ``size`` records (from RecordReader), checked."""
        chunk = Chunk([], [], 0)
        for line, record, problem in records:
            if problem is not None:
                self.rows_read += 1
                self.rejected += 1
                chunk.problems.append(problem)
                chunk.rejected += 1
            else:
                result = self.check(line, record)
                if isinstance(result, list):
                    chunk.problems.extend(result)
                    chunk.rejected += 1
                else:
                    chunk.rows.append(result)
            if len(chunk.rows) + chunk.rejected >= size:
                yield chunk
                chunk = Chunk([], [], 0)
        if chunk.rows or chunk.rejected:
            yield chunk

    def _cells_fit(self, line: int, record: Sequence[str]) -> list[Problem]:
        """Problems with the shape of the row and with characters and lengths, before any value is read."""
        width = self.width
        if len(record) < width:
            return [Problem(line, "row", f"the row has {len(record)} of the {width} fields in the heading row "
                                         "(cut short?)")]
        if any(cell.strip() for cell in record[width:]):
            return [Problem(line, "row", f"the row has {len(record)} fields but the heading row has {width}")]
        problems = []
        for name, index in self.columns.items():
            cell = record[index]
            if bad := _BAD_CHARACTER.search(cell):
                problems.append(Problem(line, name, f"{self.label[name]} contains {_describe_character(bad.group())}, "
                                                    "which no register holds: is the file damaged?"))
                continue
            limit = MAX_LENGTH["address_line" if name[-1].isdigit() else name]
            if len(cell) > limit and len(" ".join(cell.split())) > limit:
                length = len(" ".join(cell.split()))
                problems.append(Problem(line, name, f"{self.label[name]} is {length:,} characters long; "
                                                    f"at most {limit} are allowed"))
        return problems

    def _values(self, line: int, record: Sequence[str]) -> RegisterRow | list[Problem]:
        columns, label = self.columns, self.label
        problems: list[Problem] = []

        def bad(name: str, message: str) -> None:
            problems.append(Problem(line, name, message))

        def get(name: str) -> str:
            return " ".join(record[columns[name]].split()) if name in columns else ""

        prefix, number, suffix = self._elector_number(get, bad)

        markers, unknown = parse_markers(get("markers"))
        if unknown:
            bad("markers", f"{label['markers']} {_show(get('markers'))} has unknown marker(s) {', '.join(unknown)} "
                           f"(known: {' '.join(FRANCHISE_MARKERS)})")

        # A date here is the attainer's coming-of-age date; registers print no other date of birth.
        attainer_date = None
        if raw_date := get("dob"):
            try:
                attainer_date = parse_date(raw_date)
            except ValueError as exc:
                bad("dob", f"{label['dob']} {_show(raw_date)} {exc}")

        surname, forenames = self._name(get, bad)

        raw_postcode = get("postcode")
        postcode = normalise_postcode(raw_postcode) if raw_postcode else None
        if not raw_postcode:
            bad("postcode", f"{label['postcode']} is missing")
        elif postcode is None:
            bad("postcode", f"{label['postcode']} {_show(raw_postcode)} is not a valid UK postcode")

        lines, address = self._address(record, get, bad, postcode)

        uprn = get("uprn") or None
        if uprn is not None:
            if not _DIGITS.match(uprn) or len(uprn.lstrip("0")) > 12:
                bad("uprn", f"{label['uprn']} {_show(uprn)} is not a UPRN (up to 12 digits)")
            else:
                uprn = uprn.lstrip("0") or "0"

        if not problems:
            key = (prefix, number, suffix)
            # Only good rows claim an elector number, so a bad row is reported once, for what is wrong with it.
            if (first := self._first_lines.claim(key, line)) is not None:
                number_text = f"{prefix}-{number}" + (f"/{suffix}" if suffix else "")
                bad("number", f"elector number {number_text} is already on line {first}")
        if problems:
            return problems
        return RegisterRow(
            line=line, prefix=prefix, number=number, suffix=suffix, markers=markers, attainer_date=attainer_date,
            surname=surname, forenames=forenames, address_lines=lines, postcode=postcode, uprn=uprn,
            address=address,
        )

    def _elector_number(self, get, bad) -> tuple[str, int | None, int]:
        """Prefix, number and suffix from separate columns, or from one "AA1-12/1" value."""
        columns, label = self.columns, self.label
        prefix, raw_number, raw_suffix = get("prefix").upper(), get("number"), get("suffix")
        number = suffix = None
        too_large = f"is too large for an elector number (at most {MAX_INTEGER:,})"
        if full := _FULL_NUMBER.match(raw_number):
            number_prefix = full.group(1).upper()
            if prefix and prefix != number_prefix:
                bad("prefix", f"{label['prefix']} {_show(prefix)} does not match {label['number']} {_show(raw_number)}")
            prefix, number = number_prefix, _integer(full.group(2))
            suffix = _integer(full.group(3)) if full.group(3) else None
            if number is None or (full.group(3) and suffix is None):
                bad("number", f"{label['number']} {_show(raw_number)} {too_large}")
                number, suffix = 0, None
        if not prefix:
            if "prefix" in columns:
                bad("prefix", f"{label['prefix']} is missing")
            else:
                bad("number", f"{label['number']} {_show(raw_number)} is not a full elector number like AA1-12 "
                              "(the file has no prefix column)")
        elif not _PREFIX.match(prefix):
            bad("prefix", f"{label['prefix'] if 'prefix' in columns else label['number']} {_show(prefix)} "
                          "is not a polling district code")
        if number is None:
            if not raw_number:
                bad("number", f"{label['number']} is missing")
            elif not _DIGITS.match(raw_number) or not raw_number.strip("0"):
                bad("number", f"{label['number']} {_show(raw_number)} is not a whole number")
            elif (number := _integer(raw_number)) is None:
                bad("number", f"{label['number']} {_show(raw_number)} {too_large}")
        if raw_suffix and raw_suffix not in {"0", "00"}:
            if not _DIGITS.match(raw_suffix):
                bad("suffix", f"{label['suffix']} {_show(raw_suffix)} is not a whole number")
            elif _integer(raw_suffix) is None:
                bad("suffix", f"{label['suffix']} {_show(raw_suffix)} is too large for a suffix "
                              f"(at most {MAX_INTEGER:,})")
            elif suffix is not None and suffix != int(raw_suffix):
                bad("suffix", f"{label['suffix']} {_show(raw_suffix)} does not match {label['number']} "
                              f"{_show(raw_number)}")
            else:
                suffix = int(raw_suffix)
        return prefix, number, suffix or 0

    def _name(self, get, bad) -> tuple[str, str]:
        """Surname and forenames, from their own columns or from one "Surname, Forenames" column."""
        columns, label = self.columns, self.label
        if "surname" in columns:
            surname, forenames = get("surname"), get("forenames")
            source = {"surname": label["surname"], "forenames": label.get("forenames", label.get("name"))}
            if not forenames and "name" in columns and not surname:
                surname, _, forenames = (s.strip() for s in get("name").partition(","))
                source = {"surname": label["name"], "forenames": label["name"]}
        else:
            whole = get("name")
            source = {"surname": label["name"], "forenames": label["name"]}
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
        for name, value in (("surname", surname), ("forenames", forenames)):
            if len(value) > MAX_LENGTH[name]:
                bad(name, f"the {name} is {len(value):,} characters long; at most {MAX_LENGTH[name]} are allowed")
            elif char := formula_start(value):
                bad(name, f"{source[name]} starts with {char!r}, as a spreadsheet formula does: no council's "
                          "register holds one, so the file may have been tampered with (ask the council for a "
                          "fresh export)")
        return surname, forenames

    def _address(self, record, get, bad, postcode) -> tuple[tuple[str, ...], ParsedAddress | None]:
        """The address lines as given, checked, and parsed for walk order."""
        if self.address_columns:
            given = [(" ".join(record[i].split()), name) for i, name in self.address_columns]
        else:
            given = [(p.strip(), self.label["address"]) for p in get("address").split(",")]
        given = [(text, name) for text, name in given if text]
        if postcode and given and normalise_postcode(given[-1][0]) == postcode:
            given = given[:-1]  # some exports repeat the postcode as the last address line
        lines = tuple(text for text, _ in given)
        if not lines:
            bad("address", "the address is missing")
            return lines, None
        for text, name in given:
            if len(text) > MAX_LENGTH["address_line"]:
                bad("address", f"{name} is {len(text):,} characters long; an address line may have at most "
                               f"{MAX_LENGTH['address_line']}")
            elif char := next(filter(None, (formula_start(p.strip()) for p in text.split(","))), None):
                bad("address", f"{name} starts with {char!r} (or has a part that does), as a spreadsheet formula "
                               "does: no council's register holds one, so the file may have been tampered with "
                               "(ask the council for a fresh export)")
        total = len(" ".join(lines))
        if total > MAX_LENGTH["address"]:
            bad("address", f"the address is {total:,} characters long; at most {MAX_LENGTH['address']} are allowed")
        if self._last_address is not None and self._last_address[0] == lines:
            address = self._last_address[1]  # the next elector of the same household
        else:
            address = parse_address(lines)
            self._last_address = (lines, address)
        if address.house_number is not None and address.house_number > MAX_INTEGER:
            bad("address", f"the house number in the address is too large (at most {MAX_INTEGER:,})")
        return lines, address


def _integer(digits: str) -> int | None:
    """The value of a run of ASCII digits, or None if it is beyond MAX_INTEGER."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 10 and int(digits) <= MAX_INTEGER else None


def parse_rows(
    headings: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]], mapping: Mapping[str, str] | None = None
) -> ParsedRegister:
    """Check and normalise every row; a bad row becomes Problems (all of them) rather than an exception."""
    checker = RowChecker(headings, mapping)
    result = ParsedRegister(headings=list(headings), columns=checker.columns)
    for line, record in rows:
        checked = checker.check(line, record)
        if isinstance(checked, list):
            result.problems.extend(checked)
        else:
            result.rows.append(checked)
    result.rows_read = checker.rows_read
    return result


def parse_register(text: str, mapping: Mapping[str, str] | None = None) -> ParsedRegister:
    """Parse a whole register file's text held in memory: headings, checked rows and problems."""
    reader = RecordReader(io.StringIO(text, newline=""))
    checker = RowChecker(reader.headings, mapping)
    result = ParsedRegister(headings=reader.headings, columns=checker.columns)
    for chunk in checker.chunks(reader, 1000):
        result.rows.extend(chunk.rows)
        result.problems.extend(chunk.problems)
    result.rows_read = checker.rows_read
    return result
