"""At the doors: the walk list a canvasser follows, and records that take one or two taps to make or mend."""
from __future__ import annotations

from sqlalchemy import select

from server.models import Assignment, AssignmentKind, ContactRecord, ElectorState, RecordKind
from tests.pwa.conftest import db_all, db_scalar, screenshot
from tests.pwa.helpers import log_in, outbox, sync_now, wait_for_download


def open_walk_list(page, live_server) -> int:
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    aid = db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    return aid


def phone_records():
    return db_all(select(ContactRecord).where(ContactRecord.device_id.is_not(None)).order_by(ContactRecord.received_at))


def test_the_walk_list_follows_the_street_by_sides_with_households_and_a_grid_for_flats(page, live_server):
    open_walk_list(page, live_server)
    assert page.get_by_role("heading", name="Canal Rise", exact=True).count() == 1
    sides = page.locator("h3.side").all_inner_texts()
    assert [s.lower() for s in sides] == ["odd numbers", "even numbers"]
    block = page.locator(".block").first
    assert block.locator(".block-name").inner_text().startswith("Albert Heights, 1 Canal Rise")
    assert block.locator("a.flat").count() == 13
    odd = [int(n) for n in page.locator("h3.side").nth(0).locator("xpath=following-sibling::ul[1]").locator(".door-no").all_inner_texts()]
    even = [int(n) for n in page.locator("h3.side").nth(1).locator("xpath=following-sibling::ul[1]").locator(".door-no").all_inner_texts()]
    assert odd == sorted(odd) and all(n % 2 for n in odd)
    assert even == sorted(even) and not any(n % 2 for n in even)
    # Each household is listed under its address.
    first = page.locator("a.door").first
    assert first.locator(".door-names").inner_text()

    search = page.get_by_label("Find a name or house number")
    before = search.bounding_box()
    search.fill("okoye")
    page.get_by_role("status").filter(has_text="match").wait_for()
    names = page.locator("a.door .door-names").all_inner_texts()
    assert names and all("okoye" in n.lower() for n in names)
    assert search.bounding_box() == before  # typing does not move the field
    search.fill("7")
    page.get_by_text("7 Canal Rise").wait_for()
    addresses = page.locator("a.door .door-addr").all_inner_texts()
    assert "7 Canal Rise" in addresses and "Flat 7, Albert Heights, 1 Canal Rise" in addresses
    assert all("7" in a for a in addresses)


def test_the_next_door_not_yet_visited_is_one_tap_away(page, live_server):
    aid = open_walk_list(page, live_server)
    page.get_by_role("link", name="Next door: Flat 1, Albert Heights").click()
    page.get_by_role("heading", name="Flat 1, Albert Heights, 1 Canal Rise").wait_for()
    for card in page.locator("[data-card]").all():
        card.get_by_role("button", name="Not home", exact=True).click()
        card.get_by_text("saved, waiting to send").wait_for()
    page.get_by_role("link", name="Next door: Flat 2, Albert Heights").click()
    page.get_by_role("heading", name="Flat 2, Albert Heights, 1 Canal Rise").wait_for()
    page.get_by_role("link", name="Back to the list").click()
    page.get_by_text("1 visited").wait_for()
    assert "visited" in page.locator("a.flat").first.get_attribute("class")
    page.get_by_role("link", name="Next door: Flat 2, Albert Heights").wait_for()


def test_corrections_and_undo_are_new_events_that_the_server_folds(page, live_server):
    open_walk_list(page, live_server)
    page.locator("a.door").first.click()  # a house with several people
    first, second = page.locator("[data-card]").nth(0), page.locator("[data-card]").nth(1)
    first_id, second_id = int(first.get_attribute("data-card")), int(second.get_attribute("data-card"))

    first.get_by_role("button", name="Spoke to them…").click()  # two taps: spoke, then the intention
    first.get_by_role("button", name="Labour").click()
    first.get_by_text("Spoke to them: Labour").wait_for()
    first.get_by_role("button", name="Change").click()  # they said "undecided" after all
    first.get_by_role("button", name="Spoke to them…").click()
    first.get_by_role("button", name="Undecided").click()
    first.get_by_text("Spoke to them: Undecided").wait_for()
    first.get_by_role("button", name="Add details").click()
    first.get_by_label("Strength").select_option(label="Soft: could still change their mind")
    first.get_by_label("What is the most important issue for you at this election?").select_option(label="NHS and social care")
    first.get_by_label("How likely are you to vote, from 1 (not at all) to 10 (certain)?").select_option("8")
    first.get_by_label("Notes").fill("Works nights")
    first.get_by_role("button", name="Save details").click()
    first.get_by_text("Spoke to them: Undecided (Soft: could still change their mind)").wait_for()
    screenshot(page, "record-screen-corrected")

    second.get_by_role("button", name="Refused to talk").click()  # one tap
    second.get_by_text("Refused to talk").wait_for()
    sync_now(page)  # sent: so the undo must travel as a retraction (before sending it is simply forgotten)
    assert outbox(page) == {"pending": 0, "failed": 0}
    second.get_by_role("button", name="Undo").click()
    second.get_by_text("No record yet").wait_for()

    sync_now(page)
    assert outbox(page) == {"pending": 0, "failed": 0}
    records = phone_records()
    assert sorted((r.elector_id, r.kind.value, r.outcome or "", r.intention or "") for r in records) == sorted([
        (first_id, "record", "SPOKE", "LAB"),
        (first_id, "correction", "SPOKE", "UNDECIDED"),
        (first_id, "correction", "SPOKE", "UNDECIDED"),
        (second_id, "record", "REFUSED", ""),
        (second_id, "retraction", "", ""),
    ])
    by_id = {r.id: r for r in records}
    original = next(r for r in records if r.elector_id == first_id and r.kind == RecordKind.RECORD)
    change = next(r for r in records if r.supersedes_id == original.id)
    detailed = next(r for r in records if r.supersedes_id == change.id)
    assert change.strength is None and detailed.strength == "SOFT" and detailed.notes == "Works nights"
    assert detailed.survey_answers == {"top_issue": "nhs", "likelihood": 8}
    retraction = next(r for r in records if r.kind == RecordKind.RETRACTION)
    assert by_id[retraction.supersedes_id].outcome == "REFUSED"
    state = db_scalar(select(ElectorState).where(ElectorState.elector_id == first_id))
    assert (state.intention, state.strength) == ("UNDECIDED", "SOFT")


def test_a_door_can_be_recorded_with_the_keyboard_alone(page, live_server):
    open_walk_list(page, live_server)
    page.get_by_label("Find a name or house number").focus()
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent").startswith("Next door"):
            break
    assert page.evaluate("document.activeElement.textContent").startswith("Next door")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Flat 1, Albert Heights, 1 Canal Rise").wait_for()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Not home":
            break
    page.keyboard.press("Enter")
    page.get_by_text("saved, waiting to send").first.wait_for()
    assert outbox(page)["pending"] == 1
