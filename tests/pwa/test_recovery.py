"""When access or the server's memory of the phone goes wrong, nothing recorded is lost."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import delete, select

from server.extensions import db
from server.models import Assignment, AssignmentKind, ContactRecord, Device, DeviceHolding, DeviceStorage
from server.orm import utcnow
from tests.pwa.conftest import DEMO_PASSWORD, db_all, wait_until
from tests.pwa.helpers import (
    choose_doors, households, log_in, meta, outbox, record_at_doors, sync_now, wait_for_download,
    wait_for_offline_shell,
)


def walk_list_id():
    db.session.rollback()
    return db.session.scalar(select(Assignment.id).where(Assignment.kind == AssignmentKind.WALK))


def phone_records():
    return db_all(select(ContactRecord).where(ContactRecord.device_id.is_not(None)))


def local_electors(page) -> int:
    return page.evaluate("async () => (await (await import('/js/db.js')).all('elector')).length")


def record_offline(page, context, live_server, people=3):
    log_in(page, live_server.login_for("canvasser"))
    wait_for_download(page)
    wait_for_offline_shell(page)
    aid = walk_list_id()
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{aid}")
    page.get_by_role("link", name="Next door").wait_for()
    context.set_offline(True)
    doors = choose_doors(households(page, aid), count=2, people=people)
    return aid, record_at_doors(page, aid, doors)


def test_an_expired_login_keeps_the_records_and_delivers_them_after_logging_in_again(page, context, live_server):
    aid, expected = record_offline(page, context, live_server)
    old_device = uuid.UUID(meta(page, "deviceId")["deviceId"])
    device = db.session.get(Device, old_device)
    device.token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    context.set_offline(False)
    page.get_by_text("Log in again to send").wait_for()
    assert outbox(page) == {"pending": 3, "failed": 0}
    assert phone_records() == []
    page.get_by_role("link", name="Sync", exact=True).click()
    page.get_by_role("link", name="Log in again", exact=True).click()
    page.get_by_text("Log in again to send your 3 waiting records").wait_for()
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your lists").wait_for()

    wait_until(lambda: len(phone_records()) >= 3, message="the 3 records to arrive after the new login")
    wait_for_download(page)
    records = phone_records()
    assert len(records) == 3
    assert {r.elector_id: (r.outcome, r.intention) for r in records} == expected
    assert meta(page, "deviceId")["deviceId"] != str(old_device)
    assert local_electors(page) > 0


def test_a_server_that_forgot_this_phone_makes_it_download_again_keeping_its_own_records(page, context, live_server):
    aid, expected = record_offline(page, context, live_server, people=2)
    before = local_electors(page)
    device_id = uuid.UUID(meta(page, "deviceId")["deviceId"])
    # The server's pull state for this phone is purged (as after 90 days of silence).
    db.session.execute(delete(DeviceHolding).where(DeviceHolding.device_id == device_id))
    db.session.execute(delete(DeviceStorage).where(DeviceStorage.device_id == device_id))
    db.session.commit()

    context.set_offline(False)
    sync_now(page)
    assert outbox(page) == {"pending": 0, "failed": 0}
    assert len(phone_records()) == 2
    assert local_electors(page) == before
    assert meta(page, "pullComplete")["pullComplete"] is True
    # The phone still knows which doors it has knocked.
    page.evaluate("(hash) => { location.hash = hash; }", "#/lists")
    page.evaluate("(hash) => { location.hash = hash; }", f"#/walk/{aid}")
    page.get_by_text("2 visited").wait_for()


def test_a_record_the_server_refuses_is_shown_in_plain_words_kept_for_export_and_never_blocks_the_rest(page, context, live_server):
    aid, expected = record_offline(page, context, live_server, people=2)
    # A record the server cannot accept (an outcome the campaign does not have), made by a faulty version.
    page.evaluate("""async () => {
        const db = await import('/js/db.js');
        const [campaign] = await db.all('campaign');
        const [elector] = await db.all('elector');
        await db.commitMutations([{ mutation: { id: db.uuid(), type: 'contact', occurred_at: new Date().toISOString(),
            base_version: null, data: { campaign_id: campaign.id, elector_id: elector.id, channel: 'door',
            outcome: 'NO_SUCH_OUTCOME' } }, record: null }]);
    }""")
    context.set_offline(False)
    sync_now(page)
    assert outbox(page) == {"pending": 0, "failed": 1}
    assert len(phone_records()) == 2  # the good ones went through
    page.get_by_text("1 record not accepted").wait_for()
    page.get_by_role("link", name="Sync", exact=True).click()
    page.get_by_role("heading", name="1 record the server did not accept").wait_for()
    page.get_by_text("The server could not accept this record: Not an outcome of this campaign").wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export 1 unsent record").click()
    exported = json.loads(open(download_info.value.path()).read())
    assert [(r["status"], r["failure"]["status"]) for r in exported["records"]] == [("failed", "rejected")]
    page.get_by_role("button", name="Remove these records").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove them").click()
    page.get_by_text("Every record has been sent").wait_for()
    assert outbox(page) == {"pending": 0, "failed": 0}
