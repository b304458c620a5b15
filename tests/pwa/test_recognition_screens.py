"""Recognition, as the people who see it: a phone banker thanked after a session with their totals from every
device, a canvasser thanked after a session with no doors at all, a milestone celebrated once, notices offered
only after a session, leaderboards that never show anyone who said no, an organiser saying thank you, a national
admin told that the scheduler has stopped, and a list's session time and place on the volunteer's phone.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect
from sqlalchemy import func, select, update

from server.extensions import db
from server.models import (
    ActivityRollup, Assignment, AssignmentItem, AssignmentKind, Channel, ContactRecord, Milestone, RecordSource,
    SchedulerLease, User,
)
from tests.pwa.conftest import DEMO_PASSWORD, PHONE, db_scalar, screenshot, wait_until
from tests.pwa.helpers import log_in, meta, open_app, sync_now, until, wait_for_download, wait_for_offline_shell
from tests.pwa.test_admin_console import DESKTOP, admin_log_in, browser_page, go
from tests.pwa.test_push_card import WATCH, open_account
from tests.pwa.test_screens import audit


# ------------------------------------------------------------------------------------------------ helpers

def person(live_server, role: str) -> User:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == live_server.login_for(role)))


def phone_bank() -> Assignment:
    db.session.rollback()
    return db.session.scalar(select(Assignment).where(Assignment.kind == AssignmentKind.CALL,
                                                      Assignment.name.startswith("Phone bank")))


def walk_list() -> Assignment:
    db.session.rollback()
    return db.session.scalar(select(Assignment).where(Assignment.kind == AssignmentKind.WALK))


def campaign_calls(user: User, campaign_id: int) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.coalesce(func.sum(ActivityRollup.calls), 0)).where(
        ActivityRollup.user_key == user.id, ActivityRollup.campaign_id == campaign_id)) or 0)


def seed_calls(user: User, assignment: Assignment, n: int, *, skip: int = 0) -> None:
    """`n` calls by `user` from another of their devices, to people on the list after the first `skip`, already
    on the server (as if a tablet had sent them); the rollups then count them, as the scheduler's job would."""
    from server.models import Elector
    from server.services import rollups

    electors = list(db.session.scalars(select(Elector).join(AssignmentItem, AssignmentItem.elector_id == Elector.id)
                                       .where(AssignmentItem.assignment_id == assignment.id)
                                       .order_by(AssignmentItem.position.desc())))
    now = datetime.now(timezone.utc)
    for i in range(n):
        e = electors[(skip + i) % len(electors)]
        db.session.add(ContactRecord(id=uuid.uuid4(), campaign_id=assignment.campaign_id,
                                     constituency_id=e.constituency_id, elector_id=e.id, channel=Channel.PHONE,
                                     outcome="NO_ANSWER", occurred_at=now - timedelta(minutes=5, seconds=i),
                                     user_id=user.id, source=RecordSource.PWA))
    db.session.commit()
    rollups.catch_up()
    db.session.commit()


def scheduler_runs_once() -> None:
    """What the scheduler's rollups and milestones jobs do each minute."""
    from server.services import recognition, rollups

    db.session.rollback()
    rollups.catch_up()
    db.session.commit()
    recognition.check_milestones()
    db.session.commit()


def make_calls(page, n: int) -> None:
    for _ in range(n):
        key = page.locator("[data-person]").get_attribute("data-person")
        page.get_by_role("button", name="No answer", exact=True).click()
        page.wait_for_function("(key) => document.querySelector('[data-person]')?.dataset.person !== key", arg=key)


def open_hash(page, hash_: str) -> None:
    page.evaluate("(hash) => { location.hash = hash; }", hash_)


def totals_cell(page, row: str, measure: str):
    return page.locator(f'[data-totals-table] tr[data-row="{row}"] td[data-{measure}]')


# ------------------------------------------------------------------------------------------------ stories

