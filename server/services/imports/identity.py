"""What the matcher compares: elector numbers as sheets write them, a sheet row's identity, an elector as the
register holds them, and the comparison key of each value (names without titles or accents, streets with
their abbreviations spelt out, house numbers and flats, postcodes without spaces).

Keys are computed once per row and per elector (Prepared), since a 50,000-row import compares each row with
a few dozen electors and each elector with many rows. Pure: no database.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from server.services.register_parse import normalise_postcode


@dataclass(frozen=True, order=True)
class ElectorNumber:
    """An elector number: polling district prefix, number, suffix (0 when there is none)."""

    prefix: str
    number: int
    suffix: int = 0

    def __str__(self) -> str:
        return f"{self.prefix}-{self.number}" + (f"/{self.suffix}" if self.suffix else "")


_NUMBER_WITH_PREFIX = re.compile(
    r"^([A-Z0-9]{0,7}[A-Z][A-Z0-9]{0,7}?)\s*[-\s/.]\s*(\d{1,10})(?:\s*[/.\-]\s*(\d{1,10}))?$")
_NUMBER_LETTER_PREFIX = re.compile(r"^([A-Z]{1,8})(\d{1,10})(?:\s*[/.\-]\s*(\d{1,10}))?$")
_NUMBER_ALONE = re.compile(r"^(\d{1,10})(?:\s*[/.\-]\s*(\d{1,10}))?$")
_PREFIX = re.compile(r"^[A-Z0-9]{1,8}$")


def parse_elector_number(raw: str, *, prefix: str = "", suffix: str = "",
                         default_prefix: str | None = None) -> ElectorNumber:
    """An elector number from "AA1-23", "AA1 23/1", "AB123" or "23" with a prefix from its own column (or the
    batch header's polling district). Raises ValueError saying what is wrong."""
    text = " ".join(raw.strip().upper().split())
    column_prefix = "".join(prefix.split()).upper()
    number_suffix = None
    if match := _NUMBER_WITH_PREFIX.match(text) or _NUMBER_LETTER_PREFIX.match(text):
        found_prefix, number, number_suffix = match.group(1), int(match.group(2)), match.group(3)
        if column_prefix and column_prefix != found_prefix:
            raise ValueError(f"the elector number {text} does not match the polling district {column_prefix}")
    elif match := _NUMBER_ALONE.match(text):
        found_prefix = column_prefix or (default_prefix or "").upper()
        number, number_suffix = int(match.group(1)), match.group(2)
        if not found_prefix:
            raise ValueError(f"the elector number {text} has no polling district letters (such as AA1-{text}), "
                             "and the sheet gives none")
    else:
        raise ValueError("the elector number is not written as one (such as AA1-23 or AA1-23/1)")
    if not _PREFIX.match(found_prefix):
        raise ValueError(f"{found_prefix!r} is not a polling district code")
    suffix_text = suffix.strip()
    if suffix_text and number_suffix and int(suffix_text) != int(number_suffix):
        raise ValueError(f"the suffix {suffix_text} does not match the elector number {text}")
    if suffix_text and not suffix_text.isdigit():
        raise ValueError(f"the suffix {suffix_text!r} is not a whole number")
    if number == 0:
        raise ValueError(f"{text} is not an elector number (number 0)")
    return ElectorNumber(found_prefix, number, int(number_suffix or suffix_text or 0))


def postcode_key(raw: str | None) -> str | None:
    """A UK postcode without spaces, upper case ("ef1 1aa" -> "EF11AA"); None if it is not a postcode."""
    if not raw:
        return None
    normal = normalise_postcode(raw)
    return normal.replace(" ", "") if normal else None


def outward_code(key: str) -> str:
    """The outward code of a postcode key: "EF1" of "EF11AA"."""
    return key[:-3]


_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "rev", "prof", "sir", "dame", "lady", "lord"}


def name_key(raw: str | None) -> str:
    """A name as compared: accents, case, apostrophes and titles removed, hyphens as spaces."""
    if not raw:
        return ""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().casefold()
    text = re.sub(r"['’`.]", "", text)
    words = re.sub(r"[^a-z]+", " ", text).split()
    return " ".join(w for w in words if w not in _TITLES)


