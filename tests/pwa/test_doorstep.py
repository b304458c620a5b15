"""What canvassers meet at the door beyond an outcome: someone not on the register, a phone number given,
and a person who has moved away or died, each sent for the CLP to act on."""
from __future__ import annotations

from sqlalchemy import select

from server.models import Assignment, AssignmentKind, Elector, ElectorUpdate, ReviewItem
from tests.pwa.conftest import db_all, db_scalar, screenshot
from tests.pwa.helpers import households, log_in, sync_now, until, wait_for_download

DELIVERED = "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0"


def _at_a_door(page, live_server, people: int = 2):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    aid = db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))
    pid, electors = next(d for d in households(page, aid) if len(d[1]) >= people)
    page.evaluate("(hash) => { location.hash = hash; }", f"#/door/{aid}/{pid}")
    page.locator("[data-card]").first.wait_for()
    return pid, electors


def test_someone_living_there_who_is_not_on_the_register_is_sent_for_review(page, live_server):
    pid, _ = _at_a_door(page, live_server)
    page.get_by_role("button", name="Someone here is not on the list").click()
    page.get_by_label("First names").fill("Jo")
    page.get_by_label("Surname").fill("Okafor")
    page.get_by_label("Notes (optional)").fill("Lodger, moved in last month")
    page.get_by_role("button", name="Send for review").click()
    page.get_by_text("Jo Okafor", exact=True).wait_for()
    page.locator("main").get_by_text("not on the register, sent for your organiser to add").wait_for()
    screenshot(page, "door-new-person")
    sync_now(page)
    until(page, DELIVERED, message="delivery")
    item = db_scalar(select(ReviewItem).where(ReviewItem.kind == "new_elector", ReviewItem.data["property_id"].as_integer() == pid))
    assert (item.data["property_id"], item.data["surname"], item.data["forenames"]) == (pid, "Okafor", "Jo")


def test_a_phone_number_given_at_the_door_reaches_the_register_entry(page, live_server):
    _, electors = _at_a_door(page, live_server)
    card = page.locator(f'[data-card="{electors[0]}"]')
    card.get_by_role("button", name="Phone number…").click()
    card.get_by_label("Phone number for").fill("07700 900123")
    card.get_by_role("button", name="Save number").click()
    card.get_by_role("button", name="Phone number…").wait_for()
    sync_now(page)
    until(page, DELIVERED, message="delivery")
    assert db_scalar(select(Elector.phone).where(Elector.id == electors[0])) == "07700 900123"
    update = db_scalar(select(ElectorUpdate).where(ElectorUpdate.elector_id == electors[0]))
    assert update.field == "phone" and update.base_version == 1


def test_moved_away_and_deceased_are_reported_to_the_clp_once_each(page, live_server):
    _, electors = _at_a_door(page, live_server)
    page.locator(f'[data-card="{electors[0]}"]').get_by_role("button", name="Moved away").click()
    second = page.locator(f'[data-card="{electors[1]}"]')
    second.get_by_text("More outcomes").click()
    second.get_by_role("button", name="Deceased").click()
    second.get_by_role("button", name="Undo").wait_for()
    sync_now(page)
    until(page, DELIVERED, message="delivery")
    reports = {(r.elector_id, r.data["flag"]) for r in db_all(select(ReviewItem).where(
        ReviewItem.kind == "presence_report", ReviewItem.elector_id.in_(electors[:2])))}
    assert reports == {(electors[0], "moved"), (electors[1], "deceased")}
