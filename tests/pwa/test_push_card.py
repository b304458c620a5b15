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


def test_a_subscription_the_browser_replaces_is_registered_again_only_where_notices_were_on(page, live_server):
    """Browsers rotate push subscriptions (``pushsubscriptionchange``). The service worker's handler registers
    the new one with the server for this login, so notices keep coming; on a phone where notices were never
    turned on it does nothing. (The handler is the worker's own module, run here in the page: headless Chromium
    cannot make its push service rotate a subscription.)"""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from sqlalchemy import select

    from server.cli.push import new_key_pair
    from server.extensions import db
    from server.models import PushSubscription

    public, private = new_key_pair()
    live_server.app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private,
                                  VAPID_SUBJECT="mailto:digital@example.org", PUSH_SERVICE_HOSTS="push.example.test")
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    keys = {"p256dh": base64.urlsafe_b64encode(point).rstrip(b"=").decode(), "auth": "AAAAAAAAAAAAAAAAAAAAAA"}
    rotate = """async ([endpoint, keys]) => {
        const { resubscribe } = await import('/js/sw-push.js');
        const reg = await navigator.serviceWorker.getRegistration();
        const newSubscription = { endpoint, toJSON: () => ({ endpoint, expirationTime: null, keys }) };
        await resubscribe(reg, { newSubscription });
        const db = await import('/js/db.js');
        return (await db.getMeta(['pushEndpoint'])).pushEndpoint || null;
    }"""

    def stored() -> list[str]:
        with live_server.app.app_context():
            return list(db.session.scalars(select(PushSubscription.endpoint)))

    # Notices were never turned on here: a rotation registers nothing.
    assert page.evaluate(rotate, ["https://push.example.test/rotated-1", keys]) is None
    assert stored() == []

    # They were (the phone remembers the endpoint it registered): the new subscription replaces the old.
    page.evaluate("""async () => (await import('/js/db.js')).setMeta({ pushEndpoint: 'https://push.example.test/old' })""")
    assert page.evaluate(rotate, ["https://push.example.test/rotated-2", keys]) == "https://push.example.test/rotated-2"
    assert stored() == ["https://push.example.test/rotated-2"]
    assert page.evaluate(rotate, ["https://push.example.test/rotated-3", keys]) == "https://push.example.test/rotated-3"
    assert stored() == ["https://push.example.test/rotated-3"]  # one subscription per device, the newest
