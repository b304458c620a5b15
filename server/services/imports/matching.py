"""Which elector each row of a typed-up sheet is about: an exact elector number first, else a scored match on
name and address, with the reasons shown so the admin can see why.

An elector number (polling district prefix, number, suffix) decides by itself, including for electors who
have since left the register: their history stays. A row whose surname contradicts the number's elector
is not taken on the number alone (an old sheet's numbers may have been reissued); the admin chooses.

Otherwise rows are scored (scoring.py: Fellegi-Sunter, with rapidfuzz) against the electors that share their
postcode, or their street and house number, or their postcode sector and house number: blocking, so each
row meets a few dozen electors rather than the constituency. ``upper`` (12) and ``lower`` (8) split the
verdicts: at or above upper, and ahead of the next candidate by ``margin`` (3, eight times likelier), a row
is matched; from lower up, the admin chooses among the candidates; below lower it is unmatched. So two
people at one address whom the sheet cannot tell apart ("J Smith": John and Jane) are the admin's to
choose, as is a surname change at the right address; a namesake at the same house number in another town
is not matched. Pure: no database.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Protocol, Sequence

from server.services.imports.errors import ImportRefused
from server.services.imports.identity import (CandidateElector, ElectorNumber, Prepared, RowIdentity, flat_key,
                                              house_digits, house_key, name_key, outward_code,
                                              parse_elector_number, postcode_key, prepare_elector, prepare_row,
                                              street_key)
from server.services.imports.scoring import (Candidate, FieldModel, FieldScore, MatchSettings, Scorer, score_pair,
                                             surname_similarity)

MAX_COMPARED = 400  # candidates scored for one row at most: a bound on the worst case, far above a block
MAX_SHOWN = 5  # candidates returned with a row

# ---------------------------------------------------------------------------------------------------
# Blocking: which electors a row is compared with


@dataclass(frozen=True)
class BlockingKeys:
    """What a candidate supply must cover: every elector (current or removed) whose number is in ``numbers``,
    whose postcode's outward code (EF1 of EF1 1AA) is in ``outwards``, or whose street_key is in ``streets``.
    Returning more electors is harmless (the whole constituency will do)."""

    numbers: frozenset[ElectorNumber]
    outwards: frozenset[str]
    streets: frozenset[str]


class CandidateSupply(Protocol):
    """What the database layer implements to give the matcher its electors."""

    def candidates(self, keys: BlockingKeys) -> Iterable[CandidateElector]:
        """The electors the keys name (see BlockingKeys), removed ones included."""


def blocking_keys(rows: Iterable[RowIdentity]) -> BlockingKeys:
    """The keys a supply must cover for these rows."""
    numbers, outwards, streets = set(), set(), set()
    for row in rows:
        if row.elector_number:
            numbers.add(row.elector_number)
        if key := postcode_key(row.postcode):
            outwards.add(outward_code(key))
        if key := street_key(row.street):
            streets.add(key)
    return BlockingKeys(frozenset(numbers), frozenset(outwards), frozenset(streets))


class ElectorIndex:
    """Electors held in memory and blocked for matching; a CandidateSupply too.

    Build one from the constituency's electors, current and removed (about 70,000 take some 60 MB and a
    second or two), or from what a supply returns for a file's blocking_keys.
    """

    def __init__(self, electors: Iterable[CandidateElector] = ()) -> None:
        self.by_number: dict[ElectorNumber, Prepared] = {}
        self.by_postcode: dict[str, list[Prepared]] = defaultdict(list)
        self.by_street_house: dict[tuple[str, str], list[Prepared]] = defaultdict(list)
        self.by_sector_house: dict[tuple[str, str], list[Prepared]] = defaultdict(list)
        self.by_sector_surname: dict[tuple[str, str], list[Prepared]] = defaultdict(list)
        self.by_street_surname: dict[tuple[str, str], list[Prepared]] = defaultdict(list)
        self.prefixes: set[str] = set()
        self.sectors: set[str] = set()
        self.add(electors)

    def add(self, electors: Iterable[CandidateElector]) -> None:
        """Index more electors (one already indexed, by id, is skipped)."""
        seen = {p.source.id for p in self.by_number.values()}
        for elector in electors:
            if elector.id in seen:
                continue
            seen.add(elector.id)
            prepared = prepare_elector(elector)
            self.by_number[elector.elector_number] = prepared
            self.prefixes.add(elector.prefix)
            numbers = {house_digits(k) for k in (prepared.house, prepared.flat) if k and house_digits(k)}
            surname_block = prepared.surname[:2]
            if key := prepared.postcode:
                self.by_postcode[key].append(prepared)
                self.sectors.add(key[:-2])
                for digits in numbers:
                    self.by_sector_house[(key[:-2], digits)].append(prepared)
                if surname_block:
                    self.by_sector_surname[(key[:-2], surname_block)].append(prepared)
            if prepared.street:
                for digits in numbers:
                    self.by_street_house[(prepared.street, digits)].append(prepared)
                if surname_block:
                    self.by_street_surname[(prepared.street, surname_block)].append(prepared)

    def __len__(self) -> int:
        return len(self.by_number)

    def candidates(self, keys: BlockingKeys) -> Iterator[CandidateElector]:
        """The indexed electors the keys name."""
        seen: set[int] = set()
        for prepared in self.by_number.values():
            elector = prepared.source
            outward = outward_code(prepared.postcode) if prepared.postcode and postcode_key(elector.postcode) else None
            if (elector.elector_number in keys.numbers or outward in keys.outwards
                    or prepared.street in keys.streets) and elector.id not in seen:
                seen.add(elector.id)
                yield elector

    def block(self, row: Prepared) -> list[Prepared]:
        """The electors a row is compared with: by postcode, by street and house number, by postcode sector
        (EF1 1 of EF1 1AA) and house number; by sector or street and the surname's first letters only when
        those find nobody."""
        found: dict[int, Prepared] = {}

        def take(group: list[Prepared] | None) -> None:
            for prepared in group or ():
                found.setdefault(prepared.source.id, prepared)

        valid = row.postcode and len(row.postcode) >= 5 and postcode_key(row.postcode)
        valid_postcode = row.postcode if valid else None
        numbers = {house_digits(k) for k in (row.house, row.flat) if k and house_digits(k)}
        if valid_postcode:
            take(self.by_postcode.get(valid_postcode))
            for digits in numbers:
                take(self.by_sector_house.get((valid_postcode[:-2], digits)))
        if row.street:
            for digits in numbers:
                take(self.by_street_house.get((row.street, digits)))
        if not found and row.surname:
            if valid_postcode:
                take(self.by_sector_surname.get((valid_postcode[:-2], row.surname[:2])))
            if row.street:
                take(self.by_street_surname.get((row.street, row.surname[:2])))
        return list(found.values())[:MAX_COMPARED]


MATCHED, CHOOSE, UNMATCHED = "matched", "choose", "unmatched"


@dataclass(frozen=True)
class MatchResult:
    """The verdict on one row: ``elector_id`` when matched; ``candidates`` best first, each with its breakdown
    (for matched, the one matched; for choose, those from the lower threshold up, or every one scored when the
    row's elector number is in doubt; for unmatched, the nearest few, for information); ``reason`` in plain
    words, naming no one."""

    line: int
    verdict: str
    elector_id: int | None
    method: str | None  # "elector_number" or "score" when matched
    candidates: tuple[Candidate, ...]
    reason: str


# ---------------------------------------------------------------------------------------------------
# Matching


def match_rows(rows: Sequence[RowIdentity], supply: CandidateSupply,
               settings: MatchSettings | None = None) -> list[MatchResult]:
    """A verdict for each row, in order: by elector number first, else by score (see the module docstring)."""
    scorer = Scorer(settings or MatchSettings())
    index = supply if isinstance(supply, ElectorIndex) else ElectorIndex(supply.candidates(blocking_keys(rows)))
    return [_match_row(row, index, scorer) for row in rows]


# Reasons name the elector number and the fields, never a name or an address: a reason may be stored with the
# import and shown in its history, and the candidates beside it already say who each elector is.


def _match_row(row: RowIdentity, index: ElectorIndex, scorer: Scorer) -> MatchResult:
    settings = scorer.settings
    prepared = prepare_row(row)
    note = ""
    numbered = None
    if row.elector_number is not None:
        numbered = index.by_number.get(row.elector_number)
        if numbered is None:
            note = f"Elector number {row.elector_number} is not on the register. "
        else:
            elector = numbered.source
            left = ", who has since left the register" if elector.removed else ""
            if (not prepared.surname or not numbered.surname
                    or surname_similarity(prepared.surname, numbered.surname) >= settings.number_name_check):
                return MatchResult(row.line, MATCHED, elector.id, "elector_number",
                                   (scorer.candidate(prepared, numbered),),
                                   f"Matched by elector number {row.elector_number}{left}.")
            note = (f"Elector number {row.elector_number}{left} has another surname on the register than on the "
                    "sheet (the number may have been reissued, or mistyped). ")
    scored = [(total, elector) for elector in index.block(prepared)
              if (total := scorer.total(prepared, elector)) is not None]
    if numbered is not None and all(elector is not numbered for _, elector in scored):
        scored.append((scorer.candidate(prepared, numbered).score, numbered))
    # Best first; on a tie, an elector still on the register before one who has left.
    scored.sort(key=lambda item: (-item[0], item[1].source.removed, item[1].source.id))
    return _verdict(row, prepared, scored, scorer, note, number_doubted=numbered is not None)


def _verdict(row: RowIdentity, prepared: Prepared, scored: list[tuple[float, Prepared]], scorer: Scorer,
             note: str, *, number_doubted: bool) -> MatchResult:
    """The verdict from the (total, prepared elector) pairs of a row's block, best first.

    Matched: the best reaches ``upper`` and leads the next by ``margin``, and no elector number on the row
    contradicts it. Choose: the number is doubted (every candidate scored is shown, the number's elector
    among them), or the best reaches ``lower`` (those from ``lower`` up are shown). Unmatched otherwise, with
    the nearest few for information.
    """
    settings = scorer.settings

    def candidates(pairs: list[tuple[float, Prepared]]) -> tuple[Candidate, ...]:
        return tuple(scorer.candidate(prepared, elector) for _, elector in pairs[:MAX_SHOWN])

    if not scored:
        return MatchResult(row.line, UNMATCHED, None, None, (),
                           note + "No elector on the register near this row's postcode or street fits it.")
    best, best_elector = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else None
    clear = runner_up is None or best - runner_up >= settings.margin
    if number_doubted:
        return MatchResult(row.line, CHOOSE, None, None, candidates(scored),
                           note + "Choose who the row is about, or leave it unmatched.")
    if best >= settings.upper and clear:
        candidate = scorer.candidate(prepared, best_elector)
        left = " (who has since left the register)" if best_elector.source.removed else ""
        return MatchResult(row.line, MATCHED, best_elector.source.id, "score", (candidate,),
                           note + f"Matched by name and address{left}: {candidate.explain()}.")
    if best >= settings.lower:
        fits = [pair for pair in scored if pair[0] >= settings.lower]
        if best >= settings.upper:
            why = f"{len(fits)} electors fit about as well" if len(fits) > 1 else "another elector fits nearly as well"
        else:
            why = "the best fit is not certain enough"
        return MatchResult(row.line, CHOOSE, None, None, candidates(fits), note + f"Choose: {why}.")
    nearest = candidates(scored[:3])
    return MatchResult(row.line, UNMATCHED, None, None, nearest,
                       note + f"No elector fits well enough (the nearest: {nearest[0].explain()}).")


# ---------------------------------------------------------------------------------------------------
# A sheet from another constituency


def check_constituency(rows: Sequence[RowIdentity], index: ElectorIndex, *, name: str = "this constituency",
                       share: float = 0.8, at_least: int = 3) -> None:
    """Refuse (ImportRefused "another_clp") a sheet most of whose rows name polling districts or postcode
    sectors (EF1 1 of EF1 1AA) that the constituency's register does not have.

    Rows giving neither are not counted; fewer than ``at_least`` counted rows prove nothing either way.
    """
    counted = outside = 0
    examples: list[str] = []
    for row in rows:
        if row.elector_number is not None:
            counted += 1
            if row.elector_number.prefix not in index.prefixes:
                outside += 1
                examples.append(f"polling district {row.elector_number.prefix}")
        elif key := postcode_key(row.postcode):
            counted += 1
            if key[:-2] not in index.sectors:
                outside += 1
                # The sector (EF9 1), not the postcode: a postcode is a handful of homes.
                examples.append(f"postcode sector {outward_code(key)} {key[-3]}")
    if counted >= at_least and outside >= share * counted:
        listed = ", ".join(dict.fromkeys(examples))
        listed = listed if len(listed) <= 200 else listed[:200] + "…"
        raise ImportRefused("another_clp", f"This sheet looks like another constituency's: {outside} of its "
                                           f"{counted} rows name places that are not in {name}'s register "
                                           f"({listed}). Check that it is the right file for this CLP.",
                            {"outside": outside, "counted": counted})


def summarise(results: Iterable[MatchResult]) -> Mapping[str, int]:
    """How many rows were matched (by number and by score), need a choice, or are unmatched."""
    counts = {"matched_by_number": 0, "matched_by_score": 0, CHOOSE: 0, UNMATCHED: 0}
    for result in results:
        if result.verdict == MATCHED:
            counts["matched_by_number" if result.method == "elector_number" else "matched_by_score"] += 1
        else:
            counts[result.verdict] += 1
    return counts


__all__ = [
    "BlockingKeys", "Candidate", "CandidateElector", "CandidateSupply", "CHOOSE", "ElectorIndex", "ElectorNumber",
    "FieldModel", "FieldScore", "MATCHED", "MatchResult", "MatchSettings", "RowIdentity", "UNMATCHED",
    "blocking_keys", "check_constituency", "flat_key", "house_key", "match_rows", "name_key",
    "parse_elector_number", "postcode_key", "score_pair", "street_key", "summarise",
]
