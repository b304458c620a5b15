"""Notices on this device are offered on the Account screen, saying what they are, and never asked for unbidden.

Headless Chromium cannot reach a real push service, so subscribing itself is tested on the server side
(tests/server/test_push.py, against a push service on this machine); here, only what the person sees.
"""
from __future__ import annotations

from tests.pwa.conftest import screenshot
from tests.pwa.helpers import log_in, wait_for_download
from tests.pwa.test_screens import audit

# Count every permission request and subscription the page makes.
WATCH = """
window.__asked = 0;
if (window.Notification) {
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => { window.__asked += 1; return ask(...args); };
}
if (window.PushManager) {
  const subscribe = PushManager.prototype.subscribe;
  PushManager.prototype.subscribe = function (...args) { window.__asked += 1; return subscribe.apply(this, args); };
}
"""


def open_account(page):
    page.get_by_role("link", name="Account", exact=True).click()
    page.get_by_role("heading", name="Account").wait_for()


def test_the_account_screen_offers_notices_only_where_the_server_sends_them_and_asks_nothing_on_load(
        page, context, live_server):
    from server.cli.push import new_key_pair

    context.add_init_script(WATCH)
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    open_account(page)
    page.get_by_role("heading", name="Log out").wait_for()
    page.wait_for_timeout(500)  # the card is filled in after the screen is drawn
    assert page.get_by_role("heading", name="Notices on this device").count() == 0  # push is off on the server

    public, private = new_key_pair()
    live_server.app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private,
                                  VAPID_SUBJECT="mailto:digital@example.org")
    page.get_by_role("link", name="Sync", exact=True).click()
    open_account(page)
    page.get_by_role("heading", name="Notices on this device").wait_for()
    page.get_by_role("button", name="Get notices on this device").wait_for()
    assert page.get_by_text("A notice names no voter or member").is_visible()
    audit(page, "account, with notices on offer")
    page.get_by_role("heading", name="Notices on this device").scroll_into_view_if_needed()
    screenshot(page, "account-notices-card")

    assert page.evaluate("() => window.__asked") == 0
    assert page.evaluate("() => Notification.permission") == "default"
    assert page.evaluate("""async () => {
        const reg = await navigator.serviceWorker.getRegistration();
        return reg ? await reg.pushManager.getSubscription() : null;
    }""") is None
