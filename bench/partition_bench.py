"""Partitioning contact_record: a plain table against declaratively partitioned ones, side by side.

Issue 13, part 6 (docs/scaling.md). Builds, in a PostgreSQL database whose name contains "bench", a table shaped
like ``contact_record`` (the same columns and the same ten indexes as migration 0001 and later) filled with
``--rows`` synthetic records, then copies the same rows into:

- ``clp``: partitioned by HASH (constituency_id), ``--partitions`` partitions (the scheme docs/scaling.md
  recommends: it keeps a constituency's records together and is Citus's distribution key);
- ``campaign``: partitioned by LIST (campaign_id), one partition per campaign (the alternative it rejects).

and times, interleaved round by round (the order rotates each round, so drift on a shared machine hits each
table alike), medians of ``--repeats`` rounds after one untimed warm-up:

- **fold**: the sync engine's per-elector history read (``SqlStore.events``: every record of 500 electors of one
  walk list, with the correlated subquery for the outcome's meaning), as the app runs it today (elector ids
  only) and with ``AND constituency_id = :clp`` added, which lets a table partitioned by constituency prune;
- **dashboard**: one CLP's figures for one campaign by week, counted from the records (the shape of the
  monitoring baseline "one CLP by ward, scanning contact_record"; the app's dashboards read the rollups);
- **new records**: what the rollups job reads each minute (the last 1,000 records by ``received_at``);
- **insert 500**: a push-sized bulk insert (one ``executemany`` of 500 rows in one transaction, committed),
  deleted again afterwards (not timed).

It also reports table and index sizes (bytes per record), register-shaped ``elector``, ``property``,
``elector_state``, ``sync_receipt`` and ``device_holding`` tables for bytes per elector, per receipt and per
entity a phone holds, EXPLAIN evidence of partition pruning, and a hot-row test of login throttling (the
statements of ``server/services/login_throttle.py``: many logins from one address against many addresses). No foreign keys (the same for every table); the data is generated with generate_series
and INSERT ... SELECT.

    .venv/bin/python bench/partition_bench.py                 # 10,000,000 records (17 minutes on 2 busy shared cores)
    .venv/bin/python bench/partition_bench.py --quick         # 200,000 records, 3 repeats (about a minute)
    .venv/bin/python bench/partition_bench.py --throttle-only # only the login-throttle hot-row test
    .venv/bin/python bench/partition_bench.py --rows 2000000 --partitions 16 --repeats 7 --keep

The database is ``PARTITION_BENCH_POSTGRES_URL`` (default
postgresql://postgres@127.0.0.1:5432/groundwork_bench_scaling). The bench drops and recreates its own tables
(``pb_*``) and drops them again at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ensure_database  # noqa: E402  (guards the "bench" name; creates the database if needed)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/groundwork_bench_scaling"

CAMPAIGNS = 4  # in time order; shares of the records below (the latest campaign is the busiest)
CAMPAIGN_SHARES = (0.10, 0.20, 0.30, 0.40)
T0 = datetime(2023, 1, 1, tzinfo=timezone.utc)
SPAN_DAYS = 4 * 365  # the records' received_at run evenly over four years
VOLUNTEERS_PER_CLP = 200

COLUMNS = """
    id uuid NOT NULL,
    campaign_id integer NOT NULL,
    constituency_id integer NOT NULL,
    elector_id integer,
    member_id integer,
    kind varchar(16) NOT NULL,
    supersedes_id uuid,
    channel varchar(16) NOT NULL,
    outcome varchar(32),
    intention varchar(32),
    strength varchar(32),
    survey_answers jsonb NOT NULL,
    notes text,
    call_back_at timestamptz,
    occurred_at timestamptz NOT NULL,
    device_occurred_at timestamptz,
    clock_flags jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    user_id integer,
    device_id uuid,
    source varchar(16) NOT NULL,
    import_batch_id integer,
    content_hash varchar(64),
    personal_removed_at timestamptz
