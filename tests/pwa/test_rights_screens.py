"""A person's rights, served from the console: a copy of what is held about them, and erasure.

The CLP admin finds the elector who wrote in, downloads everything held about them (subject access), then
erases them; the canvasser's phone, which held them on its walk list, drops them at its next sync.
"""
from __future__ import annotations

import json

from playwright.sync_api import expect
from sqlalchemy import func, select

from server.models import Assignment, AssignmentKind, AssignmentUser, AuditEvent, Elector, ElectorStatus, User
from tests.pwa.conftest import PHONE, db_all, db_scalar, screenshot
from tests.pwa.helpers import households, log_in, sync_now, until, wait_for_download
from tests.pwa.test_admin_console import DESKTOP, admin_log_in, browser_page, go
from tests.pwa.test_screens import audit


def canvassers_walk_list(canvasser: User) -> Assignment:
    return db_scalar(select(Assignment).join(AssignmentUser, AssignmentUser.assignment_id == Assignment.id)
                     .where(AssignmentUser.user_id == canvasser.id, Assignment.kind == AssignmentKind.WALK)
                     .order_by(Assignment.id).limit(1))


def matches(constituency_id: int, word: str) -> int:
    """How many current electors of the CLP a search for ``word`` finds (it looks inside surnames and forenames)."""
    word = word.lower()
    return db_scalar(select(func.count()).select_from(Elector).where(
        Elector.constituency_id == constituency_id, Elector.status == ElectorStatus.CURRENT,
        func.lower(Elector.surname).contains(word) | func.lower(Elector.forenames).contains(word)))


def someone_on_the_phone(phone, walk_list: Assignment) -> tuple[Elector, int]:
    """An elector the phone holds on its walk list whose name nobody else in the CLP has, and how many
    people a search for their surname finds (the fewest: the screen shows the first 20)."""
    held = [e for _door, electors in households(phone, walk_list.id) for e in electors]
    people = db_all(select(Elector).where(Elector.id.in_(held)).order_by(Elector.id))
    names = db_all(select(Elector.forenames + " " + Elector.surname).where(
        Elector.constituency_id == walk_list.constituency_id, Elector.status == ElectorStatus.CURRENT))
    unique = [p for p in people if names.count(f"{p.forenames} {p.surname}") == 1]
    best = min(((matches(walk_list.constituency_id, p.surname), p.id, p) for p in unique), default=None)
    assert best is not None and best[0] <= 20, "the demo walk list holds nobody a surname search can pick out"
    return best[2], best[0]


def on_the_phone(phone, elector_id: int):
    return phone.evaluate("async (id) => (await import('/js/db.js')).get('elector', id)", elector_id)


def test_a_person_gets_a_copy_of_their_data_then_is_erased_from_the_server_and_the_phone(browser, live_server):
    canvasser_email = live_server.login_for("canvasser")
    canvasser = db_scalar(select(User).where(User.email == canvasser_email))
    walk_list = canvassers_walk_list(canvasser)
    with browser_page(browser, live_server, PHONE) as phone, browser_page(browser, live_server, DESKTOP) as desk:
        # The canvasser's phone holds the person on its walk list.
        log_in(phone, canvasser_email, device_name="Canvasser's phone")
        wait_for_download(phone)
        person, found = someone_on_the_phone(phone, walk_list)
        surname, name = person.surname, f"{person.forenames} {person.surname}"  # the erasure blanks them
        phone.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{walk_list.id}")
        phone.get_by_label("Find a name or house number").fill(surname)
        walk = phone.locator("[data-list]")
        expect(walk).to_contain_text(name)
        assert on_the_phone(phone, person.id)

        # The CLP admin finds them by surname.
        admin_log_in(desk, live_server)
        go(desk, "#/admin/do-not-contact", "Do not contact")
        desk.get_by_label("Surname or full name").fill(surname)
        desk.get_by_role("button", name="Search the register").click()
        results = desk.locator("[data-results]")
        expect(results).to_contain_text("1 match." if found == 1 else f"{found} matches.")
        expect(results).to_contain_text(name)
        audit(desk, "do not contact with a person's rights")
        screenshot(desk, "rights-search-result")

        # Subject access: a file with everything held about them, and the export is on record.
        with desk.expect_download() as download:
            results.get_by_role("button", name=f"Subject access for {name}").click()
        assert download.value.suggested_filename.endswith(".json")
        with open(download.value.path(), encoding="utf-8") as file:
            text = file.read()
        document = json.loads(text)
        assert document["format"] == "groundwork.subject-access" and surname in text
        expect(desk.locator("#toast")).to_contain_text(f"Downloaded everything held about {name}.")
        assert db_scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "rights.subject_access", AuditEvent.target_type == "elector",
            AuditEvent.target_id == str(person.id))) == 1

        # Erasure: how it came and what they asked, then a last "are you sure".
        results.get_by_role("button", name=f"Erase… {name}").click()
        asked = desk.get_by_role("dialog", name=f"Erase {name}?")
        asked.get_by_role("button", name="Erase them").click()
        asked.get_by_text("Say what they asked, so the record shows why.").wait_for()
        asked.get_by_label("How the request came").select_option(label="By email")
        asked.get_by_label("What they asked, without their name").fill("Email of 3 Dec asking to be forgotten")
        audit(desk, "erasure request dialog")
        screenshot(desk, "rights-erase-dialog")
        asked.get_by_role("button", name="Erase them").click()
        sure = desk.get_by_role("dialog", name="Erase for good?")
        expect(sure).to_contain_text(f"{name} will be erased now. There is no undo.")
        sure.get_by_role("button", name="Yes, erase now").click()
        expect(desk.locator("#toast")).to_contain_text(f"{name} has been erased. Phones drop them at their next sync.")
        expect(results).to_be_empty()
        screenshot(desk, "rights-erased")
        erased = db_scalar(select(Elector).where(Elector.id == person.id))
        assert erased.erased_at is not None and erased.surname == "" and erased.forenames == ""

        # The canvasser's phone drops them at its next sync.
        sync_now(phone)
        until(phone, "async (id) => !(await (await import('/js/db.js')).get('elector', id))", person.id,
              message="the erased elector to leave the phone")
        phone.evaluate("() => { location.hash = '#/lists'; }")
        phone.get_by_role("heading", name="Your lists").wait_for()
        phone.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{walk_list.id}")
        phone.get_by_label("Find a name or house number").fill(surname)
        expect(walk.get_by_role("status")).to_contain_text("match")
        expect(walk).not_to_contain_text(name)
        screenshot(phone, "rights-erased-walk-list")

        # Searching again, the office no longer finds them.
        desk.get_by_role("button", name="Search the register").click()
        left = found - 1
        expect(results).to_contain_text("Nobody on the register matches." if not left
                                        else "1 match." if left == 1 else f"{left} matches.")
        expect(results).not_to_contain_text(name)
