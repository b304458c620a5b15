"""A regional officer's console: a CLP's access, temporary roles and the membership list, as user stories.

The officer works at a laptop (a wide browser context). What they change reaches the CLP's people: a
canvasser's phone (a phone-sized context) shows a suspension's date and reason from the moment it is
scheduled, offline too; a CLP admin's console closes at once, and shows the reason when opened again; a
canvasser given a role for a while finds it in the console when they log in.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import func, select

from server.models import AccessChange, AccessChangeKind, Constituency, Member, Region, RoleGrant, User
from tests.pwa.conftest import PHONE, db_all, db_scalar, screenshot
from tests.pwa.helpers import log_in, wait_for_download, wait_for_offline_shell
from tests.pwa.test_admin_console import DESKTOP, admin_log_in, browser_page, error_beside, go
from tests.pwa.test_screens import audit

LONDON = ZoneInfo("Europe/London")
REASON = "Data protection training not completed"


def user(email: str) -> User:
    return db_scalar(select(User).where(User.email == email))


def canvassers_clp(live_server) -> Constituency:
    """The demo CLP whose volunteers exist: the canvasser's."""
    canvasser = user(live_server.login_for("canvasser"))
    return db_scalar(select(Constituency).where(Constituency.id == canvasser.constituency_id))


def changes(clp: Constituency) -> list[AccessChange]:
    return db_all(select(AccessChange).where(AccessChange.constituency_id == clp.id).order_by(AccessChange.id))


def count_members() -> int:
    return db_scalar(select(func.count()).select_from(Member))


def uk_day_pattern(day: date) -> str:
    """The day as the app writes it ("Wed, 14 Jan 2026"): ICU's en-GB may put a comma after the day's name,
    and write September as "Sept"."""
    return rf"{day:%a},? {day.day} {day:%b}\w* {day.year}"


def officer_log_in(page, live_server):
    """The regional officer lands on the dashboard, the first of their console's sections."""
    log_in(page, live_server.login_for("regional_staff"), device_name="Regional office", lands_on="Dashboard")


def open_section(page, link: str, heading: str | None = None):
    page.locator(".admin-nav").get_by_role("link", name=link, exact=True).click()
    page.get_by_role("heading", name=heading or link, exact=True).wait_for()


def clp_row(page, clp: Constituency):
    """The CLP's row in the table of CLPs (the history below has rows named by CLP too)."""
    return page.locator("table.data").first.locator("tbody tr").filter(
        has=page.get_by_role("rowheader", name=clp.name, exact=True))


# ------------------------------------------------------------------------------------------ CLP access

