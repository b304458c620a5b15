"""The monitoring dashboards, as the people who use them: a regional organiser at a laptop, a CLP admin, and a
canvasser whose phone has not reached the party for a day.

The stories share one dataset, built once for the module: the demo at its default size (so every comparison
seat has a rate, and in the North West a demo CLP beats the regional average while sitting only at its peers'
median, the case docs/monitoring.md describes), its rollups rebuilt as the scheduler's job would, and one
canvasser's phone that stopped syncing four days ago saying 40 records were still on it. Each story leaves the
data as it found it, so any of them may run alone.
"""
from __future__ import annotations

import csv
import io
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from server.extensions import db
from server.models import Assignment, AssignmentKind, AuditEvent, Constituency, DeviceStorage, Region, User
from sync import PROTOCOL_VERSION, SCHEMA_VERSION
from tests.conftest import TEST_CONFIG, _empty_tables
from tests.pwa.conftest import DEMO_PASSWORD, PHONE, LiveServer, db_all, db_scalar, screenshot
from tests.pwa.helpers import (
    choose_doors, households, log_in, record_at_doors, wait_for_download, wait_for_offline_shell,
)
from tests.pwa.test_admin_console import DESKTOP, browser_page
from tests.pwa.test_screens import audit

BROXTOWE_CASE = "Rushton and Denby Moor"  # the demo CLP: beats its regional average, sits within its peers
FORMULA = '=HYPERLINK("http://evil.example/?","Click")'
PROVISIONAL = "provisional: a phone that worked then still holds unsent records"


@dataclass
class World(LiveServer):
    stuck_volunteer: str = ""
    stuck_device: str = ""
    region: Region | None = None
    other_region: Region | None = None


def _stop_a_phone(app, live: World) -> None:
    """The canvasser's phone pushes, says 40 records made five days ago are still on it, and falls silent:
    its report is made by a real push (docs/sync-protocol.md 7.11), then dated four days back."""
    client = app.test_client()
    email = live.login_for("canvasser")
    token = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD,
                                                    "device_name": "Moto G, canvassing"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    device = next(d for d in client.get("/api/v1/devices", headers=auth).get_json() if d["name"] == "Moto G, canvassing")
    now = datetime.now(timezone.utc)
    made = now - timedelta(days=5)
    storage = "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    pushed = client.post("/api/v1/sync/push", headers=auth, json={
        "device_id": device["id"], "storage_id": storage, "protocol_version": PROTOCOL_VERSION,
        "schema_version": SCHEMA_VERSION, "device_time": now.isoformat(), "mutations": [],
        "outbox": {"unsent": 40, "oldest_at": made.isoformat(), "app_version": "pwa-1"}})
    assert pushed.status_code == 200, pushed.get_json()
    row = db.session.scalar(select(DeviceStorage).where(DeviceStorage.device_id == uuid.UUID(device["id"])))
    assert row.unsent_count == 40
    row.last_push_at = row.reported_at = now - timedelta(days=4)
    row.oldest_unsent_at = made
    db.session.commit()
    live.stuck_volunteer = db.session.scalar(select(User.name).where(User.email == email))
    live.stuck_device = "Moto G, canvassing"


@pytest.fixture(scope="module")
def world(database_url):
    """The demo (40,000 electors), its rollups, a stopped phone, and a live server: built once for the module."""
    from server import create_app
    from server.services import rollups
    from server.services.demo import build_demo

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        summary = build_demo(seed=1)
        rollups.rebuild()  # as the scheduler's job leaves them (build_demo ends with one too)
        live = World(url="", app=app, summary=summary)
        _stop_a_phone(app, live)
        live.region = db.session.scalar(select(Region).where(Region.name == "North West"))
        live.other_region = db.session.scalar(select(Region).where(Region.id != live.region.id))
        server = make_server("127.0.0.1", 0, app.wsgi_app, threaded=True)
        live.url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, name="monitoring-server", daemon=True)
        thread.start()
        try:
            yield live
        finally:
            server.shutdown()
            thread.join(timeout=10)
            db.session.rollback()
            db.session.remove()
            _empty_tables(db)
            db.engine.dispose()


