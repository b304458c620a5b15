"""How long a 50,000-row canvass sheet takes to preview and commit (docs/imports.md), on PostgreSQL.

Not a test (nothing here asserts a time): run it after changing the import pipeline and compare. The aim is
under 60 s for each of the preview and the commit, run as jobs by the worker (the requests only queue them).

    .venv/bin/python bench/import_bench.py [--rows 50000] [--electors 70000]

WARNING: the bench empties the database at BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/groundwork_bench: its public schema is dropped) and migrates it afresh.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from common import DEFAULT_POSTGRES_URL, reachable, reset_postgres  # bench/common.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

FIRST = ["Ava", "Ben", "Cara", "Dev", "Ella", "Finn", "Gita", "Hugo", "Isla", "Jack", "Kira", "Liam", "Maya",
         "Noah", "Orla", "Priya", "Quinn", "Rosa", "Sami", "Tara"]
SYLLABLES = ["ash", "bram", "cole", "dun", "elm", "fair", "glen", "holl", "ives", "kings", "lang", "mor",
             "north", "pem", "rad", "shel", "thorn", "wex", "yard", "zell"]
ENDINGS = ["by", "ford", "ley", "ton", "well", "ham", "den", "wick", "stead", "more"]


def surname(i: int) -> str:
    return (SYLLABLES[i % 20] + SYLLABLES[(i // 20) % 20] + ENDINGS[(i // 400) % 10]).capitalize()


def build_register(world, count: int) -> list[dict]:
    """``count`` electors on streets of 100 houses, inserted in bulk; returns them as plain dicts."""
    from server.extensions import db
    from server.models import Elector, Property

    clp = world.home
    props, people = [], []
    for i in range(count):
        k, house = i // 100, i % 100 + 1
        kind = ("Road", "Lane", "Close")[k // 400 % 3]
        street = f"{(SYLLABLES[k % 20] + SYLLABLES[(k // 20) % 20]).capitalize()} {kind}"
        postcode = f"EF{1 + k // 234 % 9} {1 + k % 9}{chr(65 + k // 9 % 26)}{chr(65 + house % 26)}"
        props.append({"constituency_id": clp.constituency.id, "polling_district_id": clp.district.id,
                      "address_lines": [f"{house} {street}", "Elmford"], "postcode": postcode, "street": street,
                      "house_number": house, "sort_key": f"{street.lower()}|{house:05d}", "version": 1,
                      "address_key": f"{clp.constituency.code}|{house} {street.lower()}|{postcode}|{i}"})
    db.session.execute(insert(Property), props)
    ids = list(db.session.scalars(select(Property.id).where(Property.address_key.like(f"{clp.constituency.code}|%|%|%"))
                                  .order_by(Property.id)))
    for i, (prop, pid) in enumerate(zip(props, ids)):
        people.append({"constituency_id": clp.constituency.id, "polling_district_id": clp.district.id,
                       "property_id": pid, "prefix": clp.district.code, "number": 1000 + i, "suffix": 0,
                       "surname": surname(i), "forenames": FIRST[i % 20], "markers": "", "version": 1})
    db.session.execute(insert(Elector), people)
    db.session.commit()
    for person, prop in zip(people, props):
        person.update(house=prop["house_number"], street=prop["street"], postcode=prop["postcode"])
    return people


def sheet(people: list[dict], rows: int, prefix: str, seed: int = 1) -> bytes:
    """A sheet of ``rows`` door knocks: 95% give the elector number, 5% only a name (with a typo) and address."""
    import csv

    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Elector No", "Surname", "Forenames", "House", "Street", "Postcode", "Date", "Result", "VI"])
    chosen = rng.sample(range(len(people)), rows)
    for i in chosen:
        p = people[i]
        day = (date.today() - timedelta(days=rng.randrange(1, 20))).strftime("%d/%m/%Y")
        name, number = p["surname"], f"{prefix}-{p['number']}"
        if rng.random() < 0.05:
            j = rng.randrange(1, len(name) - 2)
            name, number = name[:j] + name[j + 1] + name[j] + name[j + 2:], ""
        result, vi = rng.choice([("S", "L"), ("S", "U"), ("S", "C"), ("NI", ""), ("NI", ""), ("S", "L")])
        writer.writerow([number, name, p["forenames"], p["house"], p["street"], p["postcode"], day, result, vi])
    return out.getvalue().encode()


def _sql_timing(engine, call):
    """Run ``call`` and print the statements that took longest in all, grouped by their first words."""
    from sqlalchemy import event

    totals: dict[str, list] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        key = " ".join(statement.split())[:110]
        entry = totals.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info.pop("started")

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        return call()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        for key, (count, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:25]:
            print(f"{seconds:7.2f}s {count:5d}  {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--electors", type=int, default=70000)
    parser.add_argument("--profile", choices=["preview", "commit", "undo", "repeat", "sql-preview", "sql-commit"],
                        help="print where that job spends its time")
    args = parser.parse_args()
    url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    problem = reachable(url)
    if problem:
        sys.exit(f"PostgreSQL at {url} is unreachable: {problem}")
    version = reset_postgres(url)
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.jobs import imports as jobs
    from server.models import CampaignCode, CodeSet
    from tests.factories import bearer, login, make_world

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SCHEDULER_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "TESTING": True})
    figures: dict = {"rows": args.rows, "electors": args.electors, "postgres": version}
    with app.app_context():
        upgrade()
        world = make_world()
        world.campaign.codes.append(CampaignCode(code_set=CodeSet.INTENTION, code="CON", label="Conservative",
                                                 position=3))
        db.session.commit()
        started = time.perf_counter()
        people = build_register(world, args.electors)
        figures["register_seconds"] = round(time.perf_counter() - started, 1)
        # A CLP's register is not loaded a moment before its sheets are: give the planner its statistics,
        # as autovacuum would have, rather than time the first job against tables it has never analysed.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        data = sheet(people, args.rows, world.home.district.code)
        figures["file_bytes"] = len(data)
        client = app.test_client()
        token = login(client, "clp_admin@example.test", password="correct horse battery staple")

        def run(action):
            if args.profile == f"sql-{action}":
                return _sql_timing(db.engine, jobs.run_pending)
            if args.profile != action:
                return jobs.run_pending()
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(jobs.run_pending)
            pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(45)

        def timed(label, call):
            started = time.perf_counter()
            result = call()
            figures[label] = round(time.perf_counter() - started, 2)
            return result

        made = timed("upload_request_seconds", lambda: client.post(
            "/api/v1/imports", headers=bearer(token), content_type="multipart/form-data",
            data={"file": (io.BytesIO(data), "outage.csv"), "campaign_id": str(world.campaign.id)}))
        assert made.status_code == 201, made.get_json()
        batch_id = made.get_json()["id"]
        for action in ("preview", "commit", "repeat", "undo"):
            if action == "repeat":  # the same file again, while the first is committed: all duplicates
                again = client.post("/api/v1/imports", headers=bearer(token), content_type="multipart/form-data",
                                    data={"file": (io.BytesIO(data), "outage.csv"),
                                          "campaign_id": str(world.campaign.id)})
                client.post(f"/api/v1/imports/{again.get_json()['id']}/preview", headers=bearer(token))
                timed("repeat_preview_job_seconds", lambda: run("repeat"))
                figures["repeat_counts"] = client.get(f"/api/v1/imports/{again.get_json()['id']}",
                                                      headers=bearer(token)).get_json()["result"]["counts"]
                continue
            queued = timed(f"{action}_request_seconds",
                           lambda: client.post(f"/api/v1/imports/{batch_id}/{action}", headers=bearer(token)))
            assert queued.status_code == 202, queued.get_json()
            timed(f"{action}_job_seconds", lambda: run(action))
            job = client.get(f"/api/v1/imports/{batch_id}/jobs/{queued.get_json()['id']}", headers=bearer(token))
            assert job.get_json()["status"] == "done", job.get_json()
            if action != "undo":
                figures[f"{action}_counts"] = client.get(f"/api/v1/imports/{batch_id}",
                                                         headers=bearer(token)).get_json()["result"]["counts"]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
