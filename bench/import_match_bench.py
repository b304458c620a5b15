"""How fast the import matches typed-up sheet rows to electors, and how often it gets them right.

Not a test (nothing here asserts a time): run it after changing server/services/imports/matching.py and
compare the numbers.

    .venv/bin/python bench/import_match_bench.py                        # 50,000 rows, 70,000 electors
    .venv/bin/python bench/import_match_bench.py --rows 5000 --electors 20000

The constituency is synthetic: three towns, each with its own High Street and Station Road (so a street
name alone never decides), households of one to four, blocks of flats. The rows are what volunteers type
up: a third by elector number (a few for electors since removed), the rest by name and address with the
usual slips (a letter wrong in the surname, an initial for the forename, no street, a postcode one
character off), and some people at electors' homes who are not on the register at all. Each row knows whom
it is truly about, so the bench reports precision and recall as well as speed.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import FORENAMES, STREETS, SURNAMES  # noqa: E402  (bench/common.py)

from server.services.imports.matching import (  # noqa: E402
    CHOOSE, MATCHED, UNMATCHED, CandidateElector, ElectorIndex, ElectorNumber, MatchResult, RowIdentity, match_rows,
    summarise)

TOWNS = (("EF1", "Elmford"), ("EF2", "Elmford East"), ("EF7", "Castleton"))
SYLLABLES = ("ad", "ar", "bel", "bro", "car", "dal", "den", "ed", "fin", "gar", "hal", "ing", "ken", "lan", "mor",
             "nor", "ok", "pen", "quin", "ros", "sut", "tal", "ver", "wel", "yar", "zen")


def _names(rng: random.Random, base: list[str], count: int) -> list[str]:
    """The bench's common names plus made-up ones, so a postcode holds few namesakes, as in life."""
    made = {"".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3)))).title() for _ in range(count)}
    return base + sorted(made)


def build_electors(rng: random.Random, total: int) -> list[CandidateElector]:
    surnames, forenames = _names(rng, SURNAMES, 3000), _names(rng, FORENAMES, 600)
    kinds = ("Road", "Close", "Lane", "Avenue", "Grove", "Way", "Gardens", "Crescent")
    made_streets = sorted({f"{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)} {rng.choice(kinds)}".title()
                           for _ in range(400)})
    electors: list[CandidateElector] = []
    for town, (outward, _) in enumerate(TOWNS):
        # Every town has the common streets (a High Street each) and its own.
        streets = STREETS + made_streets[town::len(TOWNS)]
        for position, street in enumerate(streets):
            prefix = f"{'ABC'[town]}{chr(65 + position % 26)}{position // 26 + 1}"
            number = 0
            sector = f"{outward} {rng.randint(1, 9)}"
            for house in range(1, rng.randint(20, 160)):
                if house % 12 == 1:
                    postcode = f"{sector}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                flats = [None] if rng.random() > 0.05 else [f"Flat {n}" for n in range(1, rng.randint(3, 9))]
                for flat in flats:
                    family = rng.choice(surnames)
                    for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 4))):
                        number += 1
                        surname = family if rng.random() < 0.8 else rng.choice(surnames)
                        given = rng.choice(forenames) + (f" {rng.choice(forenames)}" if rng.random() < 0.4 else "")
                        electors.append(CandidateElector(
                            id=len(electors) + 1, prefix=prefix, number=number, suffix=0, surname=surname,
                            forenames=given, house_number=str(house), flat=flat, street=street, postcode=postcode,
                            removed=rng.random() < 0.03))
    rng.shuffle(electors)
    return electors[:total]


def _typo(rng: random.Random, text: str) -> str:
    position = rng.randrange(1, len(text)) if len(text) > 1 else 0
    return text[:position] + rng.choice("aeiourstn") + text[position + 1:]


