"""The CLP admin's console: lists, campaign, volunteers and do-not-contact, as an organiser uses them.

The admin works at a laptop (a wide browser context) and the console must also work on a phone; what the
admin changes reaches a volunteer's phone (a second context, phone-sized) at its next sync.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from server.models import (
    Assignment,
    AssignmentKind,
    AssignmentUser,
    Campaign,
    CampaignCode,
    ContactRecord,
    Device,
    Elector,
    ElectorState,
    ElectorStatus,
    PollingDistrict,
    ReviewItem,
    Suppression,
    User,
)
from tests.pwa.conftest import DEMO_PASSWORD, PHONE, db_all, db_scalar, screenshot, wait_until
from tests.pwa.helpers import households, log_in, open_app, record_at_doors, sync_now, until, wait_for_download
from tests.pwa.test_screens import audit

DESKTOP = {"width": 1280, "height": 900}
SIZES = {1280: DESKTOP, 360: PHONE}
PASSPHRASE = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$")  # three groups of four, as given out

# ------------------------------------------------------------------------------------------------ helpers

@contextmanager
def browser_page(browser, live_server, viewport):
    """A fresh browser context of this size and its page; JavaScript errors on the page fail the test."""
    context = browser.new_context(viewport=viewport, base_url=live_server.url, accept_downloads=True,
                                  service_workers="allow", locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def desk(browser, live_server):
    """The CLP admin's laptop."""
    with browser_page(browser, live_server, DESKTOP) as page:
        yield page


def admin_log_in(page, live_server, device_name: str = "Office laptop"):
    """Log in as the demo CLP admin, who lands on the console's Lists."""
    open_app(page)
    page.get_by_label("Email").fill(live_server.login_for("clp_admin"))
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Name for this device").fill(device_name)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Lists", exact=True).wait_for()
    assert page.url.endswith("#/admin") or "#/admin/" in page.url


def go(page, hash_: str, heading: str):
    """Open a console screen by its address and wait for its heading."""
    page.evaluate("(hash) => { location.hash = hash; }", hash_)
    page.get_by_role("heading", name=heading, exact=True).wait_for()


def user(email: str) -> User:
    return db_scalar(select(User).where(User.email == email))


def admin_of(live_server) -> User:
    return user(live_server.login_for("clp_admin"))


def smallest_district(constituency_id: int) -> PollingDistrict:
    """The admin's polling district with the fewest electors (a small list for the phone to fetch)."""
    counts = select(Elector.polling_district_id, func.count().label("n")).where(
        Elector.constituency_id == constituency_id, Elector.status == ElectorStatus.CURRENT,
    ).group_by(Elector.polling_district_id).subquery()
    return db_scalar(select(PollingDistrict).join(counts, counts.c.polling_district_id == PollingDistrict.id)
                     .order_by(counts.c.n, PollingDistrict.code).limit(1))


def unique_elector(constituency_id: int) -> Elector:
    """A current elector of the CLP whose surname nobody else there has, so a search finds just them."""
    alone = select(Elector.surname).where(
        Elector.constituency_id == constituency_id, Elector.status == ElectorStatus.CURRENT,
    ).group_by(Elector.surname).having(func.count() == 1).order_by(Elector.surname).limit(1).scalar_subquery()
    return db_scalar(select(Elector).where(Elector.constituency_id == constituency_id,
                                           Elector.status == ElectorStatus.CURRENT, Elector.surname == alone))


def count(model) -> int:
    return db_scalar(select(func.count()).select_from(model))


def count_holders(assignment_id: int) -> int:
    return db_scalar(select(func.count()).select_from(AssignmentUser)
                     .where(AssignmentUser.assignment_id == assignment_id))


def error_beside(page, field_name: str):
    """The error line under a console field (fields are drawn by admin/common.js field())."""
    return page.locator(f"#f-{field_name}-error")


def phone_shows_lists(phone):
    """Draw the phone's lists afresh (after a sync run from the test rather than the scheduler)."""
    phone.evaluate("() => { location.hash = '#/account'; }")
    phone.get_by_role("heading", name="Account").wait_for()
    phone.evaluate("() => { location.hash = '#/lists'; }")
    phone.get_by_role("heading", name="Your lists").wait_for()


