"""What a volunteer does with the app, as steps the browser tests share."""
from __future__ import annotations

import time

from tests.pwa.conftest import DEMO_PASSWORD


def until(page, script: str, arg=None, timeout: float = 15.0, message: str | None = None):
    """Evaluate `script` (which may be async) in the page until it returns something truthy.

    page.wait_for_function cannot do this: it takes the Promise an async function returns as true.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message or script}")
        page.wait_for_timeout(100)


def open_app(page, path: str = "/"):
    page.goto(path)
    page.wait_for_selector("html[data-ready=true]")


def log_in(page, email: str, device_name: str = "Test phone", lands_on: str = "Your lists"):
    open_app(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Name for this device").fill(device_name)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=lands_on).wait_for()


def wait_for_download(page):
    """Until every list says it is ready for offline use (and the pull is complete)."""
    until(page, """async () => {
        const db = await import('/js/db.js');
        const { pullComplete } = await db.getMeta(['pullComplete']);
        return pullComplete === true;
    }""", timeout=60, message="the download to complete")
    page.get_by_text("Ready for offline use").first.wait_for()


def wait_for_offline_shell(page):
    """The service worker is active and controls the page, with the shell cached."""
    until(page, """async () => {
        const reg = await navigator.serviceWorker.ready;
        if (!reg.active || !navigator.serviceWorker.controller) return false;
        const names = await caches.keys();
        return names.some((n) => n.startsWith('groundwork-shell-'));
    }""", message="the service worker to control the page with the shell cached")


def outbox(page) -> dict:
    return page.evaluate("async () => (await import('/js/db.js')).outboxCounts()")


def meta(page, *keys):
    return page.evaluate("async (keys) => (await import('/js/db.js')).getMeta(keys)", list(keys))


def sync_now(page):
    """Run one sync cycle from the page and wait for it (as the Sync now button does)."""
    page.evaluate("""async () => {
        const sync = await import('/js/sync.js');
        try { await sync.runSyncCycle('test'); } catch (e) { return String(e); }
        return null;
    }""")


# The outcomes recorded in turn, as a canvasser might meet them: (button, intention button or None),
# and what the server should then hold: (outcome code, intention code or None).
DOOR_ROUND = [
    ("Not home", None, "NOT_HOME", None),
    ("Spoke to them…", "Labour", "SPOKE", "LAB"),
    ("Refused to talk", None, "REFUSED", None),
    ("Spoke to them…", "Undecided", "SPOKE", "UNDECIDED"),
    ("Moved away", None, "MOVED", None),
]


def households(page, assignment_id: int) -> list[tuple[int, list[int]]]:
    """The walk list's doors in walking order, each with its electors' ids, as the phone holds them."""
    return page.evaluate("""async (aid) => {
        const { loadWalk } = await import('/js/ui/walk.js');
        const model = await loadWalk(aid);
        return model.walk.order.map((pid) => [pid, (model.electorsByProperty.get(pid) || []).map((e) => e.id)]);
    }""", assignment_id)


def choose_doors(doors, count: int, people: int):
    """`count` doors with `people` electors between them (a small subset sum, in walking order)."""
    doors = [d for d in doors if d[1]]

    def pick(start, count, people):
        if count == 0:
            return [] if people == 0 else None
        for i in range(start, len(doors)):
            size = len(doors[i][1])
            if size <= people:
                rest = pick(i + 1, count - 1, people - size)
                if rest is not None:
                    return [doors[i], *rest]
        return None

    chosen = pick(0, count, people)
    assert chosen, f"the demo walk list has no {count} doors with {people} electors"
    return chosen


def record_at_doors(page, assignment_id: int, doors) -> dict[int, tuple[str, str | None]]:
    """Record one contact per elector at each door, through the screens; returns what was recorded."""
    expected = {}
    turn = 0
    for property_id, electors in doors:
        page.evaluate("(hash) => { location.hash = hash; }", f"#/door/{assignment_id}/{property_id}")
        for elector_id in electors:
            card = page.locator(f'[data-card="{elector_id}"]')
            button, intention, code, intention_code = DOOR_ROUND[turn % len(DOOR_ROUND)]
            turn += 1
            card.get_by_role("button", name=button, exact=True).click()
            if intention:
                card.get_by_role("button", name=intention, exact=True).click()
            card.get_by_text("saved, waiting to send").wait_for()
            expected[elector_id] = (code, intention_code)
    return expected