def test_a_scheduled_suspension_is_announced_on_the_clps_phones_offline_too_until_it_is_called_off(
        browser, live_server):
    clp = canvassers_clp(live_server)
    start = date.today() + timedelta(days=10)
    with browser_page(browser, live_server, DESKTOP) as desk, browser_page(browser, live_server, PHONE) as phone:
        # The canvasser's phone is ready for the street, and says nothing about access.
        log_in(phone, live_server.login_for("canvasser"), device_name="Canvasser's phone")
        wait_for_download(phone)
        wait_for_offline_shell(phone)
        banner = phone.locator("#access-banner")
        expect(banner).to_be_hidden()

        officer_log_in(desk, live_server)
        open_section(desk, "CLP access")
        row = clp_row(desk, clp)
        expect(row).to_contain_text("Normal")
        audit(desk, "CLP access")

        # A day already gone is refused beside the day, and nothing is scheduled.
        row.get_by_role("button", name="Schedule a suspension").click()
        form = desk.locator("[data-form] form")
        form.get_by_role("heading", name=f"Schedule a suspension of {clp.name}").wait_for()
        form.get_by_label("Suspended from (day)").fill((date.today() - timedelta(days=1)).isoformat())
        form.get_by_label("Reason, as the CLP will read it").fill(REASON)
        form.get_by_role("button", name="Schedule the suspension").click()
        expect(error_beside(desk, "on")).to_contain_text("must start in the future")
        assert form.get_by_label("Suspended from (day)").get_attribute("aria-invalid") == "true"
        screenshot(desk, "clp-access-past-day")
        assert changes(clp) == []

        # The right day and time: the CLP is told at once.
        form.get_by_label("Suspended from (day)").fill(start.isoformat())
        form.get_by_label("Time (UK)").fill("09:30")
        form.get_by_role("button", name="Schedule the suspension").click()
        expect(desk.locator("#toast")).to_contain_text(f"{clp.name} is told now")
        row = clp_row(desk, clp)
        expect(row).to_contain_text("Suspension scheduled")
        expect(row).to_contain_text(REASON)
        expect(row.get_by_role("button", name="Call it off")).to_be_visible()
        expect(desk.locator("table.data").nth(1)).to_contain_text("Scheduled")
        screenshot(desk, "clp-access-scheduled")
        (scheduled,) = changes(clp)
        assert scheduled.kind == AccessChangeKind.SUSPEND and scheduled.reason == REASON
        assert scheduled.effective_at == datetime.combine(start, time(9, 30), LONDON).astimezone(timezone.utc)
        assert scheduled.cancelled_at is None

        # The canvasser opens the app: the date and the reason, above their lists.
        phone.reload()
        phone.get_by_role("heading", name="Your lists").wait_for()
        words = re.compile(rf"{re.escape(clp.name)}'s access to Groundwork will be suspended from "
                           rf"{uk_day_pattern(start)} at 09:30: {REASON}")
        expect(banner).to_contain_text(words)
        expect(banner).to_contain_text("Sync before the date if you can.")
        audit(phone, "access banner on the lists")
        screenshot(phone, "access-banner-lists")

        # Out of signal, the warning stays on every screen: it is kept on the phone.
        phone.context.set_offline(True)
        phone.reload()
        phone.get_by_role("heading", name="Your lists").wait_for()
        expect(banner).to_contain_text(words)
        for tab, heading in (("Sync", "Sync"), ("Account", "Account"), ("Lists", "Your lists")):
            phone.locator(".bottomnav").get_by_role("link", name=tab, exact=True).click()
            phone.get_by_role("heading", name=heading, exact=True).wait_for()
            expect(banner).to_contain_text(words)
        screenshot(phone, "access-banner-offline")

        # The officer calls it off (it asks why); the phone drops the warning once it is back online.
        clp_row(desk, clp).get_by_role("button", name="Call it off").click()
        form = desk.locator("[data-form] form")
        form.get_by_label("Reason, as the CLP will read it").fill("Training completed on 1 December")
        form.get_by_role("button", name="Call it off").click()
        expect(desk.locator("#toast")).to_contain_text(f"The suspension of {clp.name} is called off.")
        expect(clp_row(desk, clp)).to_contain_text("Normal")
        expect(desk.locator("table.data").nth(1)).to_contain_text("Called off: Training completed on 1 December")
        (called_off,) = changes(clp)
        assert called_off.cancelled_at is not None and called_off.cancel_reason == "Training completed on 1 December"
        expect(banner).to_contain_text(words)  # still offline: the phone cannot know yet
        phone.context.set_offline(False)
        expect(banner).to_be_hidden()


def test_a_suspension_now_reaches_the_clp_admins_console_and_a_restore_ends_it(browser, live_server):
    clp = canvassers_clp(live_server)
    reason = "Canvass data shared outside the party: under investigation"
    with browser_page(browser, live_server, DESKTOP) as admin, browser_page(browser, live_server, DESKTOP) as desk:
        admin_log_in(admin, live_server)
        banner = admin.locator("#access-banner")
        expect(banner).to_be_hidden()

        officer_log_in(desk, live_server)
        open_section(desk, "CLP access")
        clp_row(desk, clp).get_by_role("button", name="Suspend now").click()
        form = desk.locator("[data-form] form")
        form.get_by_role("heading", name=f"Suspend {clp.name} now").wait_for()
        form.get_by_label("Reason, as the CLP will read it").fill(reason)
        # It asks first; thinking better of it changes nothing.
        form.get_by_role("button", name="Suspend now").click()
        sure = desk.get_by_role("dialog", name=f"Suspend {clp.name} now?")
        screenshot(desk, "clp-access-suspend-now-asks")
        sure.get_by_role("button", name="Cancel").click()
        expect(sure).to_be_hidden()
        assert changes(clp) == []
        form.get_by_role("button", name="Suspend now").click()
        sure.get_by_role("button", name="Suspend now").click()
        expect(desk.locator("#toast")).to_contain_text(f"{clp.name}'s access is suspended.")
        expect(clp_row(desk, clp)).to_contain_text("Suspended")
        expect(clp_row(desk, clp)).to_contain_text(reason)
        (suspension,) = changes(clp)
        assert suspension.kind == AccessChangeKind.SUSPEND and suspension.reason == reason

        # The CLP admin's console: every section now says it is closed, and opening the app again shows
        # the reason in the banner, on every section.
        closed = admin.locator("[data-section] [role=alert]")
        go(admin, "#/admin/volunteers", "Volunteers")
        expect(closed).to_have_text("Your CLP's access to Groundwork is suspended.")
        admin.reload()
        admin.get_by_role("heading", name="Volunteers", exact=True).wait_for()
        today = datetime.now(LONDON).date()
        expect(banner).to_contain_text(re.compile(rf"{re.escape(clp.name)}'s access to Groundwork is suspended since "
                                                  rf"{uk_day_pattern(today)} at \d\d:\d\d: {re.escape(reason)}"))
        expect(closed).to_have_text("Your CLP's access to Groundwork is suspended.")
        go(admin, "#/admin/lists", "Lists")
        expect(closed).to_have_text("Your CLP's access to Groundwork is suspended.")
        expect(banner).to_contain_text(reason)
        go(admin, "#/admin/volunteers", "Volunteers")
        audit(admin, "console of a suspended CLP")
        screenshot(admin, "clp-suspended-admin-console")

        # Restored: the officer gives a reason, and the admin's console works again.
        clp_row(desk, clp).get_by_role("button", name="Restore access").click()
        form = desk.locator("[data-form] form")
        form.get_by_label("Reason").fill("Investigation closed: no breach found")
        form.get_by_role("button", name="Restore access").click()
        expect(desk.locator("#toast")).to_contain_text(f"{clp.name}'s access is restored.")
        expect(clp_row(desk, clp)).to_contain_text("Normal")
        assert [c.kind for c in changes(clp)] == [AccessChangeKind.SUSPEND, AccessChangeKind.RESTORE]
        screenshot(desk, "clp-access-restored")
        admin.reload()
        admin.get_by_role("heading", name="Volunteers", exact=True).wait_for()
        admin.get_by_role("link", name=user(live_server.login_for("canvasser")).name).wait_for()
        expect(banner).to_be_hidden()


