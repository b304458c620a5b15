"""Busy streets: several phones pushing at the same instant about the same few electors, on PostgreSQL.

The real server as production runs it (gunicorn with several workers, the Procfile's command) on a bench
database; phones are threads released together by a barrier, each pushing a batch of contacts about the
same small set of electors, round after round. It reports push latency (median, p95, max), any answer
that was not 200, and how many deadlocks PostgreSQL detected (pg_stat_database) during the run.

    .venv/bin/python bench/contention_bench.py                 # 8 phones, 20 electors, 34 contacts each, 25 rounds
    .venv/bin/python bench/contention_bench.py --quick         # a smoke run of a few seconds

Not a test: nothing here asserts a time. docs/performance.md has the figures. WARNING: it empties the
database named by BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/groundwork_bench).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from common import DEFAULT_POSTGRES_URL, FORENAMES, SURNAMES, reachable, reset_postgres  # bench/common.py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import normalise_database_url  # noqa: E402

PASSWORD = "bench password, long enough"
CONSTITUENCY = "E14000997"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_world(url: str, phones: int, electors: int) -> dict:
    """One CLP, a campaign, ``electors`` electors in one street, and ``phones`` canvassers who all hold it."""
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.models import (
        Assignment, AssignmentItem, AssignmentKind, AssignmentUser, Campaign, CampaignCode, CampaignKind, CodeSet,
        Constituency, Elector, OutcomeMeaning, PollingDistrict, Property, Region, Role, Ward,
    )
    from server.services import accounts

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "SCHEDULER_ENABLED": False})
    with app.app_context():
        upgrade()
        region = Region(code="BUSY", name="Busy region")
        constituency = Constituency(code=CONSTITUENCY, name="Busyford", region=region)
        ward = Ward(constituency=constituency, code="W1", name="Busyford Central")
        db.session.add_all([region, constituency, ward])
        db.session.flush()
        district = PollingDistrict(ward=ward, constituency_id=constituency.id, code="BZ1", name="Busy 1")
        db.session.add(district)
        db.session.flush()
        properties, ids = [], []
        for n in range(electors):
            prop = Property(constituency_id=constituency.id, polling_district_id=district.id,
                            address_lines=[f"{n + 1} Busy Street", "Busyford"], postcode="BZ1 1AA",
                            street="Busy Street", house_number=n + 1, sort_key=f"busy street|{n + 1:05d}",
                            address_key=f"bz1|{n + 1} busy street|bz11aa")
            db.session.add(prop)
            db.session.flush()
            elector = Elector(constituency_id=constituency.id, polling_district_id=district.id, property_id=prop.id,
                              prefix="BZ1", number=n + 1, surname=SURNAMES[n % len(SURNAMES)],
                              forenames=FORENAMES[n % len(FORENAMES)])
            db.session.add(elector)
            db.session.flush()
            properties.append(prop.id)
            ids.append(elector.id)
        today = date.today()
        campaign = Campaign(name="Busy election", kind=CampaignKind.GENERAL_ELECTION,
                            starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=30))
        campaign.codes = [
            CampaignCode(code_set=CodeSet.OUTCOME, code="SPOKE", label="Spoke", meaning=OutcomeMeaning.SPOKE,
                         channels=["door", "phone"], position=1),
            CampaignCode(code_set=CodeSet.OUTCOME, code="NH", label="Not home", meaning=OutcomeMeaning.NOT_HOME,
                         channels=["door"], position=2),
            CampaignCode(code_set=CodeSet.INTENTION, code="LAB", label="Labour", position=1),
            CampaignCode(code_set=CodeSet.INTENTION, code="UND", label="Undecided", position=2),
        ]
        db.session.add(campaign)
        db.session.commit()
        users = [accounts.create_user(email=f"busy{i}@bench.example", name=f"Busy {i}", password=PASSWORD,
                                      role=Role.CANVASSER, constituency_code=CONSTITUENCY) for i in range(phones)]
        now = datetime.now(timezone.utc)
        walk = Assignment(campaign_id=campaign.id, constituency_id=constituency.id, kind=AssignmentKind.WALK,
                          name="Busy Street", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=7))
        walk.items = [AssignmentItem(property_id=p, position=i) for i, p in enumerate(properties)]
        walk.assignees = [AssignmentUser(user_id=u.id) for u in users]
        db.session.add(walk)
        db.session.commit()
        world = {"campaign_id": campaign.id, "electors": ids, "emails": [u.email for u in users]}
        db.session.remove()
        db.engine.dispose()
    return world


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data else None


def start_server(url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SCHEDULER_ENABLED": "false", "PORT": str(port),
           "WEB_CONCURRENCY": str(workers), "SECRET_KEY": "bench-secret-key-long-enough-for-anything",
           "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    procfile = (ROOT / "Procfile").read_text().splitlines()
    web = next(line for line in procfile if line.startswith("web:"))[len("web:"):].strip()
    log = open(log_path, "w")
    command = ["bash", "-c", f"exec {web.replace('gunicorn', str(Path(sys.executable).parent / 'gunicorn'), 1)}"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    for _ in range(200):
        try:
            if request(port, "GET", "/api/v1/health")[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the server did not start; see {log_path}")


def deadlocks(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar()
    engine.dispose()
    return int(value or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=8)
    parser.add_argument("--electors", type=int, default=20)
    parser.add_argument("--contacts", type=int, default=34, help="contacts per push")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--quick", action="store_true", help="4 phones, 5 rounds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.phones, args.rounds = 4, 5

    raw_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    problem = reachable(raw_url)
    if problem:
        raise SystemExit(f"PostgreSQL at {raw_url} is unreachable: {problem}")
    version = reset_postgres(raw_url)
    url = normalise_database_url(raw_url)
    world = build_world(url, args.phones, args.electors)
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / "groundwork-contention-bench.log"
    server = start_server(url, port, args.workers, log_path)
    try:
        phones = []
        for email in world["emails"]:
            status, body = request(port, "POST", "/api/v1/auth/login",
                                   {"email": email, "password": PASSWORD, "device_name": "busy phone"})
            assert status == 201, body
            phones.append({"token": body["token"], "device_id": body["device"]["id"], "storage": str(uuid.uuid4()),
                           "seq": 0})
        rng = random.Random(args.seed)
        before = deadlocks(url)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        answers: dict[str, int] = {}

        def batch(phone) -> dict:
            mutations = []
            for _ in range(args.contacts):
                phone["seq"] += 1
                spoke = rng.random() < 0.6
                mutations.append({
                    "id": str(uuid.uuid4()), "seq": phone["seq"], "type": "contact",
                    "occurred_at": (datetime.now(timezone.utc) - timedelta(minutes=rng.randrange(1, 300))).isoformat(),
                    "base_version": None,
                    "data": {"campaign_id": world["campaign_id"], "elector_id": rng.choice(world["electors"]),
                             "channel": "door", "outcome": "SPOKE" if spoke else "NH",
                             "intention": rng.choice(["LAB", "UND"]) if spoke else None}})
            return {"device_id": phone["device_id"], "storage_id": phone["storage"], "protocol_version": 1,
                    "schema_version": 1, "device_time": datetime.now(timezone.utc).isoformat(),
                    "mutations": mutations}

        lock = threading.Lock()
        started = time.perf_counter()
        for _ in range(args.rounds):
            bodies = [batch(p) for p in phones]
            barrier = threading.Barrier(len(phones))

            def run(phone, body):
                barrier.wait()
                t0 = time.perf_counter()
                status, answer = request(port, "POST", "/api/v1/sync/push", body, phone["token"])
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
                    for result in (answer or {}).get("results", []) if status == 200 else []:
                        answers[result["status"]] = answers.get(result["status"], 0) + 1

            threads = [threading.Thread(target=run, args=(p, b)) for p, b in zip(phones, bodies)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        wall = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    time.sleep(1.0)  # the server's backends report their statistics as they exit
    found = deadlocks(url) - before
    logged = sum(1 for line in log_path.read_text().splitlines() if "deadlock" in line.lower())
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(f"Contention bench, {datetime.now():%Y-%m-%d %H:%M}, {platform.machine()}, {os.cpu_count()} cores, "
          f"PostgreSQL {version}, gunicorn workers {args.workers}")
    print(f"{args.phones} phones x {args.rounds} rounds, {args.contacts} contacts per push about {args.electors} electors")
    print(f"pushes: {len(latencies)} in {wall:.1f} s; HTTP statuses {dict(sorted(statuses.items()))}")
    print(f"results: {dict(sorted(answers.items()))}")
    print(f"push latency: median {statistics.median(latencies):.3f} s, p95 {p95:.3f} s, max {latencies[-1]:.3f} s")
    print(f"deadlocks detected by PostgreSQL: {found}; server log lines mentioning deadlock: {logged}")


if __name__ == "__main__":
    main()