def delivered(phone):
    until(phone, "async () => (await (await import('/js/db.js')).outboxCounts()).pending === 0",
          message="the phone to deliver its records")


def start_local_drive(page, name: str) -> int:
    """From the demo's national campaign, start a local drive; returns its id."""
    go(page, "#/admin/campaign", "Campaign")
    page.get_by_role("heading", name="Start a local drive").wait_for()
    page.get_by_label("Name of the drive").fill(name)
    page.get_by_role("button", name="Start the drive").click()
    page.get_by_role("heading", name="Add a code").wait_for()
    page.wait_for_url(re.compile(r"#/admin/campaign/\d+$"))
    assert f"{name} (local drive)" in page.get_by_label("Campaign", exact=True).locator("option:checked").inner_text()
    return int(page.url.rsplit("/", 1)[1])


# ---------------------------------------------------------------------------------------------- the tests

@pytest.mark.parametrize("width", [1280, 360])
def test_every_console_section_passes_an_accessibility_audit(browser, live_server, width):
    admin = admin_of(live_server)
    canvasser = user(live_server.login_for("canvasser"))
    walk_list = db_scalar(select(Assignment).where(Assignment.kind == AssignmentKind.WALK,
                                                   Assignment.constituency_id == admin.constituency_id)
                          .order_by(Assignment.id).limit(1))
    elector = unique_elector(admin.constituency_id)
    with browser_page(browser, live_server, SIZES[width]) as page:
        admin_log_in(page, live_server)
        page.get_by_role("link", name=walk_list.name).wait_for()
        audit(page, f"lists at {width}")
        screenshot(page, f"admin-lists-{width}")

        go(page, "#/admin/lists/walk", "New walk lists")
        page.locator("input[name=polling_district_ids]").first.check()
        page.get_by_role("button", name="Preview").click()
        preview = page.get_by_role("heading", name=re.compile(r"would be made$"))
        preview.wait_for()
        audit(page, f"walk-list builder with a preview at {width}")
        preview.scroll_into_view_if_needed()
        screenshot(page, f"admin-walk-builder-{width}")

        go(page, "#/admin/lists/call", "New call list")
        audit(page, f"call-list builder at {width}")
        screenshot(page, f"admin-call-builder-{width}")

        go(page, f"#/admin/lists/{walk_list.id}", walk_list.name)
        page.get_by_role("heading", name="Who holds it").wait_for()
        audit(page, f"a list's page at {width}")
        screenshot(page, f"admin-list-page-{width}")

        go(page, "#/admin/campaign", "Campaign")
        page.get_by_role("heading", name="Outcomes").wait_for()
        audit(page, f"campaign at {width}")
        screenshot(page, f"admin-campaign-{width}")

        go(page, "#/admin/volunteers", "Volunteers")
        page.get_by_role("link", name=canvasser.name).wait_for()
        audit(page, f"volunteers at {width}")
        screenshot(page, f"admin-volunteers-{width}")

        page.get_by_role("link", name=canvasser.name).click()
        page.get_by_role("heading", name=canvasser.name, exact=True).wait_for()
        page.get_by_role("heading", name="Phones").wait_for()
        audit(page, f"a volunteer's page at {width}")
        screenshot(page, f"admin-volunteer-{width}")

        go(page, "#/admin/do-not-contact", "Do not contact")
        page.get_by_label("Surname or full name").fill(elector.surname)
        page.get_by_role("button", name="Search the register").click()
        page.get_by_role("button", name=f"Record an objection for {elector.forenames} {elector.surname}").wait_for()
        audit(page, f"do not contact with a search result at {width}")
        screenshot(page, f"admin-do-not-contact-{width}")

        go(page, "#/admin/review", "Review queue")
        page.get_by_role("heading", name="Two contacts disagree on how they will vote").wait_for()
        audit(page, f"review queue at {width}")
        screenshot(page, f"admin-review-{width}")


