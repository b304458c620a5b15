"""How fast sync is over HTTP on SQLite and PostgreSQL: push, replay, pull, initial download, rebuild.

Not a test (nothing here asserts a time): run it after changing the sync engine or its store and
compare the numbers. Every figure in one table comes from one run, so ratios are measured side by side.

    .venv/bin/python bench/sync_bench.py            # the full run (about 6 minutes on 2 cores)
    .venv/bin/python bench/sync_bench.py --quick    # a smoke run of under a minute

Measures (docs/performance.md has the aims and the latest figures):

* push: contact records per second through POST /api/v1/sync/push (the whole Flask stack: auth,
  validation, dedup, reconciliation) in batches of 500, next to two ceilings, batch by batch: the three rows
  a push writes per record (receipt, contact, elector state) bulk-inserted by the same driver (a Core
  executemany per table, one commit), and the contact rows alone;
* replay: the same batches pushed again (all duplicates), as a share of the first push's time;
* pull: a fresh device pulling one page of 1,000 changes of its walk list while contact_record
  holds each of --events contact events (median of --repeats);
* initial download: a new device pulling its whole walk list (--walk-electors) from nothing with the
  default page size: time, pages, and the bytes of the JSON bodies raw and gzipped (level 6), side by side
  with the snapshot off (SYNC_PULL_SNAPSHOTS=False: every page recomputes the whole entitlement, as before
  issue 13 part 4), --download-repeats times each, alternately, median;
* call lists: a phone banker's new device downloading a call list of each of --call-electors electors (the
  electors, with phone numbers, and their homes): time per 1,000 electors, to show it grows linearly;
* pull pages: besides a fresh device's first page of 1,000 changes (which computes the download's
  snapshot), the second page of that download (served from the snapshot);
* rebuild: ``flask sync rebuild`` over the largest --events.

--only push,download,pull,rebuild measures just those parts; BENCH_SQL_LOG=1 prints every statement and its time.

PostgreSQL is used if BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/groundwork_bench)
is reachable. WARNING: the bench empties that database (drops its public schema) and migrates it
afresh; it refuses a database whose name does not contain "bench".
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import gzip
import json
import logging
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, event, func, insert, select, text
from sqlalchemy.engine import make_url

from common import DEFAULT_POSTGRES_URL, FORENAMES, STREETS, SURNAMES, reachable, reset_postgres  # bench/common.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.config import normalise_database_url  # noqa: E402

CONSTITUENCY = "E14000998"
PASSWORD = "bench password, long enough"
EMAIL = "canvasser@bench.example"
BATCH = 500
PULL_PAGE = 1000
CHUNK = 20_000  # rows per executemany (and per transaction) when growing contact_record
PER_DISTRICT = 2500
# (code, label, meaning, channels)
OUTCOMES = [("SPOKE", "Spoke", "spoke", ["door", "phone"]), ("NH", "Not home", "not_home", ["door"]),
            ("NA", "No answer", "no_answer", ["phone"]), ("REF", "Refused", "refused", ["door", "phone"]),
            ("MOV", "Moved", "moved", ["door", "phone"])]
INTENTIONS = ["LAB", "CON", "LD", "GRN", "RFM", "UND"]
STRENGTHS = ["1", "2", "3"]
PHASES = ("push", "ceiling", "ceiling3", "replay", "pull", "download", "rebuild")
# What --only may choose: push (with its ceilings and replay), download (and call lists), pull, rebuild.
PARTS = ("push", "download", "pull", "rebuild")


# ------------------------------------------------------------------------------------------ plumbing




class SqlMeter:
    """Counts the statements sent to the database and the time spent in the driver's execute."""

    def __init__(self, engine):
        self.count = 0
        self.seconds = 0.0
        self._started: list[float] = []
        self.log = bool(os.environ.get("BENCH_SQL_LOG"))
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self._started.append(time.perf_counter())

    def _after(self, _conn, _cursor, statement, parameters, _context, executemany):
        took = time.perf_counter() - self._started.pop()
        self.seconds += took
        self.count += 1
        if self.log:  # BENCH_SQL_LOG=1: every statement, its time and its parameter sets, to stderr
            sets = len(parameters) if executemany else 1
            print(f"    sql {took * 1000:7.1f} ms  x{sets:<4} {' '.join(statement.split())[:150]}", file=sys.stderr)

    def reading(self) -> tuple[int, float]:
        return self.count, self.seconds


class Profiler:
    """cProfile around the timed calls of one phase (--profile), printed at the end of the backend."""

    def __init__(self, phase: str | None):
        self.phase = phase
        self.profile = cProfile.Profile() if phase else None

    def wrap(self, phase: str):
        profiler = self

        class _Ctx:
            def __enter__(self):
                if profiler.phase == phase:
                    profiler.profile.enable()

            def __exit__(self, *exc):
                if profiler.phase == phase:
                    profiler.profile.disable()

        return _Ctx()

    def report(self, backend: str, out: str | None) -> None:
        if not self.profile:
            return
        if out:
            path = f"{out}.{backend.lower()}.{self.phase}.pstats"
            self.profile.dump_stats(path)
            print(f"[{backend}] profile of {self.phase} written to {path}", file=sys.stderr)
        stats = pstats.Stats(self.profile, stream=sys.stderr)
        stats.strip_dirs()
        print(f"\n[{backend}] profile of {self.phase}: top 35 by cumulative time", file=sys.stderr)
        stats.sort_stats("cumulative").print_stats(35)
        print(f"[{backend}] profile of {self.phase}: top 25 by own time", file=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)