# ------------------------------------------------------------------------------------------ temporary roles

def test_a_canvasser_stands_in_as_membership_secretary_until_the_role_is_ended(browser, live_server):
    clp = canvassers_clp(live_server)
    canvasser_email = live_server.login_for("canvasser")
    canvasser = user(canvasser_email)
    until = date.today() + timedelta(days=21)
    why = "Covering while the membership secretary is away"
    with browser_page(browser, live_server, DESKTOP) as desk:
        officer_log_in(desk, live_server)
        open_section(desk, "Temporary roles")
        desk.get_by_text("Nobody holds a temporary role.").wait_for()
        form = desk.locator("form[data-grant]")
        form.get_by_label("CLP", exact=True).select_option(label=clp.name)
        form.get_by_label("Role").select_option(label="Membership secretary")
        form.get_by_label("Until (the end of this day)").fill(until.isoformat())
        form.get_by_label("Why").fill(why)

        # An email nobody logs in with: said beside the email, and nothing is granted.
        form.get_by_label("Their Groundwork login email").fill("nobody@example.test")
        form.get_by_role("button", name="Give the role").click()
        expect(error_beside(desk, "email")).to_have_text("No account with that email.")
        assert form.get_by_label("Their Groundwork login email").get_attribute("aria-invalid") == "true"
        screenshot(desk, "temporary-roles-unknown-email")
        assert db_all(select(RoleGrant)) == []

        form.get_by_label("Their Groundwork login email").fill(canvasser_email)
        form.get_by_role("button", name="Give the role").click()
        expect(desk.locator("#toast")).to_contain_text(f"{canvasser.name} is membership secretary for {clp.name} until")
        row = desk.locator("table.data tbody tr").filter(has_text=canvasser.name)
        expect(row).to_contain_text(re.compile("membership secretary", re.I))
        expect(row).to_contain_text(why)
        expect(row).to_contain_text(re.compile(uk_day_pattern(until)))
        expect(row).to_contain_text("Active")
        audit(desk, "temporary roles")
        screenshot(desk, "temporary-roles")
        (grant,) = db_all(select(RoleGrant))
        assert (grant.user_id, grant.constituency_id) == (canvasser.id, clp.id)
        assert grant.role.value == "membership_secretary"
        assert grant.revoked_at is None

        # The canvasser logs in: their lists as ever, and now the console's new members too.
        with browser_page(browser, live_server, PHONE) as phone:
            log_in(phone, canvasser_email, device_name="Canvasser's phone")
            admin_tab = phone.locator(".bottomnav").get_by_role("link", name="Admin", exact=True)
            expect(admin_tab).to_be_visible()
            admin_tab.click()
            phone.get_by_role("heading", name="New members", exact=True).wait_for()
            expect(phone.locator(".admin-nav").get_by_role("link", name="New members")).to_be_visible()
            screenshot(phone, "temporary-role-new-members")

        # The officer ends it early: it asks, then it is over.
        row.get_by_role("button", name="End it now").click()
        sure = desk.get_by_role("dialog", name=f"End {canvasser.name}'s temporary role now?")
        sure.get_by_role("button", name="End it now").click()
        expect(desk.locator("#toast")).to_contain_text(f"{canvasser.name}'s temporary role has ended.")
        row = desk.locator("table.data tbody tr").filter(has_text=canvasser.name)
        expect(row).to_contain_text("Revoked")
        expect(row.get_by_role("button", name="End it now")).to_have_count(0)
        assert db_scalar(select(RoleGrant.revoked_at).where(RoleGrant.id == grant.id)) is not None


