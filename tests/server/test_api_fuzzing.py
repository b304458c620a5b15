"""The OpenAPI document tells the truth, and schemathesis holds the server to it.

The real server (gunicorn, as the Procfile starts it) is fuzzed over every operation of /api/v1/openapi.json
with all of schemathesis's checks: no server error, no answer outside its documented schema, no status the
document does not list, valid data accepted and invalid data refused. Once as a national admin, once as a
canvasser; the operations that end a session (logout, device revoke) run on their own, each case with a device
logged in for it alone. The number of examples is bounded (FUZZ_MAX_EXAMPLES) so the run fits in CI.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.models import AssignmentKind, Role
from tests.factories import PASSWORD, add_street, assign, login, make_world
from tests.server.live import ROOT, gunicorn
from tests.server.phone import HttpPhone

SESSION_ENDING = r"/auth/logout$|/revoke$"
CONFIG = Path(__file__).parent / "fuzz" / "schemathesis.toml"
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "25")
SEED = os.environ.get("FUZZ_SEED", "20261128")
# One worker: with two threads, Hypothesis's filter rewriting parses predicate sources with ast at the same
# time, and CPython 3.11 can then fail with "AST constructor recursion depth mismatch" inside schemathesis.
WORKERS = os.environ.get("FUZZ_WORKERS", "1")
# Fuzzing logs in with random addresses by the thousand from one host; the throttle would slow the
# harness's own logins to a crawl, and it has tests of its own (test_login_throttling.py).
UNTHROTTLED = {"LOGIN_ADDRESS_FREE_FAILURES": "1000000", "LOGIN_MAX_FAILURES": "1000000"}


@pytest.fixture
def live(app, client, database_url, tmp_path):
    """A world with something in every list (contacts, a conflict to review), served by gunicorn."""
    world = make_world()
    add_street(world.home, 5)
    assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=world.home.electors[0])
    canvasser, banker = HttpPhone(client, Role.CANVASSER), HttpPhone(client, Role.PHONE_BANKER)
    canvasser.push([canvasser.contact(world, world.home.electors[0], "SPOKE", "LAB")])
    banker.push([banker.contact(world, world.home.electors[0], "SPOKE", "UND")])
    with gunicorn(database_url, tmp_path / "gunicorn.log", workers=2, **UNTHROTTLED) as port:
        yield port


def schemathesis(port: int, tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "st"), "--config-file", str(CONFIG), "run",
               f"http://127.0.0.1:{port}/api/v1/openapi.json",
               "--checks", "all", "--max-examples", MAX_EXAMPLES, "--seed", SEED, "--workers", WORKERS, *args]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def _passed(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
    assert "passed" in run.stdout and "failures" not in run.stdout.split("SUMMARY")[-1]


@pytest.mark.parametrize("role", [Role.NATIONAL_ADMIN, Role.CANVASSER])
def test_every_operation_keeps_to_the_document(client, live, tmp_path, role):
    token = login(client, role, device_name="fuzzing")
    _passed(schemathesis(live, tmp_path, "--header", f"Authorization: Bearer {token}",
                         "--exclude-path-regex", SESSION_ENDING))


@pytest.mark.parametrize("role", [Role.CLP_ADMIN, Role.CANVASSER])
def test_operations_that_end_a_session_keep_to_the_document_with_a_fresh_device_per_case(live, tmp_path, role):
    _passed(schemathesis(live, tmp_path, "--include-path-regex", SESSION_ENDING, env={
        "SCHEMATHESIS_HOOKS": "tests.server.fuzz.hooks", "GROUNDWORK_FUZZ_BASE": f"http://127.0.0.1:{live}",
        "GROUNDWORK_FUZZ_EMAIL": f"{role.value}@example.test", "GROUNDWORK_FUZZ_PASSWORD": PASSWORD}))
