"""What the monitoring dashboards show (docs/monitoring.md): activity, contact rates, and the fair comparison.

Everything is read from the rollups (server/services/rollups.py), never from the contact records, so a region's
dashboard costs a few grouped queries over small tables.

The contact rate is defined once, here, and labelled wherever it is shown: the distinct electors spoken to in a
campaign (from its first day to date), divided by the electorate on the register during the campaign's window.
It is computed per campaign, so a campaign is compared with a campaign, never a calendar year with an election
period. A count below ``MONITORING_MIN_COUNT`` is not turned into a rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from server.auth.policy import Principal, ScopeKind, scope_clause
from server.errors import NotFound, ValidationFailed
from server.extensions import db
from server.models import (
    ActivityElectorate,
    ActivityRollup,
    ActivitySeat,
    Campaign,
    Constituency,
    ConstituencyProfile,
    PollingDistrict,
    Region,
    Ward,
)
from server.orm import utcnow
from server.services import peers, reads, rollups, sync_health

LEVELS = ("region", "constituency", "ward", "polling_district")
MEASURES = ("doors", "calls", "conversations", "reached", "volunteers")
SUMMED = rollups.COUNTS  # the counts each rollup row holds
MIN_PEERS = 3  # fewer peers with a rate than this, and no comparison is made

DEFINITIONS = {
    "doors": "Doors knocked: a property visited by a canvasser on a day (several people recorded there count once).",
    "calls": "Calls made: each phone call recorded, whatever its outcome.",
    "conversations": "Conversations: contacts where someone was spoken to (spoke, refused, asked for a call back, "
                     "or asked not to be contacted).",
    "reached": "Electors reached: distinct electors spoken to for the first time in this campaign.",
    "volunteers": "Active volunteers: people who recorded at least one contact.",
    "contact_rate": "Contact rate: distinct electors spoken to since the campaign began, divided by the electorate "
                    "on the register during the campaign's window. Worked out per campaign, never per calendar "
                    "year.",
    "weeks": "Weeks run Monday to Sunday (UTC). A week is provisional while a phone that worked in it still holds "
             "records it has not sent.",
    "fair": "Seats are compared with the seats most like them in who lives there and how safe they were at the "
            "last election. A regional average mixes in safe seats, where little campaigning happens, and pulls "
            "the average down: beating it proves little. The comparison with similar seats is the fair one.",
}


def _fmt(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def rate_window(campaign: Campaign) -> str:
    """The window a contact rate covers, as shown beside it: the campaign from its first day to today (or its
    last day, once over)."""
    return (f"{campaign.name}: {_fmt(campaign.starts_on)} to "
            f"{_fmt(min(campaign.ends_on, max(utcnow().date(), campaign.starts_on)))}")


def percent(rate: float) -> str:
    """A rate as the screens show it: "3.7%"."""
    return f"{100 * rate:.1f}%"


def _rate(reached: int, electorate: int, minimum: int) -> tuple[float | None, str | None]:
    """The rate as a fraction, or None with why: no register loaded, or too few electors reached to mean much."""
    if not electorate:
        return None, "no_register"
    if reached < minimum:
        return None, "too_few"
    return reached / electorate, None


@dataclass(frozen=True)
class Scope:
    kind: str  # nation, region or constituency
    id: int | None
    name: str
    constituency_ids: list[int]
    region_id: int | None


def resolve_scope(principal: Principal, *, region_id: int | None = None, constituency_id: int | None = None) -> Scope:
    """The area asked for, within the caller's: one CLP, one region, or (national roles) the nation."""
    if constituency_id is not None:
        seat = reads.get_scoped(principal, Constituency, constituency_id)
        return Scope("constituency", seat.id, seat.name, [seat.id], seat.region_id)
    if region_id is not None and principal.scope_kind == ScopeKind.CONSTITUENCY:
        # A CLP's people may read their region's name, but its dashboard is not theirs: it would show their own
        # CLP's figures under the region's name and average.
        raise NotFound(f"No region {region_id} in your scope.")
    if region_id is None and principal.scope_kind == ScopeKind.REGION:
        region_id = principal.region_id
    if region_id is None and principal.scope_kind == ScopeKind.CONSTITUENCY:
        return resolve_scope(principal, constituency_id=principal.constituency_id)
    if region_id is not None:
        region = reads.get_scoped(principal, Region, region_id)
        ids = list(db.session.scalars(select(Constituency.id).where(
            Constituency.region_id == region.id, scope_clause(principal, Constituency))))
        return Scope("region", region.id, region.name, ids, region.id)
    ids = list(db.session.scalars(select(Constituency.id).where(scope_clause(principal, Constituency))))
    return Scope("nation", None, "Every region", ids, None)


