"""Faults survived: phones push through killed workers, cut connections and database restarts; none lost or doubled.

What it starts, as production would (the Procfile): the migrations (its ``release`` line), gunicorn with its ``web``
line and ``--workers`` workers, and the ``scheduler`` process, on a database of its own. Between the phones and
gunicorn sits a small TCP proxy on loopback (bench/tcp_proxy.py); on PostgreSQL a second one sits between gunicorn
(and the scheduler) and the database. The world is the load bench's (bench/load_bench.py ``build_world``): a CLP,
one campaign, walk lists shared by two phones each, a canvasser account per phone.

The phones (threads, one per volunteer's app) share out ``--records`` records (default 100,000). Each logs in,
then fills its outbox (contacts, and a few corrections and retractions of its own earlier contacts, each with a
stable mutation id and the next ``seq``) and pushes it oldest first in batches of 20 to 200, as docs/sync-protocol.md
says: an entry leaves the outbox only when a ``200`` gave a result for it; after a connection error, a timeout or
a ``5xx`` the phone sends **the same batch** again, with exponential backoff and jitter (compressed: ``--backoff``,
0.25 s doubling to 4 s, where the app waits 2 s doubling to 5 minutes); a ``401`` logs in again (a new device id,
the outbox kept); a few pushes are sent twice on purpose, as after an answer the app failed to store.

Meanwhile it injects faults, one after another, each once the phones have delivered a given share of the records
and the previous fault has been recovered from:

- ``kill``: ``kill -9`` of a gunicorn worker while it serves a push (gunicorn's master forks a new one);
- ``cut``: the phones' proxy resets every connection, and every new one for ``--outage`` seconds (no network);
- ``stall``: the next few connections through the phones' proxy have their request delivered, or their answer
  returned, only after the phone's timeout (``--timeout``): a push that reaches the server after the phone has
  already sent it again, and an acknowledgement that comes too late;
- ``dbcut`` (PostgreSQL): the database proxy resets every connection of gunicorn and the scheduler, mid-transaction,
  and refuses new ones for ``--db-outage`` seconds;
- ``restart`` and ``crash`` (PostgreSQL): a real restart of the database server (``--restart-command``, by default
  ``pg_ctlcluster 15 faultbench restart -m fast``) and an immediate stop and start (``--crash-command``: crash
  recovery), each fired while a push is in flight;
- ``lock`` (SQLite): another process holds the database's write lock for longer than the server's busy timeout.

All along, the phones' proxy also cuts 1% of connections at random (half part-way through the request, half just as
the answer starts: the server did the work and the phone never learns it) and delays bytes now and then.

At the end (the phones' outboxes empty, the proxies idle, the scheduler stopped) it checks, by SQL: every mutation
id made is in ``contact_record`` exactly once and has one receipt, nothing else is there, every id a phone saw
acknowledged (``applied``, ``conflict`` or ``duplicate``) is stored, every intention conflict made one review item;
and the derived state is right: a snapshot of ``elector_state`` (all but ``updated_at``) equals what
``flask sync rebuild`` makes of the same records (the function the command runs, in this process; ``--rebuild-cli``
runs the command itself). It reports, per fault, the time to the next successful push begun after it (and to
``/api/v1/health`` answering again, and to a killed worker's replacement), the failed attempts, retries, and
throughput.

    .venv/bin/python bench/fault_bench.py                # 100,000 records, PostgreSQL cluster 15/faultbench (port 5439)
    .venv/bin/python bench/fault_bench.py --quick        # 2,000 records, about a minute
    .venv/bin/python bench/fault_bench.py --postgres-url postgresql://postgres@127.0.0.1:5439/groundwork_fault_bench \\
        --restart-command 'pg_ctlcluster 15 faultbench restart -m fast'
    .venv/bin/python bench/fault_bench.py --quick --database-url sqlite:////tmp/fault.sqlite   # an existing database

Without ``--postgres-url`` or ``--database-url`` it uses a dedicated PostgreSQL cluster, ``15/faultbench`` on port
5439, never the shared one on 5432: it creates it if it is missing (``pg_createcluster 15 faultbench --port 5439 --
--auth=trust``, which needs root or the postgres user), starts it, restarts it during the run, and stops it again
at the end if it was stopped before. WARNING: it empties the database it is given by ``--postgres-url`` (whose name
must contain "bench"). ``--database-url`` is used as it is, not emptied (the test suite's database, which the tests
empty afterwards): it must hold no sync records yet.

Not a test of speed: nothing here asserts a time. The exit status is 1 if anything was lost, doubled or left
acknowledged-but-missing, if the derived state differs from a rebuild, or if a phone had an answer the protocol does
not allow. tests/server/test_fault_survival.py runs ``--quick`` in CI.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import psutil
from sqlalchemy import JSON, Uuid, column, create_engine, select, table, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from common import ensure_database, reachable, reset_postgres  # noqa: E402  bench/common.py
import load_bench  # noqa: E402
from load_bench import INTENTIONS, build_world, code_identity, procfile, server_env, start, stop  # noqa: E402
from tcp_proxy import FaultyProxy  # noqa: E402

CODE = ROOT  # the server code to run: this checkout, or (--code) a copy of it
CLUSTER = ("15", "faultbench", 5439)
DEFAULT_POSTGRES_URL = f"postgresql://postgres@127.0.0.1:{CLUSTER[2]}/groundwork_fault_bench"
LANDED = {"applied", "conflict", "duplicate"}  # what may answer a mutation of this load; all mean "stored"
PUSH_PATH = "/api/v1/sync/push"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


class GiveUp(Exception):
    """The bench's deadline passed, or the server answered something no retry can fix."""


# -- HTTP, as a phone does it ------------------------------------------------------------------------------------