def test_a_phone_banker_is_thanked_with_the_session_and_their_totals_from_every_device(page, context, live_server):
    banker = person(live_server, "phone_banker")
    bank = phone_bank()
    seed_calls(banker, bank, 2, skip=0)  # made on their tablet yesterday evening, say
    before = campaign_calls(banker, bank.campaign_id)

    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    wait_for_offline_shell(page)
    until(page, "async () => !!(await (await import('/js/db.js')).getMeta(['recognition'])).recognition",
          message="the lists screen to learn the totals once")
    open_hash(page, f"#/call/{bank.id}")
    page.locator("[data-person]").wait_for()

    context.set_offline(True)
    make_calls(page, 3)
    page.get_by_role("button", name="End session").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    page.get_by_text("You made 3 calls this session").wait_for()
    offline = page.locator("[data-offline-note]")
    expect(offline).to_contain_text("Your totals will update when this phone is back in signal")
    expect(offline).to_contain_text("including 3 not yet sent")
    expect(totals_cell(page, "All time", "calls")).to_have_text(f"{before + 3:,}")
    assert page.get_by_text("to go").count() == 0
    audit(page, "thank-you, offline")
    screenshot(page, "recognition-thanks-offline-360")

    context.set_offline(False)
    sync_now(page)
    wait_until(lambda: db_scalar(select(func.count()).select_from(ContactRecord).where(
        ContactRecord.user_id == banker.id, ContactRecord.device_id.is_not(None))) >= 3,
        message="the 3 calls to reach the server")
    scheduler_runs_once()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    page.get_by_role("heading", name="Thank you").wait_for()
    page.get_by_text("Across all your devices, as of").wait_for()
    expect(totals_cell(page, "All time", "calls")).to_have_text(f"{before + 3:,}")
    expect(totals_cell(page, "This week", "calls")).not_to_have_text("0")
    assert page.get_by_text("not yet sent").count() == 0
    screenshot(page, "recognition-thanks-360")

    # Start another session: the session counts from nought again.
    page.get_by_role("button", name="Start another session").click()
    page.locator("[data-counts]").get_by_text("This session: 0 calls").wait_for()


def test_a_canvasser_with_no_doors_is_thanked_and_offered_notices_only_after_the_session(page, context, live_server):
    from server.cli.push import new_key_pair

    public, private = new_key_pair()
    live_server.app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private,
                                  VAPID_SUBJECT="mailto:digital@example.org")
    context.add_init_script(WATCH)
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    page.wait_for_timeout(500)
    assert page.locator("[data-push-offer]").count() == 0  # never on first load
    open_hash(page, f"#/walk/{walk_list().id}")
    page.get_by_role("button", name="End session").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    page.get_by_text("Thank you for giving your time today").wait_for()
    offer = page.locator("[data-push-offer]")
    offer.get_by_text("Get a notice on this phone when you reach a milestone").wait_for()
    audit(page, "thank-you with the offer of notices")
    screenshot(page, "recognition-canvasser-thanks-360")
    assert page.evaluate("() => window.__asked") == 0  # offering is not asking

    offer.get_by_role("button", name="Not now").click()
    page.get_by_text("You can turn them on any time on the Account screen").wait_for()
    assert meta(page, "pushOfferDeclined")["pushOfferDeclined"]
    assert page.evaluate("() => window.__asked") == 0

    # The next session's thank-you does not ask again; the Account screen still offers notices.
    open_hash(page, f"#/walk/{walk_list().id}")
    page.get_by_role("button", name="End session").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    page.locator("[data-totals] table, [data-offline-note]").first.wait_for()
    page.wait_for_timeout(500)
    assert page.locator("[data-push-offer]").count() == 0
    open_account(page)
    page.get_by_role("button", name="Get notices on this device").wait_for()
    assert page.evaluate("() => Notification.permission") == "default"


def test_a_milestone_is_celebrated_once_on_the_phone(page, live_server):
    banker = person(live_server, "phone_banker")
    bank = phone_bank()
    scheduler_runs_once()
    have = campaign_calls(banker, bank.campaign_id)
    assert have < 249, "the demo phone banker is already past the first milestone"
    seed_calls(banker, bank, 249 - have, skip=20)
    scheduler_runs_once()
    assert db_scalar(select(func.count()).select_from(Milestone).where(Milestone.user_id == banker.id)) == 0

    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    open_hash(page, f"#/call/{bank.id}")
    page.locator("[data-person]").wait_for()
    make_calls(page, 1)
    sync_now(page)
    wait_until(lambda: db_scalar(select(func.count()).select_from(ContactRecord).where(
        ContactRecord.user_id == banker.id, ContactRecord.device_id.is_not(None))) >= 1, message="the call to arrive")
    scheduler_runs_once()
    milestone = db_scalar(select(Milestone).where(Milestone.user_id == banker.id))
    assert milestone and milestone.threshold == 250 and milestone.celebrated_at is None

    open_hash(page, "#/lists")
    page.reload()  # the app opened afresh, as after the volunteer's evening
    page.wait_for_selector("html[data-ready=true]")
    card = page.locator("[data-celebration]")
    card.get_by_role("heading", name="250 calls!").wait_for()
    audit(page, "lists with a celebration")
    screenshot(page, "recognition-celebration-360")
    wait_until(lambda: db_scalar(select(Milestone.celebrated_at).where(Milestone.id == milestone.id)),
               message="the phone to say it celebrated")

    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    page.get_by_role("heading", name="Your lists").wait_for()
    page.wait_for_timeout(1500)
    assert page.locator("[data-celebration]").count() == 0
    # The volunteer's own view (#/thanks, where a notice links) still lists their counts.
    open_hash(page, "#/thanks")
    page.get_by_role("heading", name="Thank you").wait_for()
    page.get_by_text("Across all your devices, as of").wait_for()
    assert page.locator("[data-celebration]").count() == 0


