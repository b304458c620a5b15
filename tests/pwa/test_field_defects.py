"""What broke in real sessions, each as the volunteer met it, and what they see now."""
from __future__ import annotations

from sqlalchemy import func, select

from server.models import Assignment, AssignmentKind, ContactRecord, Suppression
from tests.pwa.conftest import PHONE, db_all, db_scalar, screenshot
from tests.pwa.helpers import households, log_in, meta, open_app, outbox, sync_now, until, wait_for_download


def _call_list() -> int:
    return db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.CALL,
                                                 Assignment.name.startswith("Phone bank")))


def _open_calls(page):
    page.evaluate("(hash) => { location.hash = hash; }", f"#/call/{_call_list()}")
    page.locator("[data-elector]").wait_for()


def _do_not_call(page) -> int:
    elector_id = int(page.locator("[data-elector]").get_attribute("data-elector"))
    page.get_by_role("button", name="Do not call").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, do not call").click()
    page.wait_for_function("(id) => document.querySelector('[data-elector]')?.dataset.elector !== String(id)",
                           arg=elector_id)
    return elector_id


def test_a_call_list_with_someone_marked_do_not_call_still_finishes_downloading(browser, page, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    _open_calls(page)
    objector = _do_not_call(page)
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0",
          message="the objection to be delivered")
    # The same phone banker on a fresh browser: the list's count and what arrives agree.
    fresh = browser.new_context(viewport=PHONE, base_url=live_server.url, service_workers="allow", locale="en-GB")
    try:
        second = fresh.new_page()
        log_in(second, live_server.login_for("phone_banker"), device_name="Home laptop")
        wait_for_download(second)
        second.get_by_text("Ready for offline use").first.wait_for()
        assert second.get_by_text("Downloading:").count() == 0
        items = second.evaluate("""async (aid) => (await (await import('/js/db.js')).get('assignment', aid)).items""",
                                _call_list())
        assert objector not in {i.get("elector_id") for i in items}, "someone who objected is not even listed"
    finally:
        fresh.close()


def test_do_not_contact_is_not_offered_an_undo_the_dialog_says_so_and_one_tap_stores_one_objection(page, live_server):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    aid = db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").click()
    card = page.locator("[data-card]").first
    elector_id = int(card.get_attribute("data-card"))
    card.get_by_role("button", name="Do not contact again").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("This cannot be undone from the app").wait_for()
    dialog.get_by_role("button", name="Yes, do not contact").click()
    card.get_by_text("They will not be contacted again.").wait_for()
    assert card.get_by_role("button", name="Undo").count() == 0 and card.get_by_role("button", name="Change").count() == 0
    assert outbox(page)["pending"] == 1, "one thing done, one waiting (the contact and its flag travel together)"
    screenshot(page, "do-not-contact-recorded")
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0",
          message="the objection to be delivered")
    assert db_scalar(select(func.count()).select_from(Suppression).where(Suppression.elector_id == elector_id)) == 1


def test_add_details_is_offered_only_after_speaking_to_someone(page, live_server):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    aid = db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))
    pid = next(pid for pid, electors in households(page, aid) if len(electors) >= 3)
    page.evaluate("(hash) => { location.hash = hash; }", f"#/door/{aid}/{pid}")
    cards = page.locator("[data-card]")
    cards.nth(0).get_by_role("button", name="Not home", exact=True).click()
    cards.nth(0).get_by_role("button", name="Undo").wait_for()
    assert not cards.nth(0).get_by_role("button", name="Add details").is_visible()
    cards.nth(1).get_by_role("button", name="Refused to talk").click()
    cards.nth(1).get_by_role("button", name="Undo").wait_for()
    assert not cards.nth(1).get_by_role("button", name="Add details").is_visible()
    cards.nth(2).get_by_role("button", name="Spoke to them…").click()
    cards.nth(2).get_by_role("button", name="Labour").click()
    cards.nth(2).get_by_role("button", name="Add details").wait_for(state="visible")


def test_roles_that_do_not_canvass_land_on_a_page_for_them_and_never_sync(page, live_server):
    syncs: list[str] = []
    page.on("request", lambda request: syncs.append(request.url) if "/api/v1/sync/" in request.url else None)
    # Each lands on the console section of its job; the volunteers' screens take them to a page that says why.
    for role, words, lands_on in (("membership_secretary", "membership secretary", "New members"),
                                  ("regional_staff", "regional staff", "Dashboard")):
        log_in_as(page, live_server.login_for(role))
        page.get_by_role("heading", name=lands_on).wait_for()
        page.evaluate("() => { location.hash = '#/sync'; }")
        page.get_by_role("heading", name="Nothing to canvass here").wait_for()
        page.get_by_text(words).first.wait_for()
        assert "_" not in page.locator("main").inner_text(), "no role codes on screen"
        page.get_by_role("link", name="Account", exact=True).click()
        page.get_by_role("button", name="Log out").click()
        page.get_by_role("heading", name="Log in").wait_for()
    page.wait_for_timeout(500)
    assert syncs == [], f"a role that does not sync made sync requests: {syncs}"
    assert meta(page, "lastError")["lastError"] is None


def log_in_as(page, email):
    open_app(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("groundwork-demo")
    page.get_by_label("Name for this device").fill("Office laptop")
    page.get_by_role("button", name="Log in").click()


def test_the_waiting_count_is_what_the_volunteer_did_not_protocol_mutations(page, context, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    _open_calls(page)
    context.set_offline(True)
    for _ in range(8):
        page.get_by_role("button", name="No answer").click()
        page.get_by_role("status").or_(page.locator(".toast")).first.wait_for()
    _do_not_call(page)  # a contact and its flag: one thing done
    page.get_by_role("button", name="No answer").click()
    page.locator(".toast").get_by_role("button", name="Undo").click()  # never sent, so simply forgotten
    page.get_by_text("Undone:").wait_for()
    page.get_by_role("button", name="No answer").click()
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 10",
          message="ten things done, ten waiting")
    page.locator("#sync-status").get_by_text("10 records waiting").wait_for()
    context.set_offline(False)
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0",
          message="everything delivered")
    calls = db_all(select(ContactRecord).where(ContactRecord.device_id.is_not(None)))
    assert sorted(c.kind.value for c in calls) == ["record"] * 10, "the call undone before sending never left the phone"


def test_an_answered_call_is_saved_within_reach_with_the_script_still_open(page, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    _open_calls(page)
    elector_id = int(page.locator("[data-elector]").get_attribute("data-elector"))
    page.get_by_role("button", name="Answered…").click()
    page.get_by_role("button", name="Labour").click()
    save = page.get_by_role("button", name="Save call")
    box = save.bounding_box()
    assert box and box["y"] + box["height"] <= PHONE["height"], "Save call is on screen without scrolling"
    assert page.locator("details.script").get_attribute("open") is not None, "the script stays open"
    assert not page.get_by_label("Notes").is_visible(), "the survey is there to open, not in the way"
    screenshot(page, "call-answered")
    save.click()
    page.wait_for_function("(id) => document.querySelector('[data-elector]')?.dataset.elector !== String(id)",
                           arg=elector_id)
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0", message="delivery")
    record = db_scalar(select(ContactRecord).where(ContactRecord.elector_id == elector_id))
    assert (record.outcome, record.intention) == ("SPOKE", "LAB")