def log(message: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------- world
@dataclass
class World:
    constituency_id: int
    campaign_id: int
    user_id: int
    elector_ids: list[int]  # every elector of the CLP, in register order
    walk_elector_ids: list[int]  # the electors of the canvasser's walk list
    walk_properties: int
    properties: int
    device_id: uuid.UUID | None = None
    token: str = ""
    seq: int = 0


def build_world(clp_electors: int, walk_electors: int, seed: int) -> World:
    """A CLP of ``clp_electors`` electors in households; a canvasser whose walk list covers the first
    properties of the register until it holds at least ``walk_electors`` electors."""
    from server.extensions import db
    from server.models import (
        Assignment,
        AssignmentItem,
        AssignmentKind,
        AssignmentUser,
        Campaign,
        CampaignCode,
        CampaignKind,
        CodeSet,
        Constituency,
        Elector,
        OutcomeMeaning,
        PollingDistrict,
        Property,
        Region,
        Role,
        Ward,
    )
    from server.services import accounts

    rng = random.Random(seed)
    region = Region(code="BENCH", name="Bench region")
    constituency = Constituency(code=CONSTITUENCY, name="Benchford", region=region)
    ward = Ward(constituency=constituency, code="W1", name="Benchford Central")
    db.session.add_all([region, constituency, ward])
    db.session.flush()
    n_districts = max(1, -(-clp_electors // PER_DISTRICT))
    districts = [PollingDistrict(ward=ward, constituency_id=constituency.id, code=f"B{chr(65 + d // 10)}{d % 10}",
                                 name=f"District {d + 1}") for d in range(n_districts)]
    db.session.add_all(districts)
    db.session.flush()

    # Households of 1-4 electors (flats in blocks now and then), district by district.
    households: list[tuple[dict, int]] = []
    made = 0
    for d_index, district in enumerate(districts):
        in_district, house = 0, 0
        postcode = f"BF{d_index % 9 + 1} {d_index % 10}{chr(65 + d_index % 26)}{chr(65 + (d_index * 7) % 26)}"
        while in_district < PER_DISTRICT and made < clp_electors:
            house += 1
            street = STREETS[(house // 40 + d_index) % len(STREETS)]
            flats = [f"Flat {f}" for f in range(1, 9)] if rng.random() < 0.05 else [None]
            for flat in flats:
                size = min(rng.choice((1, 1, 2, 2, 2, 3, 4)), PER_DISTRICT - in_district, clp_electors - made)
                if size <= 0:
                    break
                lines = ([flat, "Victoria Court"] if flat else []) + [f"{house} {street}", "Benchford"]
                households.append(({
                    "constituency_id": constituency.id, "polling_district_id": district.id,
                    "address_lines": lines, "postcode": postcode, "street": street, "house_number": house,
                    "building": "Victoria Court" if flat else None, "flat": flat,
                    "sort_key": f"{street.lower()}|{house:05d}|{flat or ''}",
                    "address_key": f"{district.code}|{flat or ''}|{house} {street}|{postcode}".lower(),
                }, size))
                in_district += size
                made += size
    property_ids: list[int] = []
    for start in range(0, len(households), CHUNK):
        rows = [h for h, _ in households[start:start + CHUNK]]
        property_ids += db.session.scalars(
            insert(Property).returning(Property.id, sort_by_parameter_order=True), rows).all()
    prefixes = {d.id: d.code for d in districts}
    electors, numbers = [], {}
    for (prop, size), property_id in zip(households, property_ids):
        district_id = prop["polling_district_id"]
        surname = rng.choice(SURNAMES)
        for _ in range(size):
            numbers[district_id] = numbers.get(district_id, 0) + 1
            electors.append({"constituency_id": constituency.id, "polling_district_id": district_id,
                             "property_id": property_id, "prefix": prefixes[district_id],
                             "number": numbers[district_id], "suffix": 0, "surname": surname,
                             "forenames": rng.choice(FORENAMES)})
    elector_ids: list[int] = []
    for start in range(0, len(electors), CHUNK):
        elector_ids += db.session.scalars(
            insert(Elector).returning(Elector.id, sort_by_parameter_order=True), electors[start:start + CHUNK]).all()

    today = date.today()
    campaign = Campaign(name="Bench general election", kind=CampaignKind.GENERAL_ELECTION,
                        starts_on=today - timedelta(days=400), ends_on=today + timedelta(days=60))
    campaign.codes = (
        [CampaignCode(code_set=CodeSet.OUTCOME, code=c, label=label, meaning=OutcomeMeaning(m), channels=ch,
                      position=i) for i, (c, label, m, ch) in enumerate(OUTCOMES)]
        + [CampaignCode(code_set=CodeSet.INTENTION, code=c, label=c, position=i) for i, c in enumerate(INTENTIONS)]
        + [CampaignCode(code_set=CodeSet.STRENGTH, code=c, label=c, position=i) for i, c in enumerate(STRENGTHS)])
    db.session.add(campaign)
    db.session.commit()
    user = accounts.create_user(email=EMAIL, name="Bench Canvasser", password=PASSWORD, role=Role.CANVASSER,
                                constituency_code=CONSTITUENCY)

    # The walk list: whole households, in register order, until it holds walk_electors electors.
    walk_props, covered = [], 0
    for (_, size), property_id in zip(households, property_ids):
        if covered >= walk_electors:
            break
        walk_props.append(property_id)
        covered += size
    now = datetime.now(timezone.utc)
    assignment = Assignment(campaign_id=campaign.id, constituency_id=constituency.id, kind=AssignmentKind.WALK,
                            name="Bench walk list", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=14))
    assignment.items = [AssignmentItem(property_id=p, position=i) for i, p in enumerate(walk_props)]
    assignment.assignees = [AssignmentUser(user_id=user.id)]
    db.session.add(assignment)
    db.session.commit()
    world = World(constituency.id, campaign.id, user.id, elector_ids, elector_ids[:covered], len(walk_props),
                  len(property_ids))
    db.session.close()
    return world


def add_call_lists(world: World, sizes: list[int]) -> list[dict]:
    """For each size, a phone banker with one call list of that many electors (from the start of the register,
    each given a phone number); returns [{"size", "email", "user_id"}]."""
    from server.extensions import db
    from server.models import Assignment, AssignmentItem, AssignmentKind, AssignmentUser, Elector, Role
    from server.services import accounts
    from sqlalchemy import String, cast, literal, update

    out = []
    biggest = max(sizes, default=0)
    if biggest:
        ids = world.elector_ids[:biggest]
        assert ids[-1] - ids[0] == len(ids) - 1, "electors are numbered in one run"
        db.session.execute(update(Elector).where(Elector.id.between(ids[0], ids[-1]))
                           .values(phone=literal("07700 ") + cast(Elector.id, String)))
        db.session.commit()
    now = datetime.now(timezone.utc)
    for size in sizes:
        email = f"caller{size}@bench.example"
        user = accounts.create_user(email=email, name=f"Bench Caller {size}", password=PASSWORD,
                                    role=Role.PHONE_BANKER, constituency_code=CONSTITUENCY)
        assignment = Assignment(campaign_id=world.campaign_id, constituency_id=world.constituency_id,
                                kind=AssignmentKind.CALL, name=f"Bench call list of {size:,}",
                                starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=14))
        assignment.assignees = [AssignmentUser(user_id=user.id)]
        db.session.add(assignment)
        db.session.flush()
        for start in range(0, size, CHUNK):
            db.session.execute(insert(AssignmentItem), [
                {"assignment_id": assignment.id, "elector_id": e, "position": start + i}
                for i, e in enumerate(world.elector_ids[start:min(size, start + CHUNK)])])
        db.session.commit()
        out.append({"size": size, "email": email, "user_id": user.id})
    db.session.close()
    return out


def login(client, world: World) -> None:
    response = client.post("/api/v1/auth/login",
                           json={"email": EMAIL, "password": PASSWORD, "device_name": "Bench phone"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    world.token = body["token"]
    world.device_id = uuid.UUID(body["device"]["id"])


# ---------------------------------------------------------------------------------------------- push
def make_batch(rng: random.Random, world: World, elector_ids: list[int]) -> list[dict]:
    """Canvass records as the app sends them: 60% spoke (most with an intention), 40% not home."""
    now = datetime.now(timezone.utc)
    out = []
    for elector_id in elector_ids:
        world.seq += 1
        spoke = rng.random() < 0.6
        data = {"campaign_id": world.campaign_id, "elector_id": elector_id, "channel": "door",
                "outcome": "SPOKE" if spoke else "NH",
                "intention": rng.choice(INTENTIONS) if spoke and rng.random() < 0.9 else None}
        if data["intention"] and rng.random() < 0.5:
            data["strength"] = rng.choice(STRENGTHS)
        out.append({"id": str(uuid.uuid4()), "seq": world.seq, "type": "contact",
                    "occurred_at": (now - timedelta(seconds=rng.randint(60, 6 * 3600))).isoformat(),
                    "base_version": None, "data": data})
    return out


def push_body(world: World, storage_id: str, mutations: list[dict]) -> bytes:
    return json.dumps({"device_id": str(world.device_id), "storage_id": storage_id, "protocol_version": 1,
                       "schema_version": 1, "device_time": datetime.now(timezone.utc).isoformat(),
                       "mutations": mutations}).encode()


def ceiling_rows(world: World, mutations: list[dict]) -> list[dict]:
    """The contact_record rows a push of these mutations stores, under new ids."""
    now = datetime.now(timezone.utc)
    rows = []
    for m in mutations:
        occurred = datetime.fromisoformat(m["occurred_at"])
        d = m["data"]
        rows.append({"id": uuid.uuid4(), "kind": "record", "campaign_id": d["campaign_id"],
                     "constituency_id": world.constituency_id, "elector_id": d["elector_id"], "channel": d["channel"],
                     "outcome": d["outcome"], "intention": d["intention"], "strength": d.get("strength"),
                     "survey_answers": {}, "notes": None, "supersedes_id": None, "occurred_at": occurred,
                     "device_occurred_at": occurred, "clock_flags": [], "received_at": now,
                     "user_id": world.user_id, "device_id": world.device_id, "source": "pwa",
                     "content_hash": uuid.uuid4().hex * 2, "import_batch_id": None})
    return rows


def three_row_ceiling(world: World, mutations: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """The three rows a push of these mutations writes per record, under new ids: its receipt, its contact
    record and its elector's state (the fold of one record, as a first contact leaves it)."""
    now = datetime.now(timezone.utc)
    contacts = ceiling_rows(world, mutations)
    receipts, states = [], []
    for m, c in zip(mutations, contacts):
        d = m["data"]
        receipts.append({"mutation_id": uuid.uuid4(), "device_id": world.device_id, "seq": m["seq"],
                         "status": "applied", "content_hash": c["content_hash"], "details": None,
                         "elector_id": None, "supersedes_id": None, "created_at": now})
        spoke = d["outcome"] == "SPOKE"
        states.append({"elector_id": d["elector_id"], "intention": d["intention"], "strength": d.get("strength"),
                       "intention_at": c["occurred_at"] if d["intention"] else None,
                       "last_contact_at": c["occurred_at"], "last_spoke_at": c["occurred_at"] if spoke else None,
                       "contacts": {"door": 1}, "do_not_contact": False, "presence": "unknown",
                       "last_door_at": c["occurred_at"], "last_door_outcome": "spoke" if spoke else "not_home",
                       "last_call_at": None, "last_call_outcome": None, "call_back_at": None, "updated_at": now})
    return receipts, contacts, states


# ---------------------------------------------------------------------------------------------- pull
def pull(client, world: World, storage_id: str, cursor: str | None = None, limit: int | None = None,
         token: str | None = None):
    params = {"storage_id": storage_id}
    if cursor:
        params["cursor"] = cursor
    if limit:
        params["limit"] = limit
    return client.get("/api/v1/sync/pull", query_string=params,
                      headers={"Authorization": f"Bearer {token or world.token}"})


class EngineClock:
    """Time spent in server.services.sync.pull (the engine and its store: the request's work below the HTTP
    layer of authentication, marshmallow and JSON), summed."""

    def __init__(self):
        import server.services.sync as service

        self.service, self.original, self.seconds = service, service.pull, 0.0

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        service.pull = timed

    def close(self) -> None:
        self.service.pull = self.original


ENGINE: EngineClock | None = None


def engine_seconds() -> float:
    return ENGINE.seconds if ENGINE else 0.0


def download(client, world: World, meter: SqlMeter, profiler: Profiler, token: str | None = None) -> dict:
    """A new device pulls everything from nothing with the default page size, until has_more is false."""
    fresh, cursor, pages, raw, zipped, changes, electors = str(uuid.uuid4()), None, 0, 0, 0, 0, 0
    c0, s0 = meter.reading()
    e0 = engine_seconds()
    elapsed = 0.0
    while True:
        with profiler.wrap("download"):
            t0 = time.perf_counter()
            response = pull(client, world, fresh, cursor, token=token)
            elapsed += time.perf_counter() - t0
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        data = response.get_data()
        pages += 1
        raw += len(data)
        zipped += len(gzip.compress(data, compresslevel=6))
        body = json.loads(data)
        changes += len(body["changes"])
        electors += sum(1 for c in body["changes"] if c["entity"] == "elector")
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    c1, s1 = meter.reading()
    return {"seconds": elapsed, "pages": pages, "raw": raw, "gzip": zipped, "changes": changes,
            "electors": electors, "sql_statements": c1 - c0, "sql_seconds": s1 - s0,
            "engine_seconds": engine_seconds() - e0}


# ------------------------------------------------------------------------------------------- events
def count_events(engine) -> int:
    from server.models import ContactRecord

    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(ContactRecord.__table__))


def grow_events(engine, world: World, target: int, rng: random.Random) -> tuple[int, float]:
    """Bulk-insert synthetic contact events until contact_record holds ``target``; (rows added, seconds)."""
    from server.models import ContactRecord

    table = ContactRecord.__table__
    need = target - count_events(engine)
    if need <= 0:
        return 0, 0.0
    now = datetime.now(timezone.utc)
    ids = world.elector_ids
    started = time.perf_counter()
    for start in range(0, need, CHUNK):
        rows = []
        for _ in range(min(CHUNK, need - start)):
            occurred = now - timedelta(seconds=rng.randint(3 * 86400, 365 * 86400))
            if rng.random() < 0.8:
                channel, outcome = "door", rng.choice(("SPOKE", "SPOKE", "NH", "NH", "REF", "MOV"))
            else:
                channel, outcome = "phone", rng.choice(("SPOKE", "NA", "NA"))
            intention = rng.choice(INTENTIONS) if outcome == "SPOKE" and rng.random() < 0.9 else None
            rows.append({"id": uuid.uuid4(), "kind": "record", "campaign_id": world.campaign_id,
                         "constituency_id": world.constituency_id, "elector_id": ids[rng.randrange(len(ids))],
                         "channel": channel, "outcome": outcome, "intention": intention,
                         "strength": rng.choice(STRENGTHS) if intention and rng.random() < 0.5 else None,
                         "survey_answers": {}, "notes": None, "supersedes_id": None, "occurred_at": occurred,
                         "device_occurred_at": occurred, "clock_flags": [],
                         "received_at": occurred + timedelta(minutes=rng.randint(1, 600)),
                         "user_id": world.user_id, "device_id": world.device_id, "source": "pwa",
                         "content_hash": None, "import_batch_id": None})
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
    seconds = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        # What autovacuum would soon do after a load this size; plans then see the real table.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE contact_record"))
    return need, seconds


# ------------------------------------------------------------------------------------------ backend
def run_backend(name: str, url: str, args, profiler: Profiler) -> dict:
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.models import ContactRecord, ElectorState, SyncReceipt

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    rng = random.Random(args.seed)
    out: dict = {"backend": name}
    with app.app_context():
        upgrade()
        engine = db.engine
        log(f"{name}: building a CLP of {args.clp_electors:,} electors")
        started = time.perf_counter()
        world = build_world(args.clp_electors, args.walk_electors, args.seed)
        out["world_seconds"] = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            # Statistics, as autovacuum keeps them on any database that has been in use for a while. Without
            # them the planner guesses that a list has one item and plans some reads accordingly.
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        out["walk_electors"], out["walk_properties"] = len(world.walk_elector_ids), world.walk_properties
        out["clp_electors"], out["properties"] = len(world.elector_ids), world.properties
        client = app.test_client()
        login(client, world)
        auth = {"Authorization": f"Bearer {world.token}"}
        global ENGINE
        ENGINE = EngineClock()
        meter = SqlMeter(engine)
        storage_id = str(uuid.uuid4())

        # Warm up the caches (compiled statements, schemas, connections), outside every measure.
        warm = make_batch(rng, world, world.elector_ids[-20:])
        assert client.post("/api/v1/sync/push", data=push_body(world, storage_id, warm),
                           content_type="application/json", headers=auth).status_code == 200
        with engine.begin() as conn:
            conn.execute(insert(ContactRecord.__table__), ceiling_rows(world, warm))
        with engine.connect() as conn:  # the three-row ceiling's statements too, rolled back
            receipts3, contacts3, states3 = three_row_ceiling(world, make_batch(rng, world, world.elector_ids[-40:-20]))
            conn.execute(insert(SyncReceipt.__table__), receipts3)
            conn.execute(insert(ContactRecord.__table__), contacts3)
            conn.execute(insert(ElectorState.__table__), states3)
            conn.rollback()
        assert pull(client, world, str(uuid.uuid4()), limit=20).status_code == 200
        # As a server process does once its app is built (server.freeze_startup_heap), and for the bench's own
        # world too, which no server holds: outside the collector, so a full collection in a timed call walks
        # only what the calls made. Before this, the world's millions of objects cost every tenth push or so a
        # pause of 120 ms that no server has.
        gc.collect()
        gc.freeze()

        if "download" in args.only:
            # Initial download: a new device pulls its whole walk list, default page size; the snapshot off
            # ("before": every page recomputes the whole entitlement) and on, alternately.
            log(f"{name}: initial download of a {len(world.walk_elector_ids):,}-elector walk list, "
                f"{args.download_repeats} x before and after")
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for _ in range(args.download_repeats):
                for label, snapshots in (("before", False), ("after", True)):
                    app.config["SYNC_PULL_SNAPSHOTS"] = snapshots
                    runs[label].append(download(client, world, meter, profiler))
            app.config["SYNC_PULL_SNAPSHOTS"] = True
            for label, measured in runs.items():
                for run in measured:
                    assert run["electors"] == len(world.walk_elector_ids), (run["electors"], len(world.walk_elector_ids))
                middle = sorted(measured, key=lambda r: r["seconds"])[len(measured) // 2]
                out[f"download_{label}"] = {**middle, "samples": [r["seconds"] for r in measured]}
                log(f"{name}: download {label}: {middle['seconds']:.2f}s, {middle['pages']} pages, "
                    f"{middle['sql_statements']} SQL statements")

        if "push" in args.only:
            # Push, with its ceiling batch by batch; then the same batches again (replay).
            log(f"{name}: push {args.batches} x {BATCH} over HTTP, and the bulk-insert ceiling")
            targets = [world.elector_ids[i % len(world.elector_ids)] for i in range(args.batches * BATCH)]
            bodies, push_s, ceil_s, statuses = [], [], [], {}
            push_sql = [0, 0.0]
            ceil3_s = []
            for b in range(args.batches):
                mutations = make_batch(rng, world, targets[b * BATCH:(b + 1) * BATCH])
                body = push_body(world, storage_id, mutations)
                bodies.append(body)
                # The three-row ceiling: the receipt, contact and elector_state rows the push is about to write
                # (new ids; the batch's electors have no state yet, as for the push), one Core executemany
                # each, one commit. It runs before the push so the states are inserts for both; its rows are
                # deleted again outside the timer.
                receipts3, contacts3, states3 = three_row_ceiling(world, mutations)
                with profiler.wrap("ceiling3"):
                    t0 = time.perf_counter()
                    with engine.begin() as conn:
                        conn.execute(insert(SyncReceipt.__table__), receipts3)
                        conn.execute(insert(ContactRecord.__table__), contacts3)
                        conn.execute(insert(ElectorState.__table__), states3)
                    ceil3_s.append(time.perf_counter() - t0)
                with engine.begin() as conn:  # not part of any measure
                    conn.execute(delete(ElectorState.__table__).where(
                        ElectorState.elector_id.in_([r["elector_id"] for r in states3])))
                    conn.execute(delete(ContactRecord.__table__).where(
                        ContactRecord.id.in_([r["id"] for r in contacts3])))
                    conn.execute(delete(SyncReceipt.__table__).where(
                        SyncReceipt.mutation_id.in_([r["mutation_id"] for r in receipts3])))
                c0, s0 = meter.reading()
                with profiler.wrap("push"):
                    t0 = time.perf_counter()
                    response = client.post("/api/v1/sync/push", data=body, content_type="application/json",
                                           headers=auth)
                    push_s.append(time.perf_counter() - t0)
                c1, s1 = meter.reading()
                push_sql[0] += c1 - c0
                push_sql[1] += s1 - s0
                assert response.status_code == 200, response.get_data(as_text=True)[:500]
                for r in response.get_json()["results"]:
                    statuses[r["status"]] = statuses.get(r["status"], 0) + 1
                rows = ceiling_rows(world, mutations)
                with profiler.wrap("ceiling"):
                    t0 = time.perf_counter()
                    with engine.begin() as conn:
                        conn.execute(insert(ContactRecord.__table__), rows)
                    ceil_s.append(time.perf_counter() - t0)
                with engine.begin() as conn:  # not part of any measure: keep the table as the pushes left it
                    conn.execute(delete(ContactRecord.__table__).where(ContactRecord.id.in_([r["id"] for r in rows])))
            records = args.batches * BATCH
            out.update(push_seconds=sum(push_s), ceiling_seconds=sum(ceil_s), ceiling3_seconds=sum(ceil3_s),
                       ceiling3_batch_seconds=ceil3_s, ceiling_batch_seconds=ceil_s, push_records=records,
                       push_statuses=statuses, push_sql_statements=push_sql[0] / args.batches,
                       push_sql_seconds=push_sql[1], push_batch_seconds=push_s)
            assert statuses.get("applied", 0) + statuses.get("conflict", 0) == records, statuses

            log(f"{name}: replay the same {args.batches} batches")
            replay_s, replay_statuses = [], {}
            c0, s0 = meter.reading()
            for body in bodies:
                with profiler.wrap("replay"):
                    t0 = time.perf_counter()
                    response = client.post("/api/v1/sync/push", data=body, content_type="application/json",
                                           headers=auth)
                    replay_s.append(time.perf_counter() - t0)
                assert response.status_code == 200
                for r in response.get_json()["results"]:
                    replay_statuses[r["status"]] = replay_statuses.get(r["status"], 0) + 1
            c1, s1 = meter.reading()
            assert replay_statuses == {"duplicate": records}, replay_statuses
            out.update(replay_seconds=sum(replay_s), replay_sql_statements=(c1 - c0) / args.batches,
                       replay_sql_seconds=s1 - s0)

        if "download" in args.only:
            # The same download once more now the pushes have given the list's electors a team activity each.
            log(f"{name}: initial download again, with the pushes' activity")
            out["download_activity"] = download(client, world, meter, profiler)
            out.update(download_seconds=out["download_activity"]["seconds"],
                       download_changes=out["download_activity"]["changes"])

            # Call lists of growing size, each a phone banker's new device downloading it from nothing.
            out["call"] = []
            if args.call_electors:
                log(f"{name}: call lists of {', '.join(f'{n:,}' for n in args.call_electors)} electors")
                for caller in add_call_lists(world, args.call_electors):
                    response = client.post("/api/v1/auth/login", json={"email": caller["email"], "password": PASSWORD,
                                                                        "device_name": "Bench caller's phone"})
                    assert response.status_code == 201, response.get_data(as_text=True)
                    token = response.get_json()["token"]
                    pull(client, world, str(uuid.uuid4()), limit=20, token=token)  # warm, outside the measure
                    run = download(client, world, meter, profiler, token=token)
                    assert run["electors"] == caller["size"], (run["electors"], caller["size"])
                    if caller["size"] == min(args.call_electors) and args.call_before:
                        app.config["SYNC_PULL_SNAPSHOTS"] = False
                        run["before"] = download(client, world, meter, profiler, token=token)
                        app.config["SYNC_PULL_SNAPSHOTS"] = True
                    out["call"].append({"size": caller["size"], **run})
                    log(f"{name}: call list of {caller['size']:,}: {run['seconds']:.2f}s, {run['pages']} pages, "
                        f"{run['seconds'] / caller['size'] * 1000 * 1000:.0f} ms per 1,000 electors")

        if "pull" in args.only:
            # Pull latency as contact_record grows.
            out["pull"] = []
            for target in args.events:
                added, seconds = grow_events(engine, world, target, rng)
                held = count_events(engine)
                if added:
                    log(f"{name}: contact_record grown by {added:,} rows in {seconds:.1f}s "
                        f"({added / seconds:,.0f} rows/s); it holds {held:,}")
                times, nexts, engine_first, engine_next = [], [], [], []
                for _ in range(args.repeats):
                    storage = str(uuid.uuid4())
                    e0 = engine_seconds()
                    with profiler.wrap("pull"):
                        t0 = time.perf_counter()
                        response = pull(client, world, storage, limit=PULL_PAGE)
                        times.append(time.perf_counter() - t0)
                    engine_first.append(engine_seconds() - e0)
                    assert response.status_code == 200
                    got = len(response.get_json()["changes"])
                    # The download's next page: served from the snapshot the first page took.
                    if response.get_json()["has_more"]:
                        e0 = engine_seconds()
                        with profiler.wrap("pull"):
                            t0 = time.perf_counter()
                            following = pull(client, world, storage, response.get_json()["cursor"], limit=PULL_PAGE)
                            nexts.append(time.perf_counter() - t0)
                        engine_next.append(engine_seconds() - e0)
                        assert following.status_code == 200
                        assert len(following.get_json()["changes"]) == min(PULL_PAGE, out["download_changes"] - got)
                assert got == min(PULL_PAGE, out["download_changes"]), got
                out["pull"].append({"events": held, "median": statistics.median(times), "times": times,
                                    "next_median": statistics.median(nexts) if nexts else None, "next_times": nexts,
                                    "engine_first": statistics.median(engine_first),
                                    "engine_next": statistics.median(engine_next) if engine_next else None,
                                    "changes": got, "grown_rows": added, "grown_seconds": seconds})
                log(f"{name}: pull of {got:,} changes with {held:,} events: "
                    f"median {statistics.median(times) * 1000:.0f} ms"
                    + (f"; the next page {statistics.median(nexts) * 1000:.0f} ms" if nexts else ""))

        # flask sync rebuild over the largest table.
        if "rebuild" in args.only and not args.no_rebuild:
            if "pull" not in args.only:
                added, seconds = grow_events(engine, world, args.events[-1], rng)
                out["pull"] = [{"events": count_events(engine), "grown_rows": added, "grown_seconds": seconds}]
            log(f"{name}: flask sync rebuild over {out['pull'][-1]['events']:,} events")
            runner = app.test_cli_runner()
            with profiler.wrap("rebuild"):
                t0 = time.perf_counter()
                result = runner.invoke(args=["sync", "rebuild"])
                seconds = time.perf_counter() - t0
            assert result.exit_code == 0, result.output
            rebuilt = int(result.output.split("Rebuilt the state of ")[1].split(" electors")[0].replace(",", ""))
            out.update(rebuild_seconds=seconds, rebuild_electors=rebuilt, rebuild_events=out["pull"][-1]["events"])
            log(f"{name}: rebuilt {rebuilt:,} electors in {seconds:.1f}s")

        ENGINE.close()
        ENGINE = None
        db.session.remove()
        engine.dispose()
    profiler.report(name, args.profile_out)
    return out


# ---------------------------------------------------------------------------------------------- report
def fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def print_report(results: list[dict], args, versions: dict) -> None:
    cols = [r["backend"] for r in results]
    r0 = results[0]

    def row(label: str, cells: list[str], aim: str = "") -> None:
        print(f"| {label} | " + " | ".join(cells) + f" | {aim} |")

    print(f"Sync benchmark, {date.today().isoformat()}: {os.cpu_count()} cores, {platform.platform()}, "
          f"Python {platform.python_version()}, SQLite {versions['sqlite']}, PostgreSQL {versions['postgresql']}\n")
    print(f"World: a CLP of {r0['clp_electors']:,} electors at {r0['properties']:,} properties; the canvasser's walk "
          f"list holds {r0['walk_electors']:,} electors at {r0['walk_properties']:,} properties. Push: "
          f"{args.batches} batches of {BATCH} contact records over HTTP (Flask test client). "
          f"Pull: {args.repeats} repeats, median.\n")
    print("| measure | " + " | ".join(cols) + " | aim |")
    print("|---|" + "---:|" * len(cols) + "---|")
    if "push_seconds" in r0:
        row("push over HTTP, records/s", [fmt_int(r["push_records"] / r["push_seconds"]) for r in results])
        row("contact-only ceiling: bulk insert of the same contact rows, records/s",
            [fmt_int(r["push_records"] / r["ceiling_seconds"]) for r in results])
        row("three-row ceiling: the same receipt, contact and elector_state rows, records/s",
            [fmt_int(r["push_records"] / r["ceiling3_seconds"]) for r in results])
        row("push ÷ contact-only ceiling", [f"{r['ceiling_seconds'] / r['push_seconds']:.2f}" for r in results])
        row("**push ÷ three-row ceiling**", [f"**{r['ceiling3_seconds'] / r['push_seconds']:.2f}**" for r in results],
            "≥ 0.5 on PostgreSQL")
        row("push: SQL statements per batch; share of time in SQL",
            [f"{r['push_sql_statements']:.0f}; {r['push_sql_seconds'] / r['push_seconds']:.0%}" for r in results])
        row("replay (all duplicates), records/s", [fmt_int(r["push_records"] / r["replay_seconds"]) for r in results])
        row("**replay ÷ first push (time)**", [f"**{r['replay_seconds'] / r['push_seconds']:.2f}**" for r in results],
            "≤ 0.33")
    if "pull" in args.only:
        for i, target in enumerate(args.events):
            row(f"pull {PULL_PAGE:,} changes, contact_record ≈ {target:,} (ms): first page; next page",
                [f"{r['pull'][i]['median'] * 1000:.0f}; "
                 + (f"{r['pull'][i]['next_median'] * 1000:.0f}" if r['pull'][i]['next_median'] else "–")
                 for r in results], "next page ≤ 60 ms" if i == 0 else "")
        for i, target in enumerate(args.events):
            row(f"  the same, engine and store only (no HTTP, marshmallow, JSON), ≈ {target:,} (ms)",
                [f"{r['pull'][i]['engine_first'] * 1000:.0f}; "
                 + (f"{r['pull'][i]['engine_next'] * 1000:.0f}" if r['pull'][i]['engine_next'] else "–")
                 for r in results])
        if len(args.events) > 1:
            def ratio(r, key):
                first, last = r["pull"][0][key], r["pull"][-1][key]
                return f"{last / first:.2f}" if first and last else "–"

            row(f"**pull: {args.events[-1]:,} ÷ {args.events[0]:,} events** (first page; next page)",
                [f"**{ratio(r, 'median')}; {ratio(r, 'next_median')}**" for r in results], "≤ 1.5 (flat)")
    if "download" in args.only:
        for label, what in (("before", "snapshot off: every page recomputes"), ("after", "snapshot")):
            row(f"initial download, {r0['walk_electors']:,} electors, {what}: seconds (pages)",
                [f"{r[f'download_{label}']['seconds']:.2f} ({r[f'download_{label}']['pages']})" for r in results],
                "≤ 0.5 s on PostgreSQL" if label == "after" else "")
        row("initial download, engine and store only: seconds, before → after",
            [f"{r['download_before']['engine_seconds']:.2f} → {r['download_after']['engine_seconds']:.2f}" for r in results])
        row(f"initial download after the pushes ({r0['download_activity']['changes']:,} changes, with activity), "
            "snapshot: seconds (pages)",
            [f"{r['download_activity']['seconds']:.2f} ({r['download_activity']['pages']})" for r in results])
        row("initial download: SQL statements, before → after",
            [f"{r['download_before']['sql_statements']} → {r['download_after']['sql_statements']}" for r in results])
        row("initial download: bytes gzipped (raw JSON), before pushes; after",
            [f"{r['download_after']['gzip'] / 1e3:.0f} KB ({r['download_after']['raw'] / 1e6:.2f} MB); "
             f"{r['download_activity']['gzip'] / 1e3:.0f} KB ({r['download_activity']['raw'] / 1e6:.2f} MB)"
             for r in results], "≤ 400 KB")
        for i, call in enumerate(r0["call"]):
            row(f"call list of {call['size']:,}: seconds (pages); ms per 1,000 electors (engine only)",
                [f"{r['call'][i]['seconds']:.2f} ({r['call'][i]['pages']}); "
                 f"{r['call'][i]['seconds'] / r['call'][i]['size'] * 1e6:.0f} "
                 f"({r['call'][i]['engine_seconds'] / r['call'][i]['size'] * 1e6:.0f})" for r in results],
                "linear" if i == len(r0["call"]) - 1 else "")
            if "before" in call:
                row(f"call list of {call['size']:,}, snapshot off: seconds (pages)",
                    [f"{r['call'][i]['before']['seconds']:.2f} ({r['call'][i]['before']['pages']})" for r in results])
        if len(r0["call"]) > 1:
            row(f"**call lists: per-1,000 cost at {r0['call'][-1]['size']:,} ÷ at {r0['call'][0]['size']:,}**",
                [f"**{(r['call'][-1]['seconds'] / r['call'][-1]['size']) / (r['call'][0]['seconds'] / r['call'][0]['size']):.2f}**"
                 for r in results], "≈ 1 (linear)")
            row(f"call list of {r0['call'][-1]['size']:,}: bytes gzipped (raw JSON)",
                [f"{r['call'][-1]['gzip'] / 1e6:.2f} MB ({r['call'][-1]['raw'] / 1e6:.1f} MB)" for r in results])
    if "rebuild_seconds" in r0:
        row(f"`flask sync rebuild`, {r0['rebuild_events']:,} events: seconds",
            [f"{r['rebuild_seconds']:.1f}" for r in results])
        row("rebuild: electors folded per second",
            [fmt_int(r["rebuild_electors"] / r["rebuild_seconds"]) for r in results])
    grown = [(r, p) for r in results for p in r.get("pull", []) if p["grown_rows"]]
    if grown:
        row("(set-up) synthetic events bulk-inserted, rows/s",
            [fmt_int(sum(p["grown_rows"] for p in r.get("pull", []))
                     / max(1e-9, sum(p["grown_seconds"] for p in r.get("pull", []))))
             for r in results])
    print()
    for r in results:
        print(f"{r['backend']}: "
              + (f"push statuses {r['push_statuses']}; push batch seconds "
                 f"{', '.join(f'{s:.2f}' for s in r['push_batch_seconds'])}; three-row ceiling batch seconds "
                 f"{', '.join(f'{s:.2f}' for s in r['ceiling3_batch_seconds'])}; contact-only ceiling batch seconds "
                 f"{', '.join(f'{s:.2f}' for s in r['ceiling_batch_seconds'])}; " if "push_seconds" in r else "")
              + (f"initial download sent "
                 f"{r['download_changes']:,} changes; download samples s, before "
              + "/".join(f"{t:.2f}" for t in r["download_before"]["samples"]) + ", after "
              + "/".join(f"{t:.2f}" for t in r["download_after"]["samples"])
              + "; call lists: " + ", ".join(f"{c['size']:,}: {c['changes']:,} changes, {c['sql_statements']} SQL"
                                            for c in r["call"]) if "download_after" in r else "")
              + ("; pull samples ms (first page / next page): "
              + "; ".join(f"{p['events']:,}: " + "/".join(f"{t * 1000:.0f}" for t in p["times"]) + " | "
                          + "/".join(f"{t * 1000:.0f}" for t in p["next_times"]) for p in r["pull"]) if "pull" in args.only else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: --events 1000,5000 --clp-electors 5000 --walk-electors 1200 "
                             "--batches 2 --repeats 3")
    parser.add_argument("--events", help="contact_record sizes for the pull measure (default 10000,100000,1000000)")
    parser.add_argument("--clp-electors", type=int, help="electors in the CLP (default 100000)")
    parser.add_argument("--walk-electors", type=int, help="electors in the walk list (default 5000)")
    parser.add_argument("--batches", type=int, help=f"push batches of {BATCH} (default 10)")
    parser.add_argument("--repeats", type=int, help="pulls per table size; the median is reported (default 7)")
    parser.add_argument("--no-rebuild", action="store_true", help="skip flask sync rebuild")
    parser.add_argument("--call-electors", help="call list sizes to download (default 5000,20000,50000; "
                                                "0 for none)")
    parser.add_argument("--call-before", action="store_true",
                        help="also download the smallest call list with the snapshot off")
    parser.add_argument("--download-repeats", type=int, help="walk list downloads before and after (default 3)")
    parser.add_argument("--only", help=f"measure only these parts, comma-separated, of {', '.join(PARTS)} (default "
                                       "all; pull implies download)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--no-postgres", action="store_true", help="time SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="time PostgreSQL only")
    parser.add_argument("--profile", choices=PHASES, help="cProfile the timed calls of one phase (to stderr)")
    parser.add_argument("--profile-out", help="also write the profile to <this>.<backend>.<phase>.pstats")
    args = parser.parse_args()
    defaults = ({"events": "1000,5000", "clp_electors": 5000, "walk_electors": 1200, "batches": 2, "repeats": 3,
                 "call_electors": "1000,2000,4000", "download_repeats": 1}
                if args.quick else
                {"events": "10000,100000,1000000", "clp_electors": 100_000, "walk_electors": 5000, "batches": 10,
                 "repeats": 7, "call_electors": "5000,20000,50000", "download_repeats": 3})
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.only = set(PARTS) if not args.only else {p.strip() for p in args.only.split(",")}
    if args.only - set(PARTS):
        raise SystemExit(f"--only: unknown part(s) {', '.join(sorted(args.only - set(PARTS)))}")
    if "pull" in args.only:
        args.only.add("download")  # a pull's expected page size comes from the download
    args.events = sorted(int(x.replace("_", "")) for x in str(args.events).split(","))
    args.call_electors = sorted(n for n in (int(x.replace("_", "")) for x in str(args.call_electors).split(",")) if n)
    if args.call_electors and args.call_electors[-1] > args.clp_electors:
        raise SystemExit("--call-electors cannot exceed --clp-electors")
    if args.walk_electors < PULL_PAGE:
        print(f"Note: a walk list under {PULL_PAGE:,} electors cannot fill a {PULL_PAGE:,}-change page.\n")

    versions = {"sqlite": sqlite3.sqlite_version, "postgresql": "not measured"}
    results = []
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="groundwork-sync-bench-"))
    if not args.no_sqlite:
        results.append(run_backend("SQLite", "sqlite:///" + str(workdir / "bench.sqlite"), args,
                                   Profiler(args.profile)))
    if not args.no_postgres:
        url = normalise_database_url(args.postgres_url)
        problem = reachable(url)
        if problem is None:
            versions["postgresql"] = reset_postgres(url)
            results.append(run_backend("PostgreSQL", url, args, Profiler(args.profile)))
        else:
            print(f"PostgreSQL skipped: {make_url(url).render_as_string()} is unreachable ({problem}).\n")
    if not results:
        raise SystemExit("Nothing measured.")
    print_report(results, args, versions)
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n(The bench ran for {time.perf_counter() - started:.0f}s.)")


if __name__ == "__main__":
    main()
