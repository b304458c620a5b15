"""The HTTP layer of a pull page: the same pulls answered by the pull's direct writer and by the old path
(flask-smorest dumping the engine's result through PullResponseSchema), alternately, in one run.

Not a test (nothing here asserts a time). The world is bench/sync_bench.py's (its functions, imported): a
CLP of --clp-electors electors, a canvasser's --walk-electors walk list, --batches pushes of 500 canvass
records (so the list's electors have the team's activity), contact_record grown to --events. Then, --repeats
times and for each path in turn: a fresh device pulls a first page of 1,000 changes (which takes the
download's snapshot) and, with its cursor, the next page (served from the snapshot). Reported: medians of
the request over HTTP (the Flask test client: routing, token auth, argument parsing, the answer's
serialisation) and of ``server.services.sync.pull`` alone (the engine and its store), and, on one captured
page, the serialisation alone (engine result to response bytes) by each path; the two paths' bytes are
compared for every page.

    BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/groundwork_bench_e \\
        .venv/bin/python bench/pull_page_bench.py --no-sqlite

WARNING: as bench/sync_bench.py, it empties the PostgreSQL bench database (its name must contain "bench").
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sync_bench as sb  # bench/sync_bench.py
from common import DEFAULT_POSTGRES_URL, reachable, reset_postgres  # bench/common.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PATHS = ("old", "new")


def old_path(result: dict) -> dict:
    """The view before: hand flask-smorest the engine's dict, which it dumps through PullResponseSchema."""
    return result


class Capture:
    """Keeps the engine's result of the last pull (to time the serialisation alone and compare bytes)."""

    def __init__(self, api):
        self.api, self.last = api, None
        self.direct = api.pull_response

    def use(self, path: str) -> None:
        chosen = self.direct if path == "new" else old_path

        def respond(result):
            self.last = result
            return chosen(result)

        self.api.pull_response = respond

    def close(self) -> None:
        self.api.pull_response = self.direct


class EngineClock:
    """Wall and CPU time (this thread's: the Python work, not the database server's) spent in
    ``server.services.sync.pull``, the engine and its store, summed."""

    def __init__(self):
        import server.services.sync as service

        self.service, self.original, self.wall, self.cpu = service, service.pull, 0.0, 0.0

        def timed(*args, **kwargs):
            w0, c0 = time.perf_counter(), time.thread_time()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.wall += time.perf_counter() - w0
                self.cpu += time.thread_time() - c0

        service.pull = timed

    def close(self) -> None:
        self.service.pull = self.original


def old_bytes(app, result: dict) -> bytes:
    from flask import jsonify

    from server.schemas import PullResponseSchema

    return jsonify(PullResponseSchema().dump(result)).get_data()


def serialisation_ms(app, capture: Capture, result: dict, rounds: int) -> dict:
    """Engine result to response bytes, each path, alternately; median ms."""
    times = {p: [] for p in PATHS}
    with app.test_request_context():
        for _ in range(rounds):
            for path in PATHS:
                t0 = time.perf_counter()
                if path == "new":
                    capture.direct(result).get_data()
                else:
                    old_bytes(app, result)
                times[path].append(time.perf_counter() - t0)
    return {p: statistics.median(t) * 1000 for p, t in times.items()}


