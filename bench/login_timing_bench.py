"""Whether a login for an unknown email takes as long as a wrong password for a real account, with scrypt.

Not a test (nothing here asserts a time): tests/server/test_login_throttling.py proves the two paths do the
same work; this measures that they take the same time, as an attacker listing accounts would see it.

    .venv/bin/python bench/login_timing_bench.py [--rounds 40] [--method scrypt]

It times whole POST /api/v1/auth/login requests on a temporary SQLite database, alternating the paths
so drift on a shared machine hits both alike, and reports medians and their ratio. A third path replays
the old behaviour (a miss checked against a fixed, cheap pbkdf2:sha256:1000 hash) to show the gap closed.
The throttle's limits are raised out of the way; its reservations still run, as in production.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.security import generate_password_hash  # noqa: E402

OLD_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="logins timed per path (default 40)")
    parser.add_argument("--method", default="scrypt", help="PASSWORD_HASH_METHOD (default scrypt, production's)")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from server import create_app
    from server.models import Role
    from server.services import accounts

    with tempfile.TemporaryDirectory(prefix="groundwork-login-bench-") as tmp:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(tmp, "bench.sqlite"),
            "SECRET_KEY": "bench-secret-key-not-used-anywhere-else-at-all",
            "PASSWORD_HASH_METHOD": args.method,
            "SCHEDULER_ENABLED": False,
            "LOGIN_MAX_FAILURES": 10**9,
            "LOGIN_ADDRESS_FREE_FAILURES": 10**9,
        })
        with app.app_context():
            upgrade()
            accounts.create_user(email="real@example.test", name="Real Person", password="the right password",
                                 role=Role.NATIONAL_ADMIN)
            client = app.test_client()
            real_dummy = accounts._dummy_hash

            def login(email: str) -> float:
                started = time.perf_counter()
                response = client.post("/api/v1/auth/login", json={
                    "email": email, "password": "a wrong password", "device_name": "bench"})
                elapsed = time.perf_counter() - started
                assert response.status_code == 401, response.get_json()
                return elapsed * 1000

            def old_miss(n: int) -> float:
                accounts._dummy_hash = lambda method: OLD_DUMMY_HASH
                try:
                    return login(f"old-nobody-{n}@example.test")
                finally:
                    accounts._dummy_hash = real_dummy

            paths = {
                "wrong password, real account": lambda n: login("real@example.test"),
                "unknown email": lambda n: login(f"nobody-{n}@example.test"),
                "unknown email, old fixed pbkdf2:sha256:1000 dummy": old_miss,
            }
            for path in paths.values():  # warm up: imports, caches, the dummy hash made once
                path(-1)
            times: dict[str, list[float]] = {name: [] for name in paths}
            for n in range(args.rounds):
                order = list(paths.items())
                if n % 2:
                    order.reverse()
                for name, path in order:
                    times[name].append(path(n))

    base = statistics.median(times["wrong password, real account"])
    print(f"Login timing, {args.method}, {args.rounds} rounds per path, SQLite, {os.cpu_count()} cores\n")
    print("| path | median ms | p10 ms | p90 ms | median ÷ wrong password |")
    print("|---|---:|---:|---:|---:|")
    for name, values in times.items():
        deciles = statistics.quantiles(values, n=10)
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {deciles[0]:.1f} | {deciles[-1]:.1f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
