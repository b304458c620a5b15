"""How alike a sheet row and an elector are: a Fellegi-Sunter score, with each field's part in it.

For each field, m is the chance it agrees when row and elector are the same person (typing errors,
nicknames, moves aside), u the chance it agrees for two different people in the same block (matching.py's
blocking: a postcode, or a street and house number), and the field adds log2(m/u) when it agrees and
log2((1-m)/(1-u)) when it disagrees; a missing value adds nothing. Names and streets are compared with
rapidfuzz (Jaro-Winkler for names, Indel ratio for streets), and a similarity between ``similar_from`` and
``similar_to`` earns a share of the agreement weight in proportion (Winkler's partial agreement). The
defaults (MatchSettings):

    field            m      u      agrees  disagrees
    surname          0.95   0.02   +5.57   -4.29
    forenames        0.90   0.03   +4.91   -3.28    (an initial that fits: +3.57)
    house no./flat   0.95   0.05   +4.25   -4.25
    street           0.95   0.70   +0.44   -2.58    (in a block, most people share the street)
    postcode         0.95   0.10   +3.25   -4.17    (one character off: -0.74; another district: -8.73)

A sheet's postcode comes from the printed walk list, so one in another postcode district almost always
means another home: that weighs most. With everything agreeing a row scores about 18; surname, house
number and postcode alone make 13. matching.py turns scores into verdicts. Pure: no database.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from server.services.imports.identity import (CandidateElector, Prepared, RowIdentity, house_digits, outward_code,
                                              prepare_elector, prepare_row)


MIDDLE_NAME_SIMILARITY = 0.85  # a forename that is one of the other side's later forenames


@dataclass(frozen=True)
class FieldModel:
    """m: the chance a field agrees for the same person; u: for two different people in one block."""

    m: float
    u: float

    @property
    def agree(self) -> float:
        return math.log2(self.m / self.u)

    @property
    def disagree(self) -> float:
        return math.log2((1 - self.m) / (1 - self.u))


@dataclass(frozen=True)
class MatchSettings:
    """The weights and thresholds of the match (see this module's docstring for why these values)."""

    surname: FieldModel = FieldModel(0.95, 0.02)
    forenames: FieldModel = FieldModel(0.90, 0.03)
    initial: FieldModel = FieldModel(0.95, 0.08)  # a forename given as an initial that fits
    house: FieldModel = FieldModel(0.95, 0.05)
    street: FieldModel = FieldModel(0.95, 0.70)
    postcode: FieldModel = FieldModel(0.95, 0.10)
    postcode_near: FieldModel = FieldModel(0.03, 0.05)  # agreeing but for one character
    postcode_far: FieldModel = FieldModel(0.002, 0.85)  # another postcode district (its agree weight is used)
    similar_from: float = 0.70  # a similarity at or below this disagrees fully
    similar_to: float = 0.97  # at or above this agrees fully
    upper: float = 12.0
    lower: float = 8.0
    margin: float = 3.0
    number_name_check: float = 0.75  # an elector number's surname must be at least this similar to the row's


@dataclass(frozen=True)
class FieldScore:
    """One field's part in a score: ``status`` is exact, similar, initial, near, disagrees or missing."""

    field: str
    status: str
    weight: float
    similarity: float | None = None

    def describe(self) -> str:
        """"surname 0.95", "house number exact", "postcode missing"."""
        label = {"house": "house number", "forenames": "forenames"}.get(self.field, self.field)
        if self.status == "similar":
            return f"{label} {self.similarity:.2f}"
        if self.status == "near":
            return f"{label} one character off"
        if self.status == "far":
            return f"{label} in another district"
        return f"{label} {self.status}"


@dataclass(frozen=True)
class Candidate:
    """An elector a row may be, with the score and each field's part in it."""

    elector: CandidateElector
    score: float
    fields: tuple[FieldScore, ...]

    def explain(self) -> str:
        """"surname 0.95, forenames exact, house number exact, street exact, postcode exact"."""
        return ", ".join(f.describe() for f in self.fields)


def surname_similarity(a: str, b: str) -> float:
    """Jaro-Winkler similarity of two surname keys, at least 0.9 when one is part of a double-barrelled other."""
    similarity = JaroWinkler.normalized_similarity(a, b)
    # "Smith" for "Smith-Jones": a double-barrelled name given in part.
    if " " in a or " " in b:
        words_a, words_b = set(a.split()), set(b.split())
        if words_a <= words_b or words_b <= words_a:
            similarity = max(similarity, 0.9)
    return similarity


def _one_swap(a: str, b: str) -> bool:
    """Whether two strings differ by swapping two neighbouring characters ("EF11AA" / "EF1A1A")."""
    differ = [i for i in range(len(a)) if a[i] != b[i]]
    return (len(differ) == 2 and differ[1] == differ[0] + 1 and a[differ[0]] == b[differ[1]]
            and a[differ[1]] == b[differ[0]])


Part = tuple[str, float, float | None]  # (status, weight, similarity)
_MISSING: Part = ("missing", 0.0, None)


class Scorer:
    """The weights of one MatchSettings worked out once, and each field's comparison of a row with an elector.

    Scoring is the hot loop of a 50,000-row import, so parts are plain tuples, and ``total`` stops as soon as
    surname and house number show that an elector cannot come near the lower threshold.
    """

    def __init__(self, settings: MatchSettings) -> None:
        self.settings = settings
        self.low, self.high = settings.similar_from, settings.similar_to
        pair = lambda model: (model.agree, model.disagree)  # noqa: E731
        self.w_surname, self.w_forenames, self.w_house = (pair(settings.surname), pair(settings.forenames),
                                                          pair(settings.house))
        self.w_street = pair(settings.street)
        self.w_initial = settings.initial.agree
        self.w_postcode = (settings.postcode.agree, settings.postcode_near.agree, settings.postcode.disagree,
                           settings.postcode_far.agree)
        # The most forenames, street and postcode can add: what is left to win once surname and house are known.
        self.rest_best = (max(0.0, self.w_forenames[0], self.w_initial) + max(0.0, self.w_street[0])
                          + max(0.0, self.w_postcode[0]))
        self.floor = settings.lower - settings.margin

    def _similar(self, similarity: float, weights: tuple[float, float]) -> Part:
        agree, disagree = weights
        if similarity >= self.high:
            return ("similar", agree, similarity)
        if similarity <= self.low:
            return ("disagrees", disagree, similarity)
        share = (similarity - self.low) / (self.high - self.low)
        return ("similar", disagree + share * (agree - disagree), similarity)

    def surname(self, row: Prepared, elector: Prepared) -> Part:
        a, b = row.surname, elector.surname
        if not a or not b:
            return _MISSING
        if a == b:
            return ("exact", self.w_surname[0], 1.0)
        return self._similar(surname_similarity(a, b), self.w_surname)

    def forenames(self, row: Prepared, elector: Prepared) -> Part:
        a, b = row.first, elector.first
        if not a or not b:
            return _MISSING
        if a == b:
            return ("exact", self.w_forenames[0], 1.0)
        if len(a) == 1 or len(b) == 1:
            return ("initial", self.w_initial, None) if a[0] == b[0] else ("disagrees", self.w_forenames[1], 0.0)
        similarity = JaroWinkler.normalized_similarity(a, b)
        # Known by a middle name: "Paul" for "John Paul". Less than a typo of the first name, so that in a home of
        # Margaret and Ama Margaret, "Margaret" is Margaret (3.6 ahead, past the margin), while "Paul" alone at
        # John Paul's address still matches him.
        if a in elector.forenames or b in row.forenames:
            similarity = max(similarity, MIDDLE_NAME_SIMILARITY)
        return self._similar(similarity, self.w_forenames)

    def house(self, row: Prepared, elector: Prepared) -> Part:
        """House number and flat together: a part that contradicts disagrees; a part one side lacks is near."""
        row_number, row_flat, number, flat = row.house, row.flat, elector.house, elector.flat
        if not (row_number or row_flat) or not (number or flat):
            return _MISSING
        similarity = 1.0
        compared = False
        for a, b in ((row_number, number), (row_flat, flat)):
            if not a or not b:
                continue
            compared = True
            if a != b:
                if house_digits(a) == house_digits(b) and (a == house_digits(a) or b == house_digits(b)):
                    similarity = 0.9  # "12" for "12A": the letter left off
                else:
                    return ("disagrees", self.w_house[1], 0.0)
        if not compared:
            # A number on one side and a flat on the other: "3" for "Flat 3, Victoria Court".
            if (row_number or row_flat) == (number or flat):
                return self._similar(0.9, self.w_house)
            return ("disagrees", self.w_house[1], 0.0)
        if similarity == 1.0 and (bool(row_number), bool(row_flat)) != (bool(number), bool(flat)):
            similarity = 0.9  # "12" for "Flat 3, 12 High Street": the house, not which flat
        return ("exact", self.w_house[0], 1.0) if similarity == 1.0 else self._similar(similarity, self.w_house)

    def street(self, row: Prepared, elector: Prepared) -> Part:
        a, b = row.street, elector.street
        if not a or not b:
            return _MISSING
        if a == b:
            return ("exact", self.w_street[0], 1.0)
        return self._similar(fuzz.ratio(a, b) / 100, self.w_street)

    def postcode(self, row: Prepared, elector: Prepared) -> Part:
        a, b = row.postcode, elector.postcode
        if not a or not b:
            return _MISSING
        exact, near, district, far = self.w_postcode
        if a == b:
            return ("exact", exact, 1.0)
        if Levenshtein.distance(a, b, score_cutoff=1) <= 1 or (len(a) == len(b) and _one_swap(a, b)):
            return ("near", near, None)
        if len(a) >= 5 and len(b) >= 5 and outward_code(a) == outward_code(b):
            return ("disagrees", district, 0.0)
        return ("far", far, 0.0)

    def total(self, row: Prepared, elector: Prepared) -> float | None:
        """The score, or None when it cannot reach ``floor`` (a margin below the lower threshold)."""
        known = self.house(row, elector)[1] + self.surname(row, elector)[1]
        if known + self.rest_best < self.floor:
            return None
        return (known + self.forenames(row, elector)[1] + self.street(row, elector)[1]
                + self.postcode(row, elector)[1])

    def candidate(self, row: Prepared, elector: Prepared) -> Candidate:
        """The score with each field's part, for showing."""
        fields = tuple(FieldScore(name, *part(row, elector)) for name, part in (
            ("surname", self.surname), ("forenames", self.forenames), ("house", self.house),
            ("street", self.street), ("postcode", self.postcode)))
        return Candidate(elector.source, round(sum(f.weight for f in fields), 2), fields)


def score_pair(row: RowIdentity, elector: CandidateElector, settings: MatchSettings | None = None) -> Candidate:
    """The score of one row against one elector, with each field's part (to show a choice made by hand)."""
    return Scorer(settings or MatchSettings()).candidate(prepare_row(row), prepare_elector(elector))
