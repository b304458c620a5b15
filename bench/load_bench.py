"""Polling-day load: hundreds of phones syncing at once against the server as production runs it, driven by locust.

What it starts, as production would (the Procfile): the migrations (its ``release`` line), gunicorn with its
``web`` line and ``WEB_CONCURRENCY`` workers (the Procfile's default unless --workers), and the ``scheduler`` process (``python -m server.jobs.scheduler``,
``SCHEDULER_ENABLED`` on: it takes the database lease and runs the jobs, the monitoring rollups every minute
among them), on a PostgreSQL database of its own. The world: a CLP of a few thousand electors (two a house), one
campaign, walk lists of 50 houses each shared by several phones (5 by default), and a volunteer account per
phone. The accounts' passwords are hashed with ``pbkdf2:sha256:1000`` instead of production's scrypt (as the
test server does), so that 200 logins measure the sync, not the password hash.

The load is locust's (``locust --headless`` on bench/load_locustfile.py, in a process of its own so its CPU is
counted apart from the server's): each phone logs in, downloads its list, knocks on a door every few seconds
(compressed: a canvasser takes a minute or two), and syncs beside the canvassing as the PWA does, pushing its
outbox in bursts of 5 to 30 mutations and then pulling; about one push in ten is a replay of the same batch, as
after a lost acknowledgement.

For each run it prints, per endpoint, the count, requests per second, p50/p95/p99 and errors (a non-2xx answer,
or a push result other than applied, duplicate or conflict: docs/sync-protocol.md 7.6); records per second; CPU
seconds per process (gunicorn master and workers, the scheduler, locust, the bench database's PostgreSQL
backends, PostgreSQL's background processes, and the whole machine); what the database's backends were waiting
on, and how many connections queued for a gunicorn worker; the scheduler's job runs; and the exactly-once
check by SQL: every mutation sent has one receipt and every contact sent one row of ``contact_record``.

Then a capacity sweep, shorter runs at rising numbers of phones (50, 100, 200; 300 if 200 met the aim), to find
the load at which push p99 crosses 1 s; and then the main run again with 4 workers (``--compare-workers``),
gunicorn restarted on the same world, so that the choice of ``WEB_CONCURRENCY`` rests on a side-by-side figure.

    .venv/bin/python bench/load_bench.py                 # 200 phones for 60 s, the sweep, the 4-worker comparison (about 8 minutes)
    .venv/bin/python bench/load_bench.py --quick         # 20 phones for 15 s, no sweep: a smoke run
    .venv/bin/python bench/load_bench.py --phones 100 --duration 30 --sweep ""    # one run only

Not a test: nothing here asserts a time. docs/performance.md has the figures. WARNING: it empties the database
named by LOAD_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/groundwork_load_bench), which must
have "bench" in its name.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text

from common import FORENAMES, STREETS, SURNAMES, reachable, reset_postgres  # bench/common.py

ROOT = Path(__file__).resolve().parent.parent
# The server code to run: this checkout, or (--code) another copy of it, such as a clean export of one commit
# (git archive) when the working tree is in the middle of someone's change. Set in main(), before any import.
CODE = ROOT

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/groundwork_load_bench"
PASSWORD = "bench password, long enough"
CONSTITUENCY = "E14000998"
INTENTIONS = ["LAB", "CON", "LD", "GRN", "UND"]
AIM_P99 = 1.0  # seconds: push p99 at 200 phones
PUSH, REPLAY = "POST /sync/push", "POST /sync/push (replay)"
ACCESS_FORMAT = "gw-access %(m)s %(U)s %(s)s %(D)s"  # method, path, status, microseconds inside the worker
ENDPOINT_ORDER = ["POST /auth/login", "GET /sync/hello", "GET /sync/pull (download)", PUSH, REPLAY,
                  "GET /sync/pull (after push)"]


# -- the world ---------------------------------------------------------------------------------------------------

def build_world(url: str, accounts: int, per_list: int, houses_per_list: int, electors: int) -> dict:
    """A CLP of ``electors`` electors (two a house), one campaign, and ``accounts`` canvassers: accounts 0-4 share
    walk list 0, 5-9 list 1, and so on, so a run of N phones uses the first N accounts and N / per_list lists."""
    from server import create_app
    from server.extensions import db
    from server.models import (
        Assignment, AssignmentItem, AssignmentKind, AssignmentUser, Campaign, CampaignCode, CampaignKind, CodeSet,
        Constituency, Elector, OutcomeMeaning, PollingDistrict, Property, Region, Role, Ward,
    )
    from server.services import accounts as account_service

    lists = math.ceil(accounts / per_list)
    houses = max(electors // 2, lists * houses_per_list)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "SCHEDULER_ENABLED": False})
    with app.app_context():
        region = Region(code="LOAD", name="Load region")
        constituency = Constituency(code=CONSTITUENCY, name="Loadford", region=region)
        db.session.add_all([region, constituency])
        db.session.flush()
        districts = []
        for w in range(4):
            ward = Ward(constituency=constituency, code=f"W{w + 1}", name=f"Loadford ward {w + 1}")
            db.session.add(ward)
            db.session.flush()
            district = PollingDistrict(ward=ward, constituency_id=constituency.id, code=f"LD{w + 1}",
                                       name=f"Load {w + 1}")
            db.session.add(district)
            districts.append(district)
        db.session.flush()
        props = []
        for n in range(houses):
            district = districts[n * len(districts) // houses]
            street = STREETS[(n // 100) % len(STREETS)]
            number = n % 100 + 1
            props.append(Property(constituency_id=constituency.id, polling_district_id=district.id,
                                  address_lines=[f"{number} {street}", f"Loadford {n // 100 + 1}"],
                                  postcode=f"LD{n // 1000 + 1} {n // 100 % 10}AA", street=street,
                                  house_number=number, sort_key=f"{n // 100:03d}|{street.lower()}|{number:05d}",
                                  address_key=f"ld|{n}|{street.lower()}"))
        db.session.add_all(props)
        db.session.flush()
        people = []
        for n in range(electors):
            prop = props[n % houses]
            people.append(Elector(constituency_id=constituency.id, polling_district_id=prop.polling_district_id,
                                  property_id=prop.id, prefix=f"LD{n * len(districts) // electors + 1}",
                                  number=n + 1, surname=SURNAMES[n % len(SURNAMES)],
                                  forenames=FORENAMES[(n // 7) % len(FORENAMES)]))
        db.session.add_all(people)
        db.session.flush()
        at_home = defaultdict(list)
        for person in people:
            at_home[person.property_id].append(person.id)
        today = date.today()
        campaign = Campaign(name="Polling day", kind=CampaignKind.GENERAL_ELECTION,
                            starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=1))
        campaign.codes = [
            CampaignCode(code_set=CodeSet.OUTCOME, code="SPOKE", label="Spoke", meaning=OutcomeMeaning.SPOKE,
                         channels=["door", "phone"], position=1),
            CampaignCode(code_set=CodeSet.OUTCOME, code="NH", label="Not home", meaning=OutcomeMeaning.NOT_HOME,
                         channels=["door"], position=2),
        ] + [CampaignCode(code_set=CodeSet.INTENTION, code=c, label=c, position=i + 1)
             for i, c in enumerate(INTENTIONS)]
        db.session.add(campaign)
        db.session.commit()
        users = [account_service.create_user(email=f"phone{i}@load.bench.example", name=f"Phone {i}",
                                             password=PASSWORD, role=Role.CANVASSER, constituency_code=CONSTITUENCY)
                 for i in range(accounts)]
        now = datetime.now(timezone.utc)
        walk_lists = []
        for k in range(lists):
            houses_here = props[k * houses_per_list:(k + 1) * houses_per_list]
            walk = Assignment(campaign_id=campaign.id, constituency_id=constituency.id, kind=AssignmentKind.WALK,
                              name=f"Walk {k + 1}", starts_at=now - timedelta(hours=6), ends_at=now + timedelta(days=1))
            walk.items = [AssignmentItem(property_id=p.id, position=i) for i, p in enumerate(houses_here)]
            walk.assignees = [AssignmentUser(user_id=u.id) for u in users[k * per_list:(k + 1) * per_list]]
            db.session.add(walk)
            walk_lists.append({"name": walk.name, "doors": [[p.id, at_home[p.id]] for p in houses_here]})
        db.session.commit()
        world = {"campaign_id": campaign.id, "password": PASSWORD, "intentions": INTENTIONS, "lists": walk_lists,
                 "accounts": [{"email": u.email, "list": i // per_list} for i, u in enumerate(users)],
                 "electors": electors, "houses": houses}
        db.session.remove()
        db.engine.dispose()
    return world


# -- the processes -----------------------------------------------------------------------------------------------

def server_env(url: str, workers: int) -> dict[str, str]:
    """The environment the Procfile's lines run in: this database, a bench secret, quick password hashes (as in
    tests/server/live.py), ``workers`` gunicorn workers, the server code of CODE, and no web push keys."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-long-enough-for-anything",
           "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WEB_CONCURRENCY": str(workers),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(CODE), os.environ.get("PYTHONPATH")]))}
    for key in ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT"):
        env.pop(key, None)
    return env


