"""Canvassing as a team: two phones on one walk list never send anyone to a door the other has knocked.

The second phone is the same canvasser's new phone (a second browser context logs in again), the case
the issue names beside a colleague: either way, what one phone records reaches the other within one sync,
as who was knocked, when and what kind of outcome, never what was said.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.extensions import db
from server.models import Assignment, AssignmentKind, ElectorState
from tests.pwa.conftest import PHONE, db_scalar, screenshot
from tests.pwa.helpers import households, log_in, record_at_doors, sync_now, until, wait_for_download
from tests.pwa.test_screens import audit


def _second_phone(browser, live_server):
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, service_workers="allow",
                                  locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(15000)
    return context, context.new_page()


def _houses(page, aid) -> list[tuple[int, list[int]]]:
    """The list's doors that are houses (not flats in a block), in walking order, with their electors."""
    return page.evaluate("""async (aid) => {
        const { loadWalk } = await import('/js/ui/walk.js');
        const model = await loadWalk(aid);
        return model.walk.order.filter((pid) => !model.propertiesById.get(pid).building)
          .map((pid) => [pid, (model.electorsByProperty.get(pid) || []).map((e) => e.id)]);
    }""", aid)


def _next_door(page) -> str:
    return page.get_by_role("link", name="Next door").first.inner_text()


def _open(page, aid):
    page.evaluate("(hash) => { location.hash = '#/lists'; location.hash = hash; }", f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").first.wait_for()


def test_two_phones_on_one_list_never_knock_the_same_door_twice(browser, page, live_server):
    email = live_server.login_for("canvasser")
    aid = db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))
    log_in(page, email, device_name="Phone A")
    wait_for_download(page)
    second_context, second = _second_phone(browser, live_server)
    try:
        log_in(second, email, device_name="Phone B")
        wait_for_download(second)
        _open(second, aid)
        before = _next_door(second)
        second.get_by_text("0 visited").wait_for()

        # Phone A knocks the first five doors of the list, in walking order.
        doors = [d for d in households(page, aid) if d[1]][:5]
        record_at_doors(page, aid, doors)
        sync_now(page)  # A delivers its records
        until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0",
              message="phone A to deliver its records")

        # One sync later, phone B knows: the doors are marked and Next door moves past them.
        sync_now(second)
        _open(second, aid)
        second.get_by_text("5 visited").wait_for()
        first_addresses = [second.locator(f'a[data-pid="{pid}"]') for pid, _ in doors]
        for link in first_addresses:
            assert "visited" in link.get_attribute("class")
        assert _next_door(second) != before
        next_pid = int(second.get_by_role("link", name="Next door").first.get_attribute("href").rsplit("/", 1)[1])
        assert next_pid not in {pid for pid, _ in doors}, "Next door sends B to a door A knocked"
        assert all("(team)" in (link.get_attribute("aria-label") or link.inner_text()) for link in first_addresses)
        screenshot(second, "team-walk-list")

        # At a knocked door, B sees what the team found, and nothing of what was said.
        second.evaluate("(hash) => { location.hash = hash; }", f"#/door/{aid}/{doors[1][0]}")
        second.get_by_text("By the team:").first.wait_for()
        screenshot(second, "team-door")
        audit(second, "a door the team has knocked")
        held = second.evaluate("async () => (await import('/js/db.js')).all('activity')")
        assert held and all(set(a) == {"elector_id", "door", "phone"} for a in held)
        assert all(set(a["door"]) == {"at", "outcome"} for a in held), "no intention, answers or notes"
    finally:
        second_context.close()


def test_a_door_found_not_home_earlier_is_offered_again_later(browser, page, live_server):
    email = live_server.login_for("canvasser")
    aid = db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))
    log_in(page, email, device_name="Phone A")
    wait_for_download(page)
    pid, electors = next(d for d in _houses(page, aid) if len(d[1]) == 1)
    page.evaluate("(hash) => { location.hash = hash; }", f"#/door/{aid}/{pid}")
    page.locator(f'[data-card="{electors[0]}"]').get_by_role("button", name="Not home", exact=True).click()
    sync_now(page)
    until(page, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0",
          message="the knock to be delivered")
    # Three hours pass (the knock is moved back; the rule is in pwa/js/walkorder.js: two hours).
    db.session.rollback()
    state = db.session.get(ElectorState, electors[0])
    state.last_door_at -= timedelta(hours=3)
    db.session.commit()
    second_context, second = _second_phone(browser, live_server)
    try:
        log_in(second, email, device_name="Phone B")
        wait_for_download(second)
        _open(second, aid)
        state = second.locator(f'a.door[data-pid="{pid}"] .door-state')
        assert "try again" in state.inner_text()
        href = second.get_by_role("link", name="Next door").first.get_attribute("href")
        order = [p for p, _ in households(second, aid)]
        assert order.index(int(href.rsplit("/", 1)[1])) <= order.index(pid), "the door is on the way again"
    finally:
        second_context.close()