_STREET_WORDS = {
    "rd": "road", "st": "street", "str": "street", "ave": "avenue", "av": "avenue", "ln": "lane", "cl": "close",
    "cres": "crescent", "cresc": "crescent", "dr": "drive", "gdns": "gardens", "gdn": "garden", "gr": "grove",
    "gro": "grove", "pl": "place", "sq": "square", "ter": "terrace", "terr": "terrace", "ct": "court",
    "pk": "park", "pde": "parade", "wy": "way", "wk": "walk", "hl": "hill", "grn": "green", "mws": "mews",
    "est": "estate", "n": "north", "s": "south", "e": "east", "w": "west", "upr": "upper", "lwr": "lower",
}


def street_key(raw: str | None) -> str:
    """A street as compared: case and punctuation removed, abbreviations spelt out ("St Mary's Rd" ->
    "saint marys road"), a leading house number dropped."""
    if not raw:
        return ""
    words = re.sub(r"[^a-z0-9 ]+", " ", re.sub(r"['’]", "", raw.casefold())).split()
    while words and re.fullmatch(r"\d+[a-z]?", words[0]):
        words.pop(0)
    spelt = [("saint" if word == "st" and position == 0 and len(words) > 1 else _STREET_WORDS.get(word, word))
             for position, word in enumerate(words)]
    return " ".join(spelt)


_PREMISE_NUMBER = re.compile(r"^(\d+)\s*([A-Z])?\b")
_FLAT_WORDS = re.compile(r"^(?:FLAT|APARTMENT|APT|UNIT|ROOM|MAISONETTE|STUDIO)\.?\s*(?:NO\.?\s*)?", re.I)


def house_key(raw: str | None) -> str:
    """A house number as compared: "12 a" -> "12A", "12" -> "12"; "" if it holds no number."""
    if not raw:
        return ""
    match = _PREMISE_NUMBER.match(" ".join(raw.upper().split()))
    return (match.group(1).lstrip("0") or "0") + (match.group(2) or "") if match else ""


def flat_key(raw: str | None) -> str:
    """A flat as compared: "Flat 3b" -> "3B", "Ground floor flat" -> "GROUND FLOOR FLAT"."""
    if not raw:
        return ""
    text = _FLAT_WORDS.sub("", " ".join(raw.upper().split())).strip()
    return house_key(text) or text


def house_digits(key: str) -> str:
    """The number of a house key without its letter: "12" of "12A"."""
    return key.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


# ---------------------------------------------------------------------------------------------------
# Rows and electors


@dataclass(frozen=True)
class RowIdentity:
    """What one sheet row says about who it is: any of these may be missing."""

    line: int
    elector_number: ElectorNumber | None = None
    surname: str | None = None
    forenames: str | None = None
    house_number: str | None = None
    flat: str | None = None
    street: str | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class CandidateElector:
    """An elector as the matcher sees them (the database layer builds these from Elector and Property)."""

    id: int
    prefix: str
    number: int
    suffix: int
    surname: str
    forenames: str
    house_number: str | None = None
    flat: str | None = None
    street: str | None = None
    postcode: str | None = None
    removed: bool = False
    address: str | None = None  # for display only

    @property
    def elector_number(self) -> ElectorNumber:
        return ElectorNumber(self.prefix, self.number, self.suffix)


class Prepared:
    """A row or an elector with every comparison key computed once."""

    __slots__ = ("surname", "forenames", "first", "house", "flat", "street", "postcode", "source")

    def __init__(self, surname, forenames, house_number, flat, street, postcode, source) -> None:
        self.surname = name_key(surname)
        self.forenames = name_key(forenames).split()
        self.first = self.forenames[0] if self.forenames else ""
        self.house = house_key(house_number)
        self.flat = flat_key(flat)
        self.street = street_key(street)
        self.postcode = postcode_key(postcode) or ("".join((postcode or "").upper().split()) or None)
        self.source = source


def prepare_row(row: RowIdentity) -> Prepared:
    return Prepared(row.surname, row.forenames, row.house_number, row.flat, row.street, row.postcode, row)


def prepare_elector(elector: CandidateElector) -> Prepared:
    return Prepared(elector.surname, elector.forenames, elector.house_number, elector.flat, elector.street,
                     elector.postcode, elector)
