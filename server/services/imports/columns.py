"""Which column of a typed-up canvass sheet holds which field: the headings people type, recognised, then
confirmed or corrected by the admin, and remembered per CLP.

Every sheet is laid out by whoever typed it ("Elector No", "PD/No", "Poll no"; "VI", "Party"). Headings are
compared with case, spacing and punctuation removed, against the spellings below and then by similarity,
so most sheets map themselves; the admin sees each choice with how sure it is and corrects the rest. The
saved mapping of a CLP is offered first next time, and the admin's corrections come before both.
Pure: no database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from rapidfuzz import fuzz, utils

from server.services.imports.campaign import Question
from server.services.imports.errors import ImportRefused, column_letter

FIELD_LABELS = {
    "elector_number": "Elector number",
    "polling_district": "Polling district",
    "suffix": "Elector number suffix",
    "name": "Name",
    "surname": "Surname",
    "forenames": "Forenames",
    "address": "Address",
    "address2": "Address line 2",
    "address3": "Address line 3",
    "house_number": "House number",
    "flat": "Flat",
    "street": "Street",
    "postcode": "Postcode",
    "date": "Date",
    "canvasser": "Canvasser",
    "outcome": "Outcome",
    "intention": "Voting intention",
    "strength": "Strength",
    "notes": "Notes",
}
SURVEY_PREFIX = "survey:"
HEADING_ALIASES = {
    "elector_number": ["Elector No", "Elector number", "Elector num", "Elec no", "PD/No", "PD No", "Poll no",
                       "Poll number", "Polling no", "Polling number", "Electoral number", "Roll no",
                       "Roll number", "Register no", "Register number", "Reg no", "ENO", "Elector ID",
                       "Voter no", "Voter number", "Voter ID", "Full elector number"],
    "polling_district": ["PD", "Polling district", "Poll district", "Polling district code", "PD code",
                         "District", "Prefix", "Elector number prefix"],
    "suffix": ["Suffix", "Elector number suffix", "Elector suffix"],
    "name": ["Name", "Full name", "Elector name", "Elector", "Voter", "Voter name", "Person"],
    "surname": ["Surname", "Last name", "Family name", "Elector surname", "Second name"],
    "forenames": ["First name", "Forename", "Forenames", "Forename(s)", "First names", "Given name",
                  "Given names", "Christian name", "Elector forenames"],
    "address": ["Address", "Address 1", "Address line 1", "Full address", "Addr", "Property",
                "Property address", "Elector address", "Home address"],
    "address2": ["Address 2", "Address line 2", "Addr 2"],
    "address3": ["Address 3", "Address line 3", "Addr 3", "Town"],
    "house_number": ["House no", "House number", "House num", "House #", "No.", "No", "Number", "Num", "#",
                     "Door no", "Door number", "Hse no", "House", "Building number", "Property number"],
    "flat": ["Flat", "Flat no", "Flat number", "Apartment", "Apt", "Unit"],
    "street": ["Street", "Road", "Street name", "Road name", "Street/Road", "Thoroughfare"],
    "postcode": ["Postcode", "Post code", "Postal code", "PC"],
    "date": ["Date", "Canvassed on", "Canvass date", "Date canvassed", "Contact date", "Date of contact",
             "Visited", "Date visited", "Visit date", "Called on", "Call date", "When"],
    "canvasser": ["Canvasser", "Volunteer", "Canvassed by", "Canvasser name", "Caller", "Called by", "Activist",
                  "Who"],
    "outcome": ["Outcome", "Result", "Contact", "Contact outcome", "Response", "Status", "Door result",
                "Call result", "Result code", "Outcome code"],
    "intention": ["Voting intention", "VI", "Intention", "Party", "Vote", "Support", "VI code", "Voting",
                  "Intends to vote", "Likely vote"],
    "strength": ["Strength", "VI strength", "Firmness", "Certainty", "Str"],
    "notes": ["Notes", "Note", "Comments", "Comment", "Remarks", "Issues", "Other info", "Info", "Details"],
}
# Words people put before or after a heading that say nothing of the field: "Elector Surname", "Outcome code".
_FILLER_BEFORE = ("elector", "voter", "canvass", "contact", "person", "the")
_FILLER_AFTER = ("code", "s", "1")
SIMILAR_AT = 85  # rapidfuzz ratio (0-100) from which a heading counts as a misspelling of a known one
CONFIDENT = 0.9  # below this a choice is shown to the admin as a guess to check


def heading_key(heading: str) -> str:
    """A heading with case, spacing and punctuation removed: "Elector No." -> "electorno"."""
    return re.sub(r"[^0-9a-z#]", "", heading.casefold())


_ALIAS_INDEX = {heading_key(alias): name for name, aliases in HEADING_ALIASES.items() for alias in aliases}
_SIMILAR_ALIASES = [(key, name) for key, name in _ALIAS_INDEX.items() if len(key) >= 4]


@dataclass(frozen=True)
class ColumnChoice:
    """One field's column and why: ``source`` is "admin", "saved", "heading" (a known spelling), "similar"
    (close to one) or "survey" (a question of the campaign); ``confidence`` is from 0 to 1."""

    field: str
    column: int
    heading: str
    confidence: float
    source: str


@dataclass(frozen=True)
class Missing:
    """A required kind of column the mapping lacks: ``code`` is "elector" or "result"."""

    code: str
    message: str


@dataclass
class ColumnMapping:
    """The proposed (or confirmed) mapping of one sheet's columns."""

    headings: list[str]
    choices: dict[str, ColumnChoice] = field(default_factory=dict)
    unmapped: list[int] = field(default_factory=list)  # columns with a heading no field took
    missing: list[Missing] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # corrections that do not fit this sheet
    notes: list[str] = field(default_factory=list)  # doubts and saved choices that did not apply

    @property
    def ok(self) -> bool:
        """Whether the rows can be read with this mapping."""
        return not self.missing and not self.problems

    @property
    def columns(self) -> dict[str, int]:
        """field -> column index."""
        return {name: choice.column for name, choice in self.choices.items()}

    @property
    def survey_columns(self) -> dict[str, int]:
        """question key -> column index."""
        return {name[len(SURVEY_PREFIX):]: choice.column for name, choice in self.choices.items()
                if name.startswith(SURVEY_PREFIX)}

    def to_saved(self) -> dict[str, str]:
        """field -> heading: what to remember for the CLP and offer again next time."""
        return {name: choice.heading for name, choice in self.choices.items() if choice.heading}

    def guesses(self) -> list[ColumnChoice]:
        """The choices the admin should check: made by similarity, or less sure than CONFIDENT."""
        return [c for c in self.choices.values() if c.source == "similar" or c.confidence < CONFIDENT]

    def require(self) -> None:
        """Refuse the sheet (ImportRefused "missing_columns") unless its rows can be read with this mapping: the
        check to make when the admin confirms it, since a sheet that cannot say who or what happened cannot
        be imported. ``details`` lists the missing kinds ("elector", "result") and the corrections at fault."""
        if self.ok:
            return
        sentences = [m.message for m in self.missing] + [p[:1].upper() + p[1:] + "." for p in self.problems]
        raise ImportRefused("missing_columns", " ".join(sentences) + " Choose the columns again, or add the "
                                                                      "missing ones to the sheet.",
                            {"missing": [m.code for m in self.missing], "problems": list(self.problems)})


