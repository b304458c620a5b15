"""A canvasser's whole session: log in and download online, then work with no signal, then deliver."""
from __future__ import annotations

from sqlalchemy import select

from server.models import Assignment, AssignmentKind, ContactRecord
from tests.pwa.conftest import db_all, db_scalar, screenshot, wait_until
from tests.pwa.helpers import (
    choose_doors, households, log_in, open_app, outbox, record_at_doors, wait_for_download, wait_for_offline_shell,
)


def walk_list_id() -> int:
    return db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))


def phone_records():
    """Contact records that arrived from a phone (the demo's own history has no device)."""
    return db_all(select(ContactRecord).where(ContactRecord.device_id.is_not(None)))


def go_offline_with_thirty_records(page, context, live_server):
    """Online: log in and download. Offline: reload, and record 30 contacts at 10 doors."""
    page.add_init_script("""
        window.__persistAsked = 0;
        if (navigator.storage) {
            const persist = navigator.storage.persist.bind(navigator.storage);
            navigator.storage.persist = () => { window.__persistAsked += 1; return persist(); };
        }""")
    log_in(page, live_server.login_for("canvasser"))
    assert page.evaluate("window.__persistAsked") >= 1 or page.evaluate("navigator.storage.persisted()")
    wait_for_download(page)
    wait_for_offline_shell(page)
    aid = walk_list_id()
    page.get_by_role("link", name="AA1 Castle Central").click()
    page.get_by_role("link", name="Next door").wait_for()

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    page.get_by_role("link", name="Next door").wait_for()  # the shell and the walk list, from this phone
    assert page.evaluate("navigator.onLine") is False
    doors = choose_doors(households(page, aid), count=10, people=30)
    expected = record_at_doors(page, aid, doors)
    assert len(expected) == 30
    return aid, expected


def test_a_full_offline_session_delivers_exactly_the_thirty_records_made_without_signal(page, context, live_server):
    aid, expected = go_offline_with_thirty_records(page, context, live_server)
    assert outbox(page) == {"pending": 30, "failed": 0}
    page.get_by_text("30 records waiting").wait_for()
    # Where the browser has Background Sync, the worker is asked to deliver them even if the app is closed.
    tags = page.evaluate("async () => { const r = await navigator.serviceWorker.ready; return r.sync ? r.sync.getTags() : null; }")
    assert tags is None or "groundwork-outbox" in tags

    # The phone is put away and the app opened again later, still with no signal.
    page.close()
    page = context.new_page()
    open_app(page, f"/#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    assert outbox(page) == {"pending": 30, "failed": 0}
    page.get_by_text("30 records waiting").wait_for()
    assert phone_records() == []

    # Signal again: the app notices by itself and delivers.
    context.set_offline(False)
    wait_until(lambda: len(phone_records()) >= 30, message="the 30 records to reach the server")
    page.get_by_text("All records sent").wait_for()
    records = phone_records()
    assert len(records) == 30
    assert {r.elector_id: (r.outcome, r.intention) for r in records} == expected
    assert {r.channel.value for r in records} == {"door"}
    assert outbox(page) == {"pending": 0, "failed": 0}


def test_a_push_whose_answer_is_lost_is_resent_and_still_lands_exactly_once(page, context, live_server):
    aid, expected = go_offline_with_thirty_records(page, context, live_server)
    live_server.fail_pushes = 1  # the server commits the first push, then the answer is lost (503)
    seen = live_server.pushes_seen
    context.set_offline(False)
    wait_until(lambda: live_server.pushes_seen >= seen + 2, timeout=30, message="the push to be retried")
    wait_until(lambda: outbox(page)["pending"] == 0, timeout=30, message="the outbox to empty")
    records = phone_records()
    assert len(records) == 30
    assert {r.elector_id: (r.outcome, r.intention) for r in records} == expected


def test_a_connection_dropped_after_the_server_committed_a_push_loses_nothing_and_adds_nothing(page, context, live_server):
    aid, expected = go_offline_with_thirty_records(page, context, live_server)
    live_server.drop_pushes = 1
    seen = live_server.pushes_seen
    context.set_offline(False)
    wait_until(lambda: live_server.pushes_seen >= seen + 2, timeout=30, message="the push to be retried")
    wait_until(lambda: outbox(page)["pending"] == 0, timeout=30, message="the outbox to empty")
    records = phone_records()
    assert len(records) == 30
    assert {r.elector_id: (r.outcome, r.intention) for r in records} == expected