def current_campaign(principal: Principal) -> Campaign:
    """The campaign a dashboard opens on: of those running today, a national one before a CLP's local drive (the
    one every seat works on, so every seat can be compared), the latest started first; else the latest to end."""
    campaigns = reads.list_campaigns(principal)
    if not campaigns:
        raise NotFound("There is no campaign to monitor yet.")
    today = utcnow().date()
    running = [c for c in campaigns if c.starts_on <= today <= c.ends_on]
    if running:
        return max(running, key=lambda c: (c.constituency_id is None, c.starts_on, c.id))
    return max(campaigns, key=lambda c: (c.ends_on, c.id))


@dataclass(frozen=True)
class Period:
    first: date  # a Monday
    last: date  # a Monday: the last week in the period
    campaign_weeks: tuple[date, date]

    def label(self) -> str:
        return f"the weeks of {_fmt(self.first)} to {_fmt(self.last + timedelta(days=6))}"


def _period(campaign: Campaign, since: date | None, until: date | None) -> Period:
    start = rollups.week_of_day(campaign.starts_on)
    end = rollups.week_of_day(min(campaign.ends_on, max(utcnow().date(), campaign.starts_on)))
    first = rollups.week_of_day(since) if since else start
    # Without an end, the period runs to this week, or to its own first week if that is later.
    last = rollups.week_of_day(until) if until else max(end, first)
    if last < start or first > rollups.week_of_day(campaign.ends_on):
        raise ValidationFailed(f"The period falls outside the campaign ({_fmt(campaign.starts_on)} to "
                               f"{_fmt(campaign.ends_on)}).", details={"since": ["Outside the campaign."]})
    if last < first:
        raise ValidationFailed("The period ends before it begins.", details={"until": ["Must be on or after since."]})
    return Period(max(first, start), min(last, rollups.week_of_day(campaign.ends_on)), (start, end))


def _unit_column(level: str):
    return {"region": Constituency.region_id, "constituency": ActivityRollup.constituency_id,
            "ward": ActivityRollup.ward_id, "polling_district": ActivityRollup.district_key}[level]


def _sums(campaign_id: int, clps: list[int], level: str, period: Period | None):
    """Measures grouped by unit (None: one total), over the period (None: the whole campaign)."""
    unit = _unit_column(level) if level else None
    columns = rollups.measure_columns()
    stmt = select(*([unit.label("unit")] if unit is not None else []), *columns).where(
        ActivityRollup.campaign_id == campaign_id, ActivityRollup.constituency_id.in_(clps))
    if level == "region":
        stmt = stmt.join(Constituency, Constituency.id == ActivityRollup.constituency_id)
    if period is not None:
        stmt = stmt.where(ActivityRollup.week >= period.first, ActivityRollup.week <= period.last)
    if unit is not None:
        return {row.unit: row for row in db.session.execute(stmt.group_by(unit))}
    return db.session.execute(stmt).one()


def _electorates(campaign_id: int, clps: list[int], level: str) -> dict:
    unit = {"region": Constituency.region_id, "constituency": ActivityElectorate.constituency_id,
            "ward": ActivityElectorate.ward_id, "polling_district": ActivityElectorate.polling_district_id}[level]
    stmt = select(unit, func.sum(ActivityElectorate.electors)).where(
        ActivityElectorate.campaign_id == campaign_id, ActivityElectorate.constituency_id.in_(clps))
    if level == "region":
        stmt = stmt.join(Constituency, Constituency.id == ActivityElectorate.constituency_id)
    return {u: int(n or 0) for u, n in db.session.execute(stmt.group_by(unit))}


