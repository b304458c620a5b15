"""Privacy on the phone: objections reach it at once, and logout or revocation leave nothing personal behind."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    Assignment, AssignmentKind, ContactRecord, Device, Elector, ReviewItem, Suppression, SuppressionChannel,
    SuppressionKind,
)
from server.orm import utcnow
from tests.pwa.conftest import db_all, db_scalar, screenshot, wait_until
from tests.pwa.helpers import (
    choose_doors, households, log_in, meta, open_app, outbox, record_at_doors, sync_now, until, wait_for_download,
    wait_for_offline_shell,
)

LOCAL_DATA = """async () => {
    const db = await import('/js/db.js');
    const count = async (entity) => (await db.all(entity)).length;
    return {
        campaigns: await count('campaign'), assignments: await count('assignment'),
        properties: await count('property'), electors: await count('elector'),
        records: (await db.allRecords()).length, outbox: (await db.outboxEntries()).length,
        token: (await db.getMeta(['token'])).token || null,
    };
}"""


def walk_list() -> Assignment:
    db.session.rollback()
    return db.session.scalar(select(Assignment).where(Assignment.kind == AssignmentKind.WALK))


def ready_offline(page, context, live_server):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    wait_for_offline_shell(page)
    aid = walk_list().id
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    return aid


def elector_on_phone(page, elector_id):
    return page.evaluate("async (id) => (await import('/js/db.js')).get('elector', id)", elector_id)


def test_a_suppression_made_while_the_phone_was_offline_removes_that_elector_at_the_next_sync(page, context, live_server):
    aid = ready_offline(page, context, live_server)
    context.set_offline(True)
    house = int(page.locator("a.door").first.get_attribute("data-pid"))  # a house, not a flat in a block
    elector_id = dict(households(page, aid))[house][0]
    person = db.session.get(Elector, elector_id)
    name = f"{person.forenames} {person.surname}"
    assert page.get_by_text(name).count() >= 1

    # At the office, the elector's objection is recorded while the canvasser has no signal.
    db.session.add(Suppression(constituency_id=person.constituency_id, elector_id=elector_id,
                               kind=SuppressionKind.DO_NOT_CONTACT, channel=SuppressionChannel.ALL,
                               reason="Asked by letter not to be contacted", source="elector_request"))
    db.session.commit()
    assert elector_on_phone(page, elector_id) is not None

    context.set_offline(False)
    until(page, "async (id) => !(await (await import('/js/db.js')).get('elector', id))", elector_id,
          message="the suppressed elector to leave the phone")
    page.get_by_text(name, exact=False).first.wait_for(state="detached")
    assert page.get_by_text(name).count() == 0


def test_an_objection_reaches_the_phone_while_the_server_is_too_busy_to_take_its_records(page, context, live_server):
    """Polling day: the server sheds pushes (503), but the phone still pulls, so an objection made at the
    office takes that person off the doorstep list at once; the records wait, and arrive once it recovers."""
    aid = ready_offline(page, context, live_server)
    context.set_offline(True)
    doors = households(page, aid)
    visited = choose_doors(doors, count=1, people=2)
    expected = record_at_doors(page, aid, visited)
    objector = next(electors[0] for pid, electors in doors if electors and pid != visited[0][0])
    person = db.session.get(Elector, objector)
    db.session.add(Suppression(constituency_id=person.constituency_id, elector_id=objector,
                               kind=SuppressionKind.DO_NOT_CONTACT, channel=SuppressionChannel.ALL,
                               reason="Rang the office to object", source="elector_request"))
    db.session.commit()
    live_server.shed_pushes = 1000  # every push turned away unread, however often the phone retries

    context.set_offline(False)
    until(page, "async (id) => !(await (await import('/js/db.js')).get('elector', id))", objector,
          message="the objector to leave the phone while its pushes are refused")
    assert live_server.pushes_seen >= 1
    assert outbox(page) == {"pending": 2, "failed": 0}
    assert db_scalar(select(func.count()).select_from(ContactRecord)
                     .where(ContactRecord.elector_id.in_(list(expected)))) == 0
    screenshot(page, "privacy-objection-while-pushes-refused")

    live_server.shed_pushes = 0
    sync_now(page)
    assert outbox(page) == {"pending": 0, "failed": 0}
    stored = db_all(select(ContactRecord).where(ContactRecord.elector_id.in_(list(expected))))
    assert {r.elector_id: (r.outcome, r.intention) for r in stored} == expected


def test_a_canvasser_recording_faster_than_a_slow_server_answers_still_gets_the_objection_between_pushes(
        page, context, live_server):
    """A sync cycle sends what was waiting when it began, then pulls: a record made while the push is on its
    way waits for the next cycle, so a volunteer who keeps knocking never starves the pull."""
    aid = ready_offline(page, context, live_server)
    doors = households(page, aid)
    first, second = choose_doors(doors, count=2, people=2)
    objector = next(electors[0] for pid, electors in doors if electors and pid not in (first[0], second[0]))
    person = db.session.get(Elector, objector)
    db.session.add(Suppression(constituency_id=person.constituency_id, elector_id=objector,
                               kind=SuppressionKind.DO_NOT_CONTACT, channel=SuppressionChannel.ALL,
                               reason="Rang the office to object", source="elector_request"))
    db.session.commit()
    live_server.sync_log.clear()
    live_server.slow_pushes, live_server.slow_seconds = 1, 4.0

    expected = record_at_doors(page, aid, [first])  # its sync starts soon after; the server takes 4 s to answer
    wait_until(lambda: live_server.pushes_seen >= 1 and "push" in live_server.sync_log, message="the first push")
    expected.update(record_at_doors(page, aid, [second]))  # recorded while that push is on its way
    until(page, "async (id) => !(await (await import('/js/db.js')).get('elector', id))", objector,
          message="the objector to leave the phone")
    wait_until(lambda: len(db_all(select(ContactRecord).where(ContactRecord.elector_id.in_(list(expected)))))
               == len(expected), message="every record to arrive")

    log = live_server.sync_log
    assert log[0] == "push" and "pull" in log[1:log.index("push", 1)], log  # the pull came between the pushes
    stored = db_all(select(ContactRecord).where(ContactRecord.elector_id.in_(list(expected))))
    assert {r.elector_id: (r.outcome, r.intention) for r in stored} == expected
    assert outbox(page) == {"pending": 0, "failed": 0}


def test_logout_warns_about_unsent_records_offers_the_export_then_deletes_everything(page, context, live_server):
    aid = ready_offline(page, context, live_server)
    context.set_offline(True)
    doors = choose_doors(households(page, aid), count=2, people=3)
    recorded = record_at_doors(page, aid, doors)
    assert outbox(page)["pending"] == 3

    page.get_by_role("link", name="Account", exact=True).click()
    page.get_by_role("button", name="Log out").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("3 records not sent").wait_for()
    dialog.get_by_text("If you log out now, they will be deleted").wait_for()
    with page.expect_download() as download_info:
        dialog.get_by_role("button", name="Export to a file").click()
    exported = json.loads(open(download_info.value.path()).read())
    assert exported["format"] == "groundwork.unsent-records" and exported["format_version"] == 1
    assert len(exported["records"]) == 3
    assert {r["mutation"]["data"]["elector_id"]: r["mutation"]["data"]["outcome"] for r in exported["records"]} == \
        {elector: outcome for elector, (outcome, _) in recorded.items()}
    assert all(r["status"] == "pending" and r["context"]["elector_number"] for r in exported["records"])
    assert exported["user"]["email"] == live_server.login_for("canvasser")

    # Still nothing is deleted until the volunteer says so.
    assert page.evaluate(LOCAL_DATA)["outbox"] == 3
    page.get_by_role("dialog").get_by_role("button", name="Log out now").click()
    page.get_by_role("heading", name="Log in").wait_for()
    page.get_by_text("Everything the app kept on this phone has been deleted").wait_for()
    assert page.evaluate(LOCAL_DATA) == {"campaigns": 0, "assignments": 0, "properties": 0, "electors": 0,
                                         "records": 0, "outbox": 0, "token": None}


def test_logout_with_everything_sent_signs_the_device_out_on_the_server_and_wipes_the_phone(page, context, live_server):
    ready_offline(page, context, live_server)
    device_id = uuid.UUID(meta(page, "deviceId")["deviceId"])
    page.get_by_role("link", name="Account", exact=True).click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()
    page.get_by_text("You have logged out").wait_for()
    assert db_scalar(select(Device.revoked_reason).where(Device.id == device_id)) == "logout"
    assert page.evaluate(LOCAL_DATA)["electors"] == 0


def _revoke(live_server, device_id, reason=None):
    """A CLP admin ends this device's access from the office."""
    admin = live_server.app.test_client()
    token = admin.post("/api/v1/auth/login", json={"email": live_server.login_for("clp_admin"),
                       "password": "groundwork-demo", "device_name": "office"}).get_json()["token"]
    answer = admin.post(f"/api/v1/devices/{device_id}/revoke", json={"reason": reason} if reason else None,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_json()


def test_a_phone_cut_off_while_offline_delivers_its_records_for_review_then_wipes_itself(page, context, live_server):
    aid = ready_offline(page, context, live_server)
    device_id = uuid.UUID(meta(page, "deviceId")["deviceId"])
    context.set_offline(True)
    record_at_doors(page, aid, choose_doors(households(page, aid), count=2, people=3))
    assert outbox(page)["pending"] == 3
    contacts_before = db_scalar(select(func.count()).select_from(ContactRecord))
    _revoke(live_server, device_id)  # the organiser withdraws access while the canvasser has no signal

    context.set_offline(False)  # the signal returns, and with it a sync
    page.get_by_role("heading", name="Log in").wait_for()
    page.get_by_text("delivered for your organiser to review").wait_for()
    screenshot(page, "wiped-after-access-withdrawn")
    assert page.evaluate(LOCAL_DATA) == {"campaigns": 0, "assignments": 0, "properties": 0, "electors": 0,
                                         "records": 0, "outbox": 0, "token": None}
    db.session.rollback()
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.kind == "held_delivery"))
    assert item is not None and len(item.data["mutations"]) == 3, "every record reached the organiser"
    assert db_scalar(select(func.count()).select_from(ContactRecord)) == contacts_before, "none applied directly"


