"""A phone banker's evening: take the call list, make calls with no data signal, and see them counted."""
from __future__ import annotations

from sqlalchemy import select

from server.models import Channel, ContactRecord
from tests.pwa.conftest import db_all, screenshot, wait_until
from tests.pwa.helpers import log_in, outbox, wait_for_download, wait_for_offline_shell

# (buttons to press in turn, what the server should then hold: outcome, intention, survey answers)
CALLS = [
    (["Answered…", "Labour", ("select", "What is the most important issue for you at this election?", "Housing"),
      "Save call"], ("SPOKE", "LAB", {"top_issue": "housing"})),
    (["No answer"], ("NO_ANSWER", None, {})),
    (["Left a voicemail"], ("VOICEMAIL", None, {})),
    (["Wrong number"], ("WRONG_NUMBER", None, {})),
    (["Call back later…", ("fill", "When to call back", "2030-01-15T18:30"), "Save"], ("CALL_BACK", None, {})),
    (["Answered…", "Save call"], ("SPOKE", None, {})),
    (["No answer"], ("NO_ANSWER", None, {})),
    (["Answered…", "Conservative", ("select", "Would you like help to apply for a postal vote?", "Yes"), "Save call"],
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
    notes = [c.notes for c in calls if c.outcome == "CALL_BACK"]
    assert notes and notes[0].startswith("Call back: ")

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
