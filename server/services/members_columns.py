"""Which column of a membership export holds which field: the headings national and regional offices use,
recognised as the canvass-sheet import recognises its own (case, spacing and punctuation ignored, then
close misspellings). A column nothing claims is ignored and reported. Pure: no database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from rapidfuzz import fuzz

from server.services.imports.columns import SIMILAR_AT, heading_key
from server.services.imports.errors import column_letter

# In the order address lines are stored.
ADDRESS_FIELDS = ("address1", "address2", "address3", "address4", "address5", "town", "county")
FIELD_LABELS = {
    "membership_number": "Membership number",
    "first_name": "First name",
    "last_name": "Last name",
    "name": "Name",
    "joined_on": "Join date",
    "left_on": "Date left",
    "status": "Status",
    "constituency": "CLP",
    "address1": "Address line 1",
    "address2": "Address line 2",
    "address3": "Address line 3",
    "address4": "Address line 4",
    "address5": "Address line 5",
    "town": "Town",
    "county": "County",
    "postcode": "Postcode",
    "email": "Email",
    "mobile": "Mobile",
    "phone": "Phone",
    "consent_email": "Contact by email",
    "consent_phone": "Contact by phone",
    "consent_post": "Contact by post",
}
HEADING_ALIASES = {
    "membership_number": ["Membership number", "Membership no", "Membership num", "Membership #", "Membership ID",
                          "Member number", "Member no", "Member num", "Member #", "Member ID", "Mem no",
                          "Mship no", "Membership ref", "Member ref", "Membership reference", "Member reference"],
    "first_name": ["First name", "Firstname", "Forename", "Forenames", "First names", "Given name", "Given names",
                   "Christian name", "Member first name"],
    "last_name": ["Last name", "Lastname", "Surname", "Family name", "Member surname", "Member last name"],
    "name": ["Name", "Full name", "Fullname", "Member name", "Member full name", "Member"],
    "joined_on": ["Join date", "Joined", "Joined on", "Date joined", "Joining date", "Date of joining", "Start date",
                  "Member since", "Membership start", "Membership start date", "Joined date"],
    "left_on": ["Date left", "Left", "Left on", "Left date", "Leaving date", "Lapsed date", "Lapse date",
                "Date lapsed", "Lapsed on", "Resigned date", "Date resigned", "Resigned on", "End date",
                "Membership end", "Membership end date"],
    "status": ["Status", "Membership status", "Member status"],
    "constituency": ["CLP", "CLP name", "CLP code", "Constituency", "Constituency name", "Constituency code",
                     "ONS code", "PCON", "PCON code", "Westminster constituency", "Parliamentary constituency",
                     "Constituency Labour Party", "Local party"],
    "address1": ["Address", "Address 1", "Address line 1", "Addr 1", "Street address", "Home address",
                 "Postal address", "Street"],
    "address2": ["Address 2", "Address line 2", "Addr 2", "Locality"],
    "address3": ["Address 3", "Address line 3", "Addr 3"],
    "address4": ["Address 4", "Address line 4", "Addr 4"],
    "address5": ["Address 5", "Address line 5", "Addr 5"],
    "town": ["Town", "City", "Post town", "Town/City"],
    "county": ["County"],
    "postcode": ["Postcode", "Post code", "Postal code", "Zip", "Zip code"],
    "email": ["Email", "E-mail", "Email address", "E-mail address", "Email addr", "Primary email"],
    "mobile": ["Mobile", "Mobile number", "Mobile phone", "Mobile no", "Mobile tel", "Cell", "Cell phone"],
    "phone": ["Phone", "Phone number", "Phone no", "Telephone", "Telephone number", "Tel", "Tel no",
              "Home phone", "Landline", "Contact number"],
    "consent_email": ["Contact by email", "Email consent", "Consent email", "Consent to email", "Email opt in",
                      "Email optin", "Email OK", "OK to email", "Can email", "Email permission",
                      "Consent (email)"],
    "consent_phone": ["Contact by phone", "Phone consent", "Consent phone", "Consent to phone", "Phone opt in",
                      "Phone optin", "Phone OK", "OK to phone", "Can phone", "Phone permission",
                      "Telephone consent", "Contact by telephone"],
    "consent_post": ["Contact by post", "Post consent", "Consent post", "Consent to post", "Post opt in",
                     "Post optin", "Post OK", "OK to post", "Can post", "Post permission", "Postal consent",
                     "Mail consent", "Contact by mail"],
}
_ALIAS_INDEX = {heading_key(alias): name for name, aliases in HEADING_ALIASES.items() for alias in aliases}
_SIMILAR = [(key, name) for key, name in _ALIAS_INDEX.items() if len(key) >= 5]
REQUIRED = ("membership_number", "joined_on")


@dataclass(frozen=True)
class Column:
    """One recognised column: its field, 0-based index, heading, and whether it was a close misspelling."""

    field: str
    index: int
    heading: str
    similar: bool = False

    @property
    def label(self) -> str:
        """How messages name the column: its heading as the file has it, and its letter."""
        return f"{self.heading} (column {column_letter(self.index)})"


@dataclass
class MemberColumns:
    """The columns of one export: field -> Column, the headings nothing claimed, and what to tell the importer."""

    headings: list[str]
    columns: dict[str, Column] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # headings not read (unknown, or a second of one field)
    notes: list[str] = field(default_factory=list)

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    @property
    def address(self) -> list[Column]:
        return [self.columns[name] for name in ADDRESS_FIELDS if name in self.columns]

    def missing(self) -> list[str]:
        """Labels of the columns every export must have: a membership number, a name and a join date."""
        lacking = [FIELD_LABELS[name] for name in REQUIRED if name not in self.columns]
        if not ({"last_name", "name"} & set(self.columns)):
            lacking.insert(1, "Last name (or a full Name)")
        return lacking


def _recognise(heading: str) -> tuple[str, bool] | None:
    key = heading_key(heading)
    if not key:
        return None
    if key in _ALIAS_INDEX:
        return _ALIAS_INDEX[key], False
    if len(key) >= 5:
        score, name = max(((fuzz.ratio(key, alias), name) for alias, name in _SIMILAR), default=(0, ""))
        if score >= SIMILAR_AT:
            return name, True
    return None


def map_member_columns(headings: Sequence[str]) -> MemberColumns:
    """Recognise each heading; the first column of a field wins (an exact heading before a misspelling)."""
    found = MemberColumns(headings=list(headings))
    proposals = []
    for index, heading in enumerate(headings):
        if recognised := _recognise(heading):
            proposals.append((recognised[1], index, recognised[0]))
    taken: set[int] = set()
    for similar, index, name in sorted(proposals):
        if name in found.columns:
            chosen = found.columns[name]
            found.notes.append(f"{headings[index]!r} (column {column_letter(index)}) also looks like "
                               f"{FIELD_LABELS[name]}; {chosen.label} was read and it was not.")
            continue
        found.columns[name] = Column(name, index, headings[index], similar)
        taken.add(index)
        if similar:
            found.notes.append(f"{headings[index]!r} (column {column_letter(index)}) was read as "
                               f"{FIELD_LABELS[name]}: check that is right.")
    if {"first_name", "last_name"} & set(found.columns) and "name" in found.columns:
        dropped = found.columns.pop("name")
        taken.discard(dropped.index)
        found.notes.append(f"{dropped.label} was not read: the first and last name columns were.")
    found.ignored = [h for i, h in enumerate(headings) if h.strip() and i not in taken]
    return found
