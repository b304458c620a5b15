"""The screens at phone size: accessible, thumb-sized, no sideways scrolling, installable, and updatable."""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from server.models import Assignment, AssignmentKind
from tests.pwa.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, db_scalar, screenshot
from tests.pwa.helpers import log_in, open_app, wait_for_download, wait_for_offline_shell

AXE = Axe()

# Everything a thumb must hit, and anything narrower than the screen must not overflow.
LAYOUT_PROBLEMS = """() => {
    const problems = [];
    if (document.documentElement.scrollWidth > window.innerWidth) {
        problems.push(`page is ${document.documentElement.scrollWidth}px wide for a ${window.innerWidth}px screen`);
    }
    for (const el of document.querySelectorAll('button, .btn, input, select, textarea, a.door, a.flat, .bottomnav a, summary')) {
        const box = el.getBoundingClientRect();
        if (!box.width || !box.height || el.closest('[hidden]')) continue;
        // A checkbox or radio is a 24px box inside a label the height of a thumb: the label is what is tapped.
        const tick = el.matches('input[type=checkbox], input[type=radio]');
        const label = tick && el.closest('label');
        const small = tick ? box.height < 24 || (label && label.getBoundingClientRect().height < 44) : box.height < 44;
        if (small) problems.push(`${el.outerHTML.slice(0, 80)} is ${Math.round(box.height)}px tall`);
    }
    return problems;
}"""


def audit(page, name: str):
    """No serious or critical axe violations, thumb-sized targets, no sideways scroll."""
    results = AXE.run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: " + results.generate_report()
    assert page.evaluate(LAYOUT_PROBLEMS) == [], name


def walk_list_id():
    return db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))


def call_list_id(name: str = "Phone bank"):
    return db_scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.CALL,
                                                 Assignment.name.startswith(name)))


def test_the_main_screens_pass_an_accessibility_audit_at_phone_size(page, live_server):
    open_app(page)
    page.get_by_role("heading", name="Log in").wait_for()
    audit(page, "login")
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    audit(page, "lists")
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{walk_list_id()}")
    page.get_by_role("link", name="Next door").wait_for()
    audit(page, "walk list")
    page.get_by_label("Find a name or house number").fill("3")
    page.get_by_text("match").first.wait_for()
    audit(page, "walk list search")
    page.get_by_role("link", name="Next door").click()
    page.locator("[data-card]").first.get_by_role("button", name="Spoke to them…").click()
    audit(page, "record screen, choosing an intention")
    page.locator("[data-card]").first.get_by_role("button", name="Labour").click()
    page.locator("[data-card]").first.get_by_role("button", name="Add details").click()
    audit(page, "record screen, details")
    page.get_by_role("link", name="Sync", exact=True).click()
    page.get_by_role("heading", name="Sync").wait_for()
    audit(page, "sync")
    page.get_by_role("link", name="Account", exact=True).click()
    page.get_by_role("heading", name="Account").wait_for()
    audit(page, "account")


def test_the_phone_banking_screens_pass_an_accessibility_audit(page, live_server):
    log_in(page, live_server.login_for("phone_banker"))
    wait_for_download(page)
    page.evaluate("(hash) => { location.hash = hash; }", f"#/call/{call_list_id()}")
    page.locator("[data-elector]").wait_for()
    audit(page, "call list")
    page.get_by_role("button", name="Answered…").click()
    audit(page, "call answered")
    page.get_by_text("Survey questions and notes", exact=True).click()
    audit(page, "call answered, survey")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Call back later…").click()
    audit(page, "call back later")
    page.get_by_role("button", name="Cancel").click()
    page.evaluate("(hash) => { location.hash = hash; }", f"#/call/{call_list_id('Welcome calls')}")
    page.locator("[data-member]").wait_for()
    audit(page, "welcome calls to new members")
    page.get_by_role("button", name="End session").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    audit(page, "thank you")


def test_the_doorstep_forms_and_the_page_for_roles_that_do_not_canvass_pass_an_audit(page, context, live_server):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{walk_list_id()}")
    page.get_by_role("link", name="Next door").click()
    page.locator("[data-card]").first.get_by_role("button", name="Phone number…").click()
    audit(page, "record screen, a phone number")
    page.get_by_role("button", name="Someone here is not on the list").click()
    audit(page, "record screen, someone not on the list")
    screenshot(page, "door-forms")
    page.get_by_role("link", name="Account", exact=True).click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()
    log_in_elsewhere = live_server.login_for("membership_secretary")
    page.get_by_label("Email").fill(log_in_elsewhere)
    page.get_by_label("Password").fill("groundwork-demo")
    page.get_by_label("Name for this device").fill("Office laptop")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="New members").wait_for()
    page.evaluate("() => { location.hash = '#/lists'; }")
    page.get_by_role("heading", name="Nothing to canvass here").wait_for()
    audit(page, "nothing to canvass here")
    screenshot(page, "nothing-to-canvass")


def test_screenshots_of_the_walk_list_the_record_screen_and_the_sync_state(page, context, live_server):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    wait_for_offline_shell(page)
    aid = walk_list_id()
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    screenshot(page, "walk-list")
    page.evaluate("document.querySelector('a.door').closest('ul').previousElementSibling.scrollIntoView()")
    screenshot(page, "walk-list-houses")
    context.set_offline(True)
    page.locator("a.door").first.click()
    card = page.locator("[data-card]").first
    card.get_by_role("button", name="Not home", exact=True).click()
    card.get_by_text("saved, waiting to send").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "record-screen")
    page.locator("[data-card]").nth(1).get_by_role("button", name="Spoke to them…").click()
    screenshot(page, "record-screen-intention")
    page.get_by_role("link", name="Sync", exact=True).click()
    page.get_by_text("1 record waiting to send").wait_for()
    page.get_by_text("No connection").wait_for()
    screenshot(page, "sync-state")
    assert page.evaluate(LAYOUT_PROBLEMS) == []


def test_chromium_finds_the_app_installable(playwright, live_server, tmp_path):
    # Incognito contexts are never installable, so this one has a profile of its own.
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=PHONE,
        base_url=live_server.url)
    try:
        page = context.new_page()
        open_app(page)
        wait_for_offline_shell(page)
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
        manifest = cdp.send("Page.getAppManifest")
        assert not manifest.get("errors"), manifest["errors"]
    finally:
        context.close()


def test_a_new_version_waits_for_the_user_and_the_idle_outbox_then_takes_over(page, live_server, monkeypatch):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    wait_for_offline_shell(page)
    before = page.evaluate("""() => new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(event.data.version);
        navigator.serviceWorker.controller.postMessage({ type: 'VERSION' }, [channel.port2]);
    })""")
    monkeypatch.setattr("server.web.shell_version", lambda: "a-new-version")
    page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
    banner = page.get_by_text("A new version of Groundwork is ready")
    banner.wait_for()
    # The old version still controls the page until the user agrees.
    assert page.evaluate("async () => !!(await navigator.serviceWorker.getRegistration()).waiting")
    with page.expect_navigation():
        page.get_by_role("button", name="Reload now").click()
    page.wait_for_selector("html[data-ready=true]")
    after = page.evaluate("""() => new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(event.data.version);
        navigator.serviceWorker.controller.postMessage({ type: 'VERSION' }, [channel.port2]);
    })""")
    assert before != after == "a-new-version"
    caches = page.evaluate("caches.keys()")
    assert caches == ["groundwork-shell-a-new-version"]