def test_a_walk_list_made_in_the_console_reaches_the_volunteers_phone_and_leaves_it(browser, desk, live_server):
    admin = admin_of(live_server)
    canvasser_email = live_server.login_for("canvasser")
    canvasser = user(canvasser_email)
    district = smallest_district(admin.constituency_id)
    admin_log_in(desk, live_server)

    # The admin builds one walk list of the district, sees it before making it, and gives it to the canvasser.
    go(desk, "#/admin/lists/walk", "New walk lists")
    desk.get_by_label(f"{district.code} · {district.name}").check()
    desk.get_by_label("About how many").fill("5000")
    desk.get_by_label("Name", exact=True).fill("Console round")
    desk.get_by_role("button", name="Preview").click()
    desk.get_by_role("heading", name="1 list would be made").wait_for()
    name = desk.locator("[data-plan] tbody th").first.inner_text()
    assert name.startswith("Console round: ")
    desk.get_by_role("group", name="Give to").get_by_label(canvasser.name, exact=True).check()
    desk.get_by_role("button", name="Create").click()
    desk.get_by_role("heading", name="Lists", exact=True).wait_for()
    desk.get_by_role("link", name=name).wait_for()
    made = db_scalar(select(Assignment).where(Assignment.name == name))
    assert made.kind == AssignmentKind.WALK and made.constituency_id == admin.constituency_id
    assert db_all(select(AssignmentUser.user_id).where(AssignmentUser.assignment_id == made.id)) == [canvasser.id]

    with browser_page(browser, live_server, PHONE) as phone:
        # The canvasser's phone fetches it, and they knock a door on it.
        log_in(phone, canvasser_email, device_name="Canvasser's phone")
        wait_for_download(phone)
        phone.get_by_role("link", name=name, exact=True).wait_for()
        door = next(d for d in households(phone, made.id) if d[1])
        recorded = record_at_doors(phone, made.id, [door])
        sync_now(phone)
        delivered(phone)
        on_server = db_all(select(ContactRecord.id).where(ContactRecord.elector_id.in_(list(recorded)),
                                                          ContactRecord.device_id.is_not(None)))
        assert len(on_server) == len(recorded)

        # The admin renames it: the phone shows the new name after its next sync.
        go(desk, f"#/admin/lists/{made.id}", name)
        desk.get_by_label("Name", exact=True).fill("Canal streets, Saturday")
        desk.get_by_role("button", name="Save name and dates").click()
        desk.get_by_role("heading", name="Canal streets, Saturday", exact=True).wait_for()
        sync_now(phone)
        phone_shows_lists(phone)
        phone.get_by_role("link", name="Canal streets, Saturday", exact=True).wait_for()
        assert phone.get_by_role("link", name=name, exact=True).count() == 0

        # The admin takes it from the canvasser: it leaves the phone, and what was recorded on it stays.
        holders = desk.get_by_role("group", name="Held by")
        holders.get_by_label(canvasser.name, exact=True).uncheck()
        desk.get_by_role("button", name="Save who holds it").click()
        wait_until(lambda: count_holders(made.id) == 0, message="the list to have no holders")
        sync_now(phone)
        phone_shows_lists(phone)
        assert phone.get_by_role("link", name="Canal streets, Saturday", exact=True).count() == 0
        screenshot(phone, "admin-list-taken-from-phone")
        kept = db_all(select(ContactRecord.id).where(ContactRecord.elector_id.in_(list(recorded)),
                                                     ContactRecord.device_id.is_not(None)))
        assert sorted(kept) == sorted(on_server), "what the phone recorded on the list stays on the server"


