"""A phone banker's evening: take the call list, make calls with no data signal, and see them counted."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from server.extensions import db
from server.models import Assignment, AssignmentKind, Channel, ContactRecord, ElectorState, ReviewItem
from tests.pwa.conftest import PHONE, db_all, db_scalar, screenshot, wait_until
from tests.pwa.helpers import log_in, outbox, sync_now, until, wait_for_download, wait_for_offline_shell

# (buttons to press in turn, what the server should then hold: outcome, intention, survey answers)
CALLS = [
    (["Answered…", "Labour", ("open", "Survey questions and notes", None),
      ("select", "What is the most important issue for you at this election?", "Housing"),
      "Save call"], ("SPOKE", "LAB", {"top_issue": "housing"})),
    (["No answer"], ("NO_ANSWER", None, {})),
    (["Left a voicemail"], ("VOICEMAIL", None, {})),
    (["Wrong number"], ("WRONG_NUMBER", None, {})),
    (["Call back later…", ("fill", "When to call back", "2030-01-15T18:30"), "Save"], ("CALL_BACK", None, {})),
    (["Answered…", "Save call"], ("SPOKE", None, {})),
    (["No answer"], ("NO_ANSWER", None, {})),
    (["Answered…", "Conservative", ("open", "Survey questions and notes", None),
      ("select", "Would you like help to apply for a postal vote?", "Yes"), "Save call"],
     ("SPOKE", "CON", {"postal_vote": True})),
    (["Left a voicemail"], ("VOICEMAIL", None, {})),
    (["No answer"], ("NO_ANSWER", None, {})),
]


def phone_calls():
    return db_all(select(ContactRecord).where(ContactRecord.device_id.is_not(None), ContactRecord.channel == Channel.PHONE))


def test_ten_calls_logged_offline_are_counted_thanked_and_delivered(page, context, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    wait_for_offline_shell(page)
    page.get_by_role("link", name="Phone bank").click()
    callee = page.locator("[data-elector]")
    callee.wait_for()
    assert callee.get_by_role("link", name="Call 0").get_attribute("href").startswith("tel:")
    page.get_by_text("[first name]").wait_for(state="detached")  # the script speaks to this person
    screenshot(page, "call-list")

    context.set_offline(True)
    expected = {}
    for steps, outcome in CALLS:
        elector_id = int(callee.get_attribute("data-elector"))
        for step in steps:
            if isinstance(step, tuple):
                kind, label, value = step
                if kind == "open":  # the survey is there to open, not in the way
                    page.get_by_text(label, exact=True).click()
                    continue
                field = page.get_by_label(label)
                field.select_option(label=value) if kind == "select" else field.fill(value)
            else:
                page.get_by_role("button", name=step, exact=True).click()
        page.wait_for_function("(id) => document.querySelector('[data-elector]')?.dataset.elector !== String(id)",
                               arg=elector_id)
        expected[elector_id] = outcome

    counts = page.locator("[data-counts]")
    assert counts.inner_text() == "This session: 10 calls · Total: 10"
    assert outbox(page) == {"pending": 10, "failed": 0}
    page.get_by_role("button", name="End session").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    page.get_by_text("You made 10 calls this session").wait_for()
    screenshot(page, "thank-you")

    context.set_offline(False)
    wait_until(lambda: len(phone_calls()) >= 10, message="the 10 calls to reach the server")
    calls = phone_calls()
    assert len(calls) == 10
    assert {c.elector_id: (c.outcome, c.intention, c.survey_answers) for c in calls} == expected
    call_backs = [c for c in calls if c.outcome == "CALL_BACK"]
    assert [c.call_back_at.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d %H:%M") for c in call_backs] == ["2030-01-15 18:30"], \
        "the time asked for is kept as data, not as a note"

    # A new session starts from nought; the total stays.
    page.get_by_role("button", name="Start another session").click()
    page.locator("[data-counts]").get_by_text("This session: 0 calls · Total: 10").wait_for()


def test_ending_a_session_without_a_call_still_says_thank_you(page, context, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    page.get_by_role("link", name="Phone bank").click()
    page.get_by_role("button", name="End session").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    page.get_by_text("Thank you for giving your time today").wait_for()


def _open_list(page, name: str) -> int:
    aid = db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.CALL, Assignment.name.startswith(name)))
    page.evaluate("(hash) => { location.hash = '#/lists'; location.hash = hash; }", f"#/call/{aid}")
    page.locator("[data-person]").wait_for()
    return aid


def _log(page, *buttons):
    person = page.locator("[data-person]").get_attribute("data-person")
    for label in buttons:
        page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_function("(key) => document.querySelector('[data-person]')?.dataset.person !== key", arg=person)
    return person


def test_every_outcome_a_call_can_have_is_one_or_two_taps(page, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    _open_list(page, "Phone bank")
    logged = {}
    for label, code in (("Refused to talk", "REFUSED"), ("Moved away", "MOVED"), ("Deceased", "DECEASED"),
                        ("Wrong number", "WRONG_NUMBER"), ("Left a voicemail", "VOICEMAIL")):
        logged[int(_log(page, label)[1:])] = code
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0", message="delivery")
    calls = {c.elector_id: c.outcome for c in phone_calls()}
    assert calls == logged
    moved = next(e for e, code in logged.items() if code == "MOVED")
    assert db_scalar(select(ReviewItem).where(ReviewItem.elector_id == moved)).kind == "presence_report", \
        "a CLP admin is asked to confirm they moved"


def test_a_call_back_is_kept_as_a_time_and_offered_first_when_due_to_anyone_on_the_list(browser, page, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    _open_list(page, "Phone bank")
    page.get_by_role("button", name="Call back later…").click()
    page.get_by_label("When to call back").fill("2030-01-15T18:30")
    person = _log(page, "Save")
    elector_id = int(person[1:])
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0", message="delivery")
    call = db_scalar(select(ContactRecord).where(ContactRecord.elector_id == elector_id))
    assert call.outcome == "CALL_BACK" and call.call_back_at is not None and call.notes is None
    # Not yet due: nobody is offered them. Then the time comes (moved back here) and a colleague's phone,
    # on the same list, offers them first.
    fresh = browser.new_context(viewport=PHONE, base_url=live_server.url, service_workers="allow",
                                locale="en-GB", timezone_id="Europe/London")
    try:
        colleague = fresh.new_page()
        log_in(colleague, live_server.login_for("phone_banker"), device_name="Second phone")
        wait_for_download(colleague)
        _open_list(colleague, "Phone bank")
        assert colleague.locator("[data-person]").get_attribute("data-person") != person
        db.session.rollback()
        state = db.session.get(ElectorState, elector_id)
        state.call_back_at = datetime.now(timezone.utc) - timedelta(minutes=5)
        db.session.commit()
        sync_now(colleague)
        _open_list(colleague, "Phone bank")
        # A due call-back comes first (waiting for the re-render: the list read at once may still be the old one).
        expect(colleague.locator("[data-person]")).to_have_attribute("data-person", person)
        colleague.get_by_text("They asked to be called back").wait_for()
        screenshot(colleague, "call-back-due")
    finally:
        fresh.close()


def test_new_members_get_a_welcome_call_with_only_their_name_number_and_why(page, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    _open_list(page, "Welcome calls")
    card = page.locator("[data-member]")
    member_id = int(card.get_attribute("data-member"))
    card.get_by_text("Welcome call: joined").wait_for()
    screenshot(page, "welcome-call")
    held = page.evaluate("async (id) => (await import('/js/db.js')).get('member', id)", member_id)
    assert set(held) == {"id", "first_name", "last_name", "phone", "reason", "called"}
    page.get_by_role("button", name="Answered…").click()
    _log(page, "Save call")
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0", message="delivery")
    call = db_scalar(select(ContactRecord).where(ContactRecord.member_id == member_id))
    assert (call.elector_id, call.outcome, call.channel) == (None, "SPOKE", Channel.PHONE)
