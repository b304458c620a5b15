"""Reading a membership export's rows: membership numbers, names, UK dates, statuses, CLPs, contact details and
consent flags, each checked before it goes near the database. Every problem names its line (as the
spreadsheet numbers it) and its column; messages never repeat a name, an address, an email or a phone number
from the file. Pure: no database (the CLPs are given as plain data), so every rule is tested on plain text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Sequence

from server.models.people import MemberStatus
from server.services.imports.dates import read_dates
from server.services.imports.errors import ERROR, column_letter, shown
from server.services.imports.read import Table
from server.services.members_columns import FIELD_LABELS, Column, MemberColumns, map_member_columns
from server.services.register_parse import formula_start, normalise_postcode

EARLIEST = date(1900, 1, 1)  # members joined long before the dates canvass sheets allow
MAX_LENGTH = {"membership_number": 16, "first_name": 120, "last_name": 120, "email": 254, "address_line": 120}
_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/\-]{0,15}$")
_EMAIL = re.compile(r"^[^@\s,;<>()\[\]\"']+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+$")
STATUS_WORDS = {
    MemberStatus.NEW: ("new", "new member", "joined", "recently joined"),
    MemberStatus.ACTIVE: ("active", "current", "member", "in good standing", "good standing", "paid", "live"),
    MemberStatus.LAPSED: ("lapsed", "expired", "lapsed member"),
    MemberStatus.RESIGNED: ("resigned", "left", "cancelled", "canceled", "withdrawn", "resigned member"),
}
_STATUSES = {word: status for status, words in STATUS_WORDS.items() for word in words}
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0", ""}
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir", "dame", "lord", "lady", "cllr"}
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le", "st", "st.", "ter",
              "ten", "bin", "bint", "al", "el", "mac", "ap"}
_SUFFIXES = {"jr", "jr.", "jnr", "sr", "sr.", "snr", "ii", "iii", "iv"}
LEFT = (MemberStatus.LAPSED, MemberStatus.RESIGNED)


@dataclass(frozen=True)
class ClpRef:
    """A constituency as the parser needs it: its id, code and name, and whether the import's scope holds it."""

    id: int
    code: str
    name: str
    in_scope: bool


@dataclass
class MemberRow:
    """One member as the file gives them. ``given`` names the optional fields whose column the file has: a
    field outside it is left as stored on a re-import (a blank cell in a column the file has clears it)."""

    line: int
    membership_number: str
    first_name: str
    last_name: str
    constituency_id: int
    joined_on: date | None
    status: MemberStatus | None
    left_on: date | None = None
    email: str | None = None
    phone: str | None = None
    postcode: str | None = None
    address_lines: list[str] = field(default_factory=list)
    consent_email: bool = False
    consent_phone: bool = False
    consent_post: bool = False
    given: frozenset[str] = frozenset()


@dataclass
class ParsedMembers:
    rows: list[MemberRow]
    columns: MemberColumns
    errors: list[dict] = field(default_factory=list)  # {line, column, cell, field, message}, in line order
    warnings: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the dates were read
    rows_read: int = 0

    @property
    def rejected(self) -> int:
        return len({e["line"] for e in self.errors if e["line"]})


def clp_key(text: str) -> str:
    """A CLP's name or code compared without case, punctuation, "&" or a trailing "CLP"."""
    key = re.sub(r"[^0-9a-z]", "", text.casefold().replace("&", "and"))
    for tail in ("constituencylabourparty", "clp"):
        if key.endswith(tail) and len(key) > len(tail):
            key = key[: -len(tail)]
    return key


def clp_index(clps: Iterable[ClpRef]) -> dict[str, ClpRef]:
    """Every way a file may name a CLP (its code, its name, its id) -> the CLP."""
    index: dict[str, ClpRef] = {}
    for clp in clps:
        index.setdefault(clp_key(clp.name), clp)
        index[clp_key(clp.code)] = clp
        index.setdefault(str(clp.id), clp)
    return index


def split_name(full: str) -> tuple[str, str]:
    """(first, last) from one "Full name" cell: "Smith, Jo" or "Mrs Jo van der Berg" -> ("Jo", "van der Berg")."""
    if "," in full:
        last, _, first = (part.strip() for part in full.partition(","))
        return first, last
    words = full.split()
    if len(words) > 2 and words[0].casefold().rstrip(".") in _TITLES:
        words = words[1:]
    if len(words) <= 1:
        return "", " ".join(words)
    end = len(words) - 1
    if end > 1 and words[end].casefold() in _SUFFIXES:
        end -= 1
    start = end
    while start > 1 and words[start - 1].casefold() in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def _group_uk(digits: str) -> str:
    """A UK number spaced as people write it: "07700 900123", "020 7946 0123", "0113 496 0123"."""
    if len(digits) == 11 and digits.startswith("02"):
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if len(digits) == 11 and (digits.startswith(("011", "03", "08", "09")) or digits[3] == "1"):
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    if len(digits) == 10 and digits.startswith("08"):
        return f"{digits[:4]} {digits[4:]}"
    return f"{digits[:5]} {digits[5:]}"


