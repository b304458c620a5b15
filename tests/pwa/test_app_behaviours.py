"""Four things the app promises a volunteer that no browser test held it to (issue 8, section 5).

Each is a story a canvasser would recognise, told against the real server and the real app:

- a record left waiting while the app sits open reaches the server within a minute, by the sync timer
  alone (the page's clock is Playwright's, so the minute passes at once, and nothing else may send it);
- a phone whose clock is wrong by more than two minutes says so on the Sync screen, in the right
  direction, and its records still count at the right time (the server corrects them);
- a new version of the app, published while a record is still waiting because the server is having
  trouble, is taken only when the volunteer taps "Reload now", and the record survives the switch and is
  delivered by the new version;
- a record about someone no longer on the volunteer's lists (the list ended more than a week ago) is
  refused in plain words, counted in the bar, exported or removed, and never holds up the records behind it.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.exceptions import ServiceUnavailable

from server.extensions import db
from server.models import Assignment, AssignmentItem, AssignmentKind, AssignmentUser, ContactRecord, Elector
from server.orm import utcnow
from tests.pwa.conftest import PHONE, db_all, screenshot, wait_until
from tests.pwa.helpers import (
    choose_doors, households, log_in, outbox, record_at_doors, until, wait_for_download, wait_for_offline_shell,
)

NOT_ON_YOUR_LISTS = ("This person is not on any of your lists (or the list ended more than a week ago), "
                     "so the record was not accepted.")

# The version the service worker controlling the page says it is (sw.js answers a VERSION message).
WORKER_VERSION = """() => new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(event.data.version);
    navigator.serviceWorker.controller.postMessage({ type: 'VERSION' }, [channel.port2]);
})"""

OUTBOX_IDS = "async () => (await (await import('/js/db.js')).outboxEntries()).map((e) => e.id)"


def walk_list() -> Assignment:
    db.session.rollback()
    return db.session.scalar(select(Assignment).where(Assignment.kind == AssignmentKind.WALK))


def records_on_server() -> dict[uuid.UUID, ContactRecord]:
    return {r.id: r for r in db_all(select(ContactRecord).where(ContactRecord.device_id.is_not(None)))}


def bar(page):
    """The sync bar at the top of every screen."""
    return page.locator("#sync-status")


def go(page, hash_: str):
    page.evaluate("(hash) => { location.hash = hash; }", hash_)


def naive_utc(moment):
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


# ---- 1. the one-minute sync timer -------------------------------------------------------------------

# A "not home" at the first door of the list, made through the app's own recording module exactly as the
# door screen makes it, but without the screen's two nudges (the "send it soon" timer and the Background
# Sync registration): the state a record is in once those have come and gone without delivering it.
RECORD_WITHOUT_NUDGES = """async (aid) => {
    const db = await import('/js/db.js');
    const { outcomeFor, recordContact } = await import('/js/recording.js');
    const assignment = await db.get('assignment', aid);
    const campaign = await db.get('campaign', assignment.campaign_id);
    let elector = null;
    for (const item of assignment.items) {
        [elector] = await db.electorsAt(item.property_id);
        if (elector) break;
    }
    const record = await recordContact({ campaign, assignment, elector, channel: 'door',
        outcome: outcomeFor(campaign, 'door', 'not_home') });
    // Only redraw the bar (as its own 30-second refresh would): an 'offline' event starts no sync.
    window.dispatchEvent(new Event('offline'));
    return record.id;
}"""


def test_a_record_left_waiting_while_the_app_sits_open_is_sent_within_a_minute_by_the_timer_alone(page, live_server):
    # The page's timers run on Playwright's clock (installed before the app starts, so the scheduler's
    # setInterval is one of them); it flows normally until the volunteer sits back.
    page.clock.install()
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    aid = walk_list().id
    go(page, f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    bar(page).get_by_text("All records sent").wait_for()  # the login's sync is over, nothing is running

    # From here on the page's clock stands still: no timer of the app fires unless the test moves it.
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
    record_id = uuid.UUID(page.evaluate(RECORD_WITHOUT_NUDGES, aid))
    bar(page).click()  # the volunteer looks at the Sync screen, and leaves the phone on it
    page.get_by_role("heading", name="1 record waiting to send").wait_for()
    bar(page).get_by_text("1 record waiting").wait_for()
    screenshot(page, "timer-record-waiting")
    pushes = live_server.pushes_seen
    # Nothing else sends it: with the app open and online, for a while in real time (in which the service
    # worker, an 'online' event or a retry could act), it stays where it is.
    page.wait_for_timeout(2000)
    assert live_server.pushes_seen == pushes
    assert outbox(page) == {"pending": 1, "failed": 0}
    assert record_id not in records_on_server()

    # A minute passes on the phone.
    page.clock.fast_forward("01:00")
    wait_until(lambda: record_id in records_on_server(), message="the record to reach the server by the timer")
    page.get_by_role("heading", name="Every record has been sent").wait_for()
    bar(page).get_by_text("All records sent").wait_for()
    screenshot(page, "timer-record-sent")
    assert live_server.pushes_seen == pushes + 1
    assert outbox(page) == {"pending": 0, "failed": 0}
    assert records_on_server()[record_id].outcome == "NOT_HOME"


# ---- 2. the wrong-clock warning ---------------------------------------------------------------------

@pytest.fixture
def phone_with_one_clock(browser, live_server):
    """A page whose whole app runs on the page's clock. Playwright can set the clock of pages only, and a
    real phone has one clock for everything: the service worker (which would sync by the true time from
    Background Sync) is kept out, so every sync runs in the page, by the wrong clock."""
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, service_workers="block",
                                  locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.mark.parametrize(("direction", "minutes"), [("slow", -10), ("fast", 25)])
def test_a_phone_whose_clock_is_wrong_says_so_and_its_records_still_count_at_the_right_time(
        phone_with_one_clock, live_server, direction, minutes):
    page = phone_with_one_clock
    skew = timedelta(minutes=minutes)
    page.clock.install(time=utcnow() + skew)  # the phone's clock is wrong, and keeps running
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    aid = walk_list().id
    go(page, f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    recorded = record_at_doors(page, aid, choose_doors(households(page, aid), count=1, people=2))
    wait_until(lambda: len(records_on_server()) == 2, message="the 2 records to reach the server")
    bar(page).get_by_text("All records sent").wait_for()

    go(page, "#/sync")
    page.get_by_role("button", name="Sync now").wait_for()  # no sync running
    warning = page.get_by_text("This phone's clock is")
    warning.wait_for()
    text = warning.inner_text()
    assert f"minutes {direction}." in text, text
    stated = int(text.split("clock is ")[1].split(" minutes")[0])
    assert abs(stated - abs(minutes)) <= 1, text
    assert "Your records still count; please set the clock to automatic." in text
    screenshot(page, f"clock-{direction}-warning")

    # The server moved each record to when it really happened, and kept the phone's claim beside it.
    now = naive_utc(utcnow())
    for record in records_on_server().values():
        assert record.elector_id in recorded
        assert abs(naive_utc(record.occurred_at) - now) < timedelta(minutes=2), record.occurred_at
        assert abs(naive_utc(record.device_occurred_at) - (now + skew)) < timedelta(minutes=2)
        assert "clock_skew" in record.clock_flags


# ---- 3. "a new version is ready" ----------------------------------------------------------------------

def test_a_new_version_arriving_while_a_record_waits_keeps_it_through_the_reload_and_then_delivers_it(
        page, context, live_server, monkeypatch):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    wait_for_offline_shell(page)
    before = page.evaluate(WORKER_VERSION)
    aid = walk_list().id

    # The server is having trouble taking records (as during its own upgrade): pushes fail before
    # anything is stored, so the record the volunteer makes now stays on the phone.
    from server.services import sync as sync_service

    real_push = sync_service.push
    trouble = {"on": True}

    def push(*args, **kwargs):
        if trouble["on"]:
            raise ServiceUnavailable("The server is being updated.")
        return real_push(*args, **kwargs)

    monkeypatch.setattr(sync_service, "push", push)
    go(page, f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    recorded = record_at_doors(page, aid, choose_doors(households(page, aid), count=1, people=1))
    bar(page).get_by_text("Sync failed, will retry").wait_for()
    (waiting_id,) = page.evaluate(OUTBOX_IDS)

    # A new version of the app is published; the phone finds it (as it does on opening and every hour).
    monkeypatch.setattr("server.web.shell_version", lambda: "a-new-version")
    page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
    banner = page.locator("#banner")
    banner.get_by_text("A new version of Groundwork is ready. Your records are safe.").wait_for()
    screenshot(page, "new-version-ready")
    # Until the volunteer agrees, the old version stays in charge and the record is untouched.
    assert page.evaluate(WORKER_VERSION) == before
    assert outbox(page) == {"pending": 1, "failed": 0}

    with page.expect_navigation():
        banner.get_by_role("button", name="Reload now").click()
    page.wait_for_selector("html[data-ready=true]")
    assert page.evaluate(WORKER_VERSION) == "a-new-version"
    assert page.locator("#banner").is_hidden()
    # The new version holds the same record, still waiting, and shows it waiting.
    assert page.evaluate(OUTBOX_IDS) == [waiting_id]
    bar(page).get_by_text("1 record waiting").wait_for()
    ((elector_id, _),) = recorded.items()
    page.locator(f'[data-card="{elector_id}"]').get_by_text("saved, waiting to send").wait_for()
    screenshot(page, "new-version-record-waiting")
    assert records_on_server() == {}

    # The server recovers: the new version's own retries deliver the record.
    trouble["on"] = False
    wait_until(lambda: records_on_server(), message="the waiting record to be delivered by the new version")
    until(page, "async () => (await import('/js/db.js')).outboxCounts().then((c) => c.pending === 0)")
    delivered = records_on_server()
    assert list(delivered) == [uuid.UUID(waiting_id)]
    assert {r.elector_id: (r.outcome, r.intention) for r in delivered.values()} == recorded


# ---- 4. the message when the server refuses a record --------------------------------------------------

def hand_out_another_list(old: Assignment, doors: int = 4) -> int:
    """A second walk list for the same volunteer: doors of the same constituency not on the first list."""
    listed = {item.property_id for item in old.items}
    properties = db.session.scalars(
        select(Elector.property_id).where(Elector.constituency_id == old.constituency_id,
                                          Elector.property_id.not_in(listed))
        .group_by(Elector.property_id).order_by(Elector.property_id).limit(doors)).all()
    now = utcnow()
    new = Assignment(campaign_id=old.campaign_id, constituency_id=old.constituency_id, kind=AssignmentKind.WALK,
                     name="Second round: four more doors", starts_at=now - timedelta(hours=1),
                     ends_at=now + timedelta(days=14), created_by_id=old.created_by_id)
    new.items = [AssignmentItem(property_id=pid, position=n) for n, pid in enumerate(properties, 1)]
    new.assignees = [AssignmentUser(user_id=holder.user_id) for holder in old.assignees]
    db.session.add(new)
    db.session.commit()
    return new.id


def another_door(page, aid: int, besides=()) -> list:
    """The first door of a list (with everyone living there) where nobody in `besides` lives."""
    return [next(d for d in households(page, aid) if d[1] and not set(d[1]) & set(besides))]


def test_a_record_about_someone_no_longer_on_your_lists_is_refused_in_plain_words_and_never_holds_up_the_rest(
        page, context, live_server):
    old = walk_list()
    old_id, old_name = old.id, old.name
    new_id = hand_out_another_list(old)  # the volunteer holds two lists
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    page.get_by_role("link", name="Second round: four more doors").wait_for()

    # Out of signal, the volunteer knocks a door of the first list, then one of the second.
    context.set_offline(True)
    go(page, f"#/walk/{old_id}")
    page.get_by_role("link", name="Next door").wait_for()
    refused = record_at_doors(page, old_id, choose_doors(households(page, old_id), count=1, people=1))
    accepted = record_at_doors(page, new_id, another_door(page, new_id))
    # Meanwhile the first list ended on the server, longer ago than records are allowed to arrive late.
    grace = live_server.app.config["SYNC_ASSIGNMENT_GRACE_DAYS"]
    old = walk_list()
    old.starts_at = utcnow() - timedelta(days=grace + 30)
    old.ends_at = utcnow() - timedelta(days=grace + 1)
    db.session.commit()

    context.set_offline(False)  # the signal returns, and with it a sync
    wait_until(lambda: len(records_on_server()) == len(accepted), message="the second list's records to arrive")
    bar(page).get_by_text("1 record not accepted").wait_for()
    assert outbox(page) == {"pending": 0, "failed": 1}
    assert {r.elector_id for r in records_on_server().values()} == set(accepted)
    go(page, "#/lists")  # the ended list has left the phone; the bar says what happened
    page.get_by_role("link", name="Second round: four more doors").wait_for()
    # The pull of that same sync takes the ended list off the phone, and the lists screen redraws.
    expect(page.get_by_role("link", name=old_name)).to_have_count(0)
    screenshot(page, "refused-bar")

    page.get_by_role("link", name="Sync", exact=True).click()
    page.get_by_role("heading", name="1 record the server did not accept").wait_for()
    page.get_by_text(NOT_ON_YOUR_LISTS).wait_for()
    page.get_by_text("These will not be sent again. Export them for your organiser, or remove them.").wait_for()
    screenshot(page, "refused-not-on-your-lists")

    # The refusal holds up nothing made later either.
    go(page, f"#/walk/{new_id}")
    page.get_by_role("link", name="Next door").wait_for()
    later = record_at_doors(page, new_id, another_door(page, new_id, besides=accepted))
    wait_until(lambda: len(records_on_server()) == len(accepted) + len(later),
               message="later records to arrive past the refused one")
    assert {r.elector_id for r in records_on_server().values()} == set(accepted) | set(later)
    until(page, "async () => (await import('/js/db.js')).outboxCounts().then((c) => c.pending === 0)")
    assert outbox(page) == {"pending": 0, "failed": 1}

    # The organiser can have it as a file, with the server's answer; then the volunteer removes it.
    page.get_by_role("link", name="Sync", exact=True).click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export 1 unsent record").click()
    exported = json.loads(open(download_info.value.path(), encoding="utf-8").read())
    (record,) = exported["records"]
    assert record["status"] == "failed"
    assert record["failure"]["status"] == "forbidden"
    assert record["failure"]["details"] == {"reason": "not_on_your_lists"}
    assert record["mutation"]["data"]["elector_id"] in refused
    page.get_by_role("button", name="Remove these records").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove them").click()
    page.get_by_role("heading", name="Every record has been sent").wait_for()
    bar(page).get_by_text("All records sent").wait_for()
    assert outbox(page) == {"pending": 0, "failed": 0}
    assert len(records_on_server()) == len(accepted) + len(later)