def test_bad_input_is_refused_with_the_field_named(desk, live_server):
    admin = admin_of(live_server)
    district = smallest_district(admin.constituency_id)
    admin_log_in(desk, live_server)

    # A walk list that ends before it starts.
    lists_before = count(Assignment)
    go(desk, "#/admin/lists/walk", "New walk lists")
    desk.get_by_label(f"{district.code} · {district.name}").check()
    desk.get_by_label("Ends", exact=True).fill("2020-01-01T09:00")
    desk.get_by_role("button", name="Create").click()
    ends_error = error_beside(desk, "ends_at")
    ends_error.filter(has_text="A list must end after it starts.").wait_for()
    assert desk.get_by_label("Ends", exact=True).get_attribute("aria-invalid") == "true"
    desk.get_by_role("heading", name="New walk lists").wait_for()  # still on the builder
    assert count(Assignment) == lists_before
    screenshot(desk, "admin-walk-builder-error")

    # A campaign code that is not letters, digits and _.
    drive = start_local_drive(desk, "Leaflet drive")
    codes_before = db_scalar(select(func.count()).select_from(CampaignCode).where(CampaignCode.campaign_id == drive))
    code_form = desk.locator("form[data-new-code]")
    code_form.get_by_label("Label volunteers see").fill("Left a leaflet")
    code_form.get_by_label("Code", exact=True).fill("left leaflet!")
    code_form.get_by_role("button", name="Add the code").click()
    error_beside(desk, "code").filter(has_text="Letters, digits and _ only, up to 32.").wait_for()
    assert code_form.get_by_label("Code", exact=True).get_attribute("aria-invalid") == "true"
    assert db_scalar(select(func.count()).select_from(CampaignCode)
                     .where(CampaignCode.campaign_id == drive)) == codes_before

    # A volunteer with an email that already has an account: the server's message, and beside Email what
    # is wrong with it (not merely the address echoed back).
    users_before = count(User)
    taken = live_server.login_for("canvasser")
    go(desk, "#/admin/volunteers", "Volunteers")
    form = desk.locator("form[data-new]")
    form.get_by_label("Name", exact=True).fill("Second Canvasser")
    form.get_by_label("Email", exact=True).fill(taken)
    form.get_by_role("button", name="Add the volunteer").click()
    form.locator("[data-form-error]").filter(has_text="An account with this email already exists.").wait_for()
    screenshot(desk, "admin-volunteer-email-in-use")
    assert form.get_by_label("Email", exact=True).get_attribute("aria-invalid") == "true"
    assert count(User) == users_before
    beside_email = error_beside(desk, "email").inner_text()
    assert "already" in beside_email, f"beside Email the form says only {beside_email!r}"


def test_offline_the_console_changes_nothing_and_keeps_what_was_typed(desk, live_server):
    admin_log_in(desk, live_server)
    go(desk, "#/admin/volunteers", "Volunteers")
    offline_notice = desk.get_by_text("You are offline. The console needs the server")
    assert offline_notice.is_hidden()
    users_before = count(User)

    desk.context.set_offline(True)
    offline_notice.wait_for()
    form = desk.locator("form[data-new]")
    form.get_by_label("Name", exact=True).fill("Olu Adebayo")
    form.get_by_label("Email", exact=True).fill("olu.adebayo@example.test")
    form.get_by_role("button", name="Add the volunteer").click()
    no_connection = "There is no connection to the server, so nothing was changed."
    form.locator("[data-form-error]").filter(has_text=no_connection).wait_for()
    screenshot(desk, "admin-volunteers-offline")
    assert count(User) == users_before
    until(desk, """async () => {
        const { getMeta } = await import('/js/db.js');
        const draft = (await getMeta(['draft:new-volunteer']))['draft:new-volunteer'];
        return !!draft && draft.values.email === 'olu.adebayo@example.test';
    }""", message="the typed volunteer to be kept on the device")

    # Back online, the page is reloaded: what was typed is still there, and now it goes through.
    desk.context.set_offline(False)
    desk.reload()
    desk.get_by_role("heading", name="Volunteers", exact=True).wait_for()
    form = desk.locator("form[data-new]")
    form.get_by_text("What you typed last time was kept.").wait_for()
    assert form.get_by_label("Name", exact=True).input_value() == "Olu Adebayo"
    assert form.get_by_label("Email", exact=True).input_value() == "olu.adebayo@example.test"
    assert offline_notice.is_hidden()
    form.get_by_role("button", name="Add the volunteer").click()
    dialog = desk.get_by_role("dialog", name="Olu Adebayo's account is ready")
    dialog.wait_for()
    assert PASSPHRASE.match(dialog.locator(".password").inner_text())
    assert user("olu.adebayo@example.test").name == "Olu Adebayo"
    assert count(User) == users_before + 1