"""
COLUMN_NAMES = [line.split()[0] for line in COLUMNS.strip().splitlines()]

# The indexes of contact_record (migration 0001 and the rollups' received_at index): name suffix, columns.
INDEXES = [
    ("campaign_id", "campaign_id"),
    ("clp_received", "constituency_id, received_at"),
    ("device_id", "device_id"),
    ("elector_occurred", "elector_id, occurred_at"),
    ("import_batch_id", "import_batch_id"),
    ("supersedes_id", "supersedes_id"),
    ("user_occurred", "user_id, occurred_at"),
    ("received_at", "received_at"),
    ("member_id", "member_id"),
]

SCHEMES = ("plain", "clp", "campaign")


def table(scheme: str) -> str:
    return f"pb_cr_{scheme}"


def log(msg: str) -> None:
    print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MB" if n >= 10 * 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MB"


# -- building ------------------------------------------------------------------------------------------------
def build(conn, rows: int, clps: int, electors: int, partitions: int, schemes: list[str]) -> dict:
    timings = {}
    per_clp = electors // clps
    span_s = SPAN_DAYS * 86400
    with conn.cursor() as cur:
        for s in SCHEMES:
            cur.execute(f"DROP TABLE IF EXISTS {table(s)} CASCADE")
        cur.execute("DROP TABLE IF EXISTS pb_campaign_code, pb_elector, pb_property, pb_elector_state, "
                    "pb_sync_receipt, pb_device_holding, pb_login_throttle CASCADE")
        cur.execute("CREATE TABLE pb_campaign_code (campaign_id integer, code_set varchar(16), code varchar(32), "
                    "meaning varchar(32), PRIMARY KEY (campaign_id, code_set, code))")
        for c in range(1, CAMPAIGNS + 1):
            for code, meaning in (("SPOKE", "spoke"), ("NH", "not_home"), ("REF", "refused"), ("NA", "no_answer")):
                cur.execute("INSERT INTO pb_campaign_code VALUES (%s, 'outcome', %s, %s)", (c, code, meaning))
        conn.commit()

        # The plain table, filled in received_at order (as the app appends), without indexes, then indexed.
        t = time.perf_counter()
        cur.execute(f"CREATE TABLE {table('plain')} ({COLUMNS})")
        cur.execute("SELECT setseed(0.42)")
        bounds = [sum(CAMPAIGN_SHARES[:k + 1]) for k in range(CAMPAIGNS)]
        campaign_case = "CASE " + " ".join(
            f"WHEN g.i <= {int(b * rows)} THEN {k + 1}" for k, b in enumerate(bounds[:-1])) + f" ELSE {CAMPAIGNS} END"
        cur.execute(f"""
            INSERT INTO {table('plain')}
            SELECT gen_random_uuid(), {campaign_case}, 1 + (x.e - 1) / {per_clp}, x.e,
                   NULL,
                   CASE WHEN x.r1 < 0.985 THEN 'record' WHEN x.r1 < 0.995 THEN 'correction' ELSE 'retraction' END,
                   CASE WHEN x.r1 >= 0.985 THEN gen_random_uuid() END,
                   CASE WHEN x.r2 < 0.84 THEN 'door' ELSE 'phone' END,
                   x.outcome,
                   CASE WHEN x.outcome = 'SPOKE' AND x.r3 < 0.9
                        THEN (ARRAY['LAB','CON','LD','GRN','UND','WNV'])[1 + floor(x.r3 * 6.6)::int] END,
                   CASE WHEN x.outcome = 'SPOKE' AND x.r3 < 0.9
                        THEN (ARRAY['strong','soft','leaning'])[1 + floor(x.r3 * 3.3)::int] END,
                   CASE WHEN x.outcome = 'SPOKE' AND x.r3 < 0.2 THEN '{{"q1": 3, "q2": "housing"}}'::jsonb
                        ELSE '{{}}'::jsonb END,
                   CASE WHEN x.r4 < 0.03 THEN 'Asked about the bins on Elm Grove; call back after six.' END,
                   NULL,
                   x.ts - make_interval(secs => floor(x.r4 * 600)),
                   x.ts - make_interval(secs => floor(x.r4 * 600)),
                   '[]'::jsonb,
                   x.ts,
                   x.u,
                   md5('device' || x.u)::uuid,
                   'pwa',
                   NULL,
                   md5(g.i::text) || md5((g.i + 7)::text),
                   NULL
            FROM generate_series(1, {rows}) g(i)
            CROSS JOIN LATERAL (
                SELECT e, r1, r2, r3, r4,
                       CASE WHEN r2 < 0.84 THEN (CASE WHEN r5 < 0.45 THEN 'SPOKE' WHEN r5 < 0.9 THEN 'NH' ELSE 'REF' END)
                            ELSE (CASE WHEN r5 < 0.40 THEN 'SPOKE' WHEN r5 < 0.9 THEN 'NA' ELSE 'REF' END) END AS outcome,
                       timestamptz '{T0.isoformat()}' + make_interval(secs => g.i::float8 * {span_s} / {rows}) AS ts,
                       ((e - 1) / {per_clp}) * {VOLUNTEERS_PER_CLP} + 1 + floor(r5 * {VOLUNTEERS_PER_CLP})::int AS u
                -- g.i makes the subquery correlated, so random() is drawn afresh for every row
                FROM (SELECT g.i AS gi, 1 + floor(random() * {electors})::int AS e, random() AS r1, random() AS r2,
                             random() AS r3, random() AS r4, random() AS r5 OFFSET 0) y
            ) x
        """)
        conn.commit()
        timings["load plain (INSERT ... SELECT generate_series)"] = time.perf_counter() - t

        for s in schemes:
            if s == "plain":
                continue
            t = time.perf_counter()
            if s == "clp":
                cur.execute(f"CREATE TABLE {table(s)} ({COLUMNS}) PARTITION BY HASH (constituency_id)")
                for p in range(partitions):
                    cur.execute(f"CREATE TABLE {table(s)}_p{p:02d} PARTITION OF {table(s)} "
                                f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {p})")
            else:
                cur.execute(f"CREATE TABLE {table(s)} ({COLUMNS}) PARTITION BY LIST (campaign_id)")
                for c in range(1, CAMPAIGNS + 1):
                    cur.execute(f"CREATE TABLE {table(s)}_c{c} PARTITION OF {table(s)} FOR VALUES IN ({c})")
            cur.execute(f"INSERT INTO {table(s)} SELECT * FROM {table('plain')}")
            conn.commit()
            timings[f"copy into {s}"] = time.perf_counter() - t

        for s in schemes:
            t = time.perf_counter()
            key = {"plain": "id", "clp": "id, constituency_id", "campaign": "id, campaign_id"}[s]
            cur.execute(f"ALTER TABLE {table(s)} ADD CONSTRAINT {table(s)}_pkey PRIMARY KEY ({key})")
            for name, cols in INDEXES:
                cur.execute(f"CREATE INDEX ix_{table(s)}_{name} ON {table(s)} ({cols})")
            conn.commit()
            conn.autocommit = True
            cur.execute(f"VACUUM (ANALYZE) {table(s)}")
            conn.autocommit = False
            timings[f"index + vacuum analyze {s}"] = time.perf_counter() - t
    return timings


def build_register(conn, electors: int, clps: int, receipts: int) -> dict:
    """Register-shaped tables, for bytes per elector (elector, property at 2 electors a home, elector_state)
    and per sync receipt; the columns and indexes of server/models/register.py, geography.py and sync.py."""
    per_clp = electors // clps
    t = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.7)")
        cur.execute("""CREATE TABLE pb_property (id integer PRIMARY KEY, constituency_id integer NOT NULL,
            polling_district_id integer NOT NULL, address_lines jsonb NOT NULL, postcode varchar(10) NOT NULL,
            uprn varchar(12) UNIQUE, street varchar(120), house_number integer, building varchar(120), flat varchar(60),
            sort_key varchar(200) NOT NULL, address_key varchar(400) NOT NULL, version integer NOT NULL)""")
        homes = electors // 2
        cur.execute(f"""INSERT INTO pb_property SELECT g, 1 + (g - 1) / {per_clp // 2}, 1 + (g - 1) / 1000,
            jsonb_build_array((g % 200) || ' ' || s.street, 'Ashworth', 'Lancashire'),
            'AB' || (g % 90 + 10) || ' ' || (g % 9) || 'CD', lpad(g::text, 12, '0'), s.street, g % 200, NULL, NULL,
            s.street || '|' || lpad((g % 200)::text, 5, '0'), lower((g % 200) || ' ' || s.street || ' ashworth ab'),
            1
            FROM generate_series(1, {homes}) g,
            LATERAL (SELECT (ARRAY['High Street','Station Road','Church Lane','Mill Lane','Victoria Road',
                                   'Manor Way','Elm Grove'])[1 + g % 7] AS street) s""")
        cur.execute("CREATE INDEX ix_pb_property_clp ON pb_property (constituency_id)")
        cur.execute("CREATE INDEX ix_pb_property_postcode ON pb_property (postcode)")
        cur.execute("""CREATE TABLE pb_elector (id integer PRIMARY KEY, constituency_id integer NOT NULL,
            polling_district_id integer NOT NULL, property_id integer NOT NULL, prefix varchar(8) NOT NULL,
            number integer NOT NULL, suffix integer NOT NULL, surname varchar(120) NOT NULL,
            forenames varchar(200) NOT NULL, markers varchar(16) NOT NULL, attainer_date date,
            status varchar(16) NOT NULL, phone varchar(32), provisional boolean NOT NULL,
            first_seen_edition_id integer, last_seen_edition_id integer, removed_at timestamptz, erased_at timestamptz,
            version integer NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)""")
        cur.execute(f"""INSERT INTO pb_elector SELECT g, 1 + (g - 1) / {per_clp}, 1 + (g - 1) / 2000, 1 + (g - 1) / 2,
            'AB' || (g % 40), g % 3000, 0,
            (ARRAY['Smith','Jones','Taylor','Brown','Williams','Wilson','Johnson','Davies','Patel','Kowalski'])[1 + g % 10],
            (ARRAY['Olivia','Amelia','Isla','Noah','Oliver','George','Muhammad','Aisha','Niamh','Arjun'])[1 + g % 10]
                || CASE WHEN g % 3 = 0 THEN ' Mary' ELSE '' END,
            '', NULL, 'active', CASE WHEN random() < 0.15 THEN '07700 900' || lpad((g % 1000)::text, 3, '0') END,
            false, 1, 1, NULL, NULL, 1, now(), now()
            FROM generate_series(1, {electors}) g""")
        cur.execute("CREATE INDEX ix_pb_elector_clp ON pb_elector (constituency_id)")
        cur.execute("CREATE INDEX ix_pb_elector_property ON pb_elector (property_id)")
        cur.execute("CREATE INDEX ix_pb_elector_pd_status ON pb_elector (polling_district_id, status)")
        cur.execute("CREATE INDEX ix_pb_elector_name ON pb_elector (constituency_id, surname, forenames)")
        cur.execute("""CREATE TABLE pb_elector_state (elector_id integer PRIMARY KEY, intention varchar(32),
            strength varchar(32), intention_at timestamptz, last_contact_at timestamptz, last_spoke_at timestamptz,
            contacts jsonb NOT NULL, do_not_contact boolean NOT NULL, presence varchar(16) NOT NULL,
            last_door_at timestamptz, last_door_outcome varchar(32), last_call_at timestamptz,
            last_call_outcome varchar(32), call_back_at timestamptz, updated_at timestamptz NOT NULL)""")
        cur.execute(f"""INSERT INTO pb_elector_state SELECT g, 'LAB', 'soft', now(), now(), now(),
            '{{"door": 3, "phone": 1}}'::jsonb, false, 'present', now(), 'spoke', NULL, NULL, NULL, now()
            FROM generate_series(1, {electors}) g""")
        cur.execute("""CREATE TABLE pb_sync_receipt (mutation_id uuid PRIMARY KEY, device_id uuid NOT NULL,
            seq bigint NOT NULL, status varchar(16) NOT NULL, content_hash varchar(64) NOT NULL, details jsonb,
            elector_id integer, supersedes_id uuid, created_at timestamptz NOT NULL)""")
        cur.execute(f"""INSERT INTO pb_sync_receipt SELECT gen_random_uuid(), md5('device' || (g % 5000))::uuid, g,
            'applied', md5(g::text) || md5((g + 7)::text), NULL, NULL, NULL, now()
            FROM generate_series(1, {receipts}) g""")
        cur.execute("CREATE INDEX ix_pb_sync_receipt_device ON pb_sync_receipt (device_id)")
        # What each phone holds (sync.py DeviceHolding): one row per entity per device storage, here
        # phones of 250 electors and their 125 homes each.
        cur.execute("""CREATE TABLE pb_device_holding (device_id uuid, storage_id uuid, entity varchar(16),
            entity_id integer, version integer NOT NULL, PRIMARY KEY (device_id, storage_id, entity, entity_id))""")
        cur.execute(f"""INSERT INTO pb_device_holding SELECT md5('device' || (g / 375))::uuid,
            md5('storage' || (g / 375))::uuid, CASE WHEN g % 375 < 250 THEN 'elector' ELSE 'property' END, g, 1
            FROM generate_series(0, {receipts} - 1) g""")
        cur.execute("CREATE INDEX ix_pb_sync_receipt_elector ON pb_sync_receipt (elector_id)")
        conn.commit()
        conn.autocommit = True
        for tname in ("pb_property", "pb_elector", "pb_elector_state", "pb_sync_receipt", "pb_device_holding"):
            cur.execute(f"VACUUM (ANALYZE) {tname}")
        conn.autocommit = False
    return {"register-shaped tables (elector, property, elector_state, sync_receipt)": time.perf_counter() - t}


# -- sizes ---------------------------------------------------------------------------------------------------
def sizes(conn, name: str) -> tuple[int, int]:
    """(heap incl. TOAST, indexes) bytes of a table, summed over its partitions if it has any."""
    with conn.cursor() as cur:
        cur.execute("""SELECT coalesce(sum(pg_table_size(c.oid)), 0), coalesce(sum(pg_indexes_size(c.oid)), 0)
                       FROM pg_class c WHERE c.relkind = 'r' AND (c.oid = %(t)s::regclass
                         OR c.oid IN (SELECT relid FROM pg_partition_tree(%(t)s) WHERE isleaf))""", {"t": name})
        heap, idx = cur.fetchone()
    conn.commit()
    return int(heap), int(idx)


def index_sizes(conn, name: str) -> list[tuple[str, int]]:
    with conn.cursor() as cur:
        cur.execute("""SELECT i.indexrelid::regclass::text, pg_relation_size(i.indexrelid) FROM pg_index i
                       WHERE i.indrelid = %s::regclass ORDER BY 2 DESC""", (name,))
        return cur.fetchall()


# -- the timed operations ------------------------------------------------------------------------------------
FOLD_SQL = """SELECT r.id, r.elector_id, r.kind, r.occurred_at, r.channel,
    (SELECT cc.meaning FROM pb_campaign_code cc WHERE cc.campaign_id = r.campaign_id AND cc.code_set = 'outcome'
       AND cc.code = r.outcome) AS meaning,
    r.intention, r.strength, r.supersedes_id, r.user_id, r.call_back_at
  FROM {t} r WHERE r.elector_id = ANY(%(ids)s::integer[]){extra}"""

DASHBOARD_SQL = """SELECT date_trunc('week', occurred_at) AS week, count(*) AS contacts,
    count(*) FILTER (WHERE channel = 'door') AS door_contacts, count(*) FILTER (WHERE channel = 'phone') AS calls,
    count(*) FILTER (WHERE outcome IN ('SPOKE', 'REF')) AS conversations,
    count(DISTINCT elector_id) FILTER (WHERE outcome = 'SPOKE') AS electors_spoken_to,
    count(DISTINCT user_id) AS volunteers
  FROM {t} WHERE campaign_id = %(campaign)s AND constituency_id = %(clp)s AND kind = 'record'
  GROUP BY 1 ORDER BY 1"""

NEW_SQL = """SELECT id, campaign_id, constituency_id, received_at FROM {t}
  WHERE received_at > %(lower)s AND received_at <= %(upper)s"""

INSERT_SQL = "INSERT INTO {t} (" + ", ".join(COLUMN_NAMES) + ") VALUES (" + ", ".join(["%s"] * len(COLUMN_NAMES)) + ")"


def fold_ids(rng: random.Random, clp: int, per_clp: int) -> list[int]:
    """500 electors of one walk list: a run of neighbouring elector ids in one CLP (as a register import numbers
    them), every other one, so the batch spans about 1,000 ids."""
    start = (clp - 1) * per_clp + 1 + rng.randrange(max(1, per_clp - 1000))
    return list(range(start, start + 1000, 2))[:500]


def insert_rows(rng: random.Random, clp: int, ids: list[int], campaign: int, now: datetime) -> list[tuple]:
    rows = []
    for e in ids:
        spoke = rng.random() < 0.6
        user = (clp - 1) * VOLUNTEERS_PER_CLP + 1 + rng.randrange(VOLUNTEERS_PER_CLP)
        rows.append((uuid.uuid4(), campaign, clp, e, None, "record", None, "door", "SPOKE" if spoke else "NH",
                     "LAB" if spoke else None, "soft" if spoke else None, Jsonb({}), None, None, now, now,
                     Jsonb([]), now, user, uuid.UUID(int=user), "pwa", None, uuid.uuid4().hex * 2, None))
    return rows


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def run_rounds(conn, schemes, repeats, clps, per_clp, rows, seed=7) -> dict:
    rng = random.Random(seed)
    span_s = SPAN_DAYS * 86400
    upper = T0 + timedelta(seconds=span_s)
    window = timedelta(seconds=1000 * span_s / rows)  # the last 1,000 records
    results: dict[tuple[str, str], list[float]] = {}
    counts: dict[tuple[str, str], int] = {}
    ops = ["fold", "fold+clp", "dashboard", "new", "insert"]
    for rnd in range(repeats + 1):  # round 0 is the warm-up, not counted
        clp = rng.randrange(1, clps + 1)
        dash_clp = rng.randrange(1, clps + 1)
        ids = fold_ids(rng, clp, per_clp)
        order = schemes[rnd % len(schemes):] + schemes[:rnd % len(schemes)]
        ins_rows = insert_rows(rng, clp, ids, CAMPAIGNS, upper + timedelta(minutes=rnd))
        for op in ops:
            for s in order:
                t = table(s)
                with conn.cursor() as cur:
                    if op in ("fold", "fold+clp"):
                        extra = " AND r.constituency_id = %(clp)s" if op == "fold+clp" else ""
                        sql = FOLD_SQL.format(t=t, extra=extra)
                        ms = timed(lambda: cur.execute(sql, {"ids": ids, "clp": clp}).fetchall())
                    elif op == "dashboard":
                        sql = DASHBOARD_SQL.format(t=t)
                        ms = timed(lambda: cur.execute(sql, {"campaign": CAMPAIGNS, "clp": dash_clp}).fetchall())
                    elif op == "new":
                        sql = NEW_SQL.format(t=t)
                        ms = timed(lambda: cur.execute(sql, {"lower": upper - window, "upper": upper}).fetchall())
                    else:
                        sql = INSERT_SQL.format(t=t)

                        def go():
                            cur.executemany(sql, ins_rows)
                            conn.commit()
                        ms = timed(go)
                    n = cur.rowcount
                    conn.commit()
                    if op == "insert":
                        cur.execute(f"DELETE FROM {t} WHERE id = ANY(%s)", ([r[0] for r in ins_rows],))
                        conn.commit()
                if rnd > 0:
                    results.setdefault((op, s), []).append(ms)
                    counts[(op, s)] = n
        if rnd > 0:
            log(f"round {rnd}/{repeats} done")
    return {"samples": results, "counts": counts}


# -- login throttling: one hot row ------------------------------------------------------------------------
THROTTLE_DDL = """CREATE TABLE pb_login_throttle (scope varchar(8), key varchar(254), failures integer NOT NULL,
    started_at timestamptz NOT NULL, last_attempt_at timestamptz NOT NULL, next_attempt_at timestamptz,
    serial integer NOT NULL, PRIMARY KEY (scope, key))"""
LOCK_SQL = """INSERT INTO pb_login_throttle VALUES (%s, %s, 0, now(), now(), NULL, 0)
    ON CONFLICT (scope, key) DO UPDATE SET serial = pb_login_throttle.serial
    RETURNING failures, started_at, last_attempt_at, next_attempt_at, serial"""
SET_SQL = """UPDATE pb_login_throttle SET failures = %s, last_attempt_at = now(), serial = %s
    WHERE scope = %s AND key = %s"""


def throttle_run(url: str, threads: int, seconds: float, shared_address: bool, hash_ms: float) -> dict:
    """Logins through the statements of server/services/login_throttle.py: reserve (lock the address row, then
    the email row, update both, commit), the password check (a sleep of hash_ms, no lock held), then the
    success (update the address row, delete the email row, commit). Each thread is a worker logging in
    different volunteers; with ``shared_address`` they all come from one address (one NAT)."""
    import threading
    stop = time.perf_counter() + seconds
    lat: list[float] = []
    held: list[float] = []
    done = [0]
    lock = threading.Lock()

    def worker(n: int) -> None:
        c = psycopg.connect(url)
        mine, mine_held, k = [], [], 0
        while time.perf_counter() < stop:
            k += 1
            address = "203.0.113.7" if shared_address else f"198.51.{n}.{k % 250}"
            email = f"volunteer{n}-{k}@example.org"
            t0 = time.perf_counter()
            with c.cursor() as cur:
                here = cur.execute(LOCK_SQL, ("address", address)).fetchone()
                acct = cur.execute(LOCK_SQL, ("email", email)).fetchone()
                cur.execute(SET_SQL, (here[0] + 1, here[4] + 1, "address", address))
                cur.execute(SET_SQL, (acct[0] + 1, acct[4] + 1, "email", email))
                c.commit()
                t1 = time.perf_counter()
                if hash_ms:
                    time.sleep(hash_ms / 1000)
                t2 = time.perf_counter()
                cur.execute("UPDATE pb_login_throttle SET failures = greatest(failures - 1, 0) "
                            "WHERE scope = 'address' AND key = %s", (address,))
                cur.execute("DELETE FROM pb_login_throttle WHERE scope = 'email' AND key = %s", (email,))
                c.commit()
                t3 = time.perf_counter()
            mine.append((t3 - t0) * 1000)
            mine_held.append(((t1 - t0) + (t3 - t2)) * 1000)
        c.close()
        with lock:
            lat.extend(mine)
            held.extend(mine_held)
            done[0] += len(mine)

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - started
    lat.sort()
    held.sort()
    return {"logins_per_s": done[0] / elapsed, "p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99)],
            "held_p50": held[len(held) // 2], "n": done[0]}


def throttle_bench(conn, url: str, seconds: float, threads: int) -> list[tuple[str, dict]]:
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS pb_login_throttle")
        cur.execute(THROTTLE_DDL)
    conn.commit()
    out = []
    for hash_ms in (0, 100):
        for shared in (False, True, False, True):  # interleaved, twice each; the second of each pair is kept
            r = throttle_run(url, threads, seconds / 2, shared, hash_ms)
            out.append((f"{'one address' if shared else 'different addresses'}, password check {hash_ms} ms", r))
    keep = {}
    for name, r in out:  # the better of the two runs of each variant (drift on a shared machine only slows)
        if name not in keep or r["logins_per_s"] > keep[name]["logins_per_s"]:
            keep[name] = r
    return list(keep.items())


# -- EXPLAIN -------------------------------------------------------------------------------------------------
def explain(conn, sql: str, params: dict) -> str:
    with conn.cursor() as cur:
        cur.execute("EXPLAIN (COSTS OFF) " + sql, params)
        text = "\n".join(r[0] for r in cur.fetchall())
    conn.commit()
    # The 500 elector ids, shortened for the report.
    return re.sub(r"'\{[0-9,]{60,}\}'", lambda m: f"'{{{m.group(0)[2:12]}…{m.group(0).count(',') + 1} ids}}'", text)


def partitions_in(plan: str, scheme: str) -> int:
    return len(set(re.findall(rf"{table(scheme)}_[pc]\d+", plan)))


def print_throttle(rows, args) -> None:
    print(f"Login throttling, the statements of `login_throttle.reserve` and `succeeded`, {args.throttle_threads} "
          f"logins at once for {args.throttle_seconds / 2:g} s per run, each variant run twice interleaved (the "
          f"better run kept). The password check is a sleep outside the transactions (0, or 100 ms like scrypt "
          f"here):\n")
    print("| variant | logins/s | login p50 (ms) | p99 (ms) | in the two transactions (waiting + holding), p50 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['logins_per_s']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['held_p50']:.1f} |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="contact records (default 10,000,000)")
    ap.add_argument("--clps", type=int, default=40, help="constituencies the records fall in (default 40)")
    ap.add_argument("--records-per-elector", type=float, default=5.0,
                    help="records per elector on average, which sets the electorate (default 5)")
    ap.add_argument("--partitions", type=int, default=16, help="hash partitions of the clp scheme (default 16)")
    ap.add_argument("--schemes", default="plain,clp,campaign", help="which tables (plain is always built)")
    ap.add_argument("--repeats", type=int, default=7, help="timed rounds after one warm-up (default 7)")
    ap.add_argument("--quick", action="store_true", help="200,000 records, 3 rounds")
    ap.add_argument("--no-register", action="store_true", help="skip the register-shaped tables")
    ap.add_argument("--keep", action="store_true", help="keep the tables afterwards")
    ap.add_argument("--explain", action="store_true", help="print every plan in full")
    ap.add_argument("--throttle-seconds", type=float, default=6.0,
                    help="seconds per variant of the login-throttle hot-row test (0 to skip; default 6)")
    ap.add_argument("--throttle-threads", type=int, default=8, help="concurrent logins in that test (default 8)")
    ap.add_argument("--throttle-only", action="store_true", help="run only the login-throttle test")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.repeats = 200_000, 3
    schemes = ["plain"] + [s for s in args.schemes.split(",") if s in SCHEMES and s != "plain"]
    url = os.environ.get("PARTITION_BENCH_POSTGRES_URL", DEFAULT_URL)
    ensure_database(url)  # refuses a name without "bench"
    electors = int(args.rows / args.records_per_elector)
    electors -= electors % args.clps
    per_clp = electors // args.clps
    # Bytes per row hardly depend on the count: the register-shaped tables stop at 500,000 rows.
    reg_electors = min(electors, 500_000) - min(electors, 500_000) % args.clps
    reg_receipts = min(args.rows, 500_000)
    started = time.perf_counter()
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    with conn.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(" on ")[0]
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SHOW shared_buffers")
        shared_buffers = cur.fetchone()[0]
    conn.commit()

    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    if args.throttle_only:
        print_throttle(throttle_bench(conn, plain_url, args.throttle_seconds, args.throttle_threads), args)
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS pb_login_throttle")
        conn.commit()
        return

    log(f"building {args.rows:,} records, {args.clps} CLPs of {per_clp:,} electors, schemes {schemes}")
    timings = build(conn, args.rows, args.clps, electors, args.partitions, schemes)
    for k, v in timings.items():
        log(f"{k}: {v:.1f} s")
    if not args.no_register:
        timings.update(build_register(conn, reg_electors, args.clps, reg_receipts))
        log("register-shaped tables built")

    # EXPLAIN before timing (plans only).
    span_s = SPAN_DAYS * 86400
    upper = T0 + timedelta(seconds=span_s)
    ids = fold_ids(random.Random(1), 3, per_clp)
    plans = {}
    for s in schemes:
        t = table(s)
        plans[("fold", s)] = explain(conn, FOLD_SQL.format(t=t, extra=""), {"ids": ids, "clp": 3})
        plans[("fold+clp", s)] = explain(conn, FOLD_SQL.format(t=t, extra=" AND r.constituency_id = %(clp)s"),
                                         {"ids": ids, "clp": 3})
        plans[("dashboard", s)] = explain(conn, DASHBOARD_SQL.format(t=t), {"campaign": CAMPAIGNS, "clp": 3})
        plans[("new", s)] = explain(conn, NEW_SQL.format(t=t), {
            "lower": upper - timedelta(seconds=1000 * span_s / args.rows), "upper": upper})

    log(f"timing: {args.repeats} rounds (+1 warm-up), interleaved")
    res = run_rounds(conn, schemes, args.repeats, args.clps, per_clp, args.rows)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pb_cr_plain")
        total_rows = cur.fetchone()[0]
    conn.commit()
    size = {s: sizes(conn, table(s)) for s in schemes}
    reg_sizes = {} if args.no_register else {
        n: sizes(conn, n) for n in ("pb_elector", "pb_property", "pb_elector_state", "pb_sync_receipt",
                                    "pb_device_holding")}
    plain_indexes = index_sizes(conn, table("plain"))

    # ---- the report (markdown, stdout) ----
    now = datetime.now(timezone.utc)
    print("## Partitioning contact_record: `bench/partition_bench.py`\n")
    print(f"{now:%Y-%m-%d %H:%M} UTC; {version}, shared_buffers {shared_buffers}; Python "
          f"{platform.python_version()}, psycopg {psycopg.__version__}; {os.cpu_count()} cores (shared).")
    print(f"Command: `bench/partition_bench.py {' '.join(sys.argv[1:])}`. {total_rows:,} records, {args.clps} CLPs of "
          f"{per_clp:,} electors ({electors:,} electors, {args.rows / electors:.1f} records each), {CAMPAIGNS} campaigns "
          f"({', '.join(f'{int(x * 100)}%' for x in CAMPAIGN_SHARES)} of the records, in time order). "
          f"`clp`: HASH (constituency_id), {args.partitions} partitions; `campaign`: LIST (campaign_id), "
          f"{CAMPAIGNS} partitions. Medians of {args.repeats} interleaved rounds after a warm-up.\n")

    names = {"fold": "fold: history of 500 electors (as the app asks: elector ids only)",
             "fold+clp": "fold: the same, with `AND constituency_id = :clp`",
             "dashboard": "dashboard: one CLP, one campaign, by week, from the records",
             "new": "rollups: the last 1,000 records by received_at",
             "insert": "insert 500 records (executemany, one commit)"}
    print("| operation | rows | " + " | ".join(f"{s} (ms)" for s in schemes) + " | " +
          " | ".join(f"{s} ÷ plain" for s in schemes if s != "plain") + " |")
    print("|---|---:|" + "---:|" * len(schemes) + "---:|" * (len(schemes) - 1))
    for op in names:
        med = {s: statistics.median(res["samples"][(op, s)]) for s in schemes}
        cells = " | ".join(f"{med[s]:,.1f}" for s in schemes)
        ratios = " | ".join(f"{med[s] / med['plain']:.2f}" for s in schemes if s != "plain")
        print(f"| {names[op]} | {res['counts'][(op, 'plain')]:,} | {cells} | {ratios} |")
    print()
    print("Samples (ms, in round order):\n")
    for op in names:
        for s in schemes:
            print(f"- {op}, {s}: " + ", ".join(f"{x:.1f}" for x in res["samples"][(op, s)]))
    print()
    print("| table | heap (incl. TOAST) | indexes | total | bytes per record: heap / indexes / total |")
    print("|---|---:|---:|---:|---|")
    for s in schemes:
        heap, idx = size[s]
        print(f"| {table(s)} | {mb(heap)} | {mb(idx)} | {mb(heap + idx)} | "
              f"{heap / total_rows:.0f} / {idx / total_rows:.0f} / {(heap + idx) / total_rows:.0f} |")
    for n, (heap, idx) in reg_sizes.items():
        count = reg_electors // 2 if n == "pb_property" else (
            reg_receipts if n in ("pb_sync_receipt", "pb_device_holding") else reg_electors)
        print(f"| {n} ({count:,} rows) | {mb(heap)} | {mb(idx)} | {mb(heap + idx)} | "
              f"{heap / count:.0f} / {idx / count:.0f} / {(heap + idx) / count:.0f} per row |")
    print()
    print("Indexes of the plain table: " + "; ".join(f"{n.replace('ix_pb_cr_plain_', '')} {mb(b)}"
                                                     for n, b in plain_indexes) + ".\n")
    print("Partitions in each plan (EXPLAIN, before the timed rounds):\n")
    print("| operation | " + " | ".join(s for s in schemes if s != "plain") + " |")
    print("|---|" + "---|" * (len(schemes) - 1))
    for op in ("fold", "fold+clp", "dashboard", "new"):
        cells = []
        for s in schemes:
            if s == "plain":
                continue
            total = args.partitions if s == "clp" else CAMPAIGNS
            cells.append(f"{partitions_in(plans[(op, s)], s)} of {total}")
        print(f"| {op} | " + " | ".join(cells) + " |")
    print()
    show = [("fold", "clp"), ("fold+clp", "clp"), ("dashboard", "clp"), ("dashboard", "campaign")]
    if args.explain:
        show = [(op, s) for op in ("fold", "fold+clp", "dashboard", "new") for s in schemes]
    for op, s in show:
        if (op, s) in plans:
            print(f"EXPLAIN (COSTS OFF), {op} on {s}:\n\n```\n{plans[(op, s)]}\n```\n")
    if args.throttle_seconds:
        log("login-throttle hot-row test")
        print_throttle(throttle_bench(conn, plain_url, args.throttle_seconds, args.throttle_threads), args)
    print("Build times (s): " + "; ".join(f"{k} {v:.0f}" for k, v in timings.items()) +
          f". Whole run: {time.perf_counter() - started:.0f} s.")

    if not args.keep:
        with conn.cursor() as cur:
            for s in SCHEMES:
                cur.execute(f"DROP TABLE IF EXISTS {table(s)} CASCADE")
            cur.execute("DROP TABLE IF EXISTS pb_campaign_code, pb_elector, pb_property, pb_elector_state, "
                        "pb_sync_receipt, pb_device_holding, pb_login_throttle CASCADE")
        conn.commit()
        log("tables dropped")
    conn.close()


if __name__ == "__main__":
    main()
