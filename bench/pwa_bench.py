"""How fast the PWA is, measured in Chromium (Debian's, driven by Playwright) against a live demo server.

Not a test (nothing here asserts a time): run it after changing the app and compare the numbers.

    .venv/bin/python bench/pwa_bench.py [--electors 24000] [--walk-electors 5000] [--repeats 5]

It builds the deterministic demo in a temporary SQLite database, gives the demo canvasser a second walk
list of about --walk-electors electors, serves the app on 127.0.0.1 and measures, in the browser:

* app shell transferred: the response bytes the server sends for the app's files during a first visit
  (the page's loads and the service worker's install, as sent: gzipped), the page's own share by
  Resource Timing, and the decoded bytes the service worker keeps in its shell cache;
* offline cold start to an interactive walk list with the CPU throttled 4x (CDP
  Emulation.setCPUThrottlingRate): a new page, offline, from navigation start until the list has
  been painted and the main thread is free (the app's `gw:walk-interactive` mark), for the demo's
  23-address list and for the large list;
* recording a contact until IndexedDB has committed it (recording.recordContact resolves on the
  transaction's complete event), unthrottled and throttled 4x;
* first render of the large walk list: from the route change to the list in the DOM
  (`gw:walk-rendered`) and to interactive, online and warm.

Medians of --repeats runs are printed as a markdown table. The figures belong in docs/performance.md.
"""
from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-gpu"]
PHONE = {"width": 360, "height": 740}
PASSWORD = "groundwork-demo"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(database: str, electors: int, walk_electors: int):
    """The demo, plus a large walk list for the demo canvasser. Returns (app, canvasser email, ids)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from server import create_app
    from server.extensions import db
    from server.models import Assignment, AssignmentItem, AssignmentKind, AssignmentUser, Elector, Property, User
    from server.orm import utcnow
    from server.services.demo import build_demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SCHEDULER_ENABLED": False,
                      "SECRET_KEY": "bench-secret-key-bench-secret-key-000"})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        summary = build_demo(seed=1, electors=electors)
        log(f"demo of {electors:,} electors built in {time.perf_counter() - started:.1f} s")
        email = next(login.email for login in summary.logins if login.role == "canvasser")
        user = db.session.scalar(select(User).where(User.email == email))
        small = db.session.scalar(select(Assignment).where(Assignment.kind == AssignmentKind.WALK))
        # Whole households of the canvasser's CLP, in walking order, until there are enough electors.
        counts = dict(db.session.execute(
            select(Elector.property_id, db.func.count()).where(Elector.constituency_id == user.constituency_id)
            .group_by(Elector.property_id)).all())
        props = db.session.scalars(select(Property).where(Property.constituency_id == user.constituency_id)
                                   .order_by(Property.sort_key, Property.id)).all()
        chosen, covered = [], 0
        for prop in props:
            if covered >= walk_electors:
                break
            if counts.get(prop.id):
                chosen.append(prop.id)
                covered += counts[prop.id]
        now = utcnow()
        big = Assignment(campaign_id=small.campaign_id, constituency_id=user.constituency_id, kind=AssignmentKind.WALK,
                         name=f"Bench: {covered:,} electors", starts_at=now - timedelta(days=1),
                         ends_at=now + timedelta(days=14))
        big.items = [AssignmentItem(property_id=p, position=i) for i, p in enumerate(chosen)]
        big.assignees = [AssignmentUser(user_id=user.id)]
        db.session.add(big)
        db.session.commit()
        log(f"large walk list: {covered:,} electors at {len(chosen):,} properties")
        return app, email, {"small": small.id, "big": big.id, "big_electors": covered, "big_properties": len(chosen)}


class ByteCounter:
    """WSGI middleware counting the response bytes of the app's files (not /api): what a phone downloads."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.bytes = 0
        self.responses = 0

    def __call__(self, environ, start_response):
        body = self.wsgi_app(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/api/"):
            return body
        chunks = list(body)
        self.bytes += sum(len(c) for c in chunks)
        self.responses += 1
        return chunks


def serve(app):
    from werkzeug.serving import make_server

    app.byte_counter = ByteCounter(app.wsgi_app)
    server = make_server("127.0.0.1", 0, app.byte_counter, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def wait_ready(page):
    page.wait_for_selector("html[data-ready=true]")


def until(page, script: str, timeout: float = 300.0):
    """Evaluate a (possibly async) script until it is truthy; wait_for_function would not await it."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise TimeoutError(script)
        page.wait_for_timeout(50)


def log_in(page, email):
    page.goto("/")
    wait_ready(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Name for this device").fill("Bench phone")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your lists").wait_for()


def shell_bytes(browser, url, counter) -> dict:
    """First visit of a fresh phone: what the page loads, and what the service worker caches."""
    context = browser.new_context(viewport=PHONE, base_url=url, service_workers="allow")
    page = context.new_page()
    counter.bytes = counter.responses = 0
    page.goto("/")
    wait_ready(page)
    until(page, """async () => {
        const reg = await navigator.serviceWorker.ready;
        return !!reg.active && (await caches.keys()).some((n) => n.startsWith('groundwork-shell-'));
    }""")
    page.wait_for_load_state("networkidle")
    served = {"bytes": counter.bytes, "responses": counter.responses}
    loaded = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const resources = performance.getEntriesByType('resource').filter((r) => !r.name.includes('/api/'));
        return { count: resources.length + 1,
                 transfer: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0) };
    }""")
    cached = page.evaluate("""async () => {
        const name = (await caches.keys()).find((n) => n.startsWith('groundwork-shell-'));
        const cache = await caches.open(name);
        let bytes = 0, files = 0;
        for (const request of await cache.keys()) {
            const response = await cache.match(request);
            bytes += (await response.arrayBuffer()).byteLength;
            files += 1;
        }
        return { bytes, files };
    }""")
    context.close()
    from server.web import PWA_DIR

    shell = Path(PWA_DIR)
    from_disk = [p for p in shell.rglob("*") if p.suffix in {".html", ".js", ".css", ".webmanifest", ".png"}]
    gz = sum(len(gzip.compress(p.read_bytes(), 6)) for p in from_disk)
    return {"served": served["bytes"], "served_files": served["responses"],
            "page_transfer": loaded["transfer"], "page_files": loaded["count"], "cached": cached["bytes"],
            "cached_files": cached["files"], "gzip": gz}


def measure_recording(page, cpu, repeats=40) -> list[float]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    times = page.evaluate("""async (repeats) => {
        const db = await import('/js/db.js');
        const recording = await import('/js/recording.js');
        const assignment = (await db.all('assignment')).find((a) => a.kind === 'walk');
        const campaign = await db.get('campaign', assignment.campaign_id);
        const electors = await db.all('elector');
        const outcome = recording.outcomeFor(campaign, 'door', 'not_home');
        const out = [];
        for (let i = 0; i < repeats; i++) {
            const started = performance.now();
            await recording.recordContact({ campaign, assignment, elector: electors[i % electors.length],
                                            channel: 'door', outcome });
            out.push(performance.now() - started);
        }
        return out;
    }""", repeats)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    cdp.detach()
    return times


def measure_first_render(page, assignment_id) -> tuple[float, float]:
    page.evaluate("() => { performance.clearMarks(); location.hash = '#/lists'; }")
    page.get_by_role("heading", name="Your lists").wait_for()
    page.evaluate("(aid) => { performance.clearMarks(); location.hash = '#/walk/' + aid; }", assignment_id)
    page.wait_for_function("() => performance.getEntriesByName('gw:walk-interactive').length > 0")
    return tuple(page.evaluate("""() => {
        const start = performance.getEntriesByName('gw:route').pop().startTime;
        return [performance.getEntriesByName('gw:walk-rendered').pop().startTime - start,
                performance.getEntriesByName('gw:walk-interactive').pop().startTime - start];
    }"""))


def measure_cold_start(context, assignment_id, cpu) -> float:
    """A new page, offline, CPU throttled: navigation start to an interactive walk list."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    page.goto(f"/#/walk/{assignment_id}")
    page.wait_for_function("() => performance.getEntriesByName('gw:walk-interactive').length > 0", timeout=60000)
    elapsed = page.evaluate("performance.getEntriesByName('gw:walk-interactive')[0].startTime")
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    page.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--electors", type=int, default=24000, help="demo size (the canvasser's CLP holds a quarter)")
    parser.add_argument("--walk-electors", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    workdir = tempfile.mkdtemp(prefix="groundwork-pwa-bench-")
    app, email, ids = build(os.path.join(workdir, "bench.sqlite"), args.electors, args.walk_electors)
    server, url = serve(app)
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            log("measuring the app shell")
            shell = shell_bytes(browser, url, app.byte_counter)

            # A profile on disk, as on a phone: an incognito context keeps IndexedDB in memory.
            context = p.chromium.launch_persistent_context(
                os.path.join(workdir, "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=PHONE,
                base_url=url, service_workers="allow")
            context.set_default_timeout(120000)
            page = context.pages[0] if context.pages else context.new_page()
            started = time.perf_counter()
            log_in(page, email)
            until(page, "async () => (await (await import('/js/db.js')).getMeta(['pullComplete'])).pullComplete === true")
            download = time.perf_counter() - started
            until(page, "() => !!navigator.serviceWorker.controller")
            electors_held = page.evaluate("async () => (await (await import('/js/db.js')).all('elector')).length")
            log(f"downloaded {electors_held:,} electors in {download:.1f} s")

            log("measuring the first render of the large walk list")
            renders = [measure_first_render(page, ids["big"]) for _ in range(args.repeats)]

            log("measuring offline cold starts")
            context.set_offline(True)
            page.close()
            cold_small = [measure_cold_start(context, ids["small"], 4) for _ in range(args.repeats)]
            cold_big = [measure_cold_start(context, ids["big"], 4) for _ in range(args.repeats)]
            cold_small_1x = [measure_cold_start(context, ids["small"], 1) for _ in range(args.repeats)]

            log("measuring recording")
            page = context.new_page()
            page.goto(f"/#/walk/{ids['small']}")
            wait_ready(page)
            record_1x = measure_recording(page, 1)
            record_4x = measure_recording(page, 4)
            context.close()
            browser.close()
    finally:
        server.shutdown()

    med = statistics.median

    def p95(values):
        return sorted(values)[max(0, int(len(values) * 0.95) - 1)]

    kb = lambda n: f"{n / 1024:.1f} KB"  # noqa: E731
    rows = [
        ("app shell transferred on a first visit (page + service worker install; bodies as sent, gzip)", "≤ 150 KB",
         f"{kb(shell['served'])} in {shell['served_files']} responses"),
        ("app shell, first visit: the page's own loads (Resource Timing transferSize, headers incl.)", "",
         f"{kb(shell['page_transfer'])} in {shell['page_files']} files"),
        ("app shell, service-worker cache (decoded bodies; gzip of the same files)", "",
         f"{kb(shell['cached'])} in {shell['cached_files']} files ({kb(shell['gzip'])} gzipped)"),
        ("offline cold start → interactive walk list (23 addresses), CPU 4×", "≤ 1 s", f"{med(cold_small):.0f} ms"),
        ("offline cold start → interactive walk list (23 addresses), CPU 1×", "", f"{med(cold_small_1x):.0f} ms"),
        (f"offline cold start → interactive walk list ({ids['big_electors']:,} electors), CPU 4×", "",
         f"{med(cold_big):.0f} ms"),
        ("record a contact until committed in IndexedDB, CPU 1× (median / p95)", "≤ 50 ms",
         f"{med(record_1x):.1f} / {p95(record_1x):.1f} ms"),
        ("record a contact until committed in IndexedDB, CPU 4× (median / p95)", "",
         f"{med(record_4x):.1f} / {p95(record_4x):.1f} ms"),
        (f"walk list of {ids['big_electors']:,} electors ({ids['big_properties']:,} addresses), first render: in the DOM",
         "≤ 300 ms", f"{med(r[0] for r in renders):.0f} ms"),
        (f"walk list of {ids['big_electors']:,} electors, first render: painted and interactive", "",
         f"{med(r[1] for r in renders):.0f} ms"),
        (f"log in and download every list ({electors_held:,} electors), online, localhost", "", f"{download:.1f} s"),
    ]
    print(f"PWA bench, {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores, {platform.platform()}, "
          f"Chromium at {CHROMIUM}; medians of {args.repeats} runs (recording: {len(record_1x)} records)\n")
    print("| measure | aim | result |")
    print("|---|---|---:|")
    for name, aim, value in rows:
        print(f"| {name} | {aim} | {value} |")


if __name__ == "__main__":
    main()