def test_a_new_volunteer_gets_a_password_and_a_lost_phone_is_cut_off(desk, live_server):
    admin_log_in(desk, live_server)
    go(desk, "#/admin/volunteers", "Volunteers")
    form = desk.locator("form[data-new]")
    form.get_by_label("Name", exact=True).fill("Priya Shah")
    form.get_by_label("Email", exact=True).fill("priya.shah@example.test")
    form.get_by_label("Role").select_option(label="Canvasser")
    form.get_by_role("button", name="Add the volunteer").click()
    dialog = desk.get_by_role("dialog", name="Priya Shah's account is ready")
    dialog.wait_for()
    password = dialog.locator(".password").inner_text()
    assert PASSPHRASE.match(password), password
    screenshot(desk, "admin-volunteer-password")
    dialog.get_by_role("button", name="I have given it to them").click()
    desk.get_by_role("link", name="Priya Shah").wait_for()

    # The password works: Priya signs in on her phone.
    answer = desk.request.post(live_server.url + "/api/v1/auth/login",
                               data={"email": "priya.shah@example.test", "password": password,
                                     "device_name": "Priya's phone"})
    assert answer.ok and answer.json()["token"], answer.text()
    priya = user("priya.shah@example.test")
    assert priya.active and priya.constituency_id == admin_of(live_server).constituency_id

    # Her phone is lost: the admin ends her access, and her phone is revoked as lost.
    desk.get_by_role("link", name="Priya Shah").click()
    desk.get_by_role("heading", name="Priya Shah", exact=True).wait_for()
    desk.get_by_role("rowheader", name="Priya's phone").wait_for()
    desk.get_by_role("button", name="End their access").click()
    choice = desk.get_by_role("dialog", name="How is their access ending?")
    choice.get_by_role("button", name="A phone was lost or stolen: accept nothing more and wipe it").click()
    desk.get_by_text("access ended", exact=True).wait_for()
    devices = db_all(select(Device).where(Device.user_id == priya.id))
    assert devices and all(d.revoked_at is not None and d.revoked_reason == "lost" for d in devices)
    assert user("priya.shah@example.test").active is False
    desk.get_by_role("button", name="Give their access back").wait_for()


def test_an_objection_by_letter_is_recorded_and_lifted(desk, live_server):
    admin = admin_of(live_server)
    elector = unique_elector(admin.constituency_id)
    full_name = f"{elector.forenames} {elector.surname}"
    admin_log_in(desk, live_server)
    go(desk, "#/admin/do-not-contact", "Do not contact")
    desk.get_by_label("Surname or full name").fill(elector.surname)
    desk.get_by_role("button", name="Search the register").click()
    desk.get_by_role("button", name=f"Record an objection for {full_name}").click()

    record = desk.locator("form[data-record]")
    record.get_by_text(full_name, exact=True).wait_for()
    record.get_by_label("How it came").select_option(label="By letter")
    record.get_by_label("What they said").fill("Letter dated 3 Dec: please do not call or visit")
    record.get_by_role("button", name="Record the objection").click()
    lift = desk.get_by_role("button", name=f"Lift the objection of {full_name}")
    lift.wait_for()
    row = desk.locator("[data-list] tr").filter(has=lift)
    assert "By letter" in row.inner_text() and "Any contact at all" in row.inner_text()
    screenshot(desk, "admin-do-not-contact-in-force")
    objection = db_scalar(select(Suppression).where(Suppression.elector_id == elector.id))
    assert objection.lifted_at is None and objection.created_by_id == admin.id
    assert objection.reason == "Letter dated 3 Dec: please do not call or visit"

    # Lifting asks how they asked, and will not go on without it.
    lift.click()
    dialog = desk.get_by_role("dialog", name=f"Lift {full_name}'s objection?")
    dialog.get_by_role("button", name="Lift the objection").click()
    dialog.get_by_text("Say how they asked, so the record shows why.").wait_for()
    dialog.get_by_label("How they asked").fill("Rang the office on 5 Jan asking to hear from us again")
    dialog.get_by_role("button", name="Lift the objection").click()
    desk.get_by_text("Lifted. The objection stays on record").wait_for()
    lift.wait_for(state="detached")
    lifted = db_scalar(select(Suppression).where(Suppression.id == objection.id))
    assert lifted.lifted_at is not None and lifted.lifted_by_id == admin.id