def procfile(kind: str) -> str:
    line = next(l for l in (CODE / "Procfile").read_text().splitlines() if l.startswith(f"{kind}:"))
    command = line[len(kind) + 1:].strip()
    program, _, rest = command.partition(" ")
    return f"exec {Path(sys.executable).parent / program} {rest}"  # the virtual environment's gunicorn, python


def procfile_workers() -> int:
    """The number of gunicorn workers the Procfile's web line starts when WEB_CONCURRENCY is unset."""
    found = re.search(r"\$\{WEB_CONCURRENCY:-(\d+)\}", (ROOT / "Procfile").read_text())
    if not found:
        raise SystemExit("the Procfile's web line names no default WEB_CONCURRENCY")
    return int(found.group(1))


def code_identity() -> str:
    """Which server code ran: the checkout's commit and whether server/ or sync/ had uncommitted changes."""
    if CODE != ROOT:
        return f"the code in {CODE}"
    try:
        git = ["git", "--no-optional-locks", "-C", str(ROOT)]
        head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        changed = subprocess.run(git + ["status", "--porcelain", "--", "server", "sync"], capture_output=True,
                                 text=True).stdout.splitlines()
    except OSError:
        return "this checkout"
    return f"commit {head}" + (f" with {len(changed)} uncommitted changes in server/ and sync/" if changed else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        conn.close()


def start(kind: str, env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "w") as log:
        return subprocess.Popen(["bash", "-c", procfile(kind)], cwd=CODE, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_for_server(port: int, server: subprocess.Popen, log_path: Path) -> None:
    for _ in range(300):
        if server.poll() is not None:
            break
        try:
            if request(port, "GET", "/api/v1/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not start; see {log_path}")


def wait_for_lease(engine, scheduler: subprocess.Popen, log_path: Path) -> str:
    for _ in range(300):
        if scheduler.poll() is not None:
            break
        with engine.connect() as conn:
            owner = conn.execute(text("SELECT owner FROM scheduler_lease WHERE expires_at > now() "
                                      "AND released_at IS NULL")).scalar()
        if owner:
            return owner
        time.sleep(0.1)
    raise SystemExit(f"the scheduler did not take its lease; see {log_path}")


# -- measuring ---------------------------------------------------------------------------------------------------

def listen_backlog(port: int) -> int | None:
    """Connections accepted by the kernel and waiting for a gunicorn worker to take them (the listen queue)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                return int(fields[4].split(":")[1], 16)
    return None


def machine_busy() -> float:
    """Core-seconds the whole machine has spent busy since boot (/proc/stat)."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """Every half second: the CPU time of each process of each group, what the bench database's backends are
    waiting on, and the gunicorn listen queue. CPU is counted per pid from its value when first seen (0 for a
    process born during the run), so processes that come and go are counted for the part of their life seen."""

    def __init__(self, url: str, database: str, groups: dict, port: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.engine = create_engine(url, pool_size=1)
        self.database, self.groups, self.port, self.interval = database, groups, port, interval
        self.first: dict[tuple, float] = {}
        self.last: dict[tuple, float] = {}
        self.waits: Counter = Counter()
        self.wait_samples = 0
        self.backlog: list[int] = []
        self.halt = threading.Event()
        self.born: set[int] = set()

    def pg_pids(self, conn) -> tuple[list[int], list[int]]:
        rows = conn.execute(text(
            "SELECT pid, datname, backend_type, state, wait_event_type, wait_event FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid()")).all()
        ours = [r.pid for r in rows if r.datname == self.database and r.backend_type == "client backend"]
        background = [r.pid for r in rows if r.backend_type != "client backend"]
        for r in rows:
            if r.datname == self.database and r.backend_type == "client backend" and r.state != "idle":
                what = "running (CPU or I/O without a wait event)" if r.state == "active" and not r.wait_event \
                    else f"{r.state}: {r.wait_event_type}/{r.wait_event}"
                self.waits[what] += 1
        self.wait_samples += 1
        return ours, background

    def sample(self, initial: bool = False) -> None:
        with self.engine.connect() as conn:
            ours, background = self.pg_pids(conn)
        pids = {name: find() for name, find in self.groups.items()}
        pids["postgres: bench database backends"] = ours
        pids["postgres: background processes (whole server)"] = background
        for group, members in pids.items():
            for pid in members:
                try:
                    times = psutil.Process(pid).cpu_times()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                key = (group, pid)
                used = times.user + times.system
                if key not in self.first:
                    self.first[key] = used if initial else 0.0
                self.last[key] = used
        backlog = listen_backlog(self.port)
        if backlog is not None:
            self.backlog.append(backlog)

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a process that vanished mid-read, a busy database: skip this sample
                pass

    def begin(self) -> None:
        self.t0 = time.perf_counter()
        self.machine0 = machine_busy()
        self.sample(initial=True)
        self.waits.clear()
        self.wait_samples = 0
        self.start()

    def end(self) -> dict:
        self.halt.set()
        self.join()
        try:
            self.sample()
        except Exception:
            pass
        self.engine.dispose()
        cpu: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        for key, used in self.last.items():
            cpu[key[0]] += used - self.first[key]
            count[key[0]] += 1
        return {"cpu": dict(cpu), "processes": dict(count), "machine": machine_busy() - self.machine0,
                "span": time.perf_counter() - self.t0,
                "waits": dict(self.waits), "wait_samples": self.wait_samples,
                "backlog_mean": sum(self.backlog) / len(self.backlog) if self.backlog else None,
                "backlog_max": max(self.backlog) if self.backlog else None}


def inside_workers(log: str) -> dict:
    """From gunicorn's access log: per endpoint, how long requests spent inside a worker (gunicorn's %(D)s)."""
    names = {"/api/v1/auth/login": "POST /auth/login", "/api/v1/sync/hello": "GET /sync/hello",
             "/api/v1/sync/pull": "GET /sync/pull (all)", "/api/v1/sync/push": "POST /sync/push (all)"}
    times: dict[str, list[float]] = defaultdict(list)
    for line in log.splitlines():
        if not line.startswith("gw-access "):
            continue
        _, method, path, status, micros = line.split()[:5]
        times[names.get(path, f"{method} {path}")].append(int(micros) / 1e6)
    return {name: {"count": len(v), "sum": sum(v), "mean": sum(v) / len(v), "p50": percentile(sorted(v), 0.5),
                   "p95": percentile(sorted(v), 0.95), "p99": percentile(sorted(v), 0.99)}
            for name, v in times.items()}


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(share * len(sorted_values)) - 1))]


# -- one run -----------------------------------------------------------------------------------------------------

def run_stage(args, label: str, phones: int, duration: int, port: int, url: str, database: str, world_path: Path,
              server: subprocess.Popen, workers: int, scheduler: subprocess.Popen, workdir: Path,
              sent_before: int, server_log: Path) -> dict:
    out_path = workdir / f"locust-{label.replace(' ', '-')}.json"
    log_path = workdir / f"locust-{label.replace(' ', '-')}.log"
    env = {**os.environ, "LOAD_BENCH_WORLD": str(world_path), "LOAD_BENCH_OUT": str(out_path),
           "LOAD_BENCH_DOOR_SECONDS": args.door_seconds, "LOAD_BENCH_BURST": args.burst,
           "LOAD_BENCH_REPLAY_SHARE": str(args.replay_share), "LOAD_BENCH_SEED": str(args.seed)}
    spawn_rate = max(1.0, phones / args.spawn_seconds)
    command = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "load_locustfile.py"),
               "--headless", "--users", str(phones), "--spawn-rate", f"{spawn_rate:g}", "--run-time", f"{duration}s",
               "--stop-timeout", str(args.stop_timeout), "--host", f"http://127.0.0.1:{port}", "--only-summary",
               "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    locust_holder: dict = {}

    def gunicorn_pids():
        try:
            master = psutil.Process(server.pid)
            return [server.pid] + [c.pid for c in master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def locust_pids():
        process = locust_holder.get("process")
        if process is None:
            return []
        try:
            return [process.pid] + [c.pid for c in psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    groups = {f"gunicorn: master + {workers} workers": gunicorn_pids,
              "scheduler (python -m server.jobs.scheduler)": lambda: [scheduler.pid] if scheduler.poll() is None else [],
              "locust (the load generator)": locust_pids}
    engine = create_engine(url)
    with engine.connect() as conn:
        db_now = conn.execute(text("SELECT now()")).scalar()
        deadlocks0 = conn.execute(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar()
    sampler = Sampler(url, database, groups, port)
    load0 = os.getloadavg()
    log_from = server_log.stat().st_size
    with open(log_path, "w") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        locust_holder["process"] = locust
        sampler.begin()
        locust.wait(duration + args.stop_timeout + 120)
    measured = sampler.end()
    load1 = os.getloadavg()
    with open(server_log, "rb") as f:
        f.seek(log_from)
        served = inside_workers(f.read().decode("utf-8", "replace"))
    if not out_path.exists():
        raise SystemExit(f"locust wrote no results; see {log_path}")
    data = json.loads(out_path.read_text())
    window = data["window"]["stop"] - data["window"]["start"]

    # Requests, per endpoint.
    by_name: dict[str, list] = defaultdict(list)
    for name, millis, ok, _ in data["samples"]:
        by_name[name].append((millis / 1000.0, ok))
    endpoints = {}
    for name in sorted(by_name, key=lambda n: ENDPOINT_ORDER.index(n) if n in ENDPOINT_ORDER else 99):
        times = sorted(t for t, _ in by_name[name])
        endpoints[name] = {"count": len(times), "rps": len(times) / window, "mean": sum(times) / len(times),
                           "p50": percentile(times, 0.50),
                           "p95": percentile(times, 0.95), "p99": percentile(times, 0.99), "max": times[-1],
                           "errors": sum(1 for _, ok in by_name[name] if not ok)}

    ramp_end = data["window"]["start"] + phones / spawn_rate  # every phone started
    steady = sorted(millis / 1000.0 for name, millis, _, t in data["samples"] if name == PUSH and t >= ramp_end)
    steady_push = {"count": len(steady), "p50": percentile(steady, 0.5), "p95": percentile(steady, 0.95),
                   "p99": percentile(steady, 0.99)}

    # What every phone sent and what it was told; then the phone's next sync for whatever had no answer yet.
    phones_state = data["phones"]
    sent = {mid: m for p in phones_state for mid, m in p["mutations"].items()}
    answers = Counter(status for p in phones_state for status in p["answers"].values())
    stored_in_window = answers["applied"] + answers["conflict"]
    unanswered, drain = 0, Counter()
    for phone in phones_state:
        if not phone["token"]:
            continue  # never logged in, so never made anything
        left = sorted((m for mid, m in phone["mutations"].items() if mid not in phone["answers"]),
                      key=lambda m: m["seq"])
        unanswered += len(left)
        for i in range(0, len(left), 500):
            status, body = request(port, "POST", "/api/v1/sync/push", {
                "device_id": phone["device_id"], "storage_id": phone["storage_id"], "protocol_version": 1,
                "schema_version": 1, "device_time": datetime.now(timezone.utc).isoformat(),
                "mutations": left[i:i + 500]}, phone["token"])
            if status != 200:
                drain[f"HTTP {status}"] += len(left[i:i + 500])
                continue
            for result in body["results"]:
                drain[result["status"]] += 1

    # Exactly once, by SQL.
    ids = list(sent)
    time.sleep(1.0)  # backends report their statistics as they go idle
    with engine.connect() as conn:
        receipts = conn.execute(text("SELECT count(*), count(DISTINCT mutation_id) FROM sync_receipt "
                                     "WHERE mutation_id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}).one()
        records = conn.execute(text("SELECT count(*), count(DISTINCT id) FROM contact_record "
                                    "WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}).one()
        receipt_status = dict(conn.execute(text("SELECT status, count(*) FROM sync_receipt "
                                                "WHERE mutation_id = ANY(CAST(:ids AS uuid[])) GROUP BY status"),
                                           {"ids": ids}).all())
        total_records = conn.execute(text("SELECT count(*) FROM contact_record")).scalar()
        total_receipts = conn.execute(text("SELECT count(*) FROM sync_receipt")).scalar()
        deadlocks = conn.execute(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar()
        jobs = conn.execute(text(
            "SELECT job, count(*), sum(extract(epoch FROM finished_at - started_at)), "
            "max(extract(epoch FROM finished_at - started_at)), "
            "count(*) FILTER (WHERE status <> 'ok') FROM job_run WHERE started_at >= :t GROUP BY job ORDER BY job"),
            {"t": db_now}).all()
    engine.dispose()
    lost = len(ids) - records[1]
    return {
        "label": label, "phones": phones, "workers": workers, "steady_push": steady_push, "users_started": data["user_count"], "duration": duration,
        "window": window, "endpoints": endpoints, "errors": data["errors"], "results": data["results"],
        "requests": sum(e["count"] for e in endpoints.values()),
        "request_errors": sum(e["errors"] for e in endpoints.values()),
        "mutations_sent": len(ids), "stored_in_window": stored_in_window, "answers": dict(answers),
        "records_per_s": stored_in_window / window, "unanswered_at_stop": unanswered, "drain": dict(drain),
        "receipts": list(receipts), "records": list(records), "receipt_status": receipt_status,
        "lost": lost, "duplicated_receipts": receipts[0] - receipts[1], "duplicated_records": records[0] - records[1],
        "missing_receipts": len(ids) - receipts[1],
        "table_rows": {"contact_record": total_records, "sync_receipt": total_receipts,
                       "sent_so_far": sent_before + len(ids)},
        "deadlocks": (deadlocks or 0) - (deadlocks0 or 0), "jobs": [list(j) for j in jobs],
        "load": [load0, load1], "inside_workers": served, **measured,
        "server_alive": server.poll() is None, "scheduler_alive": scheduler.poll() is None,
    }


# -- the report --------------------------------------------------------------------------------------------------

def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def push_p99(stage: dict) -> float:
    return stage["endpoints"].get(PUSH, {}).get("p99", float("nan"))


def met(stage: dict) -> bool:
    return push_p99(stage) <= AIM_P99 and stage["request_errors"] == 0 and not stage["errors"] \
        and stage["lost"] == 0 and stage["duplicated_records"] == 0


def report(stage: dict, args) -> None:
    print(f"\n### {stage['phones']} phones for {stage['duration']} s, {stage['workers']} workers ({stage['label']})\n")
    print(f"Measured over {stage['window']:.1f} s (locust's run, the ramp of {args.spawn_seconds:g} s included); "
          f"{stage['users_started']} phones started; load average {stage['load'][0][0]:.1f} before, "
          f"{stage['load'][1][0]:.1f} after.\n")
    print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, e in stage["endpoints"].items():
        print(f"| {name} | {e['count']:,} | {e['rps']:.1f} | {ms(e['p50'])} | {ms(e['p95'])} | {ms(e['p99'])} | "
              f"{ms(e['max'])} | {e['errors']} |")
    print(f"| **all** | {stage['requests']:,} | {stage['requests'] / stage['window']:.1f} | | | | | "
          f"{stage['request_errors']} |")
    steady = stage["steady_push"]
    print(f"\n{PUSH} after the ramp (every phone started): {steady['count']} pushes, p50 {ms(steady['p50'])} ms, "
          f"p95 {ms(steady['p95'])} ms, p99 {ms(steady['p99'])} ms.")
    print(f"\nRecords stored (answered applied or conflict) during the run: {stage['stored_in_window']:,}, "
          f"**{stage['records_per_s']:.1f} records/s**; mutations made: {stage['mutations_sent']:,}.")
    print(f"Per-mutation results: {dict(sorted(stage['results'].items()))}.")
    print(f"Errors: {stage['errors'] or 'none'}; deadlocks PostgreSQL detected: {stage['deadlocks']}; "
          f"server alive {stage['server_alive']}, scheduler alive {stage['scheduler_alive']}.")
    print(f"Unanswered when locust stopped (in flight, or in an outbox below its burst): "
          f"{stage['unanswered_at_stop']:,}, re-sent afterwards as the app's next sync would: "
          f"{stage['drain'] or 'nothing to send'}.\n")
    print("| exactly once, by SQL (`= ANY` of every mutation id the phones made) | count |")
    print("|---|---:|")
    print(f"| mutation ids sent | {stage['mutations_sent']:,} |")
    print(f"| in `sync_receipt` (rows / distinct ids) | {stage['receipts'][0]:,} / {stage['receipts'][1]:,} |")
    print(f"| in `contact_record` (rows / distinct ids) | {stage['records'][0]:,} / {stage['records'][1]:,} |")
    print(f"| receipts by status | {stage['receipt_status']} |")
    print(f"| **lost** (sent, not in `contact_record`) | **{stage['lost']}** |")
    print(f"| **duplicated** (rows beyond one per id: receipts, records) | **{stage['duplicated_receipts']}, "
          f"{stage['duplicated_records']}** |")
    rows = stage["table_rows"]
    print(f"| whole tables: `contact_record`, `sync_receipt` rows / ids sent by all runs so far | "
          f"{rows['contact_record']:,}, {rows['sync_receipt']:,} / {rows['sent_so_far']:,} |")
    print(f"\nCPU over {stage['span']:.1f} s, from locust's start to its exit:\n")
    print("| process | CPU seconds | share of one core |")
    print("|---|---:|---:|")
    for group, seconds in sorted(stage["cpu"].items(), key=lambda kv: -kv[1]):
        print(f"| {group} ({stage['processes'][group]} processes) | {seconds:.1f} | {seconds / stage['span']:.0%} |")
    ours = sum(stage["cpu"].values())
    print(f"| whole machine ({os.cpu_count()} cores: {os.cpu_count() * stage['span']:.0f} core-seconds available) | "
          f"{stage['machine']:.1f} | {stage['machine'] / stage['span']:.0%} |")
    print(f"| of which anything else on the machine | {max(0.0, stage['machine'] - ours):.1f} | "
          f"{max(0.0, stage['machine'] - ours) / stage['span']:.0%} |")
    served = stage["inside_workers"]
    if served:
        busy = sum(v["sum"] for v in served.values())
        print(f"\nInside the gunicorn workers (access log, from the worker taking the request to its answer): the "
              f"{stage['workers']} workers were busy {busy:.1f} s of {stage['workers'] * stage['span']:.1f} s "
              f"({busy / (stage['workers'] * stage['span']):.0%}).\n")
        print("| endpoint | requests | mean ms | p50 ms | p95 ms | p99 ms | mean as the phone saw it, ms |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        seen = {"POST /sync/push (all)": [PUSH, REPLAY],
                "GET /sync/pull (all)": ["GET /sync/pull (download)", "GET /sync/pull (after push)"]}
        for name, v in sorted(served.items()):
            parts = [stage["endpoints"][n] for n in seen.get(name, [name]) if n in stage["endpoints"]]
            count = sum(p["count"] for p in parts)
            client = sum(p["mean"] * p["count"] for p in parts) / count if count else float("nan")
            print(f"| {name} | {v['count']:,} | {ms(v['mean'])} | {ms(v['p50'])} | {ms(v['p95'])} | {ms(v['p99'])} | "
                  f"{ms(client)} |")
    samples = max(1, stage["wait_samples"])
    print(f"\nBench database backends not idle, on average per sample ({stage['wait_samples']} samples, every 0.5 s): "
          + ", ".join(f"{what} {n / samples:.2f}" for what, n in sorted(stage["waits"].items(), key=lambda kv: -kv[1])[:8]))
    if stage["backlog_mean"] is not None:
        print(f"Connections waiting for a gunicorn worker (listen queue): mean {stage['backlog_mean']:.1f}, "
              f"max {stage['backlog_max']}.")
    print("Scheduler jobs run during it (job, runs, seconds in all, longest, failed): "
          + ("; ".join(f"{j} {n}, {s or 0:.2f} s, {m or 0:.2f} s, {f}" for j, n, s, m, f in stage["jobs"]) or "none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--duration", type=int, default=60, help="seconds of the main run")
    parser.add_argument("--sweep", default="50,100,200", help="phones of each sweep run, comma-separated ('' for none)")
    parser.add_argument("--sweep-duration", type=int, default=30)
    parser.add_argument("--extend", type=int, default=300,
                        help="phones of one more sweep run if the last one met the aim (0 for none)")
    parser.add_argument("--workers", type=int, default=procfile_workers(),
                        help="gunicorn workers (WEB_CONCURRENCY; default: the Procfile's, %(default)s)")
    parser.add_argument("--compare-workers", default="4",
                        help="after the sweep, the main run again with each of these numbers of workers, "
                             "comma-separated ('' for none)")
    parser.add_argument("--electors", type=int, default=6000)
    parser.add_argument("--per-list", type=int, default=5, help="phones sharing each walk list")
    parser.add_argument("--houses-per-list", type=int, default=50)
    parser.add_argument("--door-seconds", default="1,3", help="min,max seconds from one door to the next")
    parser.add_argument("--burst", default="5,30", help="min,max mutations in the outbox before a push")
    parser.add_argument("--replay-share", type=float, default=0.1, help="share of pushes that are replays")
    parser.add_argument("--spawn-seconds", type=float, default=10, help="seconds over which the phones start")
    parser.add_argument("--stop-timeout", type=int, default=15, help="seconds locust lets a running task finish")
    parser.add_argument("--quick", action="store_true", help="20 phones for 15 s, no sweep")
    parser.add_argument("--keep", action="store_true", help="keep the work files (logs, locust's raw output)")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--code", type=Path, help="directory of the server code to run (default: this checkout)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    global CODE
    CODE = (args.code or ROOT).resolve()
    sys.path.insert(0, str(CODE))
    identity = code_identity()
    from server.config import normalise_database_url
    if args.quick:
        args.phones, args.duration, args.sweep, args.extend, args.spawn_seconds = 20, 15, "", 0, 5
        args.compare_workers = ""
    sweep = [int(x) for x in args.sweep.split(",") if x.strip()]
    args.compare_workers = [int(x) for x in args.compare_workers.split(",") if x.strip()]

    raw_url = os.environ.get("LOAD_BENCH_POSTGRES_URL", DEFAULT_URL)
    problem = reachable(raw_url)
    if problem:
        raise SystemExit(f"PostgreSQL at {raw_url} is unreachable: {problem}")
    version = reset_postgres(raw_url)
    url = normalise_database_url(raw_url)
    database = url.rsplit("/", 1)[1].split("?")[0]
    workdir = Path(tempfile.mkdtemp(prefix="groundwork-load-bench-"))
    env = server_env(url, args.workers)

    started = time.perf_counter()
    subprocess.run(["bash", "-c", procfile("release")], cwd=CODE, env=env, check=True, capture_output=True)
    accounts = max([args.phones, *sweep, args.extend])
    world = build_world(url, accounts, args.per_list, args.houses_per_list, args.electors)
    world_path = workdir / "world.json"
    world_path.write_text(json.dumps(world))
    built = time.perf_counter() - started
    print(f"World built in {built:.0f} s: {args.electors:,} electors in {world['houses']:,} houses, "
          f"{len(world['lists'])} walk lists of {args.houses_per_list} houses, {accounts} canvassers "
          f"({args.per_list} a list); work files in {workdir}", file=sys.stderr)

    port = free_port()
    server_log, scheduler_log = workdir / "gunicorn.log", workdir / "scheduler.log"

    def serve(workers: int) -> subprocess.Popen:
        # The Procfile's web line as it is; gunicorn also reads GUNICORN_CMD_ARGS, used here only to add the time
        # each request spent inside its worker to the access log, to tell waiting for a worker from being served.
        process = start("web", {**env, "WEB_CONCURRENCY": str(workers), "PORT": str(port), "SCHEDULER_ENABLED": "false",
                                "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_FORMAT}'"}, server_log)
        wait_for_server(port, process, server_log)
        return process

    scheduler = start("scheduler", {**env, "SCHEDULER_ENABLED": "true"}, scheduler_log)
    server, workers = None, args.workers
    stages: list[dict] = []
    try:
        server = serve(workers)
        engine = create_engine(url)
        owner = wait_for_lease(engine, scheduler, scheduler_log)
        engine.dispose()
        print(f"gunicorn on port {port} ({workers} workers), scheduler holding the lease as {owner}",
              file=sys.stderr)

        def run(label: str, phones: int, duration: int) -> dict:
            print(f"{datetime.now(timezone.utc):%H:%M:%S} run {label}: {phones} phones for {duration} s, "
                  f"{workers} workers", file=sys.stderr)
            sent_before = sum(s["mutations_sent"] for s in stages)
            stage = run_stage(args, label, phones, duration, port, url, database, world_path, server, workers,
                              scheduler, workdir, sent_before, server_log)
            stages.append(stage)
            print(f"  push p99 {push_p99(stage) * 1000:.0f} ms, {stage['request_errors']} errors, lost "
                  f"{stage['lost']}", file=sys.stderr)
            time.sleep(3)
            return stage

        run("main", args.phones, args.duration)
        sweep_runs = [run(f"sweep {n}", n, args.sweep_duration) for n in sweep]
        if sweep_runs and args.extend and met(sweep_runs[-1]) and args.extend > sweep[-1]:
            sweep_runs.append(run(f"sweep {args.extend}", args.extend, args.sweep_duration))
        if sweep_runs and push_p99(sweep_runs[0]) > AIM_P99 and sweep[0] >= 10:
            sweep_runs.append(run(f"sweep {sweep[0] // 2}", sweep[0] // 2, args.sweep_duration))  # below the first
        for other in args.compare_workers:
            # The main run again with another number of workers, gunicorn restarted: the same world, the same
            # machine, minutes apart, so the choice of WEB_CONCURRENCY rests on a side-by-side figure.
            stop(server)
            server, workers = None, other
            server = serve(workers)
            run(f"compare {other}", args.phones, args.duration)
    finally:
        if server is not None:
            stop(server)
        stop(scheduler)

    print(f"## Polling-day load, {datetime.now():%Y-%m-%d %H:%M}, {platform.machine()}, {os.cpu_count()} cores, "
          f"PostgreSQL {version}, gunicorn workers {args.workers}"
          + "".join(f" ({other} in the comparison run)" for other in args.compare_workers)
          + f", server code: {identity}\n")
    print(f"World: {args.electors:,} electors in {world['houses']:,} houses; walk lists of {args.houses_per_list} "
          f"houses, {args.per_list} phones a list; a door every {args.door_seconds.replace(',', ' to ')} s per phone, "
          f"pushes of {args.burst.replace(',', ' to ')} mutations, {args.replay_share:.0%} of pushes replays. "
          f"Accounts hashed with pbkdf2:sha256:1000 (production: scrypt).")
    for stage in stages:
        report(stage, args)
    print("\n### Capacity: push p99 by number of phones\n")
    print("| run | workers | phones | seconds | req/s | records/s | push p50 ms | push p95 ms | **push p99 ms** | p99 after the ramp | "
          "errors | lost | machine CPU busy | aim (p99 ≤ 1 s, 0 errors) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for stage in sorted(stages, key=lambda s: (s["phones"], s["label"])):
        push = stage["endpoints"].get(PUSH, {})
        print(f"| {stage['label'].split()[0]} | {stage['workers']} | {stage['phones']} | {stage['duration']} | "
              f"{stage['requests'] / stage['window']:.1f} | "
              f"{stage['records_per_s']:.1f} | {ms(push.get('p50', float('nan')))} | "
              f"{ms(push.get('p95', float('nan')))} | **{ms(push.get('p99', float('nan')))}** | "
              f"{ms(stage['steady_push']['p99'])} | "
              f"{stage['request_errors']} | {stage['lost']} | "
              f"{stage['machine'] / (os.cpu_count() * stage['span']):.0%} | {'met' if met(stage) else 'missed'} |")
    ordered = sorted((s for s in stages if s["label"].startswith("sweep")), key=lambda s: s["phones"])
    crossing = next((s for s in ordered if push_p99(s) > AIM_P99), None)
    if ordered:
        if crossing is None:
            print(f"\nPush p99 stayed at or under 1 s up to {ordered[-1]['phones']} phones.")
        else:
            below = [s for s in ordered if s["phones"] < crossing["phones"] and push_p99(s) <= AIM_P99]
            print(f"\nPush p99 crosses 1 s between {below[-1]['phones'] if below else 0} and {crossing['phones']} "
                  f"phones ({ms(push_p99(crossing))} ms at {crossing['phones']}).")
    if args.json:
        Path(args.json).write_text(json.dumps({"stages": stages, "args": vars(args)}, default=str, indent=1))
    if args.keep or any(s["request_errors"] or s["lost"] for s in stages):
        print(f"\nLogs (gunicorn, scheduler, locust) and locust's raw output are in {workdir}.")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
