"""What the import tests share: a campaign's code sets, sheets built as a CLP admin would type them (CSV
text, or an .xlsx made with openpyxl), and the synthetic register (tests/data/registers) as the matcher sees
it: the January 2027 edition, with the electors who left since December kept as removed.

Everything here is made-up data; nothing needs a database.
"""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import openpyxl

from server.services.imports import CampaignCodes, CandidateElector
from server.services.register_address import parse_address

REGISTERS = Path(__file__).resolve().parent.parent / "data" / "registers"
DATA = Path(__file__).resolve().parent / "data"

# The demo campaign's code sets (server/services/demo_vocabulary.py), as the sync protocol sends them.
CAMPAIGN = CampaignCodes.from_data({
    "outcomes": [
        {"code": "SPOKE", "label": "Spoke to them", "meaning": "spoke", "channels": ["door", "phone"]},
        {"code": "NOT_HOME", "label": "Not home", "meaning": "not_home", "channels": ["door"]},
        {"code": "NO_ANSWER", "label": "No answer", "meaning": "no_answer", "channels": ["phone"]},
        {"code": "VOICEMAIL", "label": "Left a voicemail", "meaning": "voicemail", "channels": ["phone"]},
        {"code": "REFUSED", "label": "Refused to talk", "meaning": "refused", "channels": ["door", "phone"]},
        {"code": "CALL_BACK", "label": "Call back later", "meaning": "call_back", "channels": ["door", "phone"]},
        {"code": "MOVED", "label": "Moved away", "meaning": "moved", "channels": ["door", "phone"]},
        {"code": "DECEASED", "label": "Deceased", "meaning": "deceased", "channels": ["door", "phone"]},
        {"code": "WRONG_NUMBER", "label": "Wrong number", "meaning": "wrong_number", "channels": ["phone"]},
        {"code": "DO_NOT_CONTACT", "label": "Do not contact again", "meaning": "do_not_contact",
         "channels": ["door", "phone"]},
    ],
    "intentions": [
        {"code": "LAB", "label": "Labour"}, {"code": "CON", "label": "Conservative"},
        {"code": "LD", "label": "Liberal Democrat"}, {"code": "GRN", "label": "Green"},
        {"code": "REF", "label": "Reform UK"}, {"code": "PC", "label": "Plaid Cymru"}, {"code": "SNP", "label": "SNP"},
        {"code": "OTH", "label": "Other party or independent"},
        {"code": "AGAINST", "label": "Against us, party not given"}, {"code": "UNDECIDED", "label": "Undecided"},
        {"code": "WONT_SAY", "label": "Won't say"}, {"code": "WONT_VOTE", "label": "Won't vote"},
    ],
    "strengths": [
        {"code": "STRONG", "label": "Strong: certain, will not change"},
        {"code": "LEANING", "label": "Leaning: likely, not certain"},
        {"code": "SOFT", "label": "Soft: could still change their mind"},
    ],
    "questions": [
        {"key": "top_issue", "text": "What is the most important issue for you at this election?", "kind": "choice",
         "options": [{"code": "cost_of_living", "label": "Cost of living"},
                     {"code": "nhs", "label": "NHS and social care"}, {"code": "housing", "label": "Housing"},
                     {"code": "other", "label": "Something else"}]},
        {"key": "postal_vote", "text": "Would you like help to apply for a postal vote?", "kind": "yes_no",
         "options": [{"code": "yes", "label": "Yes"}, {"code": "no", "label": "No"}]},
        {"key": "poster", "text": "Would you display a poster or garden board?", "kind": "yes_no",
         "options": [{"code": "yes", "label": "Yes"}, {"code": "no", "label": "No"}]},
        {"key": "likelihood", "text": "How likely are you to vote, from 1 (not at all) to 10 (certain)?",
         "kind": "scale", "options": {"min": 1, "max": 10}},
    ],
})


def csv_bytes(rows: Iterable[Sequence[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    """A CSV file as a spreadsheet program saves it (CRLF line ends)."""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Iterable[Sequence[object]], *, merge: Iterable[str] = (), title: str = "Canvass",
               before: Iterable[tuple[str, str]] = (), after: Iterable[tuple[str, str]] = ()) -> bytes:
    """An .xlsx workbook whose first sheet holds ``rows`` (a string starting with "=" is a formula, as when
    typed into Excel); ``merge`` ranges such as "A1:E1" are merged; ``before`` and ``after`` add sheets, as
    (title, state) with state "visible" or "hidden"."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    for ref in merge:
        sheet.merge_cells(ref)
    for position, (name, state) in enumerate(before):
        workbook.create_sheet(name, position).sheet_state = state
    for name, state in after:
        workbook.create_sheet(name).sheet_state = state
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def elector(id: int, number: str, surname: str, forenames: str, house: str | None, street: str | None,
            postcode: str | None, *, flat: str | None = None, removed: bool = False) -> CandidateElector:
    """An elector for a matching story: ``number`` as printed ("AA1-12" or "AA1-12/1")."""
    prefix, _, rest = number.partition("-")
    whole, _, suffix = rest.partition("/")
    return CandidateElector(id, prefix, int(whole), int(suffix or 0), surname, forenames, house, flat, street,
                            postcode, removed)


def _read_register(name: str) -> list[dict[str, str]]:
    with open(REGISTERS / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _key(row: dict[str, str]) -> tuple[str, int, int]:
    return row["Elector Number Prefix"], int(row["Elector Number"]), int(row["Elector Number Suffix"] or 0)


@lru_cache(maxsize=1)
def register() -> tuple[CandidateElector, ...]:
    """The CLP's register as the matcher is given it: January's electors, and December's leavers as removed."""
    january = _read_register("register-2027-01-full-14col.csv")
    december = _read_register("register-2026-12-full-14col.csv")
    current = {_key(row) for row in january}
    rows = [(row, False) for row in january] + [(row, True) for row in december if _key(row) not in current]
    electors = []
    for id, (row, removed) in enumerate(rows, 1):
        lines = [row[f"Address{n}"] for n in range(1, 7) if row[f"Address{n}"].strip()]
        address = parse_address(lines)
        prefix, number, suffix = _key(row)
        electors.append(CandidateElector(
            id, prefix, number, suffix, row["Elector Surname"], row["Elector Forename"],
            str(address.house_number) if address.house_number is not None else None, address.flat, address.street,
            row["PostCode"], removed, ", ".join(lines)))
    return tuple(electors)


def find(number: str) -> CandidateElector:
    """The register's elector with this printed number ("AA1-22")."""
    prefix, _, rest = number.partition("-")
    whole, _, suffix = rest.partition("/")
    wanted = (prefix, int(whole), int(suffix or 0))
    return next(e for e in register() if (e.prefix, e.number, e.suffix) == wanted)
