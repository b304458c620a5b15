"""A mapped sheet's rows read as canvass records: who each is about, when, what happened, what was said.

This joins the other modules: the column mapping says where each field is, the code mappings what each
code means, the dates module how to read the dates, and a batch header fills the canvasser, date and
polling district for sheets that give them once at the top rather than on every row. Each row becomes a
SheetRecord carrying its own problems (and the problems read.py found on its line), so a preview can show
exactly which rows will be imported and why the others will not. Pure: no database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import datetime as _dt
import re
from datetime import date
from typing import Any, Mapping

from server.services.imports.campaign import CampaignCodes, Question
from server.services.imports.codes import FIELDS, SKIP_ROW, CodeMapping, CodeTarget, code_key
from server.services.imports.columns import FIELD_LABELS, ColumnMapping
from server.services.imports.dates import DateColumn, read_dates
from server.services.imports.errors import ERROR, WARNING, Problem, shown
from server.services.imports.matching import RowIdentity, parse_elector_number, postcode_key
from server.services.imports.read import Table
from server.services.register_address import parse_address
from server.services.register_parse import normalise_postcode

# The sync protocol's limits (docs/sync-protocol.md, section 10), so a record read here is never refused there.
MAX_NOTES = 2000
MAX_TEXT_ANSWER = 500
MAX_NAME = 120
_YES = {"y", "yes", "true", "1", "✓", "✔", "x", "ticked"}
_NO = {"n", "no", "false", "0", "none"}


@dataclass(frozen=True)
class BatchHeader:
    """What a sheet gives once rather than per row; each fills the rows that leave it empty."""

    canvasser: str | None = None
    date: date | None = None
    sheet: str | None = None  # the sheet's own name or number, as written on the paper
    polling_district: str | None = None  # for elector numbers written without their letters


@dataclass
class SheetRecord:
    """One row as a canvass record. ``outcome``, ``intention`` and ``strength`` are campaign codes."""

    line: int
    identity: RowIdentity
    occurred_on: date | None = None
    time: _dt.time | None = None
    canvasser: str | None = None
    outcome: str | None = None
    intention: str | None = None
    strength: str | None = None
    notes: str | None = None
    survey_answers: dict[str, Any] = field(default_factory=dict)
    sheet: str | None = None
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None  # why the row is left out without being an error: "nothing recorded", a skipped code

    @property
    def importable(self) -> bool:
        """Whether the row can be imported: not skipped, and no error on it."""
        return self.skipped is None and not any(p.severity == ERROR for p in self.problems)


@dataclass
class ParsedSheet:
    """Every row of a sheet read as a record, and what the admin should know about the whole sheet."""

    records: list[SheetRecord]
    notes: list[str]
    dates: DateColumn | None

    @property
    def problems(self) -> list[Problem]:
        return [p for record in self.records for p in record.problems]

    def counts(self) -> dict[str, int]:
        """How many rows are importable, have errors, or are skipped."""
        importable = sum(1 for r in self.records if r.importable)
        skipped = sum(1 for r in self.records if r.skipped is not None)
        return {"rows": len(self.records), "importable": importable, "skipped": skipped,
                "with_errors": len(self.records) - importable - skipped}


def observed_codes(table: Table, mapping: ColumnMapping) -> dict[str, list[tuple[int, str]]]:
    """(line, cell) of the outcome, intention and strength columns the mapping has: what propose_codes reads."""
    columns = mapping.columns
    return {name: table.column(columns[name]) for name in FIELDS if name in columns}


def parse_sheet(table: Table, mapping: ColumnMapping, campaign: CampaignCodes, *,
                codes: Mapping[str, CodeMapping], batch: BatchHeader = BatchHeader(),
                latest: date | None = None) -> ParsedSheet:
    """Read every row of ``table`` as a SheetRecord, with ``codes`` holding the confirmed mapping per column kind.

    ``latest`` (the day of the import) makes later dates errors.
    """
    columns = mapping.columns
    dates = None
    if "date" in columns:
        dates = read_dates(table.column(columns["date"]), batch_date=batch.date, latest=latest)
    by_line: dict[int, list[Problem]] = {}
    for problem in table.problems + (dates.problems if dates else []):
        by_line.setdefault(problem.line, []).append(problem)
    reader = _RowReader(table, mapping, campaign, codes, batch)
    records = []
    for row in table.rows:
        record = reader.read(row.line, row.cells)
        record.problems[:0] = by_line.get(row.line, [])
        if dates is not None:
            record.occurred_on = dates.dates.get(row.line)
            record.time = dates.times.get(row.line)
            if not row.cells[columns["date"]].strip() and batch.date is None and record.skipped is None:
                record.problems.append(Problem(row.line, "date", "no_date", "the row has no date, and the batch "
                                                                            "header gives none"))
        else:
            record.occurred_on = batch.date
            if batch.date is None and record.skipped is None:
                record.problems.append(Problem(row.line, "date", "no_date", "the sheet has no Date column: give "
                                                                            "the date in the batch header"))
        records.append(record)
    notes = list(table.notes) + list(mapping.notes)
    # Problems on no row of the sheet (the heading row's merged cells, say) are said once, as notes.
    read_lines = {row.line for row in table.rows}
    notes.extend(f"Row {p.line}: {p.message}." if p.line else p.message[:1].upper() + p.message[1:] + "."
                 for p in table.problems if p.line not in read_lines)
    if dates is not None and dates.note:
        notes.append(dates.note)
    return ParsedSheet(records, notes, dates)


class _RowReader:
    def __init__(self, table: Table, mapping: ColumnMapping, campaign: CampaignCodes,
                 codes: Mapping[str, CodeMapping], batch: BatchHeader) -> None:
        self.table = table
        self.columns = mapping.columns
        self.survey = mapping.survey_columns
        self.questions = {q.key: q for q in campaign.questions}
        self.campaign = campaign
        self.codes = codes
        self.batch = batch
        spoke = [c.code for c in campaign.outcomes if c.meaning == "spoke"]
        self.spoke = spoke[0] if len(spoke) == 1 else None

    def read(self, line: int, cells: tuple[str, ...]) -> SheetRecord:
        problems: list[Problem] = []

        def get(name: str) -> str:
            return " ".join(cells[self.columns[name]].split()) if name in self.columns else ""

        def bad(name: str, code: str, message: str, severity: str = ERROR) -> None:
            problems.append(Problem(line, name, code, message, severity))

        identity = self._identity(line, get, bad)
        record = SheetRecord(line, identity, canvasser=get("canvasser") or self.batch.canvasser,
                             sheet=self.batch.sheet, problems=problems)
        self._codes(record, get, bad)
        notes = cells[self.columns["notes"]].strip() if "notes" in self.columns else ""
        if notes:
            if len(notes) > MAX_NOTES:
                bad("notes", "too_long", f"the notes are {len(notes):,} characters long; at most {MAX_NOTES:,} "
                                         "can be kept: shorten them")
            record.notes = notes
        for key, column in self.survey.items():
            if (raw := " ".join(cells[column].split())) and key in self.questions:
                answer = _answer(self.questions[key], raw)
                if isinstance(answer, str) and answer.startswith("!"):
                    # The answer is not quoted: a free-text answer may say anything about anyone.
                    bad(f"survey:{key}", "bad_answer", f"the answer to {key!r} {answer[1:]}; it is left out",
                        WARNING)
                else:
                    record.survey_answers[key] = answer
        unmapped = any(p.code == "unknown_code" for p in problems)
        if record.outcome is None and record.skipped is None and not unmapped:
            if record.notes or record.survey_answers:
                bad("outcome", "no_outcome", "the row has notes or answers but no outcome or intention: say what "
                                             "happened at the door")
            else:
                record.skipped = "nothing recorded"
        if not _has_identity(identity) and record.skipped is None:
            bad("elector", "no_elector", "the row does not say who it is about: it needs an elector number, or a "
                                         "surname with a postcode (or a street and house number)")
        return record

    def _identity(self, line: int, get, bad) -> RowIdentity:
        number = None
        if raw := get("elector_number"):
            try:
                number = parse_elector_number(raw, prefix=get("polling_district"), suffix=get("suffix"),
                                              default_prefix=self.batch.polling_district)
            except ValueError as exc:
                bad("elector_number", "bad_elector_number",
                    f"{exc}; the row is matched by name and address instead", WARNING)
        surname, forenames = get("surname"), get("forenames")
        if not surname and (whole := get("name")):
            surname, rest = split_name(whole)
            forenames = forenames or rest
        for name, value in (("surname", surname), ("forenames", forenames)):
            if len(value) > MAX_NAME:
                bad(name, "too_long", f"the {name} is {len(value):,} characters long; at most {MAX_NAME}")
        house, flat, street = get("house_number"), get("flat"), get("street")
        postcode = get("postcode")
        lines = [part.strip() for name in ("address", "address2", "address3") for part in get(name).split(",")
                 if part.strip()]
        if lines and not postcode and (found := normalise_postcode(lines[-1])):
            postcode = found
        lines = [part for part in lines if not normalise_postcode(part)]
        if lines:
            parsed = parse_address(lines)
            house = house or _house_number(lines, parsed.house_number)
            flat = flat or (parsed.flat or "")
            street = street or (parsed.street or "")
        if postcode and postcode_key(postcode) is None:
            bad("postcode", "bad_postcode", "the postcode is not a UK postcode (such as EF1 1AA); it is compared "
                                            "as written", WARNING)
        return RowIdentity(line, number, surname or None, forenames or None, house or None, flat or None,
                           street or None, postcode or None)

    def _codes(self, record: SheetRecord, get, bad) -> None:
        """Outcome, intention and strength from their columns, checked against each other."""
        found: dict[str, tuple[str, str]] = {}  # code set -> (code, the field whose column gave it)
        for name in FIELDS:
            raw = get(name)
            if not raw or name not in self.codes:
                continue
            decision = self.codes[name].decide(raw)
            if decision is None:
                bad(name, "unknown_code", f"the code {shown(raw)} in {FIELD_LABELS[name]} is not mapped: map it to "
                                          "one of the campaign's codes, or skip it")
            elif decision == SKIP_ROW:
                record.skipped = f"{FIELD_LABELS[name]} {raw!r} is set to be skipped"
            elif isinstance(decision, CodeTarget):
                for code_set, code in decision.as_dict().items():
                    if code_set in found and found[code_set][0] != code:
                        bad(name, "conflicting_codes", f"{FIELD_LABELS[found[code_set][1]]} gives {code_set} "
                                                       f"{found[code_set][0]}, but {FIELD_LABELS[name]} {raw!r} "
                                                       f"gives {code}")
                    found.setdefault(code_set, (code, name))
        outcome = found.get("outcome", (None, ""))[0]
        intention = found.get("intention", (None, ""))[0]
        if intention and outcome is None:
            if self.spoke is None:
                bad("outcome", "no_spoke_outcome", "an intention is given but the campaign has no single outcome "
                                                   "meaning spoke to record it with")
            outcome = self.spoke
        elif intention and self.campaign.outcome_meaning(outcome) != "spoke":
            bad("intention", "intention_without_spoke", f"the outcome is {outcome} but an intention ({intention}) is "
                                                        "given: an intention is recorded only when you spoke to them")
        record.outcome, record.intention = outcome, intention
        record.strength = found.get("strength", (None, ""))[0]


def split_name(whole: str) -> tuple[str, str]:
    """(surname, forenames) of a name in one cell: "Kowalski, Margaret" and "Margaret Kowalski" as a register
    and a person write it, "KOWALSKI Margaret" with the surname in capitals as walk lists print it."""
    if "," in whole:
        surname, _, rest = (part.strip() for part in whole.partition(","))
        return surname, rest
    words = whole.split()
    capitals = [i for i, word in enumerate(words) if len(word) > 1 and word.isupper()]
    if 0 < len(capitals) < len(words) and capitals == list(range(capitals[0], capitals[-1] + 1)):
        return (" ".join(words[capitals[0]:capitals[-1] + 1]),
                " ".join(words[:capitals[0]] + words[capitals[-1] + 1:]))
    rest, _, surname = whole.rpartition(" ")
    return surname, rest


_HOUSE = re.compile(r"^(\d+)\s*([A-Za-z])?(?![A-Za-z])")


def _house_number(lines: list[str], number: int | None) -> str:
    """The house number parse_address found, with its letter ("12A") as the address wrote it."""
    if number is None:
        return ""
    for line in lines:
        if (match := _HOUSE.match(line.strip())) and int(match.group(1)) == number:
            return match.group(1) + (match.group(2) or "").upper()
    return str(number)


def _has_identity(identity: RowIdentity) -> bool:
    """An elector number, or a surname with somewhere to look for it: a postcode, or a street and house number."""
    return identity.elector_number is not None or bool(identity.surname and (
        identity.postcode or (identity.street and (identity.house_number or identity.flat))))


def _answer(question: Question, raw: str) -> Any:
    """The answer as the sync protocol wants it for the question's kind, or "!" and what is wrong with it."""
    kind, options = question.kind, question.options
    if kind == "yes_no":
        key = raw.strip().casefold().rstrip(".!")
        if key in _YES:
            return True
        if key in _NO:
            return False
        return "!is not yes or no"
    if kind in ("choice", "multi_choice"):
        choices = {}
        for option in options or ():
            for text in (str(option.get("code", "")), str(option.get("label", ""))):
                if text:
                    choices.setdefault(code_key(text), str(option["code"]))
        parts = [raw] if kind == "choice" else [p for p in _split(raw) if p]
        codes = [choices.get(code_key(part)) for part in parts]
        if None in codes:
            listed = ", ".join(dict.fromkeys(choices.values()))
            return f"!is not one of the options ({listed})"
        return codes[0] if kind == "choice" else list(dict.fromkeys(codes))
    if kind == "scale":
        bounds = options if isinstance(options, Mapping) else {}
        low, high = bounds.get("min", 0), bounds.get("max", 10)
        text = raw.strip()
        if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
            return f"!is not a whole number from {low} to {high}"
        return int(text)
    if len(raw) > MAX_TEXT_ANSWER:
        return f"!is longer than {MAX_TEXT_ANSWER} characters"
    return raw


def _split(raw: str) -> list[str]:
    for separator in (";", "/", "+", "&"):
        raw = raw.replace(separator, ",")
    return [part.strip() for part in raw.split(",")]