def test_leaderboards_show_teams_first_and_nobody_who_said_no(page, live_server):
    from server.services import recognition

    scheduler_runs_once()
    canvasser = person(live_server, "canvasser")
    banker = person(live_server, "phone_banker")
    db.session.execute(update(User).where(User.id == canvasser.id).values(leaderboard_opt_in=False))
    db.session.commit()
    bank = phone_bank()
    seed_calls(banker, bank, 3, skip=40)  # the banker has something to rank
    hidden = recognition._display_name(canvasser.name)
    shown = recognition._display_name(banker.name)

    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    page.get_by_role("link", name="Leaderboards").click()
    page.get_by_role("heading", name="Leaderboards").wait_for()
    people = page.locator("[data-people]")
    people.get_by_role("button", name="Show me on my CLP’s board").wait_for()
    headings = page.locator("[data-boards] h2").all_inner_texts()
    assert headings[-1].startswith("Volunteers"), headings  # teams first, people last
    assert shown not in page.locator("[data-boards]").inner_text()  # not opted in: no rank of their own
    audit(page, "leaderboards, not on the board")
    screenshot(page, "recognition-boards-hidden-360")

    people.get_by_role("button", name="Show me on my CLP’s board").click()
    mine = page.locator("[data-mine]")
    mine.get_by_text(shown).first.wait_for()
    # Their CLP's board, then their phone bank's own, each with them on it.
    bank_board = page.locator("section.board").filter(
        has=page.get_by_role("heading", name=f"Volunteers on {bank.name}"))
    bank_board.locator("[data-mine]").get_by_text(shown).wait_for()
    assert page.locator("[data-boards] h2").all_inner_texts()[-1] == f"Volunteers on {bank.name}"
    page.get_by_text("You are on your CLP’s board and your phone banks’. You can hide at any time.").wait_for()
    board = page.locator("[data-boards]").inner_text()
    assert hidden not in board and canvasser.name not in board
    assert "bottom" not in board.lower()
    assert db_scalar(select(User.leaderboard_opt_in).where(User.id == banker.id)) is True
    screenshot(page, "recognition-boards-360")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "recognition-boards-1280")
    page.set_viewport_size(PHONE)

    page.get_by_role("button", name="Hide me").click()
    page.locator("[data-people]").get_by_role("button", name="Show me on my CLP’s board").wait_for()
    assert page.locator("[data-mine]").filter(has_text=shown).count() == 0
    assert shown not in page.locator("[data-boards]").inner_text()
    assert db_scalar(select(User.leaderboard_opt_in).where(User.id == banker.id)) is False

    # The Account screen offers the same choice.
    open_account(page)
    page.get_by_role("button", name="Show me on my CLP’s board").click()
    page.get_by_role("button", name="Hide me").wait_for()
    assert db_scalar(select(User.leaderboard_opt_in).where(User.id == banker.id)) is True


def test_an_organiser_thanks_a_volunteer_for_a_milestone(browser, live_server):
    banker = person(live_server, "phone_banker")
    bank = phone_bank()
    db.session.add(Milestone(user_id=banker.id, campaign_id=bank.campaign_id, constituency_id=banker.constituency_id,
                             measure="calls", threshold=250, count=251,
                             reached_at=datetime.now(timezone.utc) - timedelta(hours=2)))
    db.session.commit()
    milestone_id = db_scalar(select(Milestone.id).where(Milestone.user_id == banker.id))

    for width, viewport in ((1280, DESKTOP), (360, PHONE)):
        with browser_page(browser, live_server, viewport) as desk:
            admin_log_in(desk, live_server)
            desk.get_by_role("link", name="Recognition").click()
            desk.get_by_role("heading", name="Recognition", exact=True).wait_for()
            item = desk.locator(f'[data-milestone="{milestone_id}"]')
            item.get_by_role("heading", name=f"{banker.name}: 250 calls").wait_for()
            audit(desk, f"recognition at {width}")
            screenshot(desk, f"recognition-admin-{width}")
            if width == 360:
                item.get_by_text("Thanked").wait_for()
                continue
            item.get_by_role("button", name="Say thank you").click()
            item.get_by_label(f"Message to {banker.name} (optional)").fill("Thank you <b>so</b> much, from all of us!")
            item.get_by_role("button", name="Send thanks").click()
            item.get_by_text("Thanked").wait_for()
            expect(item.locator("[data-thanked]")).to_contain_text("by ")
            assert desk.locator("b", has_text="so").count() == 0  # the message is text, never markup
            screenshot(desk, "recognition-admin-thanked-1280")
    assert db_scalar(select(Milestone.thanked_at).where(Milestone.id == milestone_id)) is not None


