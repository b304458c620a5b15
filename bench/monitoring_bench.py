"""How fast the monitoring dashboards answer, and what keeping their rollups costs, on PostgreSQL (issue 11).

Not a test (nothing here asserts a time): run it after changing server/services/rollups.py or
server/services/activity.py and compare. Every figure of one report comes from one run, so the ratios
(scan ÷ rollups) are measured side by side.

    .venv/bin/python bench/monitoring_bench.py            # a region of 10 CLPs, 2,000,000 contact records
    .venv/bin/python bench/monitoring_bench.py --quick    # 4 CLPs, 100,000 records: a smoke run of about 3 minutes

The full run takes about 10 minutes on 2 cores, and 2 to 3 more when it builds the dataset. The waits between
bursts (the job's overlap, 30 s) are most of the quick run.

The aim (issue 11): a region's dashboards answer in under 1 s with 2 million contact records, from rollups
kept incrementally rather than by scanning the records per request. Measures (docs/performance.md has the
latest figures):

* rebuild: ``rollups.rebuild()`` over every record (``flask monitoring rebuild``), with its peak memory;
* dashboards: ``activity.dashboard()`` for the region's regional staff (by seat, whole campaign; by seat, the
  last 4 weeks; by polling district) and for a CLP admin (by ward), and ``activity.seat_comparison()``: each
  through the service and through the Flask test client (GET /api/v1/activity..., so routing, token auth,
  the marshmallow schema and the JSON are included), median and p95;
* the baseline without rollups: the same seat-level and weekly figures worked out per request by plain SQL
  over contact_record (distinct electors spoken to, doors, calls, conversations, volunteers, electorates),
  for the region and for one CLP by ward, and the ratio to the rollup dashboards. The scan ignores
  corrections and retractions (kind = 'record' only), so it is cheaper than a correct one would be;
* catch-up: bursts of new records (1,000 over about 50 polling districts, 10,000 over about 200) received
  since the job's watermark, then ``rollups.catch_up()`` (the scheduler's job) timed: ms per 1,000 records;
  and the run after it, which reads the same burst again when the job has an overlap (``rollups.OVERLAP``);
  ``--profile catch-up`` and ``--sql-detail`` show where a run's time goes;
* equality: after the bursts, the rollup tables as catch_up left them against a rebuild (OK or MISMATCH).

The dataset (seats, wards, polling districts, a register of two electors a property, one national campaign,
volunteers, and contact records over 10 weeks, door and phone, with corrections and retractions) is
bulk-loaded with COPY and kept: a later run with the same sizes reuses it (--rebuild-data makes it anew). The
bursts are tagged source='api' and deleted at the end (and at the start, after an interrupted run).

WARNING: building the dataset empties the database at BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/groundwork_bench: its public schema is dropped) and migrates it afresh;
it refuses a database whose name does not contain "bench".
"""
from __future__ import annotations

import argparse
import cProfile
import json
import logging
import math
import os
import platform
import pstats
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from common import DEFAULT_POSTGRES_URL, FORENAMES, STREETS, SURNAMES, reachable, reset_postgres  # bench/common.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.config import normalise_database_url  # noqa: E402

GENERATOR_VERSION = 1  # bump when the dataset's shape changes, so a kept dataset is made anew
PASSWORD = "bench password, long enough"
REGIONAL_EMAIL = "regional@monitoring-bench.example"
CLP_ADMIN_EMAIL = "clp-admin@monitoring-bench.example"
WEEKS = 10  # the campaign so far: records fall on its days up to yesterday
CONVERSATION = ("spoke", "refused", "call_back", "do_not_contact")  # as server/services/rollups.py
# (code, label, meaning, channels)
OUTCOMES = [("SPOKE", "Spoke to", "spoke", ["door", "phone"]), ("NH", "Not home", "not_home", ["door"]),
            ("NA", "No answer", "no_answer", ["phone"]), ("VM", "Voicemail", "voicemail", ["phone"]),
            ("REF", "Refused", "refused", ["door", "phone"]), ("CB", "Call back", "call_back", ["door", "phone"]),
            ("MOV", "Moved", "moved", ["door", "phone"]), ("DEC", "Deceased", "deceased", ["door", "phone"]),
            ("WN", "Wrong number", "wrong_number", ["phone"]),
            ("DNC", "Do not contact", "do_not_contact", ["door", "phone"])]
INTENTIONS = [("LAB", 35), ("CON", 25), ("RFM", 13), ("LD", 10), ("UND", 10), ("GRN", 7)]
STRENGTHS = ["1", "2", "3"]
PHONE_MIX = [("NA", 40), ("VM", 14), ("SPOKE", 30), ("REF", 7), ("WN", 4), ("CB", 3), ("DNC", 2)]
CORRECTED, RETRACTED = 0.004, 0.0015  # shares of records later corrected / retracted by their canvasser
PROFILE_PHASES = ("rebuild", "dashboard", "http", "catch-up")