def _names(level: str, ids: set, clps: list[int]) -> dict:
    """Each unit's (code, name); for district 0 and ward None, what they stand for."""
    model = {"region": Region, "constituency": Constituency, "ward": Ward, "polling_district": PollingDistrict}[level]
    found = {o.id: (o.code, o.name) for o in db.session.scalars(
        select(model).where(model.id.in_([i for i in ids if i]))) }
    if level == "constituency":  # every seat in the area, even one with nothing yet
        found |= {o.id: (o.code, o.name) for o in db.session.scalars(select(Constituency).where(
            Constituency.id.in_(clps)))}
    for none in (0, None):
        if none in ids:
            found[none] = ("", "Not in a polling district (calls to members, unmatched imported rows)")
    return found


def national_rates(campaign_id: int, minimum: int) -> dict[int, dict]:
    """Every seat's campaign totals and rate (for peers, which may lie anywhere in the country)."""
    out = {}
    for seat in db.session.scalars(select(ActivitySeat).where(ActivitySeat.campaign_id == campaign_id)):
        rate, why = _rate(seat.reached, seat.electorate, minimum)
        out[seat.constituency_id] = {"reached": seat.reached, "electorate": seat.electorate, "rate": rate,
                                     "rate_note": why}
    return out


def _profiles() -> dict[int, dict]:
    return {id_: dict(features or {}) for id_, features in db.session.execute(
        select(ConstituencyProfile.constituency_id, ConstituencyProfile.features))}


def _region_rates(region_id: int | None, rates: dict[int, dict]) -> list[float]:
    """The rates of the seats of a region that have one: each seat counts once, the seat itself included."""
    if region_id is None:
        return []
    ids = db.session.scalars(select(Constituency.id).where(Constituency.region_id == region_id))
    return [rates[i]["rate"] for i in ids if i in rates and rates[i]["rate"] is not None]


def comparison(seat_id: int, region_id: int, rates: dict[int, dict], profiles: dict[int, dict], *,
               features=None, weights=None, k: int = peers.DEFAULT_K, exclude=frozenset(),
               outlier_z: float | None = None, region_rates: list[float] | None = None) -> dict:
    """A seat's rate against its k most similar seats that have a rate, and against its region's average.

    Peers are found among every seat with a profile (``peers.find_peers``), nearest first; those without a rate
    in this campaign are passed over (and listed), so the k compared all have one. Returns the comparison, or a
    reason there is none.
    """
    own = rates.get(seat_id) or {"rate": None, "rate_note": "no_register", "reached": 0, "electorate": 0}
    out = {"rate": own["rate"], "reached": own["reached"], "electorate": own["electorate"],
           "rate_note": own["rate_note"], "peers": [], "passed_over": [], "result": None, "reason": None,
           "regional_average": None, "features": [], "notes": []}
    region_rates = _region_rates(region_id, rates) if region_rates is None else region_rates
    if region_rates:
        out["regional_average"] = sum(region_rates) / len(region_rates)
    if own["rate"] is None:
        out["reason"] = "no_rate"
        return out
    try:
        found = peers.find_peers(profiles, seat_id, features, weights, peers.MAX_K, set(exclude),
                                 outlier_z=outlier_z)
    except peers.PeerError as exc:
        out["reason"], out["notes"] = "no_profile", [exc.message]
        return out
    out["features"] = [{"name": f, "label": peers.label(f), "weight": found.weights[f]} for f in found.features]
    out["notes"] = list(found.notes[:-1] if found.notes and found.notes[-1].startswith("Only ") else found.notes)
    chosen = []
    for p in found.peers:
        r = rates.get(p.seat_id)
        if r is None or r["rate"] is None:
            out["passed_over"].append({"id": p.seat_id, "rate_note": r["rate_note"] if r else "no_register"})
            continue
        chosen.append((p, r))
        if len(chosen) == k:
            break
    out["peers"] = [{"id": p.seat_id, "distance": round(p.distance, 6), "rate": r["rate"], "reached": r["reached"],
                     "electorate": r["electorate"], "similar_in": list(p.nearest_features),
                     "similar_in_words": peers.similar_in_words(p.nearest_features)} for p, r in chosen]
    if len(chosen) < MIN_PEERS:
        out["reason"] = "too_few_peers"
        return out
    out["result"] = peers.compare(own["rate"], [r["rate"] for _, r in chosen], region_rates,
                                  fmt=percent).as_dict()
    return out