def build_rows(rng: random.Random, electors: list[CandidateElector],
               count: int) -> list[tuple[RowIdentity, int | None]]:
    """Rows as typed up, each with the elector it is truly about (None for someone not on the register)."""
    rows = []
    for line in range(2, count + 2):
        elector = rng.choice(electors)
        roll = rng.random()
        if roll < 0.33:
            rows.append((RowIdentity(line, ElectorNumber(elector.prefix, elector.number, elector.suffix)), elector.id))
            continue
        surname, forenames = elector.surname, elector.forenames.split()[0]
        postcode, street = elector.postcode, elector.street
        truth: int | None = elector.id
        if roll > 0.93:
            # Someone at an elector's home who is not on the register (a lodger, a new tenant): their own names.
            surname, forenames, truth = "Notontheregister", rng.choice(FORENAMES), None
        if rng.random() < 0.1:
            surname = _typo(rng, surname)
        if rng.random() < 0.1:
            forenames = forenames[0]
        if rng.random() < 0.3:
            street = None
        if rng.random() < 0.05:
            postcode = postcode[:-1] + ("A" if postcode[-1] != "A" else "B")
        rows.append((RowIdentity(line, None, surname, forenames, elector.house_number, elector.flat, street,
                                 postcode), truth))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--electors", type=int, default=70_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    electors = build_electors(rng, args.electors)
    rows = build_rows(rng, electors, args.rows)

    started = time.perf_counter()
    index = ElectorIndex(electors)
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    results = match_rows([row for row, _ in rows], index)
    matched_in = time.perf_counter() - started

    print(f"electors indexed: {len(index):,} in {indexed:.2f} s")
    print(f"rows matched:     {len(rows):,} in {matched_in:.2f} s = {len(rows) / matched_in:,.0f} rows/s")
    print("verdicts:         " + ", ".join(f"{name} {count:,}" for name, count in summarise(results).items()))
    for line in report(rows, results):
        print(line)


def report(rows: list[tuple[RowIdentity, int | None]], results: list[MatchResult]) -> list[str]:
    """How right the verdicts are, against the truth the rows were built from.

    Precision: of the rows matched, the share matched to the right elector (a wrong match puts a record on
    someone else's history, the costliest mistake). Recall: of the rows about someone on the register, the
    share matched to them without the admin. A choice is useful when the right elector is among its
    candidates; a row about someone not on the register should end unmatched, or at worst as a choice.
    """
    on_register = [(row, truth, result) for (row, truth), result in zip(rows, results) if truth is not None]
    off_register = [result for (_, truth), result in zip(rows, results) if truth is None]
    matched = [(truth, result) for _, truth, result in on_register if result.verdict == MATCHED]
    right = sum(1 for truth, result in matched if result.elector_id == truth)
    wrong_on = len(matched) - right
    wrong_off = sum(1 for result in off_register if result.verdict == MATCHED)
    all_matched = len(matched) + wrong_off
    choices = [(truth, result) for _, truth, result in on_register if result.verdict == CHOOSE]
    useful = sum(1 for truth, result in choices if any(c.elector.id == truth for c in result.candidates))
    by_number = [(row, truth, result) for row, truth, result in on_register if row.elector_number is not None]
    by_name = [(row, truth, result) for row, truth, result in on_register if row.elector_number is None]

    def recall(group) -> str:
        hit = sum(1 for _, truth, result in group if result.verdict == MATCHED and result.elector_id == truth)
        return f"{hit:,} of {len(group):,} ({hit / len(group):.1%})" if group else "none"

    off_counts = {verdict: sum(1 for r in off_register if r.verdict == verdict) for verdict in (UNMATCHED, CHOOSE)}
    return [
        f"precision:        {right:,} of {all_matched:,} matched rows to the right elector "
        f"({right / all_matched:.2%}); {wrong_on + wrong_off:,} to another"
        + (f" ({wrong_off:,} of them about someone not on the register)" if wrong_off else ""),
        f"recall:           {recall(on_register)} rows about an elector matched to them; by number "
        f"{recall(by_number)}, by name and address {recall(by_name)}",
        f"choices:          {len(choices):,} rows about an elector left to the admin; the right elector among "
        f"the candidates in {useful:,}",
        f"not on register:  {len(off_register):,} rows; unmatched {off_counts[UNMATCHED]:,}, choose "
        f"{off_counts[CHOOSE]:,}, matched {wrong_off:,}",
    ]

if __name__ == "__main__":
    main()
