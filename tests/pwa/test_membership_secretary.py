"""A membership secretary logs in and, within a minute, sees this week's new members and starts welcome calls.

They land on the new members of their own CLP with a purpose already chosen; each member shows only the
contact details they agreed to; the CSV asks first and comes out neutralised; the welcome call list goes to
the CLP's phone bankers. A regional officer then sees, in the console, who looked at which members and why.
"""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from server.extensions import db
from server.models import Assignment, AssignmentItem, AuditEvent, Member, MemberStatus, User
from tests.pwa.conftest import PHONE, db_all, db_scalar, screenshot
from tests.pwa.helpers import log_in
from tests.pwa.test_admin_console import DESKTOP, browser_page
from tests.pwa.test_screens import audit


def _new_members(live_server) -> User:
    """Three people joined the secretary's CLP this week: one agreed to everything, one to email only."""
    secretary = db_scalar(select(User).where(User.email == live_server.login_for("membership_secretary")))
    joined = date.today() - timedelta(days=2)
    common = dict(constituency_id=secretary.constituency_id, joined_on=joined, status=MemberStatus.NEW)
    db.session.add_all([
        Member(membership_number="L9900001", first_name="Grace", last_name="Welcome", email="grace@example.test",
               phone="07700 900901", address_lines=["1 New Street"], postcode="ZZ1 1AA", consent_email=True,
               consent_phone=True, consent_post=True, **common),
        Member(membership_number="L9900002", first_name="Harold", last_name="Emailonly", email="harold@example.test",
               phone="07700 900902", address_lines=["2 New Street"], postcode="ZZ1 1AB", consent_email=True, **common),
        Member(membership_number="L9900003", first_name="=SUM(A1:A9)", last_name="Sheet", phone="07700 900903",
               consent_phone=True, **common),
    ])
    db.session.commit()
    return secretary


def test_a_secretary_sees_this_weeks_new_members_and_starts_welcome_calls(browser, live_server):
    secretary = _new_members(live_server)
    with browser_page(browser, live_server, DESKTOP) as page:
        log_in(page, live_server.login_for("membership_secretary"), device_name="Office laptop", lands_on="New members")
        table = page.locator("table.data")
        expect(table.get_by_text("Grace Welcome")).to_be_visible()
        harold = table.locator("tr", has_text="Harold Emailonly")
        expect(harold).to_contain_text("harold@example.test")
        expect(harold).not_to_contain_text("07700 900902")  # no consent to calls: no number shown
        expect(harold).to_contain_text("no consent")
        audit(page, "new members")
        screenshot(page, "new-members")
        viewed = db_all(select(AuditEvent).where(AuditEvent.action == "members.view",
                                                 AuditEvent.actor_user_id == secretary.id))
        assert viewed and viewed[-1].details["purpose"] == "Welcoming new members to the CLP"

        with page.expect_download() as download:
            page.get_by_role("button", name="Download as CSV").click()
            page.get_by_role("dialog").get_by_role("button", name="Download").click()
        rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
        by_number = {r[0]: r for r in rows[1:]}
        assert by_number["L9900003"][1] == "'=SUM(A1:A9)"
        assert by_number["L9900002"][6] == ""
        assert db_scalar(select(AuditEvent).where(AuditEvent.action == "members.export")).details["rows"] == len(rows) - 1

        page.get_by_role("button", name="Start welcome calls").click()
        page.get_by_role("heading", name="Welcome calls").wait_for()
        page.get_by_role("button", name="Make the welcome call list").click()
        expect(page.get_by_text("Welcome calls are ready")).to_be_visible()
        screenshot(page, "welcome-calls-made")
    made = db_scalar(select(Assignment).where(Assignment.name.like("Welcome calls: joined since%")))
    called = set(db_all(select(Member.membership_number).join(AssignmentItem, AssignmentItem.member_id == Member.id)
                        .where(AssignmentItem.assignment_id == made.id)))
    assert {"L9900001", "L9900003"} <= called and "L9900002" not in called
    assert made.assignees, "given to the CLP's phone bankers"


def test_the_secretary_screen_works_on_a_phone_and_regional_staff_see_who_looked(browser, live_server):
    _new_members(live_server)
    with browser_page(browser, live_server, PHONE) as page:
        log_in(page, live_server.login_for("membership_secretary"), device_name="Phone", lands_on="New members")
        expect(page.locator("table.data").get_by_text("Grace Welcome")).to_be_visible()
        audit(page, "new members on a phone")
    with browser_page(browser, live_server, DESKTOP) as page:
        log_in(page, live_server.login_for("regional_staff"), device_name="Regional office", lands_on="Dashboard")
        page.get_by_role("link", name="Member access").click()
        page.get_by_role("heading", name="Member access").wait_for()
        row = page.locator("table.data tbody tr").first
        expect(row).to_contain_text("Viewed new members")
        expect(row).to_contain_text("Welcoming new members to the CLP")
        expect(row).to_contain_text("L9900001")
        expect(page.locator("main")).not_to_contain_text("grace@example.test")
        audit(page, "member access log")
        screenshot(page, "member-access")