def csp_watch(page) -> list[str]:
    """Console errors about the page's Content-Security-Policy (an inline style or script it refused)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and (
        "Content Security Policy" in m.text or "Refused" in m.text) else None)
    return problems


def api(page, path: str):
    """What the API tells the logged-in user (the page's own login), as the screen would ask it."""
    return page.evaluate("""async (path) => {
        const { token } = await (await import('/js/db.js')).session();
        const r = await fetch('/api/v1' + path, { headers: { Authorization: 'Bearer ' + token } });
        return { status: r.status, body: await r.json() };
    }""", path)


def officer_opens_the_console(page, world):
    log_in(page, world.login_for("regional_staff"), device_name="Regional office", lands_on="Dashboard")
    page.locator("[data-table=units]").wait_for()


def pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def chart_drawn(page, which: str) -> dict:
    page.locator(f"[data-chart={which}] canvas").first.wait_for()
    return page.locator(f"[data-chart={which}] canvas").first.evaluate(
        "(c) => ({ width: c.width, height: c.height, css: c.getBoundingClientRect().width })")


# ------------------------------------------------------------------------------------------ the organiser

def test_a_regional_organiser_lands_on_the_dashboard_and_sees_each_seat_against_similar_seats(browser, world):
    with browser_page(browser, world, DESKTOP) as page:
        refused = csp_watch(page)
        officer_opens_the_console(page, world)
        assert page.url.endswith("#/admin")
        expect(page.locator(".admin-nav [aria-current]")).to_have_text("Dashboard")
        board = api(page, "/activity")["body"]
        assert board["scope"]["name"] == "North West" and board["level"] == "constituency"
        expect(page.locator(".lede")).to_contain_text(f"North West · {board['campaign']['name']}")
        expect(page.get_by_label("Campaign", exact=True)).to_have_value(str(board["campaign"]["id"]))

        # The rate, with its definition and its window beside it, and the regional average.
        headline = page.locator("[data-rate-headline]")
        expect(headline).to_contain_text(pct(board["totals"]["contact_rate"]))
        expect(headline).to_contain_text(board["rate_window"])
        expect(headline).to_contain_text(board["definitions"]["contact_rate"])
        expect(headline).to_contain_text(f"Regional average: {pct(board['regional_average']['average'])}")
        expect(page.locator("#m-activity")).to_contain_text(board["period"]["label"])
        expect(page.locator("[data-as-of]")).to_contain_text("Figures as of")

        # Each seat: its rate, its peers' median and where it stands, and the regional average beside it.
        units = {u["name"]: u for u in board["units"]}
        rows = page.locator("[data-table=units] tbody tr")
        expect(rows).to_have_count(len(units))
        for name, unit in units.items():
            row = rows.filter(has=page.get_by_role("rowheader", name=re.compile(re.escape(name))))
            expect(row.locator("[data-rate]")).to_have_text(pct(unit["contact_rate"]))
            expect(row.locator("[data-peers]")).to_contain_text(pct(unit["comparison"]["peer_median"]))
            expect(row.locator("[data-region]")).to_contain_text(pct(unit["comparison"]["regional_average"]))

        # The Broxtowe case: above a regional average dragged down by safe seats, only at its peers' median.
        case = units[BROXTOWE_CASE]["comparison"]
        assert case["against_region"] == "above" and case["against_peers"] == "within", case
        row = rows.filter(has_text=BROXTOWE_CASE)
        expect(row.locator("[data-against]")).to_have_text("within")
        expect(row.locator("[data-region]")).to_contain_text("above it")
        expect(page.locator("[data-fair]")).to_contain_text("The comparison with similar seats is the fair one.")
        audit(page, "dashboard at 1280px")
        screenshot(page, "monitoring-dashboard-1280")
        for part in ("m-weeks", "m-rates", "m-units", "phones-heading"):
            page.locator(f"#{part}").evaluate("(e) => e.scrollIntoView()")
            screenshot(page, f"monitoring-dashboard-1280-{part[:-8] if part.endswith('-heading') else part[2:]}")

        # The seat's own comparison: both figures, why the peers are the fair one, and each peer's likeness.
        row.get_by_role("link", name=BROXTOWE_CASE).click()
        page.get_by_role("heading", name=f"{BROXTOWE_CASE} against similar seats").wait_for()
        found = api(page, f"/activity/seats/{units[BROXTOWE_CASE]['id']}/comparison")["body"]
        result = found["result"]
        expect(page.locator("[data-peer-median]")).to_contain_text(pct(result["peer_median"]))
        expect(page.locator("[data-percentile]")).to_contain_text("within the middle half")
        expect(page.locator("[data-regional]")).to_contain_text(pct(result["regional_average"]))
        expect(page.locator("[data-regional]")).to_contain_text("above it")
        expect(page.locator("[data-note]")).to_contain_text("The comparison with similar seats is the fair one.")
        expect(page.locator("[data-note]")).to_contain_text(f"median {pct(result['peer_median'])}")
        expect(page.locator("[data-fair]")).to_contain_text(found["definitions"]["fair"])
        peers = page.locator("[data-table=peers] tbody tr")
        expect(peers).to_have_count(len(found["peers"]))
        for peer in found["peers"]:
            expect(page.locator(f"[data-peer='{peer['id']}']")).to_contain_text(
                peer["similar_in_words"] or "similar overall")
        assert chart_drawn(page, "peers")["width"] > 0
        audit(page, "seat comparison")
        screenshot(page, "monitoring-seat-1280")
        for part in ("s-chart", "s-peers", "s-adjust"):
            page.locator(f"#{part}").evaluate("(e) => e.scrollIntoView()")
            screenshot(page, f"monitoring-seat-1280-{part[2:]}")

        # Asking for fewer, on fewer features: the server's answer, with the new peers.
        adjust = page.locator("[data-adjust]")
        adjust.get_by_label("How many similar seats").fill("3")
        adjust.get_by_role("checkbox", name="previous majority").uncheck()
        adjust.get_by_role("button", name="Compare").click()
        expect(page.locator("[data-table=peers] tbody tr")).to_have_count(3)
        expect(page.locator("[data-peer-median]")).to_be_visible()
        expect(page.locator("[data-adjust]").get_by_role("checkbox", name="previous majority")).not_to_be_checked()

        # Back to the dashboard, the same view.
        page.get_by_role("link", name="Back to the dashboard").click()
        page.locator("[data-table=units]").wait_for()
        assert not refused, refused

    with browser_page(browser, world, PHONE) as phone:
        refused = csp_watch(phone)
        officer_opens_the_console(phone, world)
        chart_drawn(phone, "weeks")
        audit(phone, "dashboard at 360px")
        screenshot(phone, "monitoring-dashboard-360")
        for part in ("m-activity", "m-weeks", "m-rates", "m-units", "phones-heading"):
            phone.locator(f"#{part}").evaluate("(e) => e.scrollIntoView()")
            screenshot(phone, f"monitoring-dashboard-360-{part[:-8] if part.endswith('-heading') else part[2:]}")
        assert not refused, refused


def test_the_charts_render_and_the_tables_behind_them_hold_the_api_numbers(browser, world):
    with browser_page(browser, world, DESKTOP) as page:
        refused = csp_watch(page)
        officer_opens_the_console(page, world)
        board = api(page, "/activity")["body"]
        for which in ("weeks", "rates"):
            size = chart_drawn(page, which)
            assert size["width"] > 0 and size["height"] > 0 and size["css"] > 600, (which, size)

        page.locator("[data-numbers=weeks] summary").click()
        weeks = page.locator("[data-table=weeks] tbody tr")
        expect(weeks).to_have_count(len(board["weeks"]))
        for i, week in enumerate(board["weeks"]):
            cells = weeks.nth(i).locator("td").all_inner_texts()
            assert [int(c.replace(",", "")) for c in cells[:5]] == [
                week["doors"], week["calls"], week["conversations"], week["reached"], week["volunteers"]], week
            assert ("provisional" in cells[-1]) == week["provisional"]

        page.locator("[data-numbers=rates] summary").click()
        rated = sorted((u for u in board["units"] if u["contact_rate"] is not None), key=lambda u: -u["contact_rate"])
        rows = page.locator("[data-table=rates] tbody tr")
        expect(rows).to_have_count(len(rated))
        for i, unit in enumerate(rated):
            row = rows.nth(i)
            expect(row.locator("th")).to_have_text(unit["name"])
            cells = row.locator("td").all_inner_texts()
            c = unit["comparison"]
            assert cells == [pct(unit["contact_rate"]), pct(c["peer_median"]),
                             f"{pct(c['peer_q1'])} to {pct(c['peer_q3'])}", pct(board["regional_average"]["average"])]

        # A narrower window: the charts follow it.
        before = chart_drawn(page, "weeks")["css"]
        page.set_viewport_size({"width": 700, "height": 900})
        page.wait_for_function("(w) => document.querySelector('[data-chart=weeks] canvas').getBoundingClientRect().width < w",
                               arg=before)
        assert not refused, refused


def test_a_csv_of_the_seats_arrives_with_formula_cells_neutralised_and_the_download_is_audited(browser, world):
    seat = db_scalar(select(Constituency).where(Constituency.region_id == world.region.id,
                                                Constituency.name == "Kilnsey"))
    seat.name = FORMULA
    db.session.commit()
    try:
        with browser_page(browser, world, DESKTOP) as page:
            officer_opens_the_console(page, world)
            expect(page.locator("[data-table=units]")).to_contain_text(FORMULA)  # shown as text on screen
            before = len(db_all(select(AuditEvent).where(AuditEvent.action == "activity.export")))
            with page.expect_download() as download:
                page.get_by_role("button", name="Download CSV of the seats").last.click()
            assert download.value.suggested_filename.startswith("units-north-west-")
            rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
            names = [r[2] for r in rows[1:]]
            assert "'" + FORMULA in names and FORMULA not in names
            assert rows[0][:3] == ["Level", "Code", "Name"] and "Rate window" in rows[0]
            expect(page.locator("#toast")).to_contain_text("recorded in the audit log")
            events = db_all(select(AuditEvent).where(AuditEvent.action == "activity.export").order_by(AuditEvent.id))
            assert len(events) == before + 1
            assert events[-1].details["table"] == "units" and events[-1].details["rows"] == len(rows) - 1
    finally:
        seat = db.session.get(Constituency, seat.id)
        seat.name = "Kilnsey"
        db.session.commit()


# ------------------------------------------------------------------------------------------ stuck work

def test_a_phone_that_stopped_syncing_shows_for_the_clp_admin_and_its_weeks_are_provisional(browser, world):
    with browser_page(browser, world, DESKTOP) as page:
        log_in(page, world.login_for("clp_admin"), device_name="Office laptop", lands_on="Lists")
        page.locator(".admin-nav").get_by_role("link", name="Dashboard", exact=True).click()
        page.get_by_role("heading", name="Dashboard", exact=True).wait_for()
        page.locator("[data-table=units]").wait_for()
        expect(page.locator("[data-phones-at-risk]")).to_contain_text("1 phone holding 40 unsent records")
        page.get_by_role("button", name="See the phones").click()
        phone = page.locator("[data-table=phones] tbody tr")
        expect(phone).to_have_count(1)
        expect(phone).to_contain_text(world.stuck_volunteer)
        expect(phone).to_contain_text(world.stuck_device)
        expect(phone.locator("[data-unsent]")).to_have_text("40")
        expect(phone).to_contain_text("At risk: not seen for 4 days")
        expect(phone).to_contain_text("pwa-1")
        screenshot(page, "monitoring-phones-clp-admin")

        # The weeks that phone worked in are provisional, on the chart's table and in a note above.
        board = api(page, "/activity")["body"]
        provisional = [w for w in board["weeks"] if w["provisional"]]
        assert provisional, "the stopped phone's weeks are provisional"
        expect(page.locator("[data-provisional-note]")).to_contain_text("provisional")
        page.locator("[data-numbers=weeks] summary").click()
        marked = page.locator("[data-table=weeks] tbody tr[data-provisional]")
        expect(marked).to_have_count(len(provisional))
        expect(marked.first).to_contain_text(PROVISIONAL)
        page.locator("[data-chart=weeks]").scroll_into_view_if_needed()
        screenshot(page, "monitoring-provisional-week")

        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV of the phones with unsent work").click()
        rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
        assert rows[1][1] == world.stuck_volunteer and rows[1][4] == "40" and rows[1][8] == "yes"

    # Regional staff see the phone and its CLP, but not who holds it.
    with browser_page(browser, world, DESKTOP) as page:
        officer_opens_the_console(page, world)
        phone = page.locator("[data-table=phones] tbody tr")
        expect(phone).to_have_count(1)
        expect(phone).to_contain_text("a canvasser")
        expect(phone).not_to_contain_text(world.stuck_volunteer)
        expect(page.locator("[data-phones]")).to_contain_text("names are shown to their CLP's admins only")


def test_a_canvasser_whose_records_have_waited_over_a_day_is_warned_on_their_lists(browser, world):
    with browser_page(browser, world, PHONE) as page:
        page.clock.install()  # the phone's clock runs as ever, until a day passes below
        log_in(page, world.login_for("canvasser"), device_name="Canvasser's phone")
        wait_for_download(page)
        wait_for_offline_shell(page)
        expect(page.locator("[data-stale-unsent]")).to_have_count(0)
        aid = db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))
        page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{aid}")
        page.get_by_role("link", name="Next door").wait_for()
        # Out of signal, they knock on a door and record it.
        page.context.set_offline(True)
        record_at_doors(page, aid, choose_doors(households(page, aid), count=1, people=1))
        page.evaluate("() => { location.hash = '#/lists'; }")
        page.get_by_role("heading", name="Your lists").wait_for()
        expect(page.locator("[data-stale-unsent]")).to_have_count(0)  # made minutes ago: no alarm yet

        # More than a day later, still no signal: the lists say so, and how to get them to the party.
        page.clock.set_system_time(page.evaluate("Date.now()") / 1000 + 25 * 3600)
        page.reload()
        page.get_by_role("heading", name="Your lists").wait_for()
        warning = page.locator("[data-stale-unsent]")
        expect(warning).to_contain_text("1 record made over a day ago has not reached the party yet: find a signal "
                                        "and sync, or export it.")
        expect(warning.get_by_role("link", name="Sync or export")).to_be_visible()
        screenshot(page, "canvasser-stale-unsent-warning")