def log(message: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ plumbing
class SqlMeter:
    """Statements sent and time spent in the driver's execute (which, for psycopg's client-side cursors,
    includes fetching the rows), by statement shape."""

    def __init__(self, engine):
        self.count, self.seconds, self.shapes = 0, 0.0, {}
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self._started.append(time.perf_counter())

    def _after(self, conn, cursor, statement, *_args):
        took = time.perf_counter() - self._started.pop()
        self.count += 1
        self.seconds += took
        shape = self.shapes.setdefault(" ".join(statement.split())[:150], [0, 0.0])
        shape[0] += 1
        shape[1] += took

    def mark(self) -> tuple[int, float, dict]:
        return self.count, self.seconds, {k: list(v) for k, v in self.shapes.items()}

    def since(self, mark) -> tuple[int, float, list]:
        count, seconds, shapes = mark
        top = sorted(((k, v[0] - shapes.get(k, [0, 0.0])[0], v[1] - shapes.get(k, [0, 0.0])[1])
                      for k, v in self.shapes.items()), key=lambda x: -x[2])
        return self.count - count, self.seconds - seconds, [t for t in top if t[1]][:8]


class Profiler:
    def __init__(self, phase: str | None):
        self.phase, self.profile = phase, cProfile.Profile() if phase else None

    def run(self, phase: str, fn, *args, **kwargs):
        if self.phase != phase:
            return fn(*args, **kwargs)
        self.profile.enable()
        try:
            return fn(*args, **kwargs)
        finally:
            self.profile.disable()

    def report(self) -> None:
        if not self.profile:
            return
        stats = pstats.Stats(self.profile, stream=sys.stderr)
        stats.strip_dirs()
        print(f"\nprofile of {self.phase}: top 40 by cumulative time", file=sys.stderr)
        stats.sort_stats("cumulative").print_stats(40)
        print(f"profile of {self.phase}: top 25 by own time", file=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)


def reset_peak_rss() -> bool:
    """Reset this process's high-water mark of resident memory (Linux: /proc/self/clear_refs), so the next
    reading is the peak of what follows only."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pctl(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ts(moment: datetime) -> str:
    return moment.isoformat()


def copy_rows(engine, table: str, columns: list[str], lines) -> int:
    """COPY tab-separated lines (already escaped: the bench's text has no tabs, newlines or backslashes) into
    ``table``, in one transaction; returns the rows written."""
    raw = engine.raw_connection()
    written = 0
    try:
        with raw.driver_connection.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                buffer = []
                for line in lines:
                    buffer.append(line)
                    if len(buffer) >= 20_000:
                        copy.write("\n".join(buffer) + "\n")
                        written += len(buffer)
                        buffer = []
                if buffer:
                    copy.write("\n".join(buffer) + "\n")
                    written += len(buffer)
        raw.commit()
    finally:
        raw.close()
    return written


# --------------------------------------------------------------------------------------------- world
@dataclass(frozen=True)
class Spec:
    records: int
    clps: int
    electors_per_clp: int
    districts_per_clp: int
    peer_seats: int
    seed: int
    version: int = GENERATOR_VERSION


def build_dataset(spec: Spec, engine) -> dict:
    """Make the region, its register, the campaign, the volunteers and the contact records; returns the world
    (ids the measures need), also kept in bench_monitoring_meta."""
    from server.extensions import db
    from server.models import (
        Campaign,
        CampaignCode,
        CampaignKind,
        CodeSet,
        Constituency,
        ConstituencyProfile,
        OutcomeMeaning,
        PollingDistrict,
        Region,
        Role,
        User,
        Ward,
    )
    from server.services import accounts, demo_profiles

    rng = random.Random(spec.seed)
    now = datetime.now(timezone.utc)
    today = now.date()
    starts_on = today - timedelta(days=7 * WEEKS - 1)
    started = time.perf_counter()

    # Geography: the region's CLPs, and the seats elsewhere to compare them with (small registers, profiles).
    home = Region(code="BENCH-R", name="Benchshire")
    others = [Region(code="BENCH-X", name="Elsewhere North"), Region(code="BENCH-Y", name="Elsewhere South")]
    db.session.add_all([home, *others])
    db.session.flush()
    per_district = spec.electors_per_clp // spec.districts_per_clp
    peer_electors = max(1000, spec.electors_per_clp // 35)
    peer_districts = min(4, spec.districts_per_clp)
    seats_spec = ([("clp", i, home, spec.districts_per_clp, per_district) for i in range(spec.clps)]
                  + [("peer", i, others[i % 2], peer_districts, peer_electors // peer_districts)
                     for i in range(spec.peer_seats)])
    seats = []
    next_property = 1
    for kind, i, region, n_districts, electors_each in seats_spec:
        code = f"E1490{1000 + i}" if kind == "clp" else f"E1491{1000 + i}"
        name = f"Bench {('North', 'South', 'East', 'West', 'Central')[i % 5]} {i + 1}" if kind == "clp" \
            else f"Elsewhere {i + 1}"
        seat = Constituency(code=code, name=name, region_id=region.id)
        db.session.add(seat)
        db.session.flush()
        n_wards = max(1, n_districts // 4)
        wards = [Ward(constituency_id=seat.id, code=f"W{w + 1:02d}", name=f"{name} Ward {w + 1}")
                 for w in range(n_wards)]
        db.session.add_all(wards)
        db.session.flush()
        districts = []
        for d in range(n_districts):
            ward = wards[min(d // 4, n_wards - 1)]
            pd = PollingDistrict(ward_id=ward.id, constituency_id=seat.id, code=f"P{d + 1:03d}",
                                 name=f"{name} district {d + 1}")
            db.session.add(pd)
            districts.append((pd, ward))
        db.session.flush()
        props = electors_each // 2  # two electors a property
        seat_districts = []
        for pd, ward in districts:
            seat_districts.append({"id": pd.id, "ward_id": ward.id, "code": pd.code, "first_property": next_property,
                                   "properties": props})
            next_property += props
        seats.append({"kind": kind, "id": seat.id, "code": code, "name": name, "region_id": region.id,
                      "districts": seat_districts})

    # Profiles for every seat, so each region seat has peers (server/services/demo_profiles.py's figures).
    kinds = list(demo_profiles.KINDS)
    for n, seat in enumerate(seats):
        features, winner = demo_profiles._profile(rng, kinds[n % len(kinds)])
        db.session.add(ConstituencyProfile(constituency_id=seat["id"], features=features, previous_winner=winner,
                                           source="monitoring bench"))

    campaign = Campaign(name="Bench general election", kind=CampaignKind.GENERAL_ELECTION, starts_on=starts_on,
                        ends_on=today + timedelta(days=30))
    campaign.codes = (
        [CampaignCode(code_set=CodeSet.OUTCOME, code=c, label=label, meaning=OutcomeMeaning(m), channels=ch,
                      position=i) for i, (c, label, m, ch) in enumerate(OUTCOMES)]
        + [CampaignCode(code_set=CodeSet.INTENTION, code=c, label=c, position=i) for i, (c, _) in enumerate(INTENTIONS)]
        + [CampaignCode(code_set=CodeSet.STRENGTH, code=c, label=c, position=i) for i, c in enumerate(STRENGTHS)])
    db.session.add(campaign)
    db.session.commit()

    # Records per seat: the region's CLPs campaign at different strengths (a target seat works harder than a
    # safe one); the seats elsewhere at an average rate. Electors per seat weight the share.
    weights = []
    for seat in seats:
        electors = sum(d["properties"] * 2 for d in seat["districts"])
        strength = 0.4 + 1.2 * (seat["districts"][0]["id"] * 7919 % 100) / 100 if seat["kind"] == "clp" else 1.0
        weights.append(electors * strength)
    total = sum(weights)
    targets = [int(spec.records * w / total) for w in weights]
    targets[0] += spec.records - sum(targets)

    # Volunteers: canvassers and phone bankers of each seat, some much busier than others.
    user_rows, owners = [], []
    for seat, target in zip(seats, targets):
        n = max(4, min(300, round(target / 1500)))
        for v in range(n):
            role = Role.CANVASSER if v < n * 0.75 else Role.PHONE_BANKER
            user_rows.append({"email": f"v{v}.{seat['code'].lower()}@monitoring-bench.example",
                              "name": f"Volunteer {v + 1} of {seat['name']}", "password_hash": "!", "role": role,
                              "constituency_id": seat["id"], "region_id": None, "active": True, "created_at": now})
            owners.append((seat, role))
    ids = db.session.scalars(User.__table__.insert().returning(User.__table__.c.id, sort_by_parameter_order=True),
                             user_rows).all()
    for seat in seats:
        seat["door"], seat["phone"] = [], []
    for user_id, (seat, role) in zip(ids, owners):
        seat["door" if role == Role.CANVASSER else "phone"].append(user_id)
    db.session.commit()
    accounts.create_user(email=REGIONAL_EMAIL, name="Regional organiser", password=PASSWORD,
                         role=Role.REGIONAL_STAFF, region_code=home.code)
    accounts.create_user(email=CLP_ADMIN_EMAIL, name="CLP organiser", password=PASSWORD, role=Role.CLP_ADMIN,
                         constituency_code=seats[0]["code"])
    log(f"geography: {len(seats)} seats, {sum(len(s['districts']) for s in seats)} polling districts, "
        f"{len(ids):,} volunteers")

    # The register: properties and their two electors each, ids given here (the tables are new).
    def property_lines():
        for seat in seats:
            for d in seat["districts"]:
                for k in range(d["properties"]):
                    p = d["first_property"] + k
                    house, street = k % 120 + 1, STREETS[(k // 120 + d["id"]) % len(STREETS)]
                    postcode = f"BN{d['id'] % 90 + 1} {k // 120 % 9 + 1}{chr(65 + k % 26)}{chr(65 + d['id'] % 26)}"
                    lines = json.dumps([f"{house} {street}", seat["name"]])
                    yield (f"{p}\t{seat['id']}\t{d['id']}\t{lines}\t{postcode}\t{street}\t{house}\t"
                           f"{street.lower()}|{house:05d}\t{d['code']}|{k}|{house} {street.lower()}\t{ts(now)}\t1")

    def elector_lines():
        created = ts(now - timedelta(days=200))
        for seat in seats:
            for d in seat["districts"]:
                for k in range(d["properties"]):
                    p = d["first_property"] + k
                    surname = SURNAMES[(p * 31) % len(SURNAMES)]
                    for j in (0, 1):
                        yield (f"{2 * p - 1 + j}\t{seat['id']}\t{d['id']}\t{p}\t{d['code']}\t{2 * k + j + 1}\t0\t"
                               f"{surname}\t{FORENAMES[(p * 7 + j * 3) % len(FORENAMES)]}\t\tcurrent\t1\t{created}\t"
                               f"{created}\tf")

    n_props = copy_rows(engine, "property", ["id", "constituency_id", "polling_district_id", "address_lines",
                                             "postcode", "street", "house_number", "sort_key", "address_key",
                                             "created_at", "version"], property_lines())
    n_electors = copy_rows(engine, "elector", ["id", "constituency_id", "polling_district_id", "property_id",
                                               "prefix", "number", "suffix", "surname", "forenames", "markers",
                                               "status", "version", "created_at", "updated_at", "provisional"],
                           elector_lines())
    with engine.begin() as conn:
        conn.execute(text("SELECT setval(pg_get_serial_sequence('property', 'id'), (SELECT max(id) FROM property))"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('elector', 'id'), (SELECT max(id) FROM elector))"))
    log(f"register: {n_props:,} properties, {n_electors:,} electors ({time.perf_counter() - started:.0f}s so far)")

    # The contact records.
    cutoff = now - timedelta(hours=1)
    days = [starts_on + timedelta(days=i) for i in range((today - starts_on).days)]  # up to yesterday
    day_weights = [(1 + 1.5 * i / max(1, len(days) - 1)) * (1.6 if d.weekday() >= 5 else 1.0)  # busier weekends
                   for i, d in enumerate(days)]  # and a campaign that builds up
    written = copy_rows(engine, "contact_record", RECORD_COLUMNS,
                        record_lines(seats, targets, campaign.id, days, day_weights, cutoff, rng, source="pwa"))
    log(f"contact records: {written:,} ({time.perf_counter() - started:.0f}s so far)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # what autovacuum would soon do after a load this size
    world = {"campaign_id": campaign.id, "region_id": home.id, "seats": seats, "built_on": today.isoformat(),
             "build_seconds": round(time.perf_counter() - started, 1), "electors": n_electors,
             "properties": n_props, "volunteers": len(ids)}
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_monitoring_meta (spec jsonb NOT NULL, world jsonb NOT NULL)"))
        conn.execute(text("INSERT INTO bench_monitoring_meta VALUES (:spec, :world)"),
                     {"spec": json.dumps(asdict(spec)), "world": json.dumps(world)})
    log(f"dataset built in {world['build_seconds']:.0f}s")
    return world


RECORD_COLUMNS = ["id", "campaign_id", "constituency_id", "elector_id", "kind", "supersedes_id", "channel",
                  "outcome", "intention", "strength", "survey_answers", "notes", "occurred_at",
                  "device_occurred_at", "clock_flags", "received_at", "user_id", "source", "call_back_at"]


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in table], weights=[w for _, w in table])[0]


def record_lines(seats: list[dict], targets: list[int], campaign_id: int, days: list[date], day_weights: list[float],
                 cutoff: datetime, rng: random.Random, *, source: str, received=None):
    """COPY lines of contact records: door sessions (a canvasser walks a run of neighbouring properties in one
    polling district and records each elector seen or not) and phone sessions (a phone banker calls electors
    of one ward). ``received(occurred)`` stamps received_at (default: minutes later, now and then hours or days
    later, as a phone that was offline)."""
    intentions, intention_weights = [c for c, _ in INTENTIONS], [w for _, w in INTENTIONS]
    day_cum = list(_cumulate(day_weights))

    def default_received(occurred: datetime) -> datetime:
        r = rng.random()
        delay = (rng.uniform(5, 600) if r < 0.80 else rng.uniform(3600, 12 * 3600) if r < 0.97
                 else rng.uniform(86400, 3 * 86400))
        return min(occurred + timedelta(seconds=delay), cutoff)

    stamp = received or default_received
    for seat, target in zip(seats, targets):
        emitted = 0
        door_w = list(_cumulate([1 / (i + 1) ** 0.6 for i in range(len(seat["door"]))]))
        phone_pool = seat["phone"] + seat["door"][: len(seat["door"]) // 3]
        phone_w = list(_cumulate([1 / (i + 1) ** 0.6 for i in range(len(phone_pool))]))
        wards: dict[int, list[dict]] = {}
        for d in seat["districts"]:
            wards.setdefault(d["ward_id"], []).append(d)
        ward_list = list(wards.values())

        def line(kind, elector, channel, outcome, user, occurred, supersedes=None):
            nonlocal emitted
            emitted += 1
            rid = "%032x" % rng.getrandbits(128)
            intention = strength = call_back = None
            if outcome == "SPOKE" and rng.random() < 0.9:
                intention = rng.choices(intentions, weights=intention_weights)[0]
                strength = rng.choice(STRENGTHS) if rng.random() < 0.6 else None
            if outcome == "CB":
                call_back = occurred + timedelta(days=rng.randint(1, 5))
            got = stamp(occurred)
            return rid, (f"{rid}\t{campaign_id}\t{seat['id']}\t{elector}\t{kind}\t{supersedes or N}\t{channel}\t"
                         f"{outcome or N}\t{intention or N}\t{strength or N}\t{{}}\t{N}\t{ts(occurred)}\t"
                         f"{ts(occurred)}\t"
                         f"[]\t{ts(got)}\t{user}\t{source}\t{ts(call_back) if call_back else N}")

        def record(elector, channel, outcome, user, occurred):
            """A record, and now and then its correction or retraction a little later."""
            rid, text_ = line("record", elector, channel, outcome, user, occurred)
            yield text_
            r = rng.random()
            if r < CORRECTED + RETRACTED and emitted < target:
                later = occurred + timedelta(minutes=rng.randint(1, 30))
                if r < CORRECTED:
                    fixed = "SPOKE" if outcome != "SPOKE" else rng.choice(("SPOKE", "REF"))
                    yield line("correction", elector, channel, fixed, user, later, rid)[1]
                else:
                    yield line("retraction", elector, channel, None, user, later, rid)[1]

        while emitted < target:
            day = rng.choices(days, cum_weights=day_cum)[0]
            base = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            if rng.random() < 0.8 or not phone_pool:  # a door session
                user = rng.choices(seat["door"], cum_weights=door_w)[0]
                d = rng.choice(seat["districts"])
                k = rng.randrange(d["properties"])
                at = base + timedelta(hours=rng.uniform(10, 18))
                for _ in range(rng.randint(15, 45)):
                    if emitted >= target:
                        break
                    p = d["first_property"] + k % d["properties"]
                    k += 1
                    at += timedelta(seconds=rng.randint(60, 240))
                    first, second = 2 * p - 1, 2 * p
                    r = rng.random()
                    if r < 0.55:  # nobody home: one card for the household, or one for each elector
                        seen = [(first, "NH")] + ([(second, "NH")] if rng.random() < 0.85 else [])
                    elif r < 0.93:  # answered
                        seen = [(first, _pick(rng, [("SPOKE", 88), ("CB", 4), ("MOV", 4), ("DEC", 1), ("DNC", 3)])),
                                (second, _pick(rng, [("SPOKE", 45), ("NH", 50), ("MOV", 5)]))]
                    else:  # refused at the door
                        seen = [(first, "REF")] + ([(second, "REF")] if rng.random() < 0.5 else [])
                    for elector, outcome in seen:
                        if emitted >= target:
                            break
                        yield from record(elector, "door", outcome, user, at)
            else:  # a phone session: one ward's electors, in the evening
                user = rng.choices(phone_pool, cum_weights=phone_w)[0]
                ward = rng.choice(ward_list)
                at = base + timedelta(hours=rng.uniform(17.5, 19.5))
                for _ in range(rng.randint(25, 60)):
                    if emitted >= target:
                        break
                    d = rng.choice(ward)
                    elector = 2 * (d["first_property"] + rng.randrange(d["properties"])) - 1 + rng.randrange(2)
                    at += timedelta(seconds=rng.randint(40, 300))
                    yield from record(elector, "phone", _pick(rng, PHONE_MIX), user, at)


N = "\\N"


def _cumulate(weights):
    total = 0.0
    for w in weights:
        total += w
        yield total


def load_world(engine, spec: Spec) -> dict | None:
    """The world of a dataset already built with this spec (recently enough), or None."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('bench_monitoring_meta')")).scalar() is None:
            return None
        row = conn.execute(text("SELECT spec, world FROM bench_monitoring_meta")).first()
        if row is None or row.spec != asdict(spec):
            return None
        world = row.world
        if (date.today() - date.fromisoformat(world["built_on"])).days > 7:
            return None  # the campaign's weeks have moved on: its records would no longer end yesterday
        held = conn.execute(text("SELECT count(*) FROM contact_record WHERE source = 'pwa'")).scalar()
        return world if held == spec.records else None