def call(port: int, method: str, path: str, body: bytes | None, headers: dict, timeout: float):
    """(status, body bytes, headers) of one request on a connection of its own. Raises OSError (a reset, a
    refused connection, a timeout) or http.client.HTTPException (the connection closed before a whole answer)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def failure_name(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return f"connection: {type(exc).__name__}"


# -- the shared record of what happened --------------------------------------------------------------------------

class Run:
    def __init__(self, args, port: int, world: dict, t0: float):
        self.args, self.port, self.world, self.t0 = args, port, world, t0
        self.lock = threading.Lock()
        self.made: dict[str, dict] = {}             # mutation id -> mutation, every one any phone made
        self.made_count = 0
        self.first_status: dict[str, str] = {}       # the first answer each mutation had
        self.acked: set[str] = set()                 # answered applied, conflict or duplicate in a 200
        self.acked_count = 0
        self.answers: Counter = Counter()            # status -> count, every answer (replays included)
        self.first_push_duplicates = 0               # "duplicate" on a push the phone sent for the first time
        self.unexpected: Counter = Counter()         # what the protocol does not allow here
        self.attempts: list[tuple] = []              # (phone, kind, start, end, outcome, mutations)
        self.health: list[tuple] = []                # (start, end, status or None)
        self.last_ok_push_start = 0.0
        self.faults: list[dict] = []
        self.faults_done = threading.Event()
        self.stop = threading.Event()
        self.deadline = t0 + args.deadline
        self.logins = 0
        self.errors: Counter = Counter()

    def note_attempt(self, phone: int, kind: str, start: float, end: float, outcome: str, n: int) -> None:
        self.attempts.append((phone, kind, start, end, outcome, n))
        if outcome == "ok" and kind == "push":
            with self.lock:
                self.last_ok_push_start = max(self.last_ok_push_start, start)


# -- a phone -----------------------------------------------------------------------------------------------------

class Phone(threading.Thread):
    def __init__(self, run: Run, index: int, account: dict, quota: int, proxy_port: int):
        super().__init__(name=f"phone-{index}", daemon=True)
        self.run_, self.index, self.account, self.quota, self.port = run, index, account, quota, proxy_port
        self.args = run.args
        self.rng = random.Random(run.args.seed * 1_000_003 + index)
        self.doors = run.world["lists"][account["list"]]["doors"]
        self.storage_id = str(uuid.uuid4())
        self.seq = 0
        self.made = 0
        self.outbox: list[dict] = []
        self.contacts: list[tuple[str, int]] = []   # (id, elector) of contacts not retracted, for corrections
        self.token = self.device_id = None
        self.burst = self._burst()

    def _burst(self) -> int:
        return self.rng.randint(*self.args.burst)

    def run(self) -> None:
        try:
            self.login()
            self.work()
        except GiveUp as exc:
            self.run_.errors[f"phone gave up: {exc}"[:200]] += 1
        except Exception as exc:  # a defect of the bench: reported, never hidden
            self.run_.errors[f"phone crashed: {type(exc).__name__}: {exc}"[:200]] += 1
            traceback.print_exc()

    def _sleep_backoff(self, delay: float) -> float:
        time.sleep(delay * self.rng.uniform(0.5, 1.5))
        return min(self.args.backoff[1], delay * 2)

    def login(self) -> None:
        delay = self.args.backoff[0]
        body = json.dumps({"email": self.account["email"], "password": self.run_.world["password"],
                           "device_name": f"fault phone {self.index}"}).encode()
        while True:
            if time.monotonic() > self.run_.deadline:
                raise GiveUp("deadline while logging in")
            start = time.monotonic()
            try:
                status, data, headers = call(self.port, "POST", "/api/v1/auth/login", body,
                                             {"Content-Type": "application/json"}, self.args.timeout)
            except (OSError, http.client.HTTPException) as exc:
                outcome = failure_name(exc)
            else:
                if status == 201:
                    answer = json.loads(data)
                    self.token, self.device_id = answer["token"], answer["device"]["id"]
                    self.run_.note_attempt(self.index, "login", start, time.monotonic(), "ok", 0)
                    self.run_.logins += 1
                    return
                if status == 429:
                    time.sleep(float(headers.get("Retry-After", 1)))
                    continue
                if status < 500:
                    raise GiveUp(f"login answered {status}: {data[:200]!r}")
                outcome = f"http {status}"
            self.run_.note_attempt(self.index, "login", start, time.monotonic(), outcome, 0)
            delay = self._sleep_backoff(delay)

    # -- the outbox ---------------------------------------------------------------------------------------------

    def _mutation(self, type_: str, data: dict) -> dict:
        self.seq += 1
        m = {"id": str(uuid.uuid4()), "seq": self.seq, "type": type_, "occurred_at": now_iso(),
             "base_version": None, "data": data}
        self.made += 1
        with self.run_.lock:
            self.run_.made[m["id"]] = m
            self.run_.made_count += 1
        return m

    def _make_one(self) -> dict:
        campaign = self.run_.world["campaign_id"]
        roll = self.rng.random()
        if self.contacts and roll < self.args.correction_share:
            cid, elector = self.rng.choice(self.contacts)
            return self._mutation("contact_correction", {
                "supersedes": cid, "campaign_id": campaign, "elector_id": elector, "channel": "door",
                "outcome": "SPOKE", "intention": self.rng.choice(INTENTIONS)})
        if self.contacts and roll < self.args.correction_share + self.args.retraction_share:
            cid, elector = self.contacts.pop(self.rng.randrange(len(self.contacts)))
            return self._mutation("contact_retraction", {
                "supersedes": cid, "campaign_id": campaign, "elector_id": elector, "channel": "door",
                "reason": "wrong house"})
        _, electors = self.rng.choice(self.doors)
        elector = self.rng.choice(electors)
        spoke = self.rng.random() < 0.6
        m = self._mutation("contact", {
            "campaign_id": campaign, "elector_id": elector, "channel": "door",
            "outcome": "SPOKE" if spoke else "NH", "intention": self.rng.choice(INTENTIONS) if spoke else None})
        self.contacts.append((m["id"], elector))
        if len(self.contacts) > 200:
            self.contacts = self.contacts[-200:]
        return m

    def _gated(self) -> bool:
        """Keep the last few records back until every fault has been injected, so each one hits a busy server.
        Past the gate a phone still makes one record every fault gap (True: make just one): a trickle, so the
        injector sees pushes land after each fault (its sign of recovery) however fast the server took the
        rest. Without it, a server quick enough to take most records before the faults came stopped every
        phone at the gate, and the injector waited for a recovery no push could show."""
        run = self.run_
        if run.faults_done.is_set() or run.made_count < run.args.gate * run.args.records:
            return False
        run.faults_done.wait(run.args.fault_gap)
        return not run.faults_done.is_set()

    def work(self) -> None:
        while True:
            if self.made < self.quota and len(self.outbox) < self.burst:
                if self._gated():
                    self.outbox.append(self._make_one())  # a trickle while faults are still to come
                else:
                    while self.made < self.quota and len(self.outbox) < self.burst:
                        self.outbox.append(self._make_one())
            if not self.outbox:
                return
            batch = self.outbox[:self.burst]
            results = self.push(batch, "push")
            for mutation, result in zip(batch, results):
                status = result["status"]
                with self.run_.lock:
                    self.run_.answers[status] += 1
                    if mutation["id"] not in self.run_.first_status:
                        self.run_.first_status[mutation["id"]] = status
                        if status == "duplicate":
                            self.run_.first_push_duplicates += 1
                    if status in LANDED:
                        if mutation["id"] not in self.run_.acked:
                            self.run_.acked.add(mutation["id"])
                            self.run_.acked_count += 1
                    else:
                        self.run_.unexpected[f"{mutation['type']}: {status} {result.get('details')}"[:200]] += 1
            if self.rng.random() < self.args.replay_share:
                # The answer arrived but the app failed to store it: the same batch again, all duplicates.
                for mutation, result in zip(batch, self.push(batch, "replay")):
                    with self.run_.lock:
                        self.run_.answers[f"replay: {result['status']}"] += 1
                        if result["status"] != "duplicate":
                            self.run_.unexpected[f"replay of {mutation['type']}: {result['status']}"] += 1
            answered = {m["id"] for m in batch}
            self.outbox = [m for m in self.outbox if m["id"] not in answered]
            self.burst = self._burst()

    def push(self, batch: list[dict], kind: str) -> list[dict]:
        """Send the batch until a 200 answers it (the same mutations each time); its results, in order."""
        delay = self.args.backoff[0]
        while True:
            if time.monotonic() > self.run_.deadline:
                raise GiveUp("deadline while pushing")
            rest = self.outbox[len(batch):]
            body = json.dumps({
                "device_id": self.device_id, "storage_id": self.storage_id, "protocol_version": 1,
                "schema_version": 1, "device_time": now_iso(), "mutations": batch,
                "outbox": {"unsent": len(rest), "oldest_at": rest[0]["occurred_at"] if rest else None,
                           "app_version": "fault-bench"}}).encode()
            start = time.monotonic()
            try:
                status, data, headers = call(self.port, "POST", PUSH_PATH, body, {
                    "Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}, self.args.timeout)
            except (OSError, http.client.HTTPException) as exc:
                outcome = failure_name(exc)
            else:
                if status == 200:
                    try:
                        results = json.loads(data)["results"]
                    except (ValueError, KeyError):
                        results = None
                    if results is not None and [r["id"] for r in results] == [m["id"] for m in batch]:
                        self.run_.note_attempt(self.index, kind, start, time.monotonic(), "ok", len(batch))
                        return results
                    outcome = "200 not matching the batch"
                    self.run_.unexpected[outcome] += 1
                elif status == 401:
                    outcome = "http 401"
                    self.run_.note_attempt(self.index, kind, start, time.monotonic(), outcome, len(batch))
                    self.login()  # a new device id; the outbox is kept (docs/sync-protocol.md 4.4)
                    continue
                elif status == 429:
                    outcome = "http 429"
                    time.sleep(float(headers.get("Retry-After", 1)))
                elif status >= 500:
                    outcome = f"http {status}"
                else:
                    self.run_.unexpected[f"push answered {status}: {data[:160]!r}"] += 1
                    raise GiveUp(f"push answered {status}")
            self.run_.note_attempt(self.index, kind, start, time.monotonic(), outcome, len(batch))
            delay = self._sleep_backoff(delay)


# -- watching the server -----------------------------------------------------------------------------------------

class HealthWatch(threading.Thread):
    """GET /api/v1/health straight at gunicorn (not through the phones' proxy), every ``interval`` seconds."""

    def __init__(self, run: Run, port: int, interval: float):
        super().__init__(name="health", daemon=True)
        self.run_, self.port, self.interval = run, port, interval

    def run(self) -> None:
        while not self.run_.stop.is_set():
            start = time.monotonic()
            try:
                status = call(self.port, "GET", "/api/v1/health", None, {}, 5)[0]
            except TimeoutError:
                status = "timeout"  # queued behind busy workers: slow, not down
            except (OSError, http.client.HTTPException):
                status = None
            self.run_.health.append((start, time.monotonic(), status))
            self.run_.stop.wait(self.interval)


def workers_of(master: int) -> list[int]:
    try:
        return [c.pid for c in psutil.Process(master).children()]
    except psutil.NoSuchProcess:
        return []


# -- the faults --------------------------------------------------------------------------------------------------

class Faults(threading.Thread):
    def __init__(self, run: Run, plan: list[tuple[float, str]], server: subprocess.Popen, gunicorn_port: int,
                 phone_proxy: FaultyProxy, db_proxy: FaultyProxy | None, sqlite_path: str | None):
        super().__init__(name="faults", daemon=True)
        self.run_, self.plan, self.server, self.gunicorn_port = run, plan, server, gunicorn_port
        self.phone_proxy, self.db_proxy, self.sqlite_path = phone_proxy, db_proxy, sqlite_path
        self.args = run.args

    def run(self) -> None:
        try:
            for fraction, kind in self.plan:
                self._wait_for(fraction)
                if self.run_.stop.is_set():
                    break
                fault = {"kind": kind, "at_share": round(self.run_.acked_count / self.args.records, 3)}
                getattr(self, f"fire_{kind}")(fault)
                fault["t"] = fault["t0"] - self.run_.t0
                self.run_.faults.append(fault)
                print(f"  {fault['t']:6.1f} s  {kind}: {fault.get('what', '')}", file=sys.stderr)
        except Exception as exc:
            self.run_.errors[f"fault thread: {type(exc).__name__}: {exc}"[:200]] += 1
            traceback.print_exc()
        finally:
            self.run_.faults_done.set()

    def _wait_for(self, fraction: float) -> None:
        run = self.run_
        previous = run.faults[-1] if run.faults else None
        while not run.stop.is_set() and time.monotonic() < run.deadline:
            recovered = previous is None or run.last_ok_push_start > previous["t0"] + previous.get("outage", 0)
            if recovered and run.acked_count >= fraction * self.args.records:
                if previous is None or time.monotonic() - previous["t0"] >= self.args.fault_gap:
                    return
            time.sleep(0.05)

    def _push_in_flight(self, wait: float = 5.0) -> int:
        """Wait (a little) until a push has reached gunicorn and has no answer yet: then a fault is mid-push."""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            flying = self.phone_proxy.in_flight(f"POST {PUSH_PATH}")
            if flying:
                return len(flying)
            time.sleep(0.005)
        return 0

    def fire_kill(self, fault: dict) -> None:
        before = set(workers_of(self.server.pid))
        target, serving = None, ""
        end = time.monotonic() + 5
        while target is None and time.monotonic() < end:
            pushes = {c.upstream_port: c for c in self.phone_proxy.in_flight(f"POST {PUSH_PATH}")}
            for pid in before:
                try:
                    conns = psutil.Process(pid).net_connections(kind="tcp")
                except psutil.NoSuchProcess:
                    continue
                for c in conns:
                    if c.laddr and c.laddr.port == self.gunicorn_port and c.raddr and c.raddr.port in pushes:
                        target = pid
                        serving = f"while it served a push of {pushes[c.raddr.port].request_bytes:,} bytes"
                        break
                if target:
                    break
            if target is None:
                time.sleep(0.005)
        if target is None:
            target, serving = random.choice(sorted(before)), "(no push caught in a worker: a random worker)"
        fault["t0"] = time.monotonic()
        os.kill(target, signal.SIGKILL)
        fault["what"] = f"kill -9 of worker {target} {serving}"
        # gunicorn's master notices the death and forks a replacement.
        while time.monotonic() - fault["t0"] < 60:
            now = set(workers_of(self.server.pid))
            if len(now) >= len(before) and now - before:
                fault["respawned_after"] = time.monotonic() - fault["t0"]
                break
            time.sleep(0.01)

    def fire_cut(self, fault: dict) -> None:
        fault["t0"] = time.monotonic()
        cut = self.phone_proxy.cut(self.args.outage)
        fault["outage"] = self.args.outage
        fault["what"] = (f"phones' network cut: {cut} connections reset, every new one reset for "
                         f"{self.args.outage:g} s")

    def fire_stall(self, fault: dict) -> None:
        hold = self.args.timeout + self.args.stall_extra
        fault["t0"] = time.monotonic()
        self.phone_proxy.stall(self.args.stall_connections, hold)
        fault["what"] = (f"the next {self.args.stall_connections} connections held {hold:g} s (phone timeout "
                         f"{self.args.timeout:g} s): requests delivered late, answers too late")

    def fire_dbcut(self, fault: dict) -> None:
        flying = self._push_in_flight()
        fault["t0"] = time.monotonic()
        cut = self.db_proxy.cut(self.args.db_outage)
        fault["outage"] = self.args.db_outage
        fault["what"] = (f"database connections cut ({cut} reset, {flying} pushes in flight), new ones reset for "
                         f"{self.args.db_outage:g} s")

    def _command(self, fault: dict, command: str, name: str) -> None:
        flying = self._push_in_flight()
        fault["t0"] = time.monotonic()
        done = subprocess.run(command, shell=True, capture_output=True, text=True)
        fault["command_seconds"] = time.monotonic() - fault["t0"]
        fault["outage"] = fault["command_seconds"]
        fault["what"] = f"{name} ({command!r}, {fault['command_seconds']:.1f} s, {flying} pushes in flight)"
        if done.returncode:
            self.run_.errors[f"{name} failed: {done.stderr.strip()[:200]}"] += 1

    def fire_restart(self, fault: dict) -> None:
        self._command(fault, self.args.restart_command, "PostgreSQL restarted")

    def fire_crash(self, fault: dict) -> None:
        self._command(fault, self.args.crash_command, "PostgreSQL stopped -m immediate and started (crash recovery)")

    def fire_lock(self, fault: dict) -> None:
        hold = self.args.lock_seconds
        conn = sqlite3.connect(self.sqlite_path, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            fault["t0"] = time.monotonic()
            time.sleep(hold)
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        fault["outage"] = hold
        fault["what"] = f"another process held the SQLite write lock for {hold:g} s (busy timeout 5 s)"


# -- after the run: exactly once, and the derived state -----------------------------------------------------------

def plain(value):
    """A value of a row, comparable across the two snapshots (JSON text parsed, so key order does not matter)."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def elector_states(engine) -> dict[int, dict]:
    with engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM elector_state"))
        keys = list(result.keys())
        return {row.elector_id: {k: plain(v) for k, v in zip(keys, row) if k != "updated_at"} for row in result}


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "server.wsgi", *args], cwd=CODE,
                          env=env, capture_output=True, text=True)


def verify(run: Run, engine, env: dict) -> dict:
    sent = set(run.made)
    with engine.connect() as conn:
        record_ids = [str(r) for r in conn.scalars(select(column("id", Uuid())).select_from(table("contact_record")))]
        receipts = conn.execute(select(column("mutation_id", Uuid()), column("status"))
                                .select_from(table("sync_receipt"))).all()
        reviews = conn.execute(select(column("kind"), column("data", JSON())).select_from(table("review_item"))).all()
        queued = conn.execute(text("SELECT count(*) FROM reconcile_queue")).scalar()
        jobs = conn.execute(text("SELECT job, count(*), sum(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) FROM job_run "
                                 "GROUP BY job ORDER BY job")).all()
    stored = Counter(record_ids)
    receipt_ids = Counter(str(r[0]) for r in receipts)
    conflict_ids = {str(r[0]) for r in receipts if r[1] == "conflict"}
    review_of = Counter(d["records"][1] for kind, d in reviews if kind == "intention_conflict" and d)
    out = {
        "made": len(sent), "records_rows": len(record_ids), "records_distinct": len(stored),
        "lost": len(sent - set(stored)),
        "duplicated": sum(n - 1 for n in stored.values()) + len(set(stored) - sent),
        "acked": len(run.acked), "ack_missing": len(run.acked - set(stored)),
        "never_acked": len(sent - run.acked),
        "receipts_rows": len(receipts), "receipts_missing": len(sent - set(receipt_ids)),
        "receipts_duplicated": sum(n - 1 for n in receipt_ids.values()) + len(set(receipt_ids) - sent),
        "receipt_status": dict(Counter(r[1] for r in receipts)),
        "conflict_reviews": sum(review_of.values()),
        "conflicts_without_one_review": sum(1 for i in conflict_ids if review_of[i] != 1)
                                        + len(set(review_of) - conflict_ids),
        "reconcile_queue_at_end": queued, "jobs": [list(j) for j in jobs],
    }
    if queued:
        done = flask(env, "sync", "reconcile-queued")
        out["reconcile_queued"] = done.stdout.strip() or done.stderr.strip()[-300:]
    before = elector_states(engine)
    started = time.monotonic()
    if run.args.rebuild_cli:
        done = flask(env, "sync", "rebuild")
        rebuilt = done.returncode == 0
        out["rebuild_output"] = (done.stdout.strip() or done.stderr.strip())[-300:]
    else:
        # What `flask sync rebuild` runs (server/cli/sync.py), in this process: the command's start-up is
        # seconds of the quick run's minute.
        from server import create_app
        from server.extensions import db
        from server.services import sync

        app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SCHEDULER_ENABLED": False})
        with app.app_context():
            out["rebuild_output"] = f"rebuilt the state of {sync.rebuild():,} electors"
            db.session.remove()
            db.engine.dispose()
        rebuilt = True
    out["rebuild_seconds"] = time.monotonic() - started
    after = elector_states(engine)
    differing = sorted(e for e in set(before) | set(after) if before.get(e) != after.get(e))
    out["elector_states"] = len(after)
    out["rebuild_equal"] = rebuilt and not differing
    out["rebuild_differing"] = len(differing)
    out["rebuild_examples"] = [{"elector_id": e, "incremental": before.get(e), "rebuild": after.get(e)}
                               for e in differing[:3]]
    return out


# -- recovery, from the log of attempts -------------------------------------------------------------------------

def recovery(run: Run) -> list[dict]:
    pushes = sorted((a for a in run.attempts if a[1] in ("push", "replay")), key=lambda a: a[2])
    health = sorted(run.health)
    faults = sorted(run.faults, key=lambda f: f["t0"])
    rows = []
    for i, f in enumerate(faults):
        t0 = f["t0"]
        horizon = faults[i + 1]["t0"] if i + 1 < len(faults) else t0 + 120
        ok = [a for a in pushes if a[2] >= t0 and a[4] == "ok"]
        first_ok = (ok[0][3] - t0) if ok else None
        window_end = min(horizon, t0 + (first_ok if first_ok is not None else 0) + f.get("outage", 0))
        failed = Counter(a[4] for a in pushes if t0 <= a[3] <= window_end and a[4] != "ok")
        # /health failing (503: the database unreachable; or the connection refused or reset) soon after the
        # fault: from then until it answers 200. A probe left without an answer for 5 s in the queue of busy
        # workers is slow, not down; those are counted apart.
        soon = min(horizon, window_end + 5)
        down = next((h for h in health if t0 <= h[0] < soon and h[2] not in (200, "timeout")), None)
        if down is None:
            health_down = None
        else:
            up = next((h for h in health if h[0] >= down[0] and h[2] == 200), None)
            health_down = (up[1] - t0) if up else float("inf")
        rows.append({**f, "first_push_ok_after": first_ok, "health_back_after": health_down,
                     "failed_attempts": dict(failed)})
    return rows


# -- setting up ------------------------------------------------------------------------------------------------

def ensure_cluster(version: str, name: str, port: int) -> bool:
    """Create and start the dedicated cluster if need be; True if this bench started it (it stops it again)."""
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True).stdout.split("\n")
    line = next((l.split() for l in listing if l.split()[:2] == [version, name]), None)
    if line is None:
        print(f"Creating PostgreSQL cluster {version}/{name} on port {port} (trust authentication, loopback only)",
              file=sys.stderr)
        subprocess.run(["pg_createcluster", version, name, "--port", str(port), "--", "--auth=trust"], check=True,
                       capture_output=True)
        line = [version, name, str(port), "down"]
    if line[3] == "online":
        return False
    subprocess.run(["pg_ctlcluster", version, name, "start"], check=True)
    return True


def plan_of(faults: list[str], first: float, last: float) -> list[tuple[float, str]]:
    if not faults:
        return []
    if len(faults) == 1:
        return [(first, faults[0])]
    step = (last - first) / (len(faults) - 1)
    return [(first + i * step, kind) for i, kind in enumerate(faults)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records the phones make and push in all")
    parser.add_argument("--phones", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--per-list", type=int, default=2, help="phones sharing each walk list")
    parser.add_argument("--houses-per-list", type=int, default=250)
    parser.add_argument("--burst", default="20,200", help="min,max mutations per push")
    parser.add_argument("--faults", help="comma-separated: kill, cut, stall, dbcut, restart, crash, lock "
                                         "(default depends on the mode and the database)")
    parser.add_argument("--timeout", type=float, default=10.0, help="the phones' request timeout, seconds")
    parser.add_argument("--backoff", default="0.25,4", help="first and longest wait between retries, seconds")
    parser.add_argument("--outage", type=float, default=2.0, help="seconds the phones' network stays cut")
    parser.add_argument("--db-outage", type=float, default=3.0, help="seconds the database proxy refuses gunicorn")
    parser.add_argument("--lock-seconds", type=float, default=7.0, help="SQLite: seconds the write lock is held")
    parser.add_argument("--stall-connections", type=int, default=6)
    parser.add_argument("--stall-extra", type=float, default=1.0, help="the stall holds bytes timeout + this")
    parser.add_argument("--drop-share", type=float, default=0.01, help="connections the phones' proxy cuts at random")
    parser.add_argument("--delay-share", type=float, default=0.05, help="chunks the phones' proxy delays")
    parser.add_argument("--max-delay", type=float, default=0.05, help="longest random delay of a chunk, seconds")
    parser.add_argument("--replay-share", type=float, default=0.03, help="pushes sent twice on purpose")
    parser.add_argument("--correction-share", type=float, default=0.05)
    parser.add_argument("--retraction-share", type=float, default=0.02)
    parser.add_argument("--fault-gap", type=float, default=3.0, help="least seconds between two faults")
    parser.add_argument("--gate", type=float, default=0.95,
                        help="share of the records made before the phones slow to one record per fault gap "
                             "until the last fault")
    parser.add_argument("--deadline", type=float, default=1800, help="seconds before the phones give up")
    parser.add_argument("--postgres-url", help="a PostgreSQL database to empty and use (its name must contain "
                                               "'bench'); default: the dedicated cluster's " + DEFAULT_POSTGRES_URL)
    parser.add_argument("--database-url", help="an existing database to use as it is, not emptied (SQLite or "
                                               "PostgreSQL; the test suite's): it must hold no sync records")
    parser.add_argument("--restart-command", help="restarts the database server (default, on the dedicated "
                                                  "cluster: pg_ctlcluster 15 faultbench restart -m fast)")
    parser.add_argument("--crash-command", help="stops the database server at once and starts it again (default, "
                                                "on the dedicated cluster: stop -m immediate, then start)")
    parser.add_argument("--no-scheduler", action="store_true", help="do not run the scheduler process")
    parser.add_argument("--rebuild-cli", action="store_true",
                        help="run `flask sync rebuild` as a command (default: the function it runs, in this process)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 records, 8 phones, 3 workers, one of each fault but restart: about a minute")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work files (logs)")
    parser.add_argument("--code", type=Path, help="directory of the server code to run (default: this checkout), "
                                                  "such as a copy with a fix to try")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    global CODE
    CODE = (args.code or ROOT).resolve()
    sys.path.insert(0, str(CODE))
    load_bench.CODE = CODE  # its procfile() and start() run the Procfile's lines from there
    if args.quick:
        args.records, args.phones, args.workers, args.houses_per_list, args.burst = 2000, 8, 3, 25, "20,100"
        args.timeout, args.outage, args.db_outage, args.stall_connections = 8.0, 1.0, 1.5, 4
        args.backoff, args.fault_gap, args.deadline = "0.1,2", 1.0, 150
    args.burst = tuple(int(x) for x in args.burst.split(","))
    args.backoff = tuple(float(x) for x in args.backoff.split(","))

    # The database.
    started_cluster = False
    dedicated = not args.postgres_url and not args.database_url
    if dedicated:
        started_cluster = ensure_cluster(*CLUSTER)
        args.postgres_url = DEFAULT_POSTGRES_URL
        v, n, _ = CLUSTER
        args.restart_command = args.restart_command or f"pg_ctlcluster {v} {n} restart -m fast"
        args.crash_command = (args.crash_command
                              or f"pg_ctlcluster {v} {n} stop -m immediate && pg_ctlcluster {v} {n} start")
    from server.config import normalise_database_url
    if args.database_url:
        url = normalise_database_url(args.database_url)
        if make_url(url).get_backend_name() == "postgresql":
            ensure_database(args.database_url) if "bench" in (make_url(url).database or "") else None
        version = "as given"
    else:
        problem = reachable(args.postgres_url)
        if problem:
            raise SystemExit(f"PostgreSQL at {args.postgres_url} is unreachable: {problem}")
        version = reset_postgres(args.postgres_url)
        url = normalise_database_url(args.postgres_url)
    postgres = make_url(url).get_backend_name() == "postgresql"
    sqlite_path = None if postgres else make_url(url).database
    if args.faults is not None:
        kinds = [k.strip() for k in args.faults.split(",") if k.strip()]
    elif args.quick:
        kinds = ["kill", "cut", "dbcut" if postgres else "lock", "stall", "kill"]
    elif postgres:
        # Without a command to restart the database server, its connections are cut instead.
        restart = "restart" if args.restart_command else "dbcut"
        crash = "crash" if args.crash_command else restart
        kinds = ["kill", "cut", restart, "stall", "kill", "dbcut", "cut", crash, "kill", "cut"]
    else:
        kinds = ["kill", "cut", "lock", "stall", "kill", "cut", "lock", "kill", "cut"]
    for kind in kinds:
        if kind in ("restart", "crash") and not (args.restart_command if kind == "restart" else args.crash_command):
            raise SystemExit(f"fault {kind!r} needs --{kind}-command (or the dedicated cluster)")
        if kind in ("restart", "crash", "dbcut") and not postgres or kind == "lock" and postgres:
            raise SystemExit(f"fault {kind!r} does not apply to this database")
    plan = plan_of(kinds, 0.08, 0.85)

    workdir = Path(tempfile.mkdtemp(prefix="groundwork-fault-bench-"))
    env = server_env(url, args.workers)
    began = time.monotonic()
    if args.database_url:
        # Migrated in this process (a no-op on the test suite's database, already at the head).
        from flask_migrate import upgrade

        from server import create_app
        from server.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False})
        with app.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
    else:  # the Procfile's release line, as a deployment runs it
        subprocess.run(["bash", "-c", procfile("release")], cwd=CODE, env=env, check=True, capture_output=True)
    migrated = time.monotonic() - began
    engine = create_engine(url, pool_pre_ping=True)  # its connections outlive the restarts
    with engine.connect() as conn:
        already = conn.execute(text("SELECT (SELECT count(*) FROM sync_receipt) + (SELECT count(*) FROM app_user)"))
        if already.scalar():
            raise SystemExit("the database already holds users or sync receipts: give an empty one")
    lists = -(-args.phones // args.per_list)
    world = build_world(url, args.phones, args.per_list, args.houses_per_list, 2 * lists * args.houses_per_list)
    print(f"Migrated in {migrated:.1f} s, world built in {time.monotonic() - began - migrated:.1f} s: "
          f"{world['electors']:,} electors, {len(world['lists'])} "
          f"walk lists, {args.phones} phones; work files in {workdir}", file=sys.stderr)

    # The processes, and the proxies between them.
    db_proxy = None
    served_url = url
    if postgres:
        target = make_url(url)
        db_proxy = FaultyProxy((target.host or "127.0.0.1", target.port or 5432), name="db-proxy", seed=args.seed)
        served_url = target.set(host="127.0.0.1", port=db_proxy.start()).render_as_string(hide_password=False)
    from load_bench import free_port
    gunicorn_port = free_port()
    server_log, scheduler_log = workdir / "gunicorn.log", workdir / "scheduler.log"
    server = start("web", {**env, "DATABASE_URL": served_url, "PORT": str(gunicorn_port),
                           "SCHEDULER_ENABLED": "false"}, server_log)
    scheduler = None if args.no_scheduler else start("scheduler", {**env, "DATABASE_URL": served_url,
                                                                   "SCHEDULER_ENABLED": "true"}, scheduler_log)
    phone_proxy = FaultyProxy(("127.0.0.1", gunicorn_port), name="phone-proxy", drop_share=args.drop_share,
                              delay_share=args.delay_share, max_delay=args.max_delay, seed=args.seed)
    proxy_port = phone_proxy.start()
    result: dict = {}
    try:
        for _ in range(600):
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {server_log}")
            try:
                if call(gunicorn_port, "GET", "/api/v1/health", None, {}, 5)[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        else:
            raise SystemExit(f"gunicorn did not start; see {server_log}")

        t0 = time.monotonic()
        print(f"gunicorn answering {t0 - began - migrated:.1f} s after the migrations", file=sys.stderr)
        run = Run(args, proxy_port, world, t0)
        quota = [args.records // args.phones + (1 if i < args.records % args.phones else 0) for i in range(args.phones)]
        phones = [Phone(run, i, world["accounts"][i], quota[i], proxy_port) for i in range(args.phones)]
        watch = HealthWatch(run, gunicorn_port, 0.1)
        faults = Faults(run, plan, server, gunicorn_port, phone_proxy, db_proxy, sqlite_path)
        print(f"{datetime.now(timezone.utc):%H:%M:%S} pushing {args.records:,} records from {args.phones} phones; "
              f"faults: {', '.join(kinds) or 'none'}", file=sys.stderr)
        watch.start()
        faults.start()
        for phone in phones:
            phone.start()
        last_note = t0
        while any(p.is_alive() for p in phones):
            time.sleep(0.2)
            if time.monotonic() - last_note > 15:
                last_note = time.monotonic()
                print(f"  {last_note - t0:6.1f} s  {run.acked_count:,} of {args.records:,} acknowledged", file=sys.stderr)
        pushed_at = time.monotonic()
        run.stop.set()
        faults.join(60)
        # A request the proxy still holds (a stall) reaches the server late: let it land before counting.
        while phone_proxy.live and time.monotonic() - pushed_at < args.timeout + args.stall_extra + 30:
            time.sleep(0.1)
        watch.join(10)
        settled = time.monotonic()
        scheduler_alive = None if scheduler is None else scheduler.poll() is None
        if scheduler is not None:
            stop(scheduler)
        verification = verify(run, engine, env)
        verified = time.monotonic()
        server_alive = server.poll() is None
    finally:
        stop(server)
        if scheduler is not None:
            stop(scheduler)
        phone_proxy.close()
        if db_proxy is not None:
            db_proxy.close()
        engine.dispose()
        if started_cluster:
            subprocess.run(["pg_ctlcluster", CLUSTER[0], CLUSTER[1], "stop"], capture_output=True)

    log = server_log.read_text(errors="replace")
    pushes = [a for a in run.attempts if a[1] in ("push", "replay")]
    outcomes = Counter(a[4] for a in pushes)
    recoveries = recovery(run)
    windows = [(f["t0"], f["t0"] + (f["first_push_ok_after"] or 0) + f.get("outage", 0) + 5) for f in recoveries]
    stray_5xx = [a for a in pushes if a[4].startswith("http 5") and not any(s <= a[3] <= e for s, e in windows)]
    duration = pushed_at - t0
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine(),
        "cores": os.cpu_count(), "database": make_url(url).get_backend_name(), "postgres_version": version,
        "code": code_identity(), "args": {k: v for k, v in vars(args).items()},
        "records": args.records, "phones": args.phones, "workers": args.workers, "duration": duration,
        "settle_seconds": settled - pushed_at,
        "phases": {"migrate": migrated, "world_and_start": t0 - began - migrated, "push": duration,
                   "settle": settled - pushed_at, "verify": verified - settled, "all": time.monotonic() - began},
        "throughput": run.acked_count / duration if duration else 0,
        "push_attempts": len(pushes), "push_outcomes": dict(outcomes),
        "retries": sum(n for o, n in outcomes.items() if o != "ok"),
        "deliberate_replays": sum(1 for a in pushes if a[1] == "replay" and a[4] == "ok"),
        "logins": run.logins, "answers": dict(run.answers), "first_push_duplicates": run.first_push_duplicates,
        "unexpected": dict(run.unexpected), "errors": dict(run.errors),
        "faults": [{k: v for k, v in f.items() if k not in ("t0",)} for f in recoveries],
        "stray_5xx": len(stray_5xx), "proxy": dict(phone_proxy.stats),
        "health_probes": dict(Counter(str(h[2]) for h in run.health)),
        "health_slowest_answer": max((h[1] - h[0] for h in run.health if h[2] in (200, 503)), default=None),
        "db_proxy": dict(db_proxy.stats) if db_proxy else None,
        "gunicorn_log": {"tracebacks": log.count("Traceback"), "worker_timeouts": log.count("WORKER TIMEOUT"),
                         "killed_workers_reported": log.count("SIGKILL"),
                         "booted_workers": log.count("Booting worker")},
        "server_alive": server_alive, "scheduler_alive": scheduler_alive,
        **verification,
    }
    ok = (result["lost"] == 0 and result["duplicated"] == 0 and result["ack_missing"] == 0
          and result["never_acked"] == 0 and result["receipts_missing"] == 0 and result["receipts_duplicated"] == 0
          and result["conflicts_without_one_review"] == 0 and result["rebuild_equal"]
          and not result["unexpected"] and not result["errors"] and result["records_rows"] == args.records)
    result["passed"] = ok
    report(result)
    if args.json:
        raw = {"attempts": [[p, k, s - run.t0, e - run.t0, o, n] for p, k, s, e, o, n in run.attempts],
               "health": [[s - run.t0, e - run.t0, st] for s, e, st in run.health]}
        Path(args.json).write_text(json.dumps({**result, "raw": raw}, default=str, indent=1))
    if args.keep or not ok:
        print(f"\nLogs (gunicorn, scheduler) are in {workdir}.")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


def secs(value) -> str:
    if value is None:
        return "—"
    if value == float("inf"):
        return "never"
    return f"{value:.2f} s"


def report(r: dict) -> None:
    db = f"PostgreSQL {r['postgres_version']}" if r["database"] == "postgresql" else r["database"]
    print(f"## Faults survived, {r['when']}, {r['machine']}, {r['cores']} cores, {db}, gunicorn workers "
          f"{r['workers']}, server code: {r['code']}\n")
    print(f"{r['phones']} phones pushed {r['records']:,} records (contacts, with {r['args']['correction_share']:.0%} "
          f"corrections and {r['args']['retraction_share']:.0%} retractions) in batches of "
          f"{r['args']['burst'][0]} to {r['args']['burst'][1]}, through a proxy cutting "
          f"{r['args']['drop_share']:.0%} of connections at random; {len(r['faults'])} faults injected. Pushing took "
          f"**{r['duration']:.1f} s**, **{r['throughput']:,.0f} records/s** acknowledged; then "
          f"{r['settle_seconds']:.1f} s for held requests to land.\n")
    print("| exactly once, by SQL | count |")
    print("|---|---:|")
    print(f"| records made (mutation ids) | {r['made']:,} |")
    print(f"| `contact_record` rows (distinct ids) | {r['records_rows']:,} ({r['records_distinct']:,}) |")
    print(f"| **lost** (made, not in `contact_record`) | **{r['lost']}** |")
    print(f"| **duplicated** (rows beyond one per id, or rows no phone made) | **{r['duplicated']}** |")
    print(f"| acknowledged to a phone (`applied`, `conflict`, `duplicate`) | {r['acked']:,} |")
    print(f"| **acknowledged but missing** | **{r['ack_missing']}** |")
    print(f"| never acknowledged (left in an outbox) | {r['never_acked']} |")
    print(f"| `sync_receipt` rows; missing; beyond one per id | {r['receipts_rows']:,}; {r['receipts_missing']}; "
          f"{r['receipts_duplicated']} |")
    print(f"| receipts by status | {r['receipt_status']} |")
    print(f"| intention conflicts without exactly one review item | {r['conflicts_without_one_review']} "
          f"(of {r['conflict_reviews']:,} review items) |")
    print(f"| **`elector_state` equal to `flask sync rebuild`** | **{'yes' if r['rebuild_equal'] else 'NO'}** "
          f"({r['elector_states']:,} electors, {r['rebuild_differing']} differing; rebuild {r['rebuild_seconds']:.1f} s) |")
    print(f"\nAnswers to mutations: {dict(sorted(r['answers'].items()))}; `duplicate` on a phone's first "
          f"sending of a batch that went through (an earlier attempt had landed, its answer lost): "
          f"{r['first_push_duplicates']:,}.")
    print(f"Push attempts {r['push_attempts']:,}: {dict(sorted(r['push_outcomes'].items()))}; **retries "
          f"{r['retries']:,}**, deliberate replays {r['deliberate_replays']}; logins {r['logins']}.")
    print(f"Unexpected answers: {r['unexpected'] or 'none'}; bench errors: {r['errors'] or 'none'}; 5xx outside a "
          f"fault's window: {r['stray_5xx']}.")
    print(f"Phones' proxy: {r['proxy']}." + (f" Database proxy: {r['db_proxy']}." if r["db_proxy"] else ""))
    print(f"`/api/v1/health` probes (straight to gunicorn, every 0.1 s, 5 s timeout), by answer: "
          f"{r['health_probes']}; the slowest answer took {secs(r['health_slowest_answer'])} (it waits for a worker "
          f"like any request).")
    g = r["gunicorn_log"]
    print(f"gunicorn log: {g['tracebacks']} tracebacks, {g['worker_timeouts']} worker timeouts, "
          f"{g['booted_workers']} workers booted; server alive at the end {r['server_alive']}, scheduler "
          f"{r['scheduler_alive']}; reconcile queue at the end {r['reconcile_queue_at_end']}.\n")
    print("| # | at | fault | first push OK after | /health 200 again after a 503 or reset | replacement worker after | "
          "failed attempts in the window |")
    print("|---:|---:|---|---:|---:|---:|---|")
    for i, f in enumerate(r["faults"], 1):
        print(f"| {i} | {f['t']:.1f} s ({f['at_share']:.0%}) | {f['kind']}: {f.get('what', '')} | "
              f"{secs(f['first_push_ok_after'])} | {secs(f['health_back_after'])} | "
              f"{secs(f.get('respawned_after'))} | {f['failed_attempts'] or 'none'} |")
    if not r["rebuild_equal"]:
        print(f"\nDerived state differs from a rebuild, e.g.: {json.dumps(r['rebuild_examples'], default=str)[:2000]}")
    print("\nSeconds: " + ", ".join(f"{k} {v:.1f}" for k, v in r["phases"].items()) + ".")
    print(f"\n**{'PASSED' if r['passed'] else 'FAILED'}**: {r['records_rows']:,} of {r['made']:,} stored, "
          f"{r['lost']} lost, {r['duplicated']} duplicated, {r['ack_missing']} acknowledged but missing, "
          f"derived state {'equal to' if r['rebuild_equal'] else 'DIFFERENT from'} a rebuild.")


if __name__ == "__main__":
    main()
