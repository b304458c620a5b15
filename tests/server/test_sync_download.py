"""A download over HTTP: its pages may be served by different server processes, and its cursor is checked.

The download's snapshot lives in the database, never in a process, so gunicorn's workers can serve the pages
of one download in any order; a cursor the server did not issue for this storage is answered with a reset,
never a 500 and never data.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Assignment, AssignmentItem, AssignmentKind, AssignmentUser, Role
from server.models.sync import DeviceStorage, PullSnapshotChunk
from sync import PROTOCOL_VERSION
from tests.conftest import TEST_CONFIG
from tests.factories import add_street, bearer, make_world
from tests.server.phone import HttpPhone

PAGE = 6
NOW = datetime.now(timezone.utc)


@pytest.fixture
def world(app):
    world = make_world()
    street = add_street(world.home, 40)
    walk = Assignment(campaign_id=world.campaign.id, constituency_id=world.home.constituency.id,
                      kind=AssignmentKind.WALK, name="Long Street",
                      starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=14))
    walk.items = [AssignmentItem(property_id=e.property_id, position=i) for i, e in enumerate(street)]
    walk.assignees = [AssignmentUser(user_id=world.users[Role.CANVASSER].id)]
    db.session.add(walk)
    db.session.commit()
    return world


@pytest.fixture
def second_app(app, database_url):
    """Another server process on the same database (another gunicorn worker)."""
    from server import create_app

    other = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def download(phone: HttpPhone, clients) -> int:
    pages = 0
    while True:
        response = phone.pull(PAGE, client=clients[pages % len(clients)])
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert not body["reset_required"] and not body["wipe"], body
        pages += 1
        if not body["has_more"]:
            return pages


def test_pages_of_one_download_served_by_two_app_instances_end_with_the_whole_list(app, client, second_app,
                                                                                   world):
    phone = HttpPhone(client, Role.CANVASSER)
    pages = download(phone, [client, second_app.test_client()])
    assert pages > 10
    reference = HttpPhone(client, Role.CANVASSER)
    assert reference.pull(2000).get_json()["has_more"] is False
    assert phone.local == reference.local
    assert len([k for k in phone.local if k[0] == "elector"]) == 2 + 40
    # Done: nothing of the download's snapshot is left.
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PullSnapshotChunk)) == 0
    assert db.session.scalar(select(DeviceStorage.snapshot).where(
        DeviceStorage.storage_id == uuid.UUID(phone.storage_id))) is None


def test_an_objection_sent_to_one_worker_reaches_the_page_another_worker_serves(app, client, second_app, world):
    phone = HttpPhone(client, Role.CANVASSER)
    other = second_app.test_client()
    while not any(k[0] == "elector" for k in phone.local):
        assert phone.pull(PAGE).get_json()["has_more"]
    held = next(i for (entity, i) in phone.local if entity == "elector")
    admin = HttpPhone(client, Role.CLP_ADMIN)
    objected = client.post("/api/v1/suppressions", json={
        "elector_id": held, "channel": "all", "received_by": "letter", "reason": "Asked by letter"},
        headers=bearer(admin.token))
    assert objected.status_code in (200, 201), objected.get_data(as_text=True)
    changes = phone.pull(PAGE, client=other).get_json()["changes"]
    assert {"entity": "elector", "id": held, "op": "delete", "reason": "suppressed"} in changes
    download(phone, [client, other])
    assert ("elector", held) not in phone.local


@pytest.mark.parametrize("forge", ["garbage", "", "1.2.3", "2.{storage}.{token}", "1.{storage}.12345",
                                   "1.{storage}.-1", "1.{storage}.999999999999999999999999999999",
                                   "1.{other}.{token}", "1.{storage}.{token}.1", "1.{storage_braced}.{token}",
                                   "x" * 101])
def test_a_forged_cursor_mid_download_is_refused_cleanly_and_the_download_goes_on(client, world, forge):
    phone = HttpPhone(client, Role.CANVASSER)
    assert phone.pull(PAGE).get_json()["has_more"]
    assert phone.pull(PAGE).get_json()["has_more"]
    token = phone.cursor.rsplit(".", 1)[1]
    storage = uuid.UUID(phone.storage_id)
    forged = forge.format(storage=storage.hex, token=token, other=uuid.uuid4().hex,
                          storage_braced="{" + str(storage) + "}")
    before = dict(phone.local)
    response = client.get("/api/v1/sync/pull", query_string={"storage_id": phone.storage_id, "cursor": forged,
                                                              "limit": PAGE}, headers=bearer(phone.token))
    body = response.get_json()
    if len(forged) > 100:
        assert response.status_code == 422 and body["error"]["code"] == "validation_failed"
    elif forged.endswith(f"{storage.hex}.{token}") and forged.startswith(f"{PROTOCOL_VERSION}."):
        pytest.fail("the forgery is the real cursor")
    else:
        assert response.status_code == 200, body
        assert body["reset_required"] is True and body["changes"] == [] and body["cursor"] is None
        assert body["reason"] in ("invalid_cursor", "unknown_storage", "stale_cursor")
    # The forgery changed nothing: the phone's real cursor carries on to the end.
    assert phone.local == before
    download(phone, [client])
    reference = HttpPhone(client, Role.CANVASSER)
    reference.pull(2000)
    assert phone.local == reference.local


def test_another_devices_cursor_gets_no_data(client, world):
    mine = HttpPhone(client, Role.CANVASSER)
    theirs = HttpPhone(client, Role.PHONE_BANKER)
    assert mine.pull(PAGE).get_json()["has_more"]
    for storage_id in (mine.storage_id, theirs.storage_id):
        response = client.get("/api/v1/sync/pull", query_string={"storage_id": storage_id, "cursor": mine.cursor},
                              headers=bearer(theirs.token))
        body = response.get_json()
        assert response.status_code == 200 and body["reset_required"] and body["reason"] == "unknown_storage"
        assert body["changes"] == []


def test_a_download_left_half_way_keeps_only_ids_and_goes_with_its_storage(client, world):
    from server.services import sync

    phone = HttpPhone(client, Role.CANVASSER)
    assert phone.pull(PAGE).get_json()["has_more"]
    db.session.expire_all()
    items = [item for chunk in db.session.scalars(select(PullSnapshotChunk.items)) for item in chunk]
    assert items and all(len(i) == 4 and isinstance(i[1], int) for i in items)  # entity, id, version, reason
    assert {i[0] for i in items} <= {"campaign", "assignment", "property", "elector", "member", "activity"}
    storage = db.session.scalar(select(DeviceStorage).where(DeviceStorage.storage_id == uuid.UUID(phone.storage_id)))
    storage.last_pull_at = NOW - timedelta(days=365)
    db.session.commit()
    assert sync.purge_stale_storage() == 1
    assert db.session.scalar(select(func.count()).select_from(PullSnapshotChunk)) == 0