def test_a_clp_starts_a_local_drive_and_retires_a_code_it_added(desk, live_server):
    admin_log_in(desk, live_server)
    go(desk, "#/admin/campaign", "Campaign")
    desk.get_by_text("is a national campaign, which national admins edit").wait_for()
    assert desk.get_by_role("heading", name="Add a code").count() == 0
    drive = start_local_drive(desk, "Spring doorstep drive")

    code_form = desk.locator("form[data-new-code]")
    code_form.get_by_label("Kind").select_option(label="Outcome")
    code_form.get_by_label("Label volunteers see").fill("Left a leaflet")
    code_form.get_by_label("Code", exact=True).fill("leaflet")
    code_form.get_by_label("Means (outcomes only)").select_option(label="Not home")
    code_form.get_by_role("button", name="Add the code").click()
    row = desk.locator("tr").filter(has=desk.get_by_role("rowheader", name="Left a leaflet", exact=True))
    row.filter(has_text="In use").wait_for()
    assert "LEAFLET" in row.inner_text()

    row.get_by_role("button", name="Retire Left a leaflet").click()
    confirm = desk.get_by_role("dialog", name="Retire this code?")
    confirm.get_by_role("button", name="Retire it").click()
    row.filter(has_text="Retired: not offered for new records").wait_for()
    row.get_by_role("button", name="Restore Left a leaflet").wait_for()
    screenshot(desk, "admin-campaign-code-retired")
    code = db_scalar(select(CampaignCode).where(CampaignCode.campaign_id == drive, CampaignCode.code == "LEAFLET"))
    assert code.retired_at is not None


def test_a_clp_sets_the_milestones_its_drive_celebrates_and_goes_back_to_the_defaults(desk, live_server):
    """The drive's milestones are the party's defaults until the CLP sets its own; a step that is not a whole
    number, or one out of order, is named beside its field and nothing is saved."""
    admin_log_in(desk, live_server)
    drive = start_local_drive(desk, "Milestone drive")
    form = desk.locator("form[data-milestones]")
    expect(form.get_by_label("Calls", exact=True)).to_have_value("250, 500, 1000, 1500, 2000, 3000, 4000")

    form.get_by_label("Calls", exact=True).fill("100, 2 hundred, 300")
    form.get_by_role("button", name="Save milestones").click()
    error_beside(desk, "calls").filter(has_text="Not a whole number: hundred.").wait_for()
    assert form.get_by_label("Calls", exact=True).get_attribute("aria-invalid") == "true"
    form.get_by_label("Calls", exact=True).fill("300, 100")
    form.get_by_role("button", name="Save milestones").click()
    error_beside(desk, "calls").filter(has_text="Give each milestone once, smallest first.").wait_for()
    assert db_scalar(select(Campaign.milestones).where(Campaign.id == drive)) is None
    screenshot(desk, "admin-campaign-milestones-error")

    form.get_by_label("Calls", exact=True).fill("50, 100, 200")
    form.get_by_label("Doors knocked").fill("25 75")
    form.get_by_role("button", name="Save milestones").click()
    desk.get_by_text("Milestones saved. Phones celebrate them from their next sync.").wait_for()
    saved = desk.locator("form[data-milestones]")
    expect(saved.get_by_label("Calls", exact=True)).to_have_value("50, 100, 200")
    expect(saved.get_by_label("Doors knocked")).to_have_value("25, 75")
    assert db_scalar(select(Campaign.milestones).where(Campaign.id == drive)) == {"calls": [50, 100, 200],
                                                                                  "doors": [25, 75]}
    saved.scroll_into_view_if_needed()
    screenshot(desk, "admin-campaign-milestones")
    desk.set_viewport_size(PHONE)
    saved.scroll_into_view_if_needed()
    audit(desk, "campaign milestones at 360")
    screenshot(desk, "admin-campaign-milestones-360")
    desk.set_viewport_size(SIZES[1280])

    saved.get_by_role("button", name="Use the defaults").click()
    desk.get_by_text("This campaign celebrates the default milestones again.").wait_for()
    assert db_scalar(select(Campaign.milestones).where(Campaign.id == drive)) is None
    expect(desk.locator("form[data-milestones]").get_by_label("Calls", exact=True)).to_have_value(
        "250, 500, 1000, 1500, 2000, 3000, 4000")