# ------------------------------------------------------------------------------------------ measures
def timed(fn, runs: int, warm: int = 1) -> list[float]:
    """Seconds of each of ``runs`` calls after ``warm`` untimed ones; the session is ended after each call,
    as a request's is."""
    from server.extensions import db

    for _ in range(warm):
        fn()
        db.session.remove()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        db.session.remove()
    return times


def baseline_queries(engine, campaign_id: int, seats: list[int], by_ward: bool) -> dict:
    """The dashboard's figures worked out from contact_record on each request (the design the rollups
    replace): per seat (or ward), per week, electors first reached per week, and the electorates."""
    unit = "pd.ward_id" if by_ward else "cr.constituency_id"
    conv = ", ".join(f"'{m}'" for m in CONVERSATION)
    scan = f"""
        SELECT {unit} AS unit, cr.elector_id, cr.user_id, cr.channel, cr.occurred_at, e.property_id,
               cc.meaning, date_trunc('week', cr.occurred_at AT TIME ZONE 'UTC') AS week
        FROM contact_record cr
        JOIN elector e ON e.id = cr.elector_id
        {"JOIN polling_district pd ON pd.id = e.polling_district_id" if by_ward else ""}
        LEFT JOIN campaign_code cc ON cc.campaign_id = cr.campaign_id AND cc.code_set = 'outcome'
                                  AND cc.code = cr.outcome
        WHERE cr.campaign_id = :campaign AND cr.constituency_id = ANY(:seats) AND cr.kind = 'record'"""
    measures = f"""count(*) AS contacts,
               count(DISTINCT (property_id, user_id, (occurred_at AT TIME ZONE 'UTC')::date))
                   FILTER (WHERE channel = 'door') AS doors,
               count(*) FILTER (WHERE channel = 'phone') AS calls,
               count(*) FILTER (WHERE meaning IN ({conv})) AS conversations,
               count(DISTINCT user_id) AS volunteers"""
    params = {"campaign": campaign_id, "seats": seats}
    with engine.connect() as conn:
        units = conn.execute(text(f"""
            WITH r AS ({scan})
            SELECT unit, {measures}, count(DISTINCT elector_id) FILTER (WHERE meaning IN ({conv})) AS reached
            FROM r GROUP BY unit"""), params).all()
        weeks = conn.execute(text(f"WITH r AS ({scan}) SELECT week, {measures} FROM r GROUP BY week"), params).all()
        firsts = conn.execute(text(f"""
            WITH r AS ({scan})
            SELECT date_trunc('week', first AT TIME ZONE 'UTC') AS week, count(*) AS reached
            FROM (SELECT elector_id, min(occurred_at) AS first FROM r WHERE meaning IN ({conv}) GROUP BY elector_id) f
            GROUP BY 1"""), params).all()
        electorate = conn.execute(text(f"""
            SELECT {"e.polling_district_id" if by_ward else "e.constituency_id"}, count(*) FROM elector e
            WHERE e.constituency_id = ANY(:seats) AND NOT e.provisional GROUP BY 1"""), {"seats": seats}).all()
    return {"units": units, "weeks": weeks, "firsts": firsts, "electorate": electorate}


