"""How fast the register importer is, and how much memory it takes, on SQLite and PostgreSQL.

Not a test (nothing here asserts a time): run it after changing the importer and compare the numbers.

    .venv/bin/python bench/register_bench.py [--rows 10000]     # a CLP-sized register (default)
    .venv/bin/python bench/register_bench.py --rows 1700000     # the ~100 MB register of the memory aim

Each import runs in a child process of its own, so its peak resident memory (VmHWM) is the import's alone:
the app, its imports and the import itself, with the file generated beforehand by the parent.

PostgreSQL is used if BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/groundwork_bench) is
reachable. WARNING: the bench empties that database (drops its public schema) and migrates it afresh,
so point it at a scratch database, and do not run it while the test suite uses the same one.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy.engine import make_url

from common import DEFAULT_POSTGRES_URL, FORENAMES, STREETS, SURNAMES, reachable, reset_postgres  # bench/common.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.config import normalise_database_url  # noqa: E402
from server.services import csv_safe  # noqa: E402

CONSTITUENCY = "E14000999"
HEADER = ["Elector Number Prefix", "Elector Number", "Elector Number Suffix", "Elector Markers", "Elector DOB",
          "Elector Surname", "Elector Forename", "PostCode", "Address1", "Address2", "Address3", "Address4",
          "Address5", "Address6"]
MARKERS = ["", "", "", "", "", "", "", "", "", "E", "F", "G", "K", "L", "M", "N"]
PER_DISTRICT = 2500
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def districts(rows: int) -> list[str]:
    """Polling district codes for ``rows`` electors at PER_DISTRICT each: AA1, AA2, AB1, AB2, ..."""
    codes = [f"{a}{b}{n}" for a in LETTERS for b in LETTERS for n in (1, 2)]
    return codes[:max(1, -(-rows // PER_DISTRICT))]


def synthesise(rows: int, seed: int = 1) -> Iterator[list[str]]:
    """A full register of ``rows`` electors: districts of 2,500, houses and blocks of flats."""
    rng = random.Random(seed)
    made = 0
    for d_index, prefix in enumerate(districts(rows)):
        number = 0
        postcode_area = f"EF{d_index % 9 + 1} {d_index % 10}{chr(65 + d_index % 26)}{chr(65 + (d_index * 7) % 26)}"
        house = 0
        while number < PER_DISTRICT and made < rows:
            street = STREETS[(house // 40 + d_index) % len(STREETS)]
            house += 1
            if rng.random() < 0.05:  # a block of flats
                flats = [["Flat " + str(f), "Victoria Court", f"{house} {street}", "Elmford"] for f in range(1, 9)]
            else:
                flats = [[str(house), street, "Elmford"]]
            for address in flats:
                surname = rng.choice(SURNAMES)
                for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 4))):
                    if number >= PER_DISTRICT or made >= rows:
                        break
                    number += 1
                    made += 1
                    marker = rng.choice(MARKERS)
                    dob = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2027" if marker == "N" else ""
                    yield [prefix, str(number), "0", marker, dob, surname, rng.choice(FORENAMES),
                           postcode_area, *(address + [""] * (6 - len(address)))]


def next_edition(rows: Iterable[list[str]], seed: int = 2) -> Iterator[list[str]]:
    """About 3% leave, 3% join with suffixes at an existing home, 1% change surname."""
    rng = random.Random(seed)
    for row in rows:
        roll = rng.random()
        if roll < 0.03:
            continue
        row = list(row)
        if roll < 0.04:
            row[5] = rng.choice(SURNAMES) + "-" + row[5]
        yield row
        if rng.random() < 0.03:
            joiner = list(row)
            joiner[2], joiner[5], joiner[6], joiner[3], joiner[4] = "1", rng.choice(SURNAMES), "New", "", ""
            yield joiner


def write_csv(path: Path, rows: Iterable[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv_safe.writer(handle, quoting=csv.QUOTE_MINIMAL)  # quoted as councils' exports are
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def child_import(url: str, path: str, label: str) -> None:
    """Run in a fresh process: import one file and print what it took as JSON."""
    logging.disable(logging.INFO)
    from server import create_app
    from server.services.register_import import import_register

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "TESTING": True})
    with app.app_context():
        ready = _peak_mb()
        started = time.perf_counter()
        summary = import_register(path, CONSTITUENCY, edition_label=label)
        seconds = time.perf_counter() - started
    print(json.dumps({"rows": summary.rows, "seconds": seconds, "counts": summary.counts,
                      "ready_mb": ready, "peak_mb": _peak_mb()}))


def run_backend(name: str, url: str, files: list[tuple[str, Path]], prefixes: list[str]) -> None:
    """Migrate a fresh database at ``url``, create the geography, then import each file in its own process."""
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.models import Constituency, PollingDistrict, Region, Ward

    logging.disable(logging.INFO)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "TESTING": True})
    with app.app_context():
        upgrade()
        region = Region(code="BENCH", name="Bench region")
        constituency = Constituency(code=CONSTITUENCY, name="Bench", region=region)
        ward = Ward(constituency=constituency, code="W1", name="Bench ward")
        db.session.add_all([region, constituency, ward])
        db.session.flush()
        db.session.add_all([PollingDistrict(ward=ward, constituency_id=constituency.id, code=p, name=p)
                            for p in prefixes])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    for label, path in files:
        done = subprocess.run([sys.executable, __file__, "--child", url, str(path), label],
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{name} import of {label} failed:\n{done.stderr[-3000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        c = r["counts"]
        # Printed as each import ends: a large run takes a while, and a later failure keeps these rows.
        print(f"| {name} | {label} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows'] / r['seconds']:,.0f} | "
              f"{r['peak_mb']:,.0f} MB | {r['ready_mb']:,.0f} MB | {c['added']} | {c['updated']} | {c['removed']} | "
              f"{c['unchanged']} |", flush=True)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child_import(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="electors in the first edition (default 10000)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--no-postgres", action="store_true", help="time SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="time PostgreSQL only")
    args = parser.parse_args()

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="groundwork-bench-"))
    try:
        files = [("first edition", write_csv(workdir / "edition-1.csv", synthesise(args.rows))),
                 ("next edition", write_csv(workdir / "edition-2.csv", next_edition(synthesise(args.rows))))]
        postgres = None
        if not args.no_postgres:
            postgres = normalise_database_url(args.postgres_url)
            if (problem := reachable(postgres)) is not None:
                print(f"PostgreSQL skipped: {make_url(postgres).render_as_string()} is unreachable ({problem}).\n")
                postgres = None
        version = reset_postgres(postgres) if postgres else "not measured"
        print(f"Register import, {args.rows:,} synthetic electors ({files[0][1].stat().st_size / 1e6:.0f} MB "
              f"a file), {date.today()}: {os.cpu_count()} cores, {platform.platform()}, "
              f"Python {platform.python_version()}, PostgreSQL {version}\n")
        print("| database | import | rows | seconds | rows/s | peak memory | of which the app at rest | added "
              "| updated | removed | unchanged |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
        if not args.no_sqlite:
            run_backend("SQLite", "sqlite:///" + str(workdir / "bench.sqlite"), files, districts(args.rows))
        if postgres:
            run_backend("PostgreSQL", postgres, files, districts(args.rows))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{time.perf_counter() - started:.0f} s in all.")


if __name__ == "__main__":
    main()
