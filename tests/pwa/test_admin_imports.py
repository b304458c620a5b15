"""The console's Imports, driven in Chromium: a canvass sheet typed up from paper is uploaded, its codes
explained, previewed, committed and undone, with the import worker running beside the server as the
scheduler process would; a phone's own export file is imported and the phone's later sync doubles
nothing; a bad file is refused beside the file field and nothing is stored."""
from __future__ import annotations

import csv
import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from server.models import ContactRecord, Elector, ElectorStatus, ImportBatch, RecordSource, User
from tests.pwa.conftest import db_all, db_scalar, screenshot
from tests.pwa.helpers import choose_doors, households, log_in, outbox, record_at_doors, sync_now, until, wait_for_download
from tests.pwa.test_admin_console import DESKTOP, PHONE, admin_log_in, admin_of, browser_page, go
from tests.pwa.test_screens import audit, walk_list_id

# (result, intention) as a volunteer wrote them on the sheet; "ZZ" is nobody's code.
WRITTEN = [("NI", ""), ("S", "Lab"), ("S", "Con"), ("ZZ", ""), ("S", "L")]


@pytest.fixture
def worker(live_server):
    """The import worker, polling as the scheduler process does, in the server's app."""
    from server.jobs.imports import run_pending

    stop = threading.Event()

    def loop():
        with live_server.app.app_context():
            while not stop.is_set():
                run_pending()
                stop.wait(0.3)

    thread = threading.Thread(target=loop, name="import-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


def _sheet(tmp_path, constituency_id: int, rows: int = 25):
    """A sheet of the CLP's first electors by elector number, with the codes written in WRITTEN's cycle."""
    electors = db_all(select(Elector).where(Elector.constituency_id == constituency_id,
                                            Elector.status == ElectorStatus.CURRENT).order_by(Elector.id).limit(rows))
    path = tmp_path / "ward-3-sheet-4.csv"
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Elector No", "Surname", "First name", "Date", "Result", "VI"])
        for i, e in enumerate(electors):
            result, intention = WRITTEN[i % len(WRITTEN)]
            out.writerow([e.elector_number, e.surname, e.forenames, "14/11/2026", result, intention])
    skipped = sum(1 for i in range(len(electors)) if WRITTEN[i % len(WRITTEN)][0] == "ZZ")
    return path, len(electors), skipped


def _imported() -> int:
    return db_scalar(select(func.count()).select_from(ContactRecord).where(ContactRecord.source == RecordSource.IMPORT))


@pytest.mark.parametrize("width", [1280, 360])
def test_a_sheet_typed_up_from_paper_is_previewed_committed_and_undone(browser, live_server, worker, tmp_path, width):
    admin = admin_of(live_server)
    path, rows, skipped = _sheet(tmp_path, admin.constituency_id)
    with browser_page(browser, live_server, DESKTOP if width == 1280 else PHONE) as page:
        admin_log_in(page, live_server)
        go(page, "#/admin/imports", "Imports")
        audit(page, f"imports at {width}")
        page.get_by_label("File", exact=True).set_input_files(str(path))
        page.get_by_role("button", name="Upload and read it").click()
        page.get_by_text("How the sheet is read").wait_for()
        expect(page.get_by_label("Elector number", exact=True)).to_have_value("0")
        unknown = page.get_by_label(f'"ZZ" ({skipped} rows)')
        audit(page, f"an import's mapping at {width}")
        screenshot(page, f"admin-import-mapping-{width}")
        unknown.select_option("skip_row")
        page.get_by_role("button", name="Save and preview").click()
        page.get_by_role("heading", name="What committing would do").wait_for()
        new = page.locator(".stat").filter(has_text="new records").locator(".stat-n")
        expect(new).to_have_text(str(rows - skipped))
        assert _imported() == 0, "a preview changes nothing"
        audit(page, f"an import's preview at {width}")
        screenshot(page, f"admin-import-preview-{width}")

        page.get_by_role("button", name="Commit: merge into the national data").click()
        page.get_by_role("dialog").get_by_role("button", name="Commit", exact=True).click()
        page.get_by_role("heading", name="What was committed").wait_for()
        assert _imported() == rows - skipped
        page.get_by_role("button", name="Undo this import").click()
        page.get_by_role("dialog").get_by_role("button", name="Undo the import").click()
        page.get_by_role("heading", name="Undone: what this import had added was removed").wait_for()
        assert _imported() == 0
        screenshot(page, f"admin-import-undone-{width}")


def test_an_empty_file_is_refused_beside_the_file_field_and_nothing_is_stored(browser, live_server, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with browser_page(browser, live_server, DESKTOP) as page:
        admin_log_in(page, live_server)
        go(page, "#/admin/imports", "Imports")
        page.get_by_label("File", exact=True).set_input_files(str(empty))
        page.get_by_role("button", name="Upload and read it").click()
        expect(page.locator("#f-file-error")).to_contain_text("empty")
        assert db_scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_a_phones_export_is_imported_then_the_phone_syncs_and_every_record_lands_once(
        browser, page, context, live_server, worker, tmp_path):
    # The canvasser's phone has no signal: two doors recorded, then exported from the Sync screen.
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    aid = walk_list_id()
    context.set_offline(True)
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    recorded = record_at_doors(page, aid, choose_doors(households(page, aid), count=2, people=2))
    page.get_by_role("link", name="Sync", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export 2 unsent records").click()
    exported = tmp_path / "unsent-records.json"
    download.value.save_as(exported)

    # The CLP admin imports the file: previewed, then committed, credited to the canvasser.
    with browser_page(browser, live_server, DESKTOP) as desk:
        admin_log_in(desk, live_server)
        go(desk, "#/admin/imports", "Imports")
        desk.get_by_label("File", exact=True).set_input_files(str(exported))
        desk.get_by_role("button", name="Upload and read it").click()
        expect(desk.get_by_text("They keep their volunteer, phone and times")).to_contain_text(
            f"{db_scalar(select(User.name).where(User.email == live_server.login_for('canvasser')))}'s phone \"Test phone\": 2 records")
        desk.get_by_role("button", name="Preview", exact=True).click()
        desk.get_by_role("heading", name="What committing would do").wait_for()
        expect(desk.locator(".stat").filter(has_text="new records").locator(".stat-n")).to_have_text("2")
        desk.get_by_role("button", name="Commit: merge into the national data").click()
        desk.get_by_role("dialog").get_by_role("button", name="Commit", exact=True).click()
        desk.get_by_role("heading", name="What was committed").wait_for()
        screenshot(desk, "admin-import-export-committed")
    canvasser = db_scalar(select(User.id).where(User.email == live_server.login_for("canvasser")))
    landed = db_all(select(ContactRecord).where(ContactRecord.source == RecordSource.IMPORT))
    assert {r.elector_id for r in landed} == set(recorded) and {r.user_id for r in landed} == {canvasser}

    # The phone's signal returns: its own sync delivers the same records, which are not stored twice.
    context.set_offline(False)
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0",
          message="the phone's outbox to empty")
    assert outbox(page) == {"pending": 0, "failed": 0}
    assert db_scalar(select(func.count()).select_from(ContactRecord)
                     .where(ContactRecord.elector_id.in_(list(recorded)))) == len(recorded)