def burst_lines(world: dict, size: int, n_districts: int, lo: datetime, hi: datetime,
                rng: random.Random) -> tuple[list[str], set[int]]:
    """``size`` records received between ``lo`` and ``hi`` (as pushes from many phones in the field bring them:
    door and phone, made in the last two hours) in ``n_districts`` polling districts of the region; the COPY
    lines and the districts."""
    region_seats = [s for s in world["seats"] if s["kind"] == "clp"]
    pool = [(s, d) for s in region_seats for d in s["districts"]]
    chosen = rng.sample(pool, min(n_districts, len(pool)))
    # A district is worked by a few people at a time: two canvassers and a phone banker each.
    crews = [(rng.sample(s["door"], min(2, len(s["door"]))), s["phone"] and [rng.choice(s["phone"])])
             for s, _ in chosen]
    span = (hi - lo).total_seconds()
    now = datetime.now(timezone.utc)
    lines, districts = [], set()
    for i in range(size):
        seat, d = chosen[i % len(chosen)]
        door_crew, phone_crew = crews[i % len(chosen)]
        districts.add(d["id"])
        occurred = now - timedelta(seconds=rng.uniform(120, 7200))
        channel = "door" if rng.random() < 0.8 else "phone"
        outcome = (_pick(rng, [("SPOKE", 40), ("NH", 50), ("REF", 6), ("MOV", 2), ("CB", 2)]) if channel == "door"
                   else _pick(rng, PHONE_MIX))
        user = rng.choice(door_crew if channel == "door" or not phone_crew else phone_crew)
        elector = 2 * (d["first_property"] + rng.randrange(d["properties"])) - 1 + rng.randrange(2)
        got = lo + timedelta(seconds=rng.uniform(0.001, span))
        intention = rng.choices([c for c, _ in INTENTIONS], weights=[w for _, w in INTENTIONS])[0] \
            if outcome == "SPOKE" else None
        lines.append(f"{'%032x' % rng.getrandbits(128)}\t{world['campaign_id']}\t{seat['id']}\t{elector}\trecord\t{N}\t"
                     f"{channel}\t{outcome}\t{intention or N}\t{N}\t{{}}\t{N}\t{ts(occurred)}\t{ts(occurred)}\t[]\t"
                     f"{ts(got)}\t{user}\tapi\t{N}")
    return lines, districts