def test_a_phone_reported_lost_delivers_nothing_and_wipes_itself_at_its_next_sync(page, context, live_server):
    aid = ready_offline(page, context, live_server)
    device_id = uuid.UUID(meta(page, "deviceId")["deviceId"])
    context.set_offline(True)
    record_at_doors(page, aid, choose_doors(households(page, aid), count=1, people=1))
    _revoke(live_server, device_id, reason="lost")

    context.set_offline(False)  # the signal returns, and with it a sync
    page.get_by_role("heading", name="Log in").wait_for()
    page.get_by_text("This device was reported lost").wait_for()
    screenshot(page, "wiped-after-reported-lost")
    assert page.evaluate(LOCAL_DATA) == {"campaigns": 0, "assignments": 0, "properties": 0, "electors": 0,
                                         "records": 0, "outbox": 0, "token": None}
    db.session.rollback()
    assert db_scalar(select(func.count()).select_from(ReviewItem).where(ReviewItem.kind == "held_delivery")) == 0


def test_a_list_that_has_ended_leaves_the_phone_with_its_electors(page, context, live_server):
    aid = ready_offline(page, context, live_server)
    assert page.evaluate(LOCAL_DATA)["electors"] > 0
    assignment = walk_list()
    assignment.ends_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    sync_now(page)
    local = page.evaluate(LOCAL_DATA)
    assert local["assignments"] == 0 and local["electors"] == 0 and local["properties"] == 0
    open_app(page, "/#/lists")
    page.get_by_text("You have no lists at the moment").wait_for()