def dashboard(principal: Principal, *, campaign_id: int | None = None, region_id: int | None = None,
              constituency_id: int | None = None, level: str | None = None, since: date | None = None,
              until: date | None = None) -> dict:
    """Activity and contact rates for an area and a campaign, by unit and by week, with fair comparisons."""
    campaign = reads.get_campaign(principal, campaign_id) if campaign_id else current_campaign(principal)
    scope = resolve_scope(principal, region_id=region_id, constituency_id=constituency_id)
    level = level or {"nation": "region", "region": "constituency", "constituency": "ward"}[scope.kind]
    if scope.kind == "constituency" and level == "region":
        raise ValidationFailed("One CLP's figures cannot be shown by region: choose constituency, ward or "
                               "polling_district.", details={"level": ["Not for one CLP."]})
    minimum = current_app.config["MONITORING_MIN_COUNT"]
    period = _period(campaign, since, until)
    clps = scope.constituency_ids
    whole = period.first == period.campaign_weeks[0] and period.last >= period.campaign_weeks[1]

    in_period = _sums(campaign.id, clps, level, period)
    # To date means every row of the campaign, even for the whole campaign's period: a record dated outside the
    # campaign's weeks (a phone's clock, an old sheet) is in activity_seat and the weeks' running total too, so
    # the rate shown here must count it as they do.
    to_date = _sums(campaign.id, clps, level, None)
    electorate = _electorates(campaign.id, clps, level)
    units_ids = set(in_period) | set(electorate) | (set(clps) if level == "constituency" else set())
    names = _names(level, units_ids, clps)
    rates = national_rates(campaign.id, minimum)
    profiles = _profiles() if level == "constituency" else {}
    region_of = dict(db.session.execute(select(Constituency.id, Constituency.region_id).where(
        Constituency.id.in_(clps))).all()) if level == "constituency" else {}
    region_rates_cache: dict[int, list[float]] = {}

    units = []
    for unit_id in units_ids:
        row = in_period.get(unit_id)
        reached_to_date = int(to_date[unit_id].reached) if unit_id in to_date else 0
        rate, why = _rate(reached_to_date, electorate.get(unit_id, 0), minimum)
        code, name = names.get(unit_id, ("", f"#{unit_id}"))
        unit = {"id": unit_id, "code": code, "name": name,
                **{m: int(getattr(row, m)) if row is not None else 0 for m in (*SUMMED, "volunteers")},
                "reached_to_date": reached_to_date, "electorate": electorate.get(unit_id, 0),
                "contact_rate": rate, "rate_note": why, "comparison": None}
        if level == "constituency":
            region = region_of.get(unit_id)
            if region not in region_rates_cache:
                region_rates_cache[region] = _region_rates(region, rates)
            unit["comparison"] = _brief(comparison(unit_id, region, rates, profiles,
                                                   region_rates=region_rates_cache[region]))
        units.append(unit)
    units.sort(key=lambda u: (u["id"] in (0, None), u["name"]))

    total = _sums(campaign.id, clps, None, period)
    total_to_date = _sums(campaign.id, clps, None, None)
    total_electorate = sum(electorate.values())
    rate, why = _rate(int(total_to_date.reached), total_electorate, minimum)
    regional = None
    if scope.kind == "region":
        values = _region_rates(scope.id, rates)
        regional = {"average": sum(values) / len(values) if values else None, "seats_with_rate": len(values)}
    return {
        "campaign": {"id": campaign.id, "name": campaign.name, "starts_on": campaign.starts_on,
                     "ends_on": campaign.ends_on},
        "scope": {"kind": scope.kind, "id": scope.id, "name": scope.name},
        "level": level,
        "period": {"since": period.first.isoformat(), "until": (period.last + timedelta(days=6)).isoformat(),
                   "label": period.label(),
                   "whole_campaign": whole},
        "rate_window": rate_window(campaign),
        "as_of": rollups.as_of(),
        "min_count": minimum,
        "definitions": DEFINITIONS,
        "totals": {**{m: int(getattr(total, m)) for m in (*SUMMED, "volunteers")},
                   "reached_to_date": int(total_to_date.reached), "electorate": total_electorate,
                   "contact_rate": rate, "rate_note": why},
        "regional_average": regional,
        "units": units,
        "weeks": weekly(campaign, clps, period, total_electorate),
    }


