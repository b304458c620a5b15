"""The real HTTP server for stories that need one: gunicorn started with the Procfile's web command."""
from __future__ import annotations

import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body=None, headers=None, chunked: bool = False):
    """(status, body bytes, headers), or (None, b"", {}) when the server closed the connection first."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    except (ConnectionResetError, BrokenPipeError):
        return None, b"", {}
    finally:
        conn.close()


@contextmanager
def gunicorn(database_url: str, log_path: Path, workers: int = 1, **env: str):
    """Serve the app on a free port as production does (the Procfile's web line), on ``database_url``."""
    line = next(l for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:"))
    port = free_port()
    command = shlex.split(line[len("web:"):].replace("${PORT:-8000}", str(port))
                          .replace("${WEB_CONCURRENCY:-2}", str(workers)))
    command[0] = str(Path(sys.executable).parent / command[0])
    environment = {**os.environ, "DATABASE_URL": database_url, "SCHEDULER_ENABLED": "false",
                   "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", **env}
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        for _ in range(300):
            try:
                if request(port, "GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("gunicorn did not start: " + log_path.read_text())
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
