"""Sync health: a phone that stopped syncing with work on it shows up for the people who can chase it, its
weeks are marked provisional, and a malformed outbox report is refused like any bad envelope field."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from server.extensions import db
from server.models import DeviceStorage, Role
from server.services import accounts
from server.services.sync_health import provisional_weeks
from tests.factories import PASSWORD, bearer, login, make_world
from tests.server.phone import HttpPhone


@pytest.fixture
def world(app):
    world = make_world()
    accounts.create_user(email="south@example.test", name="South Staff", password=PASSWORD,
                         role=Role.REGIONAL_STAFF, region_code=world.south.code)
    return world


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _health(client, who, **params):
    return client.get("/api/v1/sync-health", query_string=params, headers=bearer(login(client, who)))


def _storage(phone) -> DeviceStorage:
    db.session.expire_all()
    return db.session.get(DeviceStorage, (uuid.UUID(phone.device_id), uuid.UUID(phone.storage_id)))


def _stopped_phone(client, world):
    """A canvasser's phone pushed one record, said 40 more were waiting (the oldest made 5 days ago), and
    has not been heard from for 4 days."""
    phone = HttpPhone(client, Role.CANVASSER)
    made = datetime.now(timezone.utc) - timedelta(days=5)
    response = phone.push([phone.contact(world, world.home.electors[0])],
                          outbox={"unsent": 40, "oldest_at": made.isoformat(), "app_version": "pwa-1"})
    assert response.status_code == 200, response.get_json()
    storage = _storage(phone)
    assert storage.unsent_count == 40 and storage.app_version == "pwa-1"
    assert abs(storage.oldest_unsent_at - made) < timedelta(seconds=5)
    silent = datetime.now(timezone.utc) - timedelta(days=4)
    storage.last_push_at = storage.reported_at = silent
    storage.oldest_unsent_at = made
    db.session.commit()
    return phone


def test_a_phone_that_stopped_syncing_with_40_records_is_at_risk_for_those_who_can_chase_it(client, world):
    phone = _stopped_phone(client, world)

    clp_admin = _health(client, Role.CLP_ADMIN)
    assert clp_admin.status_code == 200, clp_admin.get_json()
    body = clp_admin.get_json()
    assert body["stale_days"] == 3
    [device] = body["devices"]
    assert device["device_id"] == phone.device_id and device["at_risk"] is True
    assert device["volunteer_name"] == "Canvasser" and device["role"] == "canvasser"
    assert device["constituency_name"] == world.home.constituency.name
    assert device["unsent"] == 40 and device["app_version"] == "pwa-1" and device["days_silent"] == 4
    assert device["last_push_at"] and device["oldest_unsent_at"] and device["reported_at"]
    [clp] = body["constituencies"]
    assert (clp["devices_at_risk"], clp["records_at_risk"]) == (1, 40)

    # Regional staff of the north see it, with the role and CLP but not who holds it.
    regional = _health(client, Role.REGIONAL_STAFF).get_json()
    [device] = regional["devices"]
    assert device["at_risk"] and device["unsent"] == 40 and device["role"] == "canvasser"
    assert device["volunteer_name"] is None and device["device_name"] is None
    assert device["constituency_name"] == world.home.constituency.name

    # Another region's staff do not see it; a canvasser may not ask.
    assert _health(client, "south@example.test").get_json()["devices"] == []
    assert _health(client, Role.CANVASSER).status_code == 403

    # Seen 4 days ago: with a week's threshold it has unsent work but is not yet at risk.
    relaxed = _health(client, Role.NATIONAL_ADMIN, stale_days=7).get_json()
    assert relaxed["devices"][0]["at_risk"] is False and relaxed["devices"][0]["volunteer_name"] == "Canvasser"
    assert relaxed["constituencies"][0]["records_at_risk"] == 0
    assert relaxed["constituencies"][0]["records_unsent"] == 40
    assert _health(client, Role.CLP_ADMIN, stale_days=0).status_code == 422


def test_the_weeks_of_a_stuck_phones_unsent_records_are_provisional(client, world):
    _stopped_phone(client, world)
    today = datetime.now(timezone.utc).date()
    first, last = _monday(today - timedelta(days=5)), _monday(today - timedelta(days=4))
    expected = {first + timedelta(days=7 * n) for n in range((last - first).days // 7 + 1)}
    assert provisional_weeks([world.home.constituency.id]) == expected
    assert provisional_weeks(None) == expected
    assert provisional_weeks([world.away.constituency.id]) == set()


def test_a_span_of_weeks_is_provisional_up_to_the_report(client, world):
    phone = _stopped_phone(client, world)
    storage = _storage(phone)
    storage.oldest_unsent_at = datetime(2026, 1, 7, 12, tzinfo=timezone.utc)  # a Wednesday
    storage.reported_at = datetime(2026, 1, 19, 9, tzinfo=timezone.utc)  # a Monday, two weeks on
    db.session.commit()
    assert provisional_weeks([world.home.constituency.id]) == {date(2026, 1, 5), date(2026, 1, 12),
                                                               date(2026, 1, 19)}


def test_a_phone_that_then_delivers_everything_is_no_longer_listed(client, world):
    phone = _stopped_phone(client, world)
    assert phone.push([], outbox={"unsent": 0, "oldest_at": None, "app_version": "pwa-1"}).status_code == 200
    body = _health(client, Role.CLP_ADMIN).get_json()
    assert body["devices"] == [] and body["constituencies"] == []
    assert provisional_weeks([world.home.constituency.id]) == set()


@pytest.mark.parametrize("outbox, field", [
    ({"unsent": -1, "oldest_at": None}, "outbox.unsent"),
    ({"unsent": True, "oldest_at": None}, "outbox.unsent"),
    ({"unsent": 3, "oldest_at": "2026-01-01T00:00:00Z", "app_version": "v" * 40}, "outbox.app_version"),
    ({"unsent": 3, "oldest_at": "3000-01-01T00:00:00Z"}, "outbox.oldest_at"),
    ({"unsent": 3}, "outbox.oldest_at"),
    ({"unsent": 0, "oldest_at": "2026-01-01T00:00:00Z"}, "outbox.oldest_at"),
    ({"unsent": 3, "oldest_at": "2026-01-01T00:00:00Z", "colour": "red"}, "outbox.colour"),
    ([3], "outbox"),
])
def test_a_bad_outbox_report_refuses_the_whole_push_like_any_bad_envelope_field(client, world, outbox, field):
    phone = HttpPhone(client, Role.CANVASSER)
    response = phone.push([phone.contact(world, world.home.electors[0])], outbox=outbox)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["details"]
    assert _storage(phone) is None  # nothing of the push was applied or stored


def test_an_old_client_without_the_report_still_pushes_and_is_not_listed(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    response = phone.push([phone.contact(world, world.home.electors[0])])
    assert [r["status"] for r in response.get_json()["results"]] == ["applied"]
    assert _storage(phone).reported_at is None
    assert phone.push([], outbox=None).status_code == 200  # null is the same as absent
    assert _health(client, Role.CLP_ADMIN).get_json()["devices"] == []


def test_a_wrong_clock_is_corrected_in_the_reported_oldest_time(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    now = datetime.now(timezone.utc)
    device_now = now - timedelta(days=365)  # the phone's clock is a year behind
    response = phone.push([], device_time=device_now.isoformat(),
                          outbox={"unsent": 2, "oldest_at": (device_now - timedelta(days=2)).isoformat()})
    assert response.status_code == 200
    storage = _storage(phone)
    assert abs(storage.oldest_unsent_at - (now - timedelta(days=2))) < timedelta(minutes=1)
    assert storage.app_version is None