def _brief(found: dict) -> dict | None:
    result = found["result"]
    if result is None:
        return {"reason": found["reason"], "regional_average": found["regional_average"], "peers": len(found["peers"])}
    return {"reason": None, "peers": result["peers"], "peer_median": result["peer_median"],
            "peer_q1": result["peer_q1"], "peer_q3": result["peer_q3"], "percentile": result["percentile"],
            "against_peers": result["against_peers"], "regional_average": result["regional_average"],
            "against_region": result["against_region"]}


def weekly(campaign: Campaign, clps: list[int], period: Period, electorate: int) -> list[dict]:
    """Each week of the period, with every measure, the electors reached to date (and their share of
    ``electorate``), and whether it is provisional."""
    columns = rollups.measure_columns()
    rows = {r.week: r for r in db.session.execute(
        select(ActivityRollup.week, *columns)
        .where(ActivityRollup.campaign_id == campaign.id, ActivityRollup.constituency_id.in_(clps),
               ActivityRollup.week <= period.last)
        .group_by(ActivityRollup.week))}
    provisional = sync_health.provisional_weeks(clps)
    minimum = current_app.config["MONITORING_MIN_COUNT"]
    reached = sum(int(r.reached) for week, r in rows.items() if week < period.first)
    out = []
    week = period.first
    while week <= period.last:
        row = rows.get(week)
        counts = {m: int(getattr(row, m)) if row is not None else 0 for m in (*SUMMED, "volunteers")}
        reached += counts["reached"]
        rate, why = _rate(reached, electorate, minimum)
        out.append({"week": week, "label": f"w/c {_fmt(week)}", **counts, "reached_to_date": reached,
                    "contact_rate_to_date": rate, "rate_note": why, "provisional": week in provisional})
        week += timedelta(days=7)
    return out


def seat_comparison(principal: Principal, constituency_id: int, *, campaign_id: int | None = None,
                    features=None, weights=None, k: int = peers.DEFAULT_K, exclude=(),
                    exclude_outliers: bool = False) -> dict:
    """One seat's contact rate against its peers and its region, with the peers named and why they are alike."""
    seat = reads.get_scoped(principal, Constituency, constituency_id)
    campaign = reads.get_campaign(principal, campaign_id) if campaign_id else current_campaign(principal)
    try:  # a weighting that cannot be used is bad input, whether or not this seat has a rate or a profile
        peers.resolve_weights(list(dict.fromkeys(features or peers.DEFAULT_FEATURES)), weights)
    except peers.PeerError as exc:
        raise ValidationFailed(exc.message, details={"weights": [exc.message]}) from None
    profiles = _profiles()
    lacking = [f for f in features or () if (profiles.get(seat.id) or {}).get(f) is None]
    if seat.id in profiles and lacking:  # as GET /constituencies/{id}/peers says it
        raise ValidationFailed("This seat has no figure for " + ", ".join(lacking) + ": choose other features, or "
                               "import its figures.", details={"features": lacking})
    minimum = current_app.config["MONITORING_MIN_COUNT"]
    rates = national_rates(campaign.id, minimum)
    found = comparison(seat.id, seat.region_id, rates, profiles, features=features, weights=weights, k=k,
                       exclude=set(exclude or ()), outlier_z=3.0 if exclude_outliers else None)
    named = {p["id"] for p in found["peers"]} | {p["id"] for p in found["passed_over"]}
    seats = {c.id: c for c in db.session.scalars(select(Constituency).where(Constituency.id.in_(sorted(named))))}
    for p in found["peers"] + found["passed_over"]:
        p["code"], p["name"] = seats[p["id"]].code, seats[p["id"]].name
    region_seats = []
    for c in db.session.scalars(select(Constituency).where(Constituency.region_id == seat.region_id)
                                .order_by(Constituency.name)):
        r = rates.get(c.id) or {"rate": None, "rate_note": "no_register", "reached": 0, "electorate": 0}
        region_seats.append({"id": c.id, "code": c.code, "name": c.name, **r})
    region = db.session.get(Region, seat.region_id)
    return {"seat": {"id": seat.id, "code": seat.code, "name": seat.name}, "region": {"id": region.id, "name": region.name},
            "campaign": {"id": campaign.id, "name": campaign.name, "starts_on": campaign.starts_on,
                         "ends_on": campaign.ends_on},
            "rate_window": rate_window(campaign),
            "min_count": minimum, "definitions": DEFINITIONS, "k": k, **found, "region_seats": region_seats,
            "as_of": rollups.as_of()}
