"""Seats like this one, and a fair comparison with them (docs/peers.md). Pure: no database.

A seat's contact rate said "above the regional average" proves little: the average mixes in safe seats, where
little campaigning happens, and they drag it down. The fair comparison is with the seats most like it in who
lives there and how close the last result was. ``find_peers`` finds them from the seats' profiles (census
shares, deprivation, previous majority); ``compare`` sets a rate beside theirs and beside the region's.

Peers: every chosen feature is standardised (a z-score over the seats that have a figure for it, population
standard deviation), and seats are compared by weighted Euclidean distance over the z-scores:
``sqrt(sum over features of weight * (z_seat - z_other) ** 2)``. The k nearest are the peers, ties broken by
the lower seat id. A seat without a figure for a chosen feature is left out, and the result says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

# Feature names as a sentence says them ("similar in: share over 65, social renting").
LABELS = {
    "age_65_plus": "share over 65",
    "age_18_24": "share aged 18 to 24",
    "owner_occupied": "home ownership",
    "social_rented": "social renting",
    "private_rented": "private renting",
    "students": "share of students",
    "degree": "share with a degree",
    "imd_score": "deprivation",
    "deprivation": "deprivation",
    "majority": "previous majority",
    "majority_pct": "previous majority",
}

# The default comparison: who lives there (age, housing, education, deprivation) and how safe the seat was.
DEFAULT_FEATURES = ("age_65_plus", "age_18_24", "owner_occupied", "social_rented", "degree", "imd_score",
                    "majority_pct")
# Each feature counts once, except the previous majority, which counts double: how safe a seat is shapes
# how much campaigning it sees as much as any census share does.
DEFAULT_WEIGHTS = {"majority_pct": 2.0}
DEFAULT_K = 5
MAX_K = 50
SIMILAR_IN = 3  # at most this many features named in "similar in: ..."
SIMILAR_WITHIN = 0.5  # ...and only those within half a standard deviation of the seat


def label(feature: str) -> str:
    """A feature in words: from LABELS, or its name with underscores as spaces."""
    return LABELS.get(feature, feature.replace("_", " "))


def similar_in_words(features) -> str:
    """"similar in: share over 65, social renting", or "" when there is nothing to name."""
    return "similar in: " + ", ".join(label(f) for f in features) if features else ""


class PeerError(ValueError):
    """The comparison cannot be made as asked (the seat has no profile, or lacks a chosen feature...)."""

    def __init__(self, message: str, **details) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Peer(NamedTuple):
    seat_id: int
    distance: float
    nearest_features: tuple[str, ...]  # the features it is most similar in, most similar first


@dataclass(frozen=True)
class LeftOut:
    seat_id: int
    reason: str  # "excluded", "missing_features" or "outlier"
    features: tuple[str, ...] = ()  # the features missing, or on which it is an outlier


@dataclass
class PeerResult:
    seat_id: int
    features: list[str]
    weights: dict[str, float]
    peers: list[Peer]
    left_out: list[LeftOut]
    compared: int  # how many seats were candidates (the seat itself not counted)
    z: dict[int, dict[str, float]] = field(default_factory=dict)  # the z-scores used, by seat
    notes: list[str] = field(default_factory=list)


def resolve_weights(features: list[str], weights: dict[str, float] | None) -> dict[str, float]:
    """A weight for each chosen feature: the one given, else the default (1 unless DEFAULT_WEIGHTS says)."""
    weights = dict(weights or {})
    stray = sorted(set(weights) - set(features))
    if stray:
        raise PeerError("Weights are given for features not chosen: " + ", ".join(stray) + ".", features=stray)
    for name, value in weights.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise PeerError(f"The weight of {name} must be a number of 0 or more.", features=[name])
    resolved = {f: float(weights.get(f, DEFAULT_WEIGHTS.get(f, 1.0))) for f in features}
    if not any(resolved.values()):
        raise PeerError("At least one feature needs a weight above 0.")
    return resolved


def _zscores(profiles: dict[int, dict[str, float]], seats: list[int], feature: str) -> tuple[dict[int, float], bool]:
    """Z-scores of one feature over the given seats that have it; and whether it varies at all."""
    have = [s for s in seats if profiles[s].get(feature) is not None]
    values = np.array([float(profiles[s][feature]) for s in have], dtype=float)
    if not len(values):
        return {}, False
    sd = values.std()  # population standard deviation (ddof=0)
    if sd == 0:
        return {s: 0.0 for s in have}, False
    return {s: float(z) for s, z in zip(have, (values - values.mean()) / sd)}, True


def find_peers(profiles: dict[int, dict[str, float]], seat_id: int, features: list[str] | None = None,
               weights: dict[str, float] | None = None, k: int = DEFAULT_K, exclude: set[int] | frozenset = frozenset(),
               *, outlier_z: float | None = None) -> PeerResult:
    """The ``k`` seats most like ``seat_id``, with what was left out and why.

    ``profiles`` maps seat id to its features (name -> number). Seats in ``exclude`` take no part (neither as
    peers nor in the standardisation). With ``outlier_z`` (off by default; 3 is usual), a seat whose |z| on a
    chosen feature exceeds it is left out as an outlier, and the z-scores are worked out again without it (once,
    not repeatedly). The seat itself is never left out.
    """
    features = list(dict.fromkeys(features or DEFAULT_FEATURES))
    if not features:
        raise PeerError("Choose at least one feature.")
    weights = resolve_weights(features, weights)
    if not 1 <= k <= MAX_K:
        raise PeerError(f"k must be between 1 and {MAX_K}.")
    own = profiles.get(seat_id)
    if own is None:
        raise PeerError("This seat has no profile: import its demographics first.", reason="no_profile")
    lacking = [f for f in features if own.get(f) is None]
    if lacking:
        raise PeerError("This seat has no figure for " + ", ".join(lacking) + ": choose other features, or "
                        "import its figures.", reason="missing_features", features=lacking)

    left_out = [LeftOut(s, "excluded") for s in sorted(set(exclude) & set(profiles)) if s != seat_id]
    pool = sorted(s for s in profiles if s not in exclude or s == seat_id)
    z, varies = _standardise(profiles, pool, features)
    if outlier_z is not None:
        outliers = {}
        for s in pool:
            far = tuple(f for f in features if s in z[f] and abs(z[f][s]) > outlier_z)
            if far and s != seat_id:
                outliers[s] = far
        if outliers:
            left_out += [LeftOut(s, "outlier", far) for s, far in outliers.items()]
            pool = [s for s in pool if s not in outliers]
            z, varies = _standardise(profiles, pool, features)

    candidates = []
    for s in pool:
        if s == seat_id:
            continue
        missing = tuple(f for f in features if profiles[s].get(f) is None)
        if missing:
            left_out.append(LeftOut(s, "missing_features", missing))
        else:
            candidates.append(s)

    notes = [f"Every seat compared has the same {label(f)}, so it tells them apart in nothing."
             for f in features if not varies[f]]
    peers = []
    if candidates:
        own_z = np.array([z[f][seat_id] for f in features])
        w = np.array([weights[f] for f in features])
        others = np.array([[z[f][s] for f in features] for s in candidates])
        gaps = np.abs(others - own_z)
        distances = np.sqrt((w * gaps ** 2).sum(axis=1))
        # Ties broken by the lower id; distances equal up to rounding count as tied.
        order = sorted(range(len(candidates)), key=lambda i: (round(float(distances[i]), 9), candidates[i]))
        for i in order[:k]:
            near = sorted((j for j, f in enumerate(features) if weights[f] > 0 and gaps[i][j] <= SIMILAR_WITHIN),
                          key=lambda j: (round(float(gaps[i][j]), 9), j))
            peers.append(Peer(candidates[i], float(distances[i]), tuple(features[j] for j in near[:SIMILAR_IN])))
    if len(peers) < k:
        notes.append(f"Only {len(peers)} seats could be compared, fewer than the {k} asked for.")
    left_out.sort(key=lambda o: o.seat_id)
    scores = {s: {f: z[f][s] for f in features if s in z[f]} for s in [seat_id] + [p.seat_id for p in peers]}
    return PeerResult(seat_id=seat_id, features=features, weights=weights, peers=peers, left_out=left_out,
                      compared=len(pool) - 1, z=scores, notes=notes)


def _standardise(profiles, pool, features):
    z, varies = {}, {}
    for f in features:
        z[f], varies[f] = _zscores(profiles, pool, f)
    return z, varies


def peers(profiles: dict[int, dict[str, float]], seat_id: int, features: list[str] | None = None,
          weights: dict[str, float] | None = None, k: int = DEFAULT_K,
          exclude: set[int] | frozenset = frozenset()) -> list[Peer]:
    """The ``k`` nearest seats as (seat_id, distance, nearest_features); ``find_peers`` says what was left out."""
    return find_peers(profiles, seat_id, features, weights, k, exclude).peers


# --------------------------------------------------------------------------------------------------
# The comparison.


@dataclass(frozen=True)
class Comparison:
    seat_rate: float
    peers: int
    peer_median: float
    peer_q1: float
    peer_q3: float
    peer_iqr: float
    percentile: float  # 0-100: the share of peers with a lower rate, ties counted half
    against_peers: str  # "above", "within" or "below" the peers' middle half
    regional_average: float | None
    against_region: str | None  # "above", "level" or "below" the regional average
    note: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def percentile_among(rate: float, others: list[float]) -> float:
    """The share of ``others`` below ``rate``, ties counted half, as 0-100: the middle of a group is 50."""
    below = sum(1 for r in others if r < rate)
    level = sum(1 for r in others if r == rate)
    return 100.0 * (below + level / 2) / len(others)


def _pct(rate: float) -> str:
    return f"{rate:.3g}"


def compare(seat_rate: float, peer_rates: list[float], regional_rates: list[float], *,
            fmt: Callable[[float], str] = _pct) -> Comparison:
    """A seat's rate beside its peers' and its region's, with a plain-words note on which comparison is fair.

    Rates are any numbers the caller gives (contact rates, say), all in the same unit. The peers' median and
    quartiles are numpy's default (linear) percentiles, as a spreadsheet's PERCENTILE.INC; the interquartile
    range is Q3 - Q1. The regional average is the plain mean of ``regional_rates`` (each seat counts once;
    whether the seat itself is among them is the caller's choice). Judging whether the numbers are too small
    to mean anything (a seat with ten contacts) is the caller's job too. ``fmt`` writes a rate in the note
    (three significant figures by default; the dashboards pass a percentage).
    """
    if not peer_rates:
        raise PeerError("There are no peers to compare with.")
    rates = np.array(peer_rates, dtype=float)
    q1, median, q3 = (float(v) for v in np.percentile(rates, [25, 50, 75]))
    percentile = percentile_among(seat_rate, list(map(float, peer_rates)))
    against_peers = "above" if seat_rate > q3 else "below" if seat_rate < q1 else "within"
    regional = float(np.mean(regional_rates)) if len(regional_rates) else None
    against_region = None
    if regional is not None:
        against_region = "above" if seat_rate > regional else "below" if seat_rate < regional else "level"
    peers_words = {"above": "above the middle half of", "below": "below the middle half of",
                   "within": "within the middle half of"}[against_peers]
    note = (f"Among the {len(peer_rates)} seats most like it, this seat's rate of {fmt(seat_rate)} is at the "
            f"{percentile:.0f}th percentile, {peers_words} them (median {fmt(median)}, middle half "
            f"{fmt(q1)} to {fmt(q3)}).")
    if regional is not None:
        region_words = {"above": "above it", "below": "below it", "level": "level with it"}[against_region]
        note += (f" Against its region's average of {fmt(regional)} it is {region_words}, but that average mixes in seats unlike it: safe "
                 "seats, where little campaigning happens, pull it down, and other places differ in who lives "
                 "there. The comparison with similar seats is the fair one.")
    else:
        note += " The comparison with similar seats is the fair one: a regional average mixes in seats unlike it."
    return Comparison(seat_rate=float(seat_rate), peers=len(peer_rates), peer_median=median, peer_q1=q1, peer_q3=q3,
                      peer_iqr=q3 - q1, percentile=percentile, against_peers=against_peers,
                      regional_average=regional, against_region=against_region, note=note)
