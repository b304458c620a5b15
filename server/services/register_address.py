"""Reading a register address for walk order and identity: flat, building, house number and street, a sort
key that puts the flats of one building together in numeric order, and a key that recognises the same home
across editions whatever its layout or punctuation. Pure: no database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

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