def rollup_snapshot(engine) -> dict[str, set]:
    with engine.connect() as conn:
        return {
            "activity_seat": set(conn.execute(text(
                "SELECT campaign_id, constituency_id, contacts, doors, calls, conversations, reached, volunteers, "
                "electorate FROM activity_seat")).all()),
            "activity_rollup": set(conn.execute(text(
                "SELECT campaign_id, district_key, week, user_key, constituency_id, ward_id, contacts, doors, calls, "
                "conversations, reached FROM activity_rollup")).all()),
            "activity_electorate": set(conn.execute(text(
                "SELECT campaign_id, polling_district_id, constituency_id, ward_id, electors "
                "FROM activity_electorate")).all()),
        }


def delete_bursts(engine) -> int:
    with engine.begin() as conn:
        return conn.execute(text("DELETE FROM contact_record WHERE source = 'api'")).rowcount


def run(args, url: str, spec: Spec, profiler: Profiler) -> dict:
    from flask_migrate import upgrade

    from server import create_app
    from server.auth.policy import principal_for
    from server.extensions import db
    from server.models import RollupCursor, User
    from server.services import activity, rollups

    out: dict = {"spec": asdict(spec)}
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    rng = random.Random(spec.seed + 1)
    with app.app_context():
        engine = db.engine
        world = None if args.rebuild_data else load_world(engine, spec)
        if world is None:
            log(f"building the dataset: {spec.clps} CLPs of {spec.electors_per_clp:,} electors, "
                f"{spec.records:,} contact records")
            out["postgres"] = reset_postgres(url)
            upgrade()
            world = build_dataset(spec, engine)
            out["built"] = True
        else:
            upgrade()  # a no-op unless a migration was added since the dataset was built
            with engine.connect() as conn:
                out["postgres"] = conn.execute(text("SHOW server_version")).scalar().split()[0]
            log(f"reusing the dataset built on {world['built_on']} (--rebuild-data to make it anew)")
            out["built"] = False
        out["world"] = {k: world[k] for k in ("build_seconds", "electors", "properties", "volunteers", "built_on")}
        removed = delete_bursts(engine)
        if removed:
            log(f"deleted {removed:,} records left by an interrupted run")
        with engine.connect() as conn:
            out["records_held"] = conn.execute(text("SELECT count(*) FROM contact_record")).scalar()
            out["kinds"] = dict(conn.execute(text("SELECT kind, count(*) FROM contact_record GROUP BY kind")).all())
            out["channels"] = dict(conn.execute(text(
                "SELECT channel, count(*) FROM contact_record GROUP BY channel")).all())
        meter = SqlMeter(engine)
        region_seats = [s["id"] for s in world["seats"] if s["kind"] == "clp"]
        home_seat = world["seats"][0]

        # 1. rebuild
        log(f"rollups.rebuild() over {out['records_held']:,} records")
        reset_peak_rss()
        rss_before = peak_rss_mb()
        mark = meter.mark()
        t0 = time.perf_counter()
        result = profiler.run("rebuild", rollups.rebuild)
        out["rebuild_seconds"] = time.perf_counter() - t0
        out["rebuild_sql"] = meter.since(mark)
        out["rebuild_peak_mb"], out["rebuild_rss_before_mb"] = peak_rss_mb(), rss_before
        out["rebuild_keys"] = result["districts"]
        db.session.remove()
        with engine.connect() as conn:
            out["rollup_rows"] = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                                  for t in ("activity_rollup", "activity_electorate", "activity_seat")}
        log(f"rebuilt {result['districts']} districts in {out['rebuild_seconds']:.1f}s; {out['rollup_rows']}")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE activity_rollup"))  # the rollup tables were rewritten whole
            conn.execute(text("VACUUM ANALYZE activity_electorate"))
            conn.execute(text("VACUUM ANALYZE activity_seat"))

        # 2. dashboards: through the service, then over HTTP
        regional = principal_for(db.session, db.session.scalar(db.select(User).where(User.email == REGIONAL_EMAIL)))
        admin = principal_for(db.session, db.session.scalar(db.select(User).where(User.email == CLP_ADMIN_EMAIL)))
        db.session.remove()
        since = (date.today() - timedelta(weeks=3)).isoformat()
        views = [
            ("region by seat, whole campaign (regional staff)", "dashboard",
             lambda: activity.dashboard(regional), "/api/v1/activity", "regional"),
            ("region by seat, last 4 weeks", "dashboard",
             lambda: activity.dashboard(regional, since=date.fromisoformat(since)),
             f"/api/v1/activity?since={since}", "regional"),
            ("region by polling district", "dashboard",
             lambda: activity.dashboard(regional, level="polling_district"),
             "/api/v1/activity?level=polling_district", "regional"),
            ("one CLP by ward (CLP admin)", "dashboard", lambda: activity.dashboard(admin), "/api/v1/activity",
             "admin"),
            ("seat comparison (peers, region)", "comparison",
             lambda: activity.seat_comparison(regional, home_seat["id"]),
             f"/api/v1/activity/seats/{home_seat['id']}/comparison", "regional"),
        ]
        out["views"] = []
        for label, _, call, _, _ in views:
            times = profiler.run("dashboard", timed, call, args.repeats)
            out["views"].append({"label": label, "service": times})
            log(f"service: {label}: median {statistics.median(times) * 1000:.0f} ms, "
                f"p95 {pctl(times, .95) * 1000:.0f} ms")
        client = app.test_client()
        tokens = {}
        for who, email in (("regional", REGIONAL_EMAIL), ("admin", CLP_ADMIN_EMAIL)):
            response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD,
                                                                "device_name": "Bench laptop"})
            assert response.status_code == 201, response.get_data(as_text=True)
            tokens[who] = {"Authorization": f"Bearer {response.get_json()['token']}"}
        for view, (label, _, _, path, who) in zip(out["views"], views):
            sizes = []

            def get():
                response = client.get(path, headers=tokens[who])
                assert response.status_code == 200, response.get_data(as_text=True)[:500]
                sizes.append(len(response.get_data()))

            times = profiler.run("http", timed, get, args.repeats)
            view["http"], view["bytes"] = times, sizes[-1]
            log(f"HTTP: {label}: median {statistics.median(times) * 1000:.0f} ms, "
                f"p95 {pctl(times, .95) * 1000:.0f} ms, "
                f"{sizes[-1] / 1024:.0f} KB")
        regional_body = activity.dashboard(regional)
        db.session.remove()

        # 3. the baseline: the same figures by scanning contact_record on each request
        out["baseline"] = []
        for label, seats, by_ward in (("region by seat, scanning contact_record", region_seats, False),
                                      ("one CLP by ward, scanning contact_record", [home_seat["id"]], True)):
            times, found = [], None
            for i in range(args.baseline_repeats + 1):
                t0 = time.perf_counter()
                found = baseline_queries(engine, world["campaign_id"], seats, by_ward)
                if i:  # the first run warms the cache
                    times.append(time.perf_counter() - t0)
            out["baseline"].append({"label": label, "times": times, "found": found})
            log(f"baseline: {label}: median {statistics.median(times) * 1000:.0f} ms")
        scan = {row.unit: row for row in out["baseline"][0]["found"]["units"]}
        out["check_totals"] = {
            "rollups": {m: regional_body["totals"][m] for m in ("contacts", "doors", "calls", "conversations",
                                                                "reached_to_date", "volunteers")},
            "scan": {"contacts": sum(r.contacts for r in scan.values()), "doors": sum(r.doors for r in scan.values()),
                     "calls": sum(r.calls for r in scan.values()),
                     "conversations": sum(r.conversations for r in scan.values()),
                     "reached_to_date": sum(r.reached for r in scan.values()),
                     "volunteers": sum(r.volunteers for r in scan.values())},
        }

        # 4. catch-up after bursts of new records. The job reads the records received since its last watermark
        # (less the overlap it reads again, if the code has one), up to a new watermark (less a margin, if any).
        # Each burst is stamped just below where this run's watermark will fall, and the run before it is made
        # OVERLAP after the previous burst, so a timed run reads its own burst only. The next run re-reads it
        # (the overlap): timed too, as "overlap re-read".
        margin = getattr(rollups, "CLOCK_MARGIN", timedelta(0))
        overlap = getattr(rollups, "OVERLAP", timedelta(0))
        out["overlap_seconds"], out["margin_seconds"] = overlap.total_seconds(), margin.total_seconds()

        def watermark() -> datetime:
            value = db.session.scalar(db.select(RollupCursor.received_through).where(
                RollupCursor.name == getattr(rollups, "CURSOR", "activity")))
            db.session.remove()
            return value

        def job(phase: str | None = None):
            mark = meter.mark()
            t0 = time.perf_counter()
            result = profiler.run(phase, rollups.catch_up) if phase else rollups.catch_up()
            seconds = time.perf_counter() - t0
            db.session.remove()
            return seconds, result, meter.since(mark)

        out["catch_up"] = []
        job()  # a warm-up
        idle = []
        for _ in range(3):
            time.sleep(1.1)
            idle.append(job()[0])
        out["catch_up_idle"] = idle
        for size, n_districts in args.catch_up_sizes:
            runs = []
            for _ in range(args.catch_up_repeats):
                lo = watermark()
                hi = datetime.now(timezone.utc) - margin - timedelta(seconds=0.5)
                while hi <= lo + timedelta(seconds=2):
                    time.sleep(0.5)
                    hi = datetime.now(timezone.utc) - margin - timedelta(seconds=0.5)
                lines, districts = burst_lines(world, size, n_districts, max(lo, hi - timedelta(seconds=10)), hi, rng)
                copy_rows(engine, "contact_record", RECORD_COLUMNS, iter(lines))
                open_xacts = _open_transactions(engine)
                seconds, result, sql = job("catch-up")
                ran = {"seconds": seconds, "keys": result["properties"], "records": result["records"],
                       "expected_keys": len(districts), "sql": sql,
                       "open_xacts": open_xacts}
                log(f"catch-up after {size:,} records in {len(districts)} districts: {seconds * 1000:.0f} ms, "
                    f"{result['records']} records at {result['properties']} properties, {sql[0]} statements, "
                    f"{sql[1] * 1000:.0f} ms in SQL")
                if overlap:
                    # The next run, a while later: it reads the burst again (it lies within the overlap), and
                    # then waits long enough that the burst is out of the run after it.
                    time.sleep(max(0.0, (hi + overlap + margin + timedelta(seconds=1)
                                         - datetime.now(timezone.utc)).total_seconds()))
                    again, result, _ = job()
                    ran.update(overlap_seconds=again, overlap_keys=result["properties"])
                    log(f"  the next run (re-reading the {overlap.total_seconds():.0f}s overlap): "
                        f"{again * 1000:.0f} ms, {result['records']} records counted again")
                runs.append(ran)
            out["catch_up"].append({"size": size, "districts": n_districts, "runs": runs})

        # 5. equality: what catch_up left against a rebuild
        time.sleep(1.1)
        rollups.catch_up()
        db.session.remove()
        before = rollup_snapshot(engine)
        t0 = time.perf_counter()
        rollups.rebuild()
        out["rebuild2_seconds"] = time.perf_counter() - t0
        db.session.remove()
        after = rollup_snapshot(engine)
        out["equality"] = {t: (len(before[t] ^ after[t]), len(after[t])) for t in before}
        log(f"equality (rows differing, rows): {out['equality']}")

        removed = delete_bursts(engine)
        log(f"deleted the {removed:,} burst records (the next run rebuilds first)")
        db.session.remove()
        engine.dispose()
    return out