def test_a_national_admin_sees_a_stopped_scheduler_as_an_alert_and_a_running_one_as_a_heartbeat(browser, live_server):
    db.session.rollback()
    db.session.execute(SchedulerLease.__table__.delete())
    db.session.commit()
    for width, viewport in ((1280, DESKTOP), (360, PHONE)):
        with browser_page(browser, live_server, viewport) as desk:
            open_app(desk)
            desk.get_by_label("Email").fill(live_server.login_for("national_admin"))
            desk.get_by_label("Password").fill(DEMO_PASSWORD)
            desk.get_by_label("Name for this device").fill("National office")
            desk.get_by_role("button", name="Log in").click()
            alert = desk.locator("[data-scheduler-alert]")
            alert.wait_for()  # where a national admin lands
            expect(alert).to_contain_text("The scheduler has never started")
            expect(alert).to_contain_text("Pushes, rollups, imports and retention are not running")
            go(desk, "#/admin/system", "System")
            desk.locator("[data-scheduler] [data-scheduler-alert]").wait_for()
            desk.locator("[data-jobs]").wait_for()
            audit(desk, f"system, stopped, at {width}")
            screenshot(desk, f"recognition-scheduler-alert-{width}")

    now = datetime.now(timezone.utc)
    db.session.add(SchedulerLease(name="scheduler", owner="worker-1:4242:ab12", fence=3, acquired_at=now - timedelta(hours=1),
                                  expires_at=now + timedelta(seconds=60), heartbeat_at=now - timedelta(seconds=5)))
    db.session.commit()
    for width, viewport in ((1280, DESKTOP), (360, PHONE)):
        with browser_page(browser, live_server, viewport) as desk:
            admin_log_in_as(desk, live_server, "national_admin")
            go(desk, "#/admin/system", "System")
            beat = desk.locator("[data-heartbeat]")
            expect(beat).to_contain_text("Scheduler running on worker-1:4242:ab12, last heartbeat")
            assert desk.locator("[data-scheduler-alert]").count() == 0
            audit(desk, f"system, running, at {width}")
            screenshot(desk, f"recognition-scheduler-running-{width}")
            go(desk, "#/admin/dashboard", "Dashboard")
            desk.wait_for_timeout(500)
            assert desk.locator("[data-scheduler-alert]").count() == 0


def admin_log_in_as(page, live_server, role: str):
    open_app(page)
    page.get_by_label("Email").fill(live_server.login_for(role))
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Name for this device").fill("Office laptop")
    page.get_by_role("button", name="Log in").click()
    page.locator(".admin-nav").wait_for()


def test_a_lists_session_time_and_place_reach_the_volunteers_list_card(browser, page, live_server):
    bank = phone_bank()
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    with browser_page(browser, live_server, DESKTOP) as desk:
        admin_log_in(desk, live_server)
        go(desk, f"#/admin/lists/{bank.id}", bank.name)
        form = desk.locator("[data-session]")
        form.get_by_label("Session time").fill(f"{tomorrow}T18:30")
        form.get_by_label("Meeting place").fill("Ashworth Vale Labour Hall")
        form.get_by_role("button", name="Save the session").click()
        desk.get_by_text("Session saved").wait_for()
        form.get_by_label("Meeting place").scroll_into_view_if_needed()
        screenshot(desk, "recognition-list-session-admin-1280")
        # A time already past is refused beside its field.
        form = desk.locator("[data-session]")
        form.get_by_label("Session time").fill("2020-01-01T10:00")
        form.get_by_role("button", name="Save the session").click()
        expect(form.locator("[data-error-for=session_at]")).not_to_be_empty()
    db.session.rollback()
    saved = db_scalar(select(Assignment).where(Assignment.id == bank.id))
    assert saved.meeting_place == "Ashworth Vale Labour Hall" and saved.session_at is not None

    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    card = page.locator(".list-card", has_text=bank.name)
    expect(card.locator("[data-session]")).to_have_text("Tomorrow 18:30 at Ashworth Vale Labour Hall")
    audit(page, "lists with a session")
    screenshot(page, "recognition-list-session-360")