# ------------------------------------------------------------------------------------------ the CLP's own

def test_a_clp_admin_sees_only_their_clp_and_another_regions_figures_are_refused(browser, world):
    with browser_page(browser, world, PHONE) as page:
        log_in(page, world.login_for("clp_admin"), device_name="Phone", lands_on="Lists")
        page.locator(".admin-nav").get_by_role("link", name="Dashboard", exact=True).click()
        page.locator("[data-table=units]").wait_for()
        board = api(page, "/activity")["body"]
        assert board["scope"]["kind"] == "constituency" and board["level"] == "ward"
        expect(page.locator(".lede")).to_contain_text(board["scope"]["name"])
        expect(page.get_by_label("Area")).to_be_hidden()
        assert page.get_by_label("One row per").locator("option").all_inner_texts() == ["Ward", "Polling district"]
        expect(page.locator("[data-table=units] tbody tr")).to_have_count(len(board["units"]))
        expect(page.locator("[data-rate-headline]")).to_contain_text("peers' median")
        audit(page, "CLP admin's dashboard at 360px")
        screenshot(page, "monitoring-clp-admin-360")

        # By polling district: a district with too few electors reached says so instead of showing a rate.
        page.get_by_label("One row per").select_option(label="Polling district")
        districts = api(page, "/activity?level=polling_district")["body"]
        rows = page.locator("[data-table=units] tbody tr")
        expect(rows).to_have_count(len(districts["units"]))
        quiet = next(u for u in districts["units"] if u["rate_note"] == "too_few")
        expect(rows.filter(has_text=quiet["name"]).locator("[data-rate]")).to_have_text(
            f"too few to rate (fewer than {districts['min_count']} reached)")
        page.get_by_label("One row per").select_option(label="Ward")
        expect(rows).to_have_count(len(board["units"]))

        refused = api(page, f"/activity?region_id={world.other_region.id}")
        assert refused["status"] == 404, refused
        page.evaluate("(hash) => { location.hash = hash; }", f"#/admin/dashboard/region-{world.other_region.id}")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text(refused["body"]["error"]["message"])
        expect(alert).to_contain_text("outside the area you look after")
        expect(page.get_by_role("link", name="Back to your dashboard")).to_be_visible()
        screenshot(page, "monitoring-clp-admin-refused")
        page.get_by_role("link", name="Back to your dashboard").click()
        page.locator("[data-table=units]").wait_for()
        expect(page.locator(".lede")).to_contain_text(board["scope"]["name"])