def test_a_phone_whose_storage_was_cleared_says_unsent_records_may_be_lost(page, context, live_server):
    ready_offline(page, context, live_server)
    # The app is closed (a page of the same origin without it, so no sync cycle of this page holds the
    # database or opens it again halfway), and meanwhile the browser evicts the site's storage under
    # pressure, or the user clears it.
    page.goto("/manifest.webmanifest")
    page.evaluate("""() => new Promise((resolve) => {
        const request = indexedDB.deleteDatabase('groundwork');
        request.onsuccess = request.onerror = request.onblocked = () => resolve();
    })""")
    page.goto("/")
    page.get_by_role("heading", name="Log in").wait_for()
    page.get_by_text("Records that had not been sent yet may have been lost").wait_for()


def test_a_suppression_arriving_while_the_door_is_open_takes_that_person_off_the_screen(page, context, live_server):
    aid = ready_offline(page, context, live_server)
    page.locator("a.door").first.click()
    cards = page.locator("[data-card]")
    cards.first.wait_for()
    count = cards.count()
    elector_id = int(cards.nth(1).get_attribute("data-card"))
    person = db.session.get(Elector, elector_id)
    db.session.add(Suppression(constituency_id=person.constituency_id, elector_id=elector_id,
                               kind=SuppressionKind.ERASURE, channel=SuppressionChannel.ALL,
                               reason="Asked to be erased", source="elector_request"))
    db.session.commit()
    page.evaluate("() => window.dispatchEvent(new Event('online'))")  # the signal comes back: a sync starts
    page.locator(f'[data-card="{elector_id}"]').wait_for(state="detached")
    assert elector_on_phone(page, elector_id) is None
    assert cards.count() == count - 1


def test_a_record_about_someone_who_objected_meanwhile_is_dropped_gently_and_kept_nowhere(page, context, live_server):
    aid = ready_offline(page, context, live_server)
    context.set_offline(True)
    doors = choose_doors(households(page, aid), count=1, people=1)
    recorded = record_at_doors(page, aid, doors)
    (elector_id,) = recorded
    person = db.session.get(Elector, elector_id)
    db.session.add(Suppression(constituency_id=person.constituency_id, elector_id=elector_id,
                               kind=SuppressionKind.DO_NOT_CONTACT, channel=SuppressionChannel.ALL,
                               reason="Phoned the office", source="elector_request"))
    db.session.commit()
    context.set_offline(False)
    page.get_by_text("Someone you recorded has asked not to be contacted").wait_for()
    assert outbox(page) == {"pending": 0, "failed": 0}
    assert elector_on_phone(page, elector_id) is None
    assert page.evaluate("async (id) => (await (await import('/js/db.js')).recordsOf(id)).length", elector_id) == 0
    assert db_scalar(select(func.count()).select_from(ContactRecord).where(
        ContactRecord.device_id.is_not(None), ContactRecord.elector_id == elector_id)) == 0
