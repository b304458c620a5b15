"""How fast the register importer is on SQLite and PostgreSQL, for a CLP-sized synthetic register.

Not a test (nothing here asserts a time): run it after changing the importer and compare the numbers.

    .venv/bin/python bench/register_bench.py [--rows 10000]

PostgreSQL is used if BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/groundwork_bench) is
reachable. WARNING: the bench empties that database (drops its public schema) and migrates it afresh,
so point it at a scratch database, and do not run it while the test suite uses the same one.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from common import DEFAULT_POSTGRES_URL, FORENAMES, STREETS, SURNAMES, reachable, reset_postgres  # bench/common.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.config import normalise_database_url  # noqa: E402

CONSTITUENCY = "E14000999"
HEADER = ["Elector Number Prefix", "Elector Number", "Elector Number Suffix", "Elector Markers", "Elector DOB",
          "Elector Surname", "Elector Forename", "PostCode", "Address1", "Address2", "Address3", "Address4",
          "Address5", "Address6"]
MARKERS = ["", "", "", "", "", "", "", "", "", "E", "F", "G", "K", "L", "M", "N"]


def synthesise(rows: int, seed: int = 1) -> list[list[str]]:
    """A full register of about ``rows`` electors: districts of ~2,500, houses and blocks of flats."""
    rng = random.Random(seed)
    out: list[list[str]] = []
    districts = [f"{a}{b}{n}" for a in "AB" for b in "ABCDEFGH" for n in (1, 2)]
    per_district = 2500
    for d_index, prefix in enumerate(districts):
        if len(out) >= rows:
            break
        number = 0
        postcode_area = f"EF{d_index % 9 + 1} {d_index % 10}{chr(65 + d_index % 26)}{chr(65 + (d_index * 7) % 26)}"
        house = 0
        while number < per_district and len(out) < rows:
            street = STREETS[(house // 40 + d_index) % len(STREETS)]
            house += 1
            if rng.random() < 0.05:  # a block of flats
                flats = [["Flat " + str(f), "Victoria Court", f"{house} {street}", "Elmford"] for f in range(1, 9)]
            else:
                flats = [[str(house), street, "Elmford"]]
            for address in flats:
                surname = rng.choice(SURNAMES)
                for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 4))):
                    if number >= per_district or len(out) >= rows:
                        break
                    number += 1
                    marker = rng.choice(MARKERS)
                    dob = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2027" if marker == "N" else ""
                    out.append([prefix, str(number), "0", marker, dob, surname, rng.choice(FORENAMES),
                                postcode_area, *(address + [""] * (6 - len(address)))])
    return out


def next_edition(rows: list[list[str]], seed: int = 2) -> list[list[str]]:
    """About 3% leave, 3% join with suffixes at an existing home, 1% change surname."""
    rng = random.Random(seed)
    out: list[list[str]] = []
    for row in rows:
        roll = rng.random()
        if roll < 0.03:
            continue
        row = list(row)
        if roll < 0.04:
            row[5] = rng.choice(SURNAMES) + "-" + row[5]
        out.append(row)
        if rng.random() < 0.03:
            joiner = list(row)
            joiner[2], joiner[5], joiner[6], joiner[3], joiner[4] = "1", rng.choice(SURNAMES), "New", "", ""
            out.append(joiner)
    return out


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path






def run_backend(name: str, url: str, files: list[tuple[str, Path]]) -> list[dict]:
    """Migrate a fresh database at ``url``, create the geography, and time each import in turn."""
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.models import Constituency, PollingDistrict, Region, Ward
    from server.services.register_import import import_register

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "TESTING": True})
    results = []
    with app.app_context():
        upgrade()
        region = Region(code="BENCH", name="Bench region")
        constituency = Constituency(code=CONSTITUENCY, name="Bench", region=region)
        ward = Ward(constituency=constituency, code="W1", name="Bench ward")
        db.session.add_all([region, constituency, ward])
        db.session.flush()
        prefixes = sorted({row[0] for _, path in files for row in csv.reader(path.open()) if row[0] != HEADER[0]})
        db.session.add_all([PollingDistrict(ward=ward, constituency_id=constituency.id, code=p, name=p)
                            for p in prefixes])
        db.session.commit()
        for label, path in files:
            started = time.perf_counter()
            summary = import_register(path, CONSTITUENCY, edition_label=label)
            seconds = time.perf_counter() - started
            results.append({"backend": name, "import": label, "rows": summary.rows, "seconds": seconds,
                            "counts": summary.counts})
        db.session.remove()
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="electors in the first edition (default 10000)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--no-postgres", action="store_true", help="time SQLite only")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="groundwork-bench-"))
    first = synthesise(args.rows)
    files = [("first edition", write_csv(workdir / "edition-1.csv", first)),
             ("next edition", write_csv(workdir / "edition-2.csv", next_edition(first)))]

    results = run_backend("SQLite", "sqlite:///" + str(workdir / "bench.sqlite"), files)
    if not args.no_postgres:
        url = normalise_database_url(args.postgres_url)
        problem = reachable(url)
        if problem is None:
            reset_postgres(url)
            results += run_backend("PostgreSQL", url, files)
        else:
            print(f"PostgreSQL skipped: {make_url(url).render_as_string()} is unreachable ({problem}).\n")

    print(f"Register import, {args.rows:,} synthetic electors (Python {sys.version.split()[0]})\n")
    print("| database | import | rows | seconds | rows/s | added | updated | removed | unchanged |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        c = r["counts"]
        print(f"| {r['backend']} | {r['import']} | {r['rows']:,} | {r['seconds']:.2f} | "
              f"{r['rows'] / r['seconds']:,.0f} | {c['added']} | {c['updated']} | {c['removed']} | {c['unchanged']} |")


if __name__ == "__main__":
    main()