def _label(name: str) -> str:
    if name.startswith(SURVEY_PREFIX):
        return f"survey question {name[len(SURVEY_PREFIX):]!r}"
    return FIELD_LABELS.get(name, name)


def _recognise(heading: str, questions: Sequence[Question]) -> list[tuple[str, float, str]]:
    """(field, confidence, source) for every field a heading may stand for, best first."""
    key = heading_key(heading)
    if not key:
        return []
    found: list[tuple[str, float, str]] = []
    for question in questions:
        if key == heading_key(question.key) or key == heading_key(question.text):
            found.append((SURVEY_PREFIX + question.key, 1.0, "survey"))
    if key in _ALIAS_INDEX:
        found.append((_ALIAS_INDEX[key], 1.0, "heading"))
    else:
        stripped = key
        for word in _FILLER_BEFORE:
            stripped = stripped.removeprefix(word) if len(stripped) > len(word) else stripped
        for word in _FILLER_AFTER:
            stripped = stripped.removesuffix(word) if len(stripped) > len(word) else stripped
        if stripped != key and stripped in _ALIAS_INDEX:
            found.append((_ALIAS_INDEX[stripped], 0.9, "heading"))
        elif len(key) >= 4:
            best = max(((fuzz.ratio(key, alias), name) for alias, name in _SIMILAR_ALIASES), default=(0, ""))
            if best[0] >= SIMILAR_AT:
                found.append((best[1], round(best[0] / 100 * 0.9, 2), "similar"))
    words = heading.split()
    if len(words) >= 2:
        # "Postal vote?" for "Would you like help to apply for a postal vote?": every word of the heading is in
        # the question. Two words at least, so "Help" alone never claims a question. Such a heading was written
        # for the question, so it outranks a merely similar spelling of a field ("Likely to vote" is the
        # likelihood question, not "Likely vote"), though it stays a guess for the admin to check.
        for question in questions:
            score = fuzz.token_set_ratio(heading, question.text, processor=utils.default_process)
            if score >= 90 and all(SURVEY_PREFIX + question.key != f for f, _, _ in found):
                found.append((SURVEY_PREFIX + question.key, round(score / 100 * 0.85, 2), "survey"))
    return sorted(found, key=lambda item: -item[1])