def normalise_phone(raw: str) -> str | None:
    """A phone number as stored: UK numbers in national form, spaced as the rest of Groundwork writes them
    ("07700 900123"), others as "+" and digits.

    Spaces, dashes, dots and brackets go, "+44 (0)" and "0044" become "0", and a UK number whose leading zero
    a spreadsheet dropped ("7700900123") gets it back. None if it is not a phone number.
    """
    text = raw.strip().replace("(0)", "")
    if not text:
        return None
    plus = text.startswith("+")
    digits = re.sub(r"[\s\-.()/]", "", text.lstrip("+"))
    if not digits.isdigit():
        return None
    if plus or digits.startswith("00"):
        digits = digits[2:] if digits.startswith("00") and not plus else digits
        if not digits.startswith("44"):
            return "+" + digits if 8 <= len(digits) <= 15 else None
        digits = "0" + digits[2:]
    elif digits.startswith("44") and len(digits) == 12:
        digits = "0" + digits[2:]
    elif len(digits) == 10 and digits[0] in "123578":
        digits = "0" + digits
    return _group_uk(digits) if digits.startswith("0") and len(digits) in (10, 11) else None


class _Reader:
    """Reads the rows of one table with its columns, collecting problems as it goes."""

    def __init__(self, table: Table, columns: MemberColumns, clps: dict[str, ClpRef], default_clp: int | None,
                 scope_name: str, today: date) -> None:
        self.table, self.columns, self.clps = table, columns, clps
        self.default_clp, self.scope_name, self.today = default_clp, scope_name, today
        self.errors: list[dict] = []
        self.warnings: list[dict] = []
        self.dates = {name: read_dates(((r.line, r.cells[columns.columns[name].index]) for r in table.rows),
                                       latest=today, earliest=EARLIEST, field_name=name)
                      for name in ("joined_on", "left_on") if name in columns}
        for name, read in self.dates.items():
            for problem in read.problems:
                target = self.errors if problem.severity == ERROR else self.warnings
                target.append(self._problem(problem.line, columns.columns[name], problem.message))
        self._date_errors = {(p.line, name) for name, read in self.dates.items() for p in read.problems
                             if p.severity == ERROR}
        self.notes = [f"{FIELD_LABELS[name]}: {read.note}" for name, read in self.dates.items() if read.note]
        self.first_line: dict[str, int] = {}
        self.address_columns = columns.address

    def _problem(self, line: int, column: Column | None, message: str) -> dict:
        label = column.label if column else None
        return {"line": line, "column": column.heading if column else None,
                "cell": f"{column_letter(column.index)}{line}" if column else None,
                "field": column.field if column else "row",
                "message": f"{label}: {message}" if label else message}

    def cell(self, row, name: str) -> str:
        column = self.columns.columns.get(name)
        return " ".join(row.cells[column.index].split()) if column else ""

    def read(self, row) -> MemberRow | None:
        before = len(self.errors)
        cols = self.columns.columns

        def bad(name: str, message: str) -> None:
            self.errors.append(self._problem(row.line, cols.get(name), message))

        number = self.cell(row, "membership_number").upper().replace(" ", "")
        if not number:
            bad("membership_number", "the membership number is missing")
        elif not _NUMBER.match(number):
            bad("membership_number", f"{shown(number)} is not a membership number (letters, digits, \"-\" or "
                                     f"\"/\", at most {MAX_LENGTH['membership_number']})")
        elif number in self.first_line:
            bad("membership_number", f"membership number {number} is already on line {self.first_line[number]}")
        else:
            self.first_line[number] = row.line
        first, last = self._name(row, bad)
        clp = self._clp(row, bad)
        joined = self.dates["joined_on"].dates.get(row.line) if "joined_on" in self.dates else None
        left = self.dates["left_on"].dates.get(row.line) if "left_on" in self.dates else None
        if joined and left and left < joined:
            bad("left_on", "the date left is before the join date")
        status = None
        if raw := self.cell(row, "status"):
            status = _STATUSES.get(raw.casefold().rstrip("."))
            if status is None:
                bad("status", f"{shown(raw)} is not a membership status (new, active, lapsed or resigned)")
        email = self.cell(row, "email").lower() or None
        if email and (len(email) > MAX_LENGTH["email"] or not _EMAIL.match(email)):
            bad("email", "this is not a valid email address")
        phone = None
        for name in ("mobile", "phone"):
            if (raw := self.cell(row, name)) and phone is None:
                phone = normalise_phone(raw)
                if phone is None:
                    bad(name, "this is not a phone number")
        postcode = None
        if raw := self.cell(row, "postcode"):
            if (postcode := normalise_postcode(raw)) is None:
                bad("postcode", "this is not a valid UK postcode")
        lines = self._address(row, bad, postcode)
        consents = {}
        for name in ("consent_email", "consent_phone", "consent_post"):
            raw = self.cell(row, name).casefold()
            consents[name] = raw in _YES
            if raw not in _YES and raw not in _NO:
                bad(name, f"{shown(raw)} is not a yes or no (yes, no, y, n, true, false, 1, 0, or blank for no)")
        if len(self.errors) > before or any((row.line, n) in self._date_errors for n in self.dates):
            return None
        given = frozenset(n for n in ("left_on", "email", "postcode", "consent_email", "consent_phone",
                                      "consent_post") if n in cols)
        given |= {"phone"} if {"mobile", "phone"} & set(cols) else set()
        given |= {"address_lines"} if self.address_columns else set()
        return MemberRow(row.line, number, first, last, clp, joined, status, left, email, phone, postcode, lines,
                         given=given, **consents)

    def _name(self, row, bad) -> tuple[str, str]:
        if "last_name" in self.columns or "first_name" in self.columns:
            first, last, source = self.cell(row, "first_name"), self.cell(row, "last_name"), "last_name"
        else:
            (first, last), source = split_name(self.cell(row, "name")), "name"
        if not last:
            bad(source if source in self.columns else "first_name", "the member's last name is missing")
        for name, value in (("first_name", first), ("last_name", last)):
            where = name if name in self.columns else "name"
            if len(value) > MAX_LENGTH[name]:
                bad(where, f"the {FIELD_LABELS[name].lower()} is {len(value):,} characters long; at most "
                           f"{MAX_LENGTH[name]} are allowed")
            elif char := formula_start(value):
                bad(where, f"the {FIELD_LABELS[name].lower()} starts with {char!r}, as a spreadsheet formula does: "
                           "was the file edited in a spreadsheet? Ask for a fresh export")
        return first, last

    def _clp(self, row, bad) -> int:
        if "constituency" not in self.columns:
            return self.default_clp or 0
        raw = self.cell(row, "constituency")
        if not raw:
            if self.default_clp is not None:
                return self.default_clp
            bad("constituency", "the CLP is missing")
            return 0
        clp = self.clps.get(clp_key(raw))
        if clp is None:
            bad("constituency", f"no CLP is named or coded {shown(raw)}")
        elif not clp.in_scope:
            bad("constituency", f"{clp.name} ({clp.code}) is not in {self.scope_name}, the scope of this import")
        return clp.id if clp else 0

    def _address(self, row, bad, postcode: str | None) -> list[str]:
        given = []
        for column in self.address_columns:
            text = self.cell(row, column.field)
            parts = [p.strip() for p in text.split(",")] if len(self.address_columns) == 1 else [text]
            given.extend((part, column.field) for part in parts if part)
        if postcode and given and normalise_postcode(given[-1][0]) == postcode:
            given = given[:-1]  # some exports repeat the postcode as the last address line
        for text, name in given:
            if len(text) > MAX_LENGTH["address_line"]:
                bad(name, f"an address line is {len(text):,} characters long; at most "
                          f"{MAX_LENGTH['address_line']} are allowed")
            elif char := formula_start(text):
                bad(name, f"an address line starts with {char!r}, as a spreadsheet formula does: was the file "
                          "edited in a spreadsheet? Ask for a fresh export")
        return [text for text, _ in given]


def parse_members(table: Table, clps: Sequence[ClpRef], *, default_clp: int | None, scope_name: str,
                  today: date) -> ParsedMembers:
    """Every row of a membership export read and checked. ``default_clp`` is the CLP of rows that name none
    (the scope's CLP when it is one CLP); ``scope_name`` is how messages name the scope."""
    columns = map_member_columns(table.headings)
    reader = _Reader(table, columns, clp_index(clps), default_clp, scope_name, today)
    for problem in table.problems:  # what reading the file found: merged cells, damaged characters, formulas
        entry = {"line": problem.line, "column": None, "cell": problem.cell, "field": "row",
                 "message": problem.message}
        (reader.errors if problem.severity == ERROR else reader.warnings).append(entry)
    rows = [member for row in table.rows if (member := reader.read(row)) is not None]
    order = lambda e: (e["line"], e["cell"] or "")  # noqa: E731
    return ParsedMembers(rows, columns, sorted(reader.errors, key=order), sorted(reader.warnings, key=order),
                         reader.notes, rows_read=len(table.rows))