def run(name: str, url: str, args) -> dict:
    from flask_migrate import upgrade

    import server.api.sync as api
    from server import create_app
    from server.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    rng = random.Random(args.seed)
    out = {"backend": name, **{f"{kind}{page}": {p: [] for p in PATHS}
                                for kind in ("", "engine_", "cpu_", "engine_cpu_") for page in ("first", "next")}}
    with app.app_context():
        upgrade()
        sb.log(f"{name}: building a CLP of {args.clp_electors:,} electors")
        world = sb.build_world(args.clp_electors, args.walk_electors, args.seed)
        client = app.test_client()
        sb.login(client, world)
        auth = {"Authorization": f"Bearer {world.token}"}
        storage_id = str(uuid.uuid4())
        sb.log(f"{name}: {args.batches} pushes of {sb.BATCH}")
        for b in range(args.batches):
            targets = [world.walk_elector_ids[(b * sb.BATCH + i) % len(world.walk_elector_ids)]
                       for i in range(sb.BATCH)]
            body = sb.push_body(world, storage_id, sb.make_batch(rng, world, targets))
            assert client.post("/api/v1/sync/push", data=body, content_type="application/json",
                               headers=auth).status_code == 200
        added, seconds = sb.grow_events(db.engine, world, args.events, rng)
        sb.log(f"{name}: contact_record grown by {added:,} rows in {seconds:.1f}s")
        clock = EngineClock()
        # In CPU time, which a busy machine inflates less than wall time.
        profile = cProfile.Profile(time.thread_time) if args.profile else None
        capture = Capture(api)
        try:
            for path in PATHS:  # warm both, outside every measure
                capture.use(path)
                first = sb.pull(client, world, str(uuid.uuid4()), limit=sb.PULL_PAGE)
                assert first.status_code == 200
            mismatches = 0
            for _ in range(args.repeats):
                for path in PATHS:
                    capture.use(path)
                    storage, cursor = str(uuid.uuid4()), None
                    for page in ("first", "next"):  # the next page presents the first page's cursor
                        e0, ec0 = clock.wall, clock.cpu
                        t0, c0 = time.perf_counter(), time.thread_time()
                        profiling = profile is not None and page == "next" and path == "new"
                        if profiling:
                            profile.enable()
                        response = sb.pull(client, world, storage, cursor, limit=sb.PULL_PAGE)
                        if profiling:
                            profile.disable()
                        out[page][path].append(time.perf_counter() - t0)
                        out[f"cpu_{page}"][path].append(time.thread_time() - c0)
                        out[f"engine_{page}"][path].append(clock.wall - e0)
                        out[f"engine_cpu_{page}"][path].append(clock.cpu - ec0)
                        assert response.status_code == 200, response.get_data(as_text=True)[:300]
                        body = response.get_data()
                        with app.test_request_context():
                            same = old_bytes(app, capture.last) == body
                        mismatches += not same
                        answer = response.get_json()
                        assert len(answer["changes"]) == sb.PULL_PAGE and answer["has_more"], page
                        cursor = answer["cursor"]
                        if page == "next":
                            out["page_bytes"] = len(body)
                            captured = capture.last
            out["mismatches"] = mismatches
            if profile is not None:
                if args.profile_out:
                    profile.dump_stats(f"{args.profile_out}.{name.lower()}.pstats")
                stats = pstats.Stats(profile, stream=sys.stderr)
                stats.strip_dirs()
                print(f"\n[{name}] the new path's later pages (timings inflated by the profiler): top 40 by "
                      f"cumulative time", file=sys.stderr)
                stats.sort_stats("cumulative").print_stats(40)
                print(f"[{name}] top 30 by own time", file=sys.stderr)
                stats.sort_stats("tottime").print_stats(30)
            out["serialise_ms"] = serialisation_ms(app, capture, captured, args.rounds)
        finally:
            capture.close()
            clock.close()
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="contact_record rows (default 10000)")
    parser.add_argument("--clp-electors", type=int, default=100_000)
    parser.add_argument("--walk-electors", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=10, help=f"pushes of {sb.BATCH} before the pulls")
    parser.add_argument("--repeats", type=int, default=9, help="pulls per path and page (median reported)")
    parser.add_argument("--rounds", type=int, default=21, help="rounds of the serialisation-only measure")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the new path's later pages in this thread's CPU time (their timings are "
                             "then inflated): to stderr")
    parser.add_argument("--profile-out", help="with --profile, also write it to <this>.<backend>.pstats")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_sqlite:
            results.append(run("SQLite", f"sqlite:///{tmp}/bench.sqlite", args))
        if not args.no_postgres:
            url = sb.normalise_database_url(args.postgres_url)
            problem = reachable(url)
            if problem:
                print(f"PostgreSQL skipped: {problem}", file=sys.stderr)
            else:
                reset_postgres(url)
                results.append(run("PostgreSQL", url, args))

    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    print(f"\nA pull page of {sb.PULL_PAGE:,} changes, {args.events:,} events, {args.repeats} pulls per path "
          f"and page, alternately; medians in ms. Wall: the request (in brackets: the engine and store alone, "
          f"server.services.sync.pull). CPU: this thread's CPU time, which leaves out the database server and "
          f"time spent waiting for a core; HTTP layer = the request less the engine, pull by pull.\n")
    print("| | " + " | ".join(f"{r['backend']} old | {r['backend']} new" for r in results) + " |")
    print("|---|" + "---:|---:|" * len(results))
    for page, label in (("first", "first page (takes the snapshot)"), ("next", "later page (from the snapshot)")):
        rows = {"wall": [], "cpu": [], "layer wall": [], "layer cpu": []}
        for r in results:
            for p in PATHS:
                rows["wall"].append(f"{ms(r[page][p]):.0f} ({ms(r['engine_' + page][p]):.0f})")
                rows["cpu"].append(f"{ms(r['cpu_' + page][p]):.0f} ({ms(r['engine_cpu_' + page][p]):.0f})")
                rows["layer wall"].append(
                    f"{ms([a - b for a, b in zip(r[page][p], r['engine_' + page][p])]):.1f}")
                rows["layer cpu"].append(
                    f"{ms([a - b for a, b in zip(r['cpu_' + page][p], r['engine_cpu_' + page][p])]):.1f}")
        for kind, cells in rows.items():
            print(f"| {label}: {kind} | " + " | ".join(cells) + " |")
    cells = []
    for r in results:
        cells += [f"{r['serialise_ms'][p]:.1f}" for p in PATHS]
    print("| serialisation alone (engine result to bytes), one later page, wall | " + " | ".join(cells) + " |")
    print()
    for r in results:
        print(f"{r['backend']}: a later page is {r['page_bytes']:,} bytes; bytes differing between the paths: "
              f"{r['mismatches']} of {args.repeats * 4} pages")
        for page in ("first", "next"):
            for p in PATHS:
                print(f"  {page} {p}: " + "/".join(f"{t * 1000:.0f}" for t in r[page][p])
                      + "  engine " + "/".join(f"{t * 1000:.0f}" for t in r["engine_" + page][p]))


if __name__ == "__main__":
    main()