def _find_heading(headings: Sequence[str], wanted: str | int) -> int | None:
    """The column an override names, by index or by heading (exactly, then ignoring case and punctuation)."""
    if isinstance(wanted, int):
        return wanted if 0 <= wanted < len(headings) else None
    for index, heading in enumerate(headings):
        if heading == wanted:
            return index
    key = heading_key(wanted)
    return next((i for i, h in enumerate(headings) if key and heading_key(h) == key), None)


def map_columns(headings: Sequence[str], *, questions: Sequence[Question] = (),
                saved: Mapping[str, str] | None = None,
                corrections: Mapping[str, str | int | None] | None = None) -> ColumnMapping:
    """Propose which column holds each field, applying the admin's corrections, then the CLP's saved mapping.

    ``saved`` and ``corrections`` map a field ("surname", "survey:postal_vote") to a heading (or, for
    corrections, a 0-based column index; None says the sheet has no such column). A saved choice whose
    heading is not in this sheet is passed over with a note; a correction that does not fit is a problem.
    """
    mapping = ColumnMapping(headings=list(headings))
    known = set(FIELD_LABELS) | {SURVEY_PREFIX + q.key for q in questions}
    taken: dict[int, str] = {}
    refused: set[str] = set()

    def take(name: str, column: int, confidence: float, source: str) -> None:
        mapping.choices[name] = ColumnChoice(name, column, headings[column], confidence, source)
        taken[column] = name

    for name, wanted in (corrections or {}).items():
        if name not in known:
            mapping.problems.append(f"{name!r} is not a field that can be imported")
        elif wanted is None:
            refused.add(name)
        elif (column := _find_heading(headings, wanted)) is None:
            mapping.problems.append(f"{_label(name)} is set to column {wanted!r}, which this sheet does not have")
        elif column in taken:
            mapping.problems.append(f"{_describe(headings, column)} is chosen for both {_label(taken[column])} "
                                    f"and {_label(name)}")
        else:
            take(name, column, 1.0, "admin")
    for name, heading in (saved or {}).items():
        if name not in known or name in mapping.choices or name in refused:
            continue
        column = _find_heading(headings, heading)
        if column is None:
            mapping.notes.append(f"The saved mapping reads {_label(name)} from a column headed {heading!r}, which "
                                 "this sheet does not have.")
        elif column not in taken:
            take(name, column, 1.0, "saved")

    proposals = sorted(((confidence, -column, name, source) for column, heading in enumerate(headings)
                        if column not in taken for name, confidence, source in _recognise(heading, questions)),
                       reverse=True)
    passed_over: dict[str, list[int]] = {}
    for confidence, negative_column, name, source in proposals:
        column = -negative_column
        if column in taken or name in refused:
            continue
        if name in mapping.choices:
            if confidence >= CONFIDENT and mapping.choices[name].source in ("heading", "survey"):
                passed_over.setdefault(name, []).append(column)
            continue
        take(name, column, confidence, source)
    for name, columns in passed_over.items():
        chosen = mapping.choices[name].column
        others = ", ".join(_describe(headings, c) for c in columns)
        mapping.notes.append(f"{_label(name)}: {others} also look{'s' if len(columns) == 1 else ''} like "
                             f"{_label(name)}; {_describe(headings, chosen)} was chosen. Check which is right.")
    mapping.unmapped = [i for i, h in enumerate(headings) if h.strip() and i not in taken]
    mapping.missing = _missing(mapping.choices)
    return mapping


def _describe(headings: Sequence[str], column: int) -> str:
    heading = headings[column] if column < len(headings) else ""
    return f"column {column_letter(column)} ({heading!r})" if heading else f"column {column_letter(column)}"


def _missing(choices: Mapping[str, ColumnChoice]) -> list[Missing]:
    """The kinds of column a sheet must have: who each row is about, and what happened."""
    has = set(choices)
    missing = []
    by_number = "elector_number" in has
    named = bool(has & {"surname", "name"})
    placed = bool(has & {"address", "house_number", "flat"})
    if not by_number and not (named and "postcode" in has and placed):
        lacking = [label for label, present in (("Surname (or Name)", named), ("Postcode", "postcode" in has),
                                                ("Address (or House number)", placed)) if not present]
        missing.append(Missing("elector", "Which elector each row is about: the sheet needs an Elector number "
                                          "column, or Surname, Postcode and Address (or House number); it has no "
                                          "Elector number and no " + " or ".join(lacking) + "."))
    if not has & {"outcome", "intention"}:
        missing.append(Missing("result", "What happened at each door: the sheet needs an Outcome or a Voting "
                                         "intention column."))
    return missing
