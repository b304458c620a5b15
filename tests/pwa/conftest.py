"""Browser tests of the PWA: Playwright (the Python package) driving Debian's Chromium against a live server.

Each test gets the Flask app of the ``app`` fixture, with the deterministic demo (2,000 electors) built
into its database, served by werkzeug on 127.0.0.1 (a secure context, so the service worker runs) in a
background thread; and a fresh browser context the size of a phone. Without Chromium or Playwright the
tests skip, and fail under REQUIRE_ALL=1. Screenshots go to artifacts/ (gitignored).
"""
from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import require

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-gpu"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PHONE = {"width": 360, "height": 740}
DEMO_PASSWORD = "groundwork-demo"


@pytest.fixture(scope="session")
def playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is not installed (pip install -e '.[test]')")
    require(os.path.exists(CHROMIUM), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class LiveServer:
    url: str
    app: object
    summary: object
    fail_pushes: int = 0  # answer the next N pushes with 503 AFTER the server has committed them
    drop_pushes: int = 0  # close the connection of the next N pushes, unanswered, after the commit
    shed_pushes: int = 0  # answer the next N pushes 503 WITHOUT doing them, as an overloaded server sheds load
    slow_pushes: int = 0  # hold the next N pushes for slow_seconds before doing them, as a queueing server does
    slow_seconds: float = 0.0
    pushes_seen: int = 0
    sync_log: list = field(default_factory=list)  # "push" / "pull", in the order the requests arrived

    def login_for(self, role: str) -> str:
        return next(login.email for login in self.summary.logins if login.role == role)


class _PushSaboteur:
    """WSGI middleware: lets a push reach the server and commit, then loses the answer (or sheds it unread).

    A page.route() cannot do this reliably: a push may come from the service worker (Background Sync),
    whose requests Playwright's routing does not see. Losing it here works for both.
    """

    def __init__(self, wsgi_app, live: LiveServer):
        self.wsgi_app = wsgi_app
        self.live = live

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/api/v1/sync/pull":
            self.live.sync_log.append("pull")
        if environ.get("PATH_INFO") != "/api/v1/sync/push" or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        self.live.pushes_seen += 1
        self.live.sync_log.append("push")
        if self.live.slow_pushes:
            self.live.slow_pushes -= 1
            time.sleep(self.live.slow_seconds)
        if self.live.shed_pushes:
            self.live.shed_pushes -= 1
            start_response("503 Service Unavailable", [("Content-Type", "text/html"), ("Retry-After", "30")])
            return [b"<html><body>Service Unavailable: too busy</body></html>"]
        if not (self.live.fail_pushes or self.live.drop_pushes):
            return self.wsgi_app(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            return lambda data: None

        body = b"".join(self.wsgi_app(environ, capture))  # the server does all its work and commits
        assert captured["status"].startswith("200"), body
        if self.live.drop_pushes:
            self.live.drop_pushes -= 1
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)  # the phone never hears back
            raise ConnectionAbortedError("test: connection dropped after the push was committed")
        self.live.fail_pushes -= 1
        start_response("503 Service Unavailable", [("Content-Type", "text/html")])
        return [b"<html><body>Bad gateway: the answer was lost</body></html>"]


@pytest.fixture
def live_server(app):
    from server.services.demo import build_demo

    summary = build_demo(seed=1, electors=2000)
    live = LiveServer(url="", app=app, summary=summary)
    server = make_server("127.0.0.1", 0, _PushSaboteur(app.wsgi_app, live), threaded=True)
    live.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield live
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, accept_downloads=True,
                                  service_workers="allow", locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(15000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1, message: str = "condition"):
    """Poll a server-side condition (the browser works in its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


def db_scalar(statement):
    from server.extensions import db

    db.session.rollback()  # see what the server thread committed
    return db.session.scalar(statement)


def db_all(statement):
    from server.extensions import db

    db.session.rollback()
    return list(db.session.scalars(statement))
