"""Which column of a council's register holds which field: the heading spellings councils' systems use, and
an explicit mapping for the rest. Pure: no database.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

from server.errors import ValidationFailed

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


def _headings_text(headings: Sequence[str]) -> str:
    shown = [h if len(h) <= 40 else h[:40] + "…" for h in headings[:30]]
    more = f" and {len(headings) - 30} more" if len(headings) > 30 else ""
    return (", ".join(shown) or "(none)") + more


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
            + _headings_text(headings) + ".",
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
            f"The file has no column for {described}. Headings seen: {_headings_text(headings)}. "
            f"Name the column with --map FIELD=HEADING, e.g. --map {missing[0]}=\"{FIELD_LABELS[missing[0]]}\".",
            details={"missing": missing, "headings": list(headings),
                     "columns": {name: headings[i] for name, i in columns.items()}},
        )
    return columns