def test_the_console_says_what_it_has_saved(desk, live_server):
    """Each change is confirmed in words that say when phones get it, still showing once the screen is redrawn."""
    admin = admin_of(live_server)
    district = smallest_district(admin.constituency_id)
    admin_log_in(desk, live_server)
    toast = desk.locator("#toast")

    go(desk, "#/admin/lists/walk", "New walk lists")
    desk.get_by_label(f"{district.code} · {district.name}").check()
    desk.get_by_label("About how many").fill("5000")
    desk.get_by_role("button", name="Create").click()
    desk.get_by_role("heading", name="Lists", exact=True).wait_for()
    made = wait_until(lambda: db_scalar(select(Assignment).where(Assignment.created_by_id == admin.id)),
                      message="the list to be made")
    desk.get_by_role("link", name=made.name).wait_for()  # the Lists screen is drawn
    expect(toast).to_contain_text("1 list made.")

    go(desk, f"#/admin/lists/{made.id}", made.name)
    desk.get_by_label("Name", exact=True).fill("Renamed round")
    desk.get_by_role("button", name="Save name and dates").click()
    desk.get_by_role("heading", name="Renamed round", exact=True).wait_for()  # redrawn after the save
    expect(toast).to_contain_text("Saved. Phones get the change at their next sync.")



def test_the_review_queue_is_worked_in_words_decided_one_and_many_and_undone(desk, live_server):
    """The demo CLP's queue: a disagreement, someone not on the register and a report of moving away."""
    admin_log_in(desk, live_server)
    go(desk, "#/admin/review", "Review queue")
    conflict = desk.locator("[data-item]").filter(has_text="Two contacts disagree on how they will vote")
    conflict.get_by_text(re.compile(r"at the door")).first.wait_for()
    item_id = int(conflict.get_attribute("data-item"))
    # Keep the second side: the decision is a settling record, and the elector's intention follows it.
    conflict.get_by_role("button", name=re.compile(r"^Keep this")).nth(1).click()
    expect(desk.locator("#toast")).to_contain_text("Decided")
    assert db_scalar(select(ReviewItem.status).where(ReviewItem.id == item_id)) == "resolved"
    elector_id = db_scalar(select(ReviewItem.elector_id).where(ReviewItem.id == item_id))
    second = db_scalar(select(ReviewItem.data).where(ReviewItem.id == item_id))["intentions"][1]
    assert db_scalar(select(ElectorState.intention).where(ElectorState.elector_id == elector_id)) == second
    # Undo it from the decided items: the item is open again.
    desk.get_by_label("Show").select_option("resolved")
    desk.get_by_role("button", name="Undo this decision").click()
    expect(desk.locator("#toast")).to_contain_text("Undone")
    assert db_scalar(select(ReviewItem.status).where(ReviewItem.id == item_id)) == "open"
    # Many at once by a rule: "accept" decides the new person and the report, and leaves the disagreement.
    desk.get_by_label("Show").select_option("open")
    desk.get_by_text("3 items.").wait_for()
    desk.get_by_role("button", name="Choose all on this page").click()
    desk.get_by_label("Rule").select_option("accept")
    desk.get_by_role("button", name="Decide the chosen").click()
    desk.get_by_role("button", name="Decide them").click()
    expect(desk.locator("#toast")).to_contain_text("2 items decided. 1 item left as they were")
    desk.get_by_text("1 item.").wait_for()
    provisional = db_scalar(select(Elector).where(Elector.provisional.is_(True)))
    assert provisional is not None and provisional.surname == "Adeyemi"
    screenshot(desk, "admin-review-after-rule")