# ------------------------------------------------------------------------------------------ membership list

HEADINGS = ("Membership number,First name,Surname,Date joined,Status,Constituency,Email,Mobile,"
            "Contact by email,Contact by phone,Contact by post")


def test_the_membership_list_is_checked_refused_with_its_problems_by_line_then_loaded(browser, live_server, tmp_path):
    clp = canvassers_clp(live_server)
    region = db_scalar(select(Region).where(Region.id == clp.region_id))
    joined = (date.today() - timedelta(days=3)).strftime("%d/%m/%Y")
    bad = tmp_path / "region-export.csv"
    bad.write_text("\n".join([
        HEADINGS,
        f"L8800001,Ada,Okafor,{joined},New,{clp.name},ada@example.test,07700 900111,yes,no,no",
        f"L8800002,Ben,Marsh,31/02/2026,New,{clp.name},,07700 900112,no,yes,no",
        f"L8800003,Cy,Nowhere,{joined},New,Atlantis and Lyonesse,,,no,no,no",
    ]) + "\n", encoding="utf-8")
    good = tmp_path / "clp-export.csv"
    good.write_text("\n".join([
        HEADINGS,
        f"L8800001,Ada,Okafor,{joined},New,{clp.name},ada@example.test,07700 900111,yes,no,no",
        f"L8800002,Ben,Marsh,{joined},New,{clp.name},,07700 900112,no,yes,yes",
    ]) + "\n", encoding="utf-8")
    members_before = count_members()
    with browser_page(browser, live_server, DESKTOP) as desk:
        officer_log_in(desk, live_server)
        open_section(desk, "Membership list")
        form = desk.locator("form[data-upload]")
        expect(form.get_by_label("The file is for")).to_have_value(f"region:{region.id}")

        # The whole region's file, with an impossible date and a CLP nobody knows: each problem by its line.
        form.get_by_label("The export (.csv or .xlsx)").set_input_files(str(bad))
        form.get_by_role("button", name="Check the file").click()
        problems = desk.locator("[data-outcome] [role=alert]")
        expect(problems).to_contain_text("Nothing was loaded.")
        expect(problems.locator("li").filter(has_text="Line 3:")).to_contain_text("31/02/2026")
        expect(problems.locator("li").filter(has_text="Line 4:")).to_contain_text("Atlantis and Lyonesse")
        expect(problems.locator("li")).to_have_count(2)
        expect(problems).not_to_contain_text("Marsh")  # problems never repeat a member's details
        screenshot(desk, "membership-list-problems")
        assert count_members() == members_before

        # The CLP's own file: checked first (nothing written), then loaded.
        form.get_by_label("The file is for").select_option(label=clp.name)
        form.get_by_label("The export (.csv or .xlsx)").set_input_files(str(good))
        form.get_by_role("button", name="Check the file").click()
        summary = desk.locator("[data-outcome] section")
        summary.get_by_role("heading", name="What loading it would do").wait_for()
        expect(summary).to_contain_text("2 rows read: 2 new, 0 updated")
        expect(summary).to_contain_text("Nothing has been written yet.")
        audit(desk, "membership list, checked")
        screenshot(desk, "membership-list-checked")
        assert count_members() == members_before

        # Choosing another file (or scope) after the check withdraws the offer to load: only what was
        # checked can be loaded.
        form.get_by_label("The export (.csv or .xlsx)").set_input_files(str(bad))
        expect(desk.get_by_role("button", name="Load 2 members")).to_have_count(0)
        form.get_by_label("The export (.csv or .xlsx)").set_input_files(str(good))
        form.get_by_role("button", name="Check the file").click()
        summary.get_by_role("button", name="Load 2 members").click()
        loaded = desk.locator("[data-outcome] section[role=status]")
        loaded.get_by_role("heading", name="Loaded").wait_for()
        expect(loaded).to_contain_text("2 new")
        screenshot(desk, "membership-list-loaded")
    assert count_members() == members_before + 2
    ada, ben = db_all(select(Member).where(Member.membership_number.in_(["L8800001", "L8800002"]))
                      .order_by(Member.membership_number))
    assert (ada.first_name, ada.last_name, ada.constituency_id) == ("Ada", "Okafor", clp.id)
    assert ada.email == "ada@example.test"
    assert (ada.consent_email, ada.consent_phone, ada.consent_post) == (True, False, False)
    assert (ben.consent_email, ben.consent_phone, ben.consent_post) == (False, True, True)
    assert ben.phone == "07700 900112" and ben.email is None
