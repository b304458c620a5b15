"""The demo's seat profiles (docs/peers.md): made-up census shares and previous results for each demo CLP,
and 20 more seats to compare them with (ten in each demo region, with profiles but no electors), so a seat's
peers can be found out of the box. Fixed figures, the same whatever the seed. Shares are percentages (0-100),
as the House of Commons Library publishes them; imd_score is an Index of Multiple Deprivation score.
"""
from __future__ import annotations

import random

from server.extensions import db
from server.models import Constituency, ConstituencyProfile

# (name, kind) of the seats to compare with; their codes are E14099101 on, regions alternating.
COMPARISON_SEATS = (
    ("Wexley Moor", "safe"), ("Harrowfield", "suburb"), ("Oakhurst and Lyne", "town"), ("Bracken Vale", "rural"),
    ("Stanmoor East", "urban"), ("Pellbury", "marginal"), ("Cressington", "suburb"), ("Thornleigh", "safe"),
    ("Eddisbury Cross", "rural"), ("Quarry Bank", "town"), ("Marlow Fields", "marginal"), ("Sefton Heath", "urban"),
    ("Kilnsey", "rural"), ("Brindley Park", "town"), ("Hathersage Lane", "suburb"), ("Dunmore", "safe"),
    ("Foxcote", "marginal"), ("Ravenhurst", "urban"), ("Westerleigh", "town"), ("Gildersome", "safe"),
)
# The demo CLPs, in order: the kind of seat each is made to be.
CLP_KINDS = ("town", "marginal", "suburb", "urban")
# Typical figures by kind: age_65_plus, age_18_24, owner_occupied, social_rented, private_rented, students,
# degree, imd_score, majority_pct.
KINDS = {
    "safe": (24, 7, 74, 9, 15, 4, 36, 12, 38),
    "suburb": (22, 8, 71, 11, 16, 5, 33, 15, 18),
    "town": (20, 9, 62, 18, 18, 6, 26, 24, 11),
    "rural": (27, 6, 73, 11, 13, 3, 32, 14, 25),
    "urban": (14, 13, 45, 28, 25, 14, 30, 36, 20),
    "marginal": (19, 9, 64, 17, 17, 6, 27, 22, 4),
}
FEATURES = ("age_65_plus", "age_18_24", "owner_occupied", "social_rented", "private_rented", "students", "degree",
            "imd_score", "majority_pct")
WINNERS = ("Labour", "Conservative", "Liberal Democrat")


def comparison_codes() -> list[str]:
    """The comparison seats' codes, in COMPARISON_SEATS order (the demo CLPs' are E14099001 on)."""
    return [f"E14099{101 + i}" for i in range(len(COMPARISON_SEATS))]


def _profile(rng: random.Random, kind: str) -> tuple[dict[str, float], str]:
    features = {}
    for name, typical in zip(FEATURES, KINDS[kind]):
        features[name] = round(max(0.5, typical * rng.uniform(0.85, 1.15)), 1)
    return features, rng.choice(WINNERS)


def add(region_ids: list[int], clp_ids: list[int], now) -> dict[str, int]:
    """Add the comparison seats and every seat's profile; the counts to report."""
    rng = random.Random("groundwork-demo:profiles")
    seats = [Constituency(code=code, name=name, region_id=region_ids[i % len(region_ids)])
             for i, (code, (name, _)) in enumerate(zip(comparison_codes(), COMPARISON_SEATS))]
    db.session.add_all(seats)
    db.session.flush()
    kinds = [(id_, CLP_KINDS[i % len(CLP_KINDS)]) for i, id_ in enumerate(clp_ids)]
    kinds += [(seat.id, kind) for seat, (_, kind) in zip(seats, COMPARISON_SEATS)]
    for seat_id, kind in kinds:
        features, winner = _profile(rng, kind)
        db.session.add(ConstituencyProfile(constituency_id=seat_id, features=features, previous_winner=winner,
                                           source="demo", updated_at=now))
    db.session.flush()
    return {"comparison_seats": len(seats), "constituency_profiles": len(kinds)}