def _open_transactions(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() "
            "AND datname = current_database()")).scalar()


# ---------------------------------------------------------------------------------------------- report
def print_report(out: dict, args) -> None:
    spec = out["spec"]
    w = out["world"]
    ms = lambda s: f"{s * 1000:,.0f} ms"  # noqa: E731
    dataset = f"built in {w['build_seconds']:.0f} s" if out["built"] else f"reused (built {w['built_on']})"
    print(f"\nMonitoring benchmark, {date.today().isoformat()}: {os.cpu_count()} cores, {platform.platform()}, "
          f"Python {platform.python_version()}, PostgreSQL {out['postgres']}\n")
    print(f"World: a region of {spec['clps']} CLPs ({spec['districts_per_clp']} polling districts and "
          f"{spec['electors_per_clp']:,} electors each) and {spec['peer_seats']} seats elsewhere, every seat with a "
          f"profile; {w['electors']:,} electors at {w['properties']:,} properties; {w['volunteers']:,} volunteers; "
          f"one national campaign; {out['records_held']:,} contact records over {WEEKS} weeks "
          f"({', '.join(f'{k} {v:,}' for k, v in sorted(out['channels'].items()))}; "
          f"{', '.join(f'{k} {v:,}' for k, v in sorted(out['kinds'].items()))}). "
          f"Dataset {dataset}. "
          f"Rollup rows: {', '.join(f'{k} {v:,}' for k, v in out['rollup_rows'].items())}.\n")

    print("| measure | median | p95 | aim |")
    print("|---|---:|---:|---|")
    sql_n, sql_s, _ = out["rebuild_sql"]
    print(f"| `rollups.rebuild()`, {out['records_held']:,} records ({out['rebuild_keys']:,} districts) | "
          f"{out['rebuild_seconds']:.1f} s | | no figure set |")
    print(f"| rebuild: peak memory (of which the process before it) | {out['rebuild_peak_mb']:,.0f} MB "
          f"({out['rebuild_rss_before_mb']:,.0f} MB) | | |")
    print(f"| rebuild: share of time in SQL ({sql_n:,} statements) | {sql_s / out['rebuild_seconds']:.0%} | | |")
    for v in out["views"]:
        print(f"| {v['label']}: service | {ms(statistics.median(v['service']))} | {ms(pctl(v['service'], .95))} "
              f"| < 1 s |")
        print(f"| {v['label']}: HTTP ({v['bytes'] / 1024:,.0f} KB JSON) | {ms(statistics.median(v['http']))} | "
              f"{ms(pctl(v['http'], .95))} | < 1 s |")
    pairs = [(out["baseline"][0], out["views"][0]), (out["baseline"][1], out["views"][3])]
    for base, view in pairs:
        b = statistics.median(base["times"])
        print(f"| {base['label']} (baseline) | {ms(b)} | {ms(pctl(base['times'], .95))} | |")
        print(f"| **scan ÷ rollups**, {view['label']}: service / HTTP | "
              f"**{b / statistics.median(view['service']):,.0f}×** / "
              f"**{b / statistics.median(view['http']):,.0f}×** | | |")
    print(f"| `rollups.catch_up()` with nothing new | {ms(statistics.median(out['catch_up_idle']))} | | |")
    for c in out["catch_up"]:
        secs = [r["seconds"] for r in c["runs"]]
        keys = statistics.median(r["keys"] for r in c["runs"])
        per_k = statistics.median(secs) / (c["size"] / 1000)
        print(f"| `rollups.catch_up()` after {c['size']:,} new records in ~{c['districts']} districts "
              f"({keys:.0f} properties) | {ms(statistics.median(secs))} | {ms(max(secs))} (max) | |")
        print(f"| **catch-up per 1,000 records** ({c['size']:,}-record bursts) | **{ms(per_k)}** | | < 1 s |")
        if "overlap_seconds" in c["runs"][0]:
            again = [r["overlap_seconds"] for r in c["runs"]]
            print(f"| the next run, re-reading the {out['overlap_seconds']:.0f} s overlap (counted once already) | "
                  f"{ms(statistics.median(again))} | {ms(max(again))} (max) | |")
    eq = out["equality"]
    verdict = "OK" if all(d == 0 for d, _ in eq.values()) else "MISMATCH"
    print(f"| catch_up after the bursts = rebuild | **{verdict}** "
          f"({'; '.join(f'{t}: {n:,} rows, {d} differ' for t, (d, n) in eq.items())}) | | equal |")
    print(f"| second rebuild, after the bursts | {out['rebuild2_seconds']:.1f} s | | |")

    print()
    check = out["check_totals"]
    print("Region totals, rollups (corrections and retractions applied) against the scan (original records only): "
          + "; ".join(f"{m} {check['rollups'][m]:,} / {check['scan'][m]:,}" for m in check["rollups"]))
    print("Per-view samples (ms), service | HTTP:")
    for v in out["views"]:
        print(f"  {v['label']}: " + "/".join(f"{t * 1000:.0f}" for t in v["service"]) + " | "
              + "/".join(f"{t * 1000:.0f}" for t in v["http"]))
    print("Baseline samples (ms): " + "; ".join(b["label"] + ": " + "/".join(f"{t * 1000:.0f}" for t in b["times"])
                                            for b in out["baseline"]))
    def run_note(r: dict) -> str:
        note = (f"{r['seconds'] * 1000:.0f} ms ({r['keys']} properties in {r['expected_keys']} districts, "
                f"{r['sql'][0]} statements, {r['sql'][1] / r['seconds']:.0%} in SQL")
        if r["open_xacts"]:
            note += f", {r['open_xacts']} other open transactions"
        if "overlap_seconds" in r:
            note += f"; next run {r['overlap_seconds'] * 1000:.0f} ms, {r['overlap_keys']} properties"
        return note + ")"

    for c in out["catch_up"]:
        print(f"Catch-up after {c['size']:,} records: " + "; ".join(run_note(r) for r in c["runs"]))
    if args.sql_detail:
        print("\nSlowest statement shapes, rebuild (seconds, count):")
        for shape, count, seconds in out["rebuild_sql"][2]:
            print(f"  {seconds:7.2f}s {count:6d}  {shape}")
        for c in out["catch_up"]:
            print(f"Slowest statement shapes, catch-up after {c['size']:,} records (last run):")
            for shape, count, seconds in c["runs"][-1]["sql"][2]:
                print(f"  {seconds:7.3f}s {count:6d}  {shape}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: --records 100000 --clps 4 --electors-per-clp 10000 --districts-per-clp 12 "
                             "--peer-seats 6 --repeats 7 --baseline-repeats 3 --catch-up 1000:20,10000:48 "
                             "--catch-up-repeats 2")
    parser.add_argument("--records", type=int, help="contact records (default 2000000)")
    parser.add_argument("--clps", type=int, help="CLPs in the region (default 10)")
    parser.add_argument("--electors-per-clp", type=int, help="electors per CLP, two a property (default 70000)")
    parser.add_argument("--districts-per-clp", type=int, help="polling districts per CLP, four a ward (default 40)")
    parser.add_argument("--peer-seats", type=int, help="seats in other regions, with small registers (default 10)")
    parser.add_argument("--repeats", type=int, help="timed calls per dashboard view (default 20)")
    parser.add_argument("--baseline-repeats", type=int, help="timed runs of each baseline scan (default 5)")
    parser.add_argument("--catch-up", help="burst sizes and their districts, size:districts,... "
                                           "(default 1000:50,10000:200)")
    parser.add_argument("--catch-up-repeats", type=int, help="bursts of each size (default 3)")
    parser.add_argument("--rebuild-data", action="store_true", help="make the dataset anew even if one is kept")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--profile", choices=PROFILE_PHASES, help="cProfile the timed calls of one phase (to stderr)")
    parser.add_argument("--sql-detail", action="store_true", help="print the slowest statement shapes of the rebuild "
                                                                  "and the catch-ups")
    args = parser.parse_args()
    defaults = ({"records": 100_000, "clps": 4, "electors_per_clp": 10_000, "districts_per_clp": 12, "peer_seats": 6,
                 "repeats": 7, "baseline_repeats": 3, "catch_up": "1000:20,10000:48", "catch_up_repeats": 2}
                if args.quick else
                {"records": 2_000_000, "clps": 10, "electors_per_clp": 70_000, "districts_per_clp": 40,
                 "peer_seats": 10, "repeats": 20, "baseline_repeats": 5, "catch_up": "1000:50,10000:200",
                 "catch_up_repeats": 3})
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.catch_up_sizes = [tuple(int(x) for x in part.split(":")) for part in args.catch_up.split(",")]
    spec = Spec(args.records, args.clps, args.electors_per_clp, args.districts_per_clp, args.peer_seats, args.seed)
    url = normalise_database_url(args.postgres_url)
    problem = reachable(url)
    if problem:
        raise SystemExit(f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {problem}")
    started = time.perf_counter()
    profiler = Profiler(args.profile)
    out = run(args, url, spec, profiler)
    print_report(out, args)
    profiler.report()
    print(f"\n(The bench ran for {time.perf_counter() - started:.0f}s.)")


if __name__ == "__main__":
    main()
