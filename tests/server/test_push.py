"""Notices reach people's phones by web push, through a real push service speaking HTTPS on this machine.

The fake push service (tests/server/push_service.py) is an HTTPS server with a self-signed certificate. Each
"browser" is a P-256 key pair and an auth secret, as a real browser makes them: what the server sends must
decrypt (aes128gcm) with that browser's keys to {title, body, link, id} and nothing more, and carry a VAPID
token that verifies with the server's public key. Time is passed to the job, so quiet hours, the daily cap
and backoff are told as stories over a day or two.
"""
from __future__ import annotations

import json
import threading
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from server.config import Config, ConfigError
from server.extensions import db
from server.models import AuditEvent, Member, MemberStatus, Notice, PushSubscription, Role
from server.services import notices, push
from tests.factories import bearer, login, make_world
from tests.server import push_service
from tests.server.push_service import (
    SUBJECT,
    Browser,
    b64,
    configure_push,
    phone,
    subscribe,
    subscription,
    unb64,
    verify_vapid,
)

service, run = push_service.service, push_service.run  # fixtures

LONDON = ZoneInfo("Europe/London")
DAY = datetime.now(LONDON).date() + timedelta(days=1)  # "tomorrow": every notice below is made for it


def at(hour: int, minute: int = 0, *, day: int = 0) -> datetime:
    """A moment of the story, in UK time: ``at(10)`` is 10:00 tomorrow, ``at(9, day=1)`` the day after."""
    return datetime.combine(DAY + timedelta(days=day), time(hour, minute), tzinfo=LONDON).astimezone(timezone.utc)


@pytest.fixture
def world(app, service):
    configure_push(app)
    return make_world()


def notice(world, text: str, made: datetime, role: Role = Role.MEMBERSHIP_SECRETARY, link="#/admin/members") -> Notice:
    user = world.users[role]
    assert notices.add(user.id, kind="new_members", key=f"test:{text}", text=text, link=link, data={"count": 3})
    made_notice = db.session.scalar(select(Notice).where(Notice.user_id == user.id, Notice.key == f"test:{text}"))
    made_notice.created_at = made
    db.session.commit()
    return made_notice


def settled(notice_id: int) -> tuple[datetime | None, str | None]:
    db.session.expire_all()
    row = db.session.get(Notice, notice_id)
    return row.pushed_at, row.push_outcome


# ------------------------------------------------------------------------------------------------ sending

def test_a_notice_reaches_each_of_the_readers_devices_encrypted_to_it_and_signed_by_the_server(
        app, client, world, service, run):
    laptop, mobile = phone(client, service, "laptop"), phone(client, service, "mobile")
    sent = notice(world, "3 new members joined Ashford North this week", at(9, 30))

    assert run(at(10)) == {"delivered": 1}

    for browser, name in ((laptop, "laptop"), (mobile, "mobile")):
        [message] = service.to(name)
        assert browser.read(message) == {"title": "Groundwork", "body": "3 new members joined Ashford North this week",
                                         "link": "#/admin/members", "id": sent.id}
        claims = verify_vapid(message.headers["authorization"], app.config["VAPID_PUBLIC_KEY"])
        assert claims["aud"] == f"https://127.0.0.1:{service.port}" and claims["sub"] == SUBJECT
        assert claims["exp"] > clock.time()
        assert int(message.headers["ttl"]) > 0
    assert settled(sent.id) == (at(10), "delivered")
    assert subscription(laptop.endpoint).last_success_at == at(10)

    assert run(at(10, 5)) == {}  # run again: nothing is sent twice
    assert len(service.received) == 2


def test_the_payload_says_how_many_joined_and_names_no_member(app, client, world, service, run):
    laptop = phone(client, service, "laptop")
    for number, first, last in (("L1", "Ada", "Lovelace"), ("L2", "Brian", "Quiet")):
        db.session.add(Member(membership_number=number, constituency_id=world.home.constituency.id,
                              joined_on=date.today() - timedelta(days=1), status=MemberStatus.NEW, first_name=first,
                              last_name=last, email=f"{first.lower()}@example.test", phone="07700 900123",
                              postcode="AB1 2CD", address_lines=["1 Mill Lane"]))
    db.session.commit()
    assert notices.member_digest() == 1

    run(at(10))

    [message] = service.to("laptop")
    payload = laptop.read(message)
    assert set(payload) == {"title", "body", "link", "id"}
    assert payload["body"] == "2 new members joined Ashford North this week"
    text = json.dumps(payload)
    for personal in ("Ada", "Lovelace", "Brian", "Quiet", "example.test", "07700", "AB1", "Mill Lane", "L1"):
        assert personal not in text


def test_a_subscription_the_push_service_says_is_gone_is_removed_and_the_other_device_still_hears(
        client, world, service, run):
    laptop, mobile = phone(client, service, "laptop"), phone(client, service, "mobile")
    service.answer("mobile", 410)
    first = notice(world, "3 new members joined Ashford North this week", at(9, 30))

    assert run(at(10)) == {"delivered": 1}
    assert subscription(mobile.endpoint) is None
    assert subscription(laptop.endpoint) is not None
    assert settled(first.id)[1] == "delivered"

    service.answer("laptop", 404)
    second = notice(world, "1 new member joined Ashford North this week", at(10, 30))
    assert run(at(11)) == {"failed": 1}  # the last device is gone: nothing was delivered...
    assert run(at(11, 1)) == {"no_devices": 1}  # ...and with no device left, nothing is sent
    assert settled(second.id) == (at(11, 1), "no_devices")


def test_a_busy_push_service_is_left_alone_as_long_as_it_asks_and_the_notice_waits(client, world, service, run):
    mobile = phone(client, service, "mobile")
    service.answer("mobile", 429, {"Retry-After": "600"})
    waiting = notice(world, "3 new members joined Ashford North this week", at(9, 30))

    assert run(at(10)) == {"failed": 1}
    sub = subscription(mobile.endpoint)
    assert (sub.failures, sub.next_attempt_at) == (1, at(10, 10))  # Retry-After (10 min) beats the first backoff
    assert run(at(10, 5)) == {"waiting": 1}
    assert len(service.to("mobile")) == 1  # not asked again before it said

    service.answer("mobile", 503)  # then a server error: the backoff doubles from a minute
    assert run(at(10, 10)) == {"failed": 1}
    assert subscription(mobile.endpoint).next_attempt_at == at(10, 12)
    assert run(at(10, 12)) == {"delivered": 1}
    sub = subscription(mobile.endpoint)
    assert (sub.failures, sub.next_attempt_at, sub.last_success_at) == (0, None, at(10, 12))
    assert settled(waiting.id)[1] == "delivered"
    assert len(service.to("mobile")) == 3


def test_retry_after_may_be_a_date_and_is_never_taken_for_more_than_a_day():
    now = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    assert push.retry_after("Tue, 01 Dec 2026 10:05:00 GMT", now) == timedelta(minutes=5)
    assert push.retry_after("99999999", now) == timedelta(days=1)
    assert push.retry_after("soon", now) is None


def test_a_notice_written_in_the_evening_waits_for_the_morning(client, world, service, run):
    phone(client, service, "mobile")
    late = notice(world, "Your membership secretary role for Ashford North ends on Fri 4 Dec 2026.", at(21, 30))

    assert run(at(22)) == {"held_for_quiet_hours": 1}
    assert run(at(8, 59, day=1)) == {"held_for_quiet_hours": 1}
    assert service.received == []
    assert run(at(9, 0, day=1)) == {"delivered": 1}
    assert settled(late.id) == (at(9, 0, day=1), "delivered")


def test_no_one_gets_more_than_the_days_cap_and_the_rest_come_the_next_day(app, client, world, service, run):
    app.config["PUSH_MAX_PER_DAY"] = 2
    phone(client, service, "mobile")
    made = [notice(world, f"Notice {n}", at(10, n)) for n in range(3)]

    assert run(at(11)) == {"delivered": 2, "capped": 1}
    assert run(at(20)) == {"capped": 1}
    assert [settled(n.id)[1] for n in made] == ["delivered", "delivered", None]
    assert run(at(10, day=1)) == {"delivered": 1}  # a new day (UK time)
    assert len(service.to("mobile")) == 3


def test_notices_already_read_or_days_old_are_not_pushed(client, world, service, run):
    phone(client, service, "mobile")
    read = notice(world, "Read in the app already", at(9, 30))
    read.read_at = at(9, 45)
    notice(world, "From last week", at(10, day=-4))
    db.session.commit()

    assert run(at(10)) == {"read": 1, "expired": 1}
    assert service.received == []


def test_someone_with_no_device_subscribed_has_the_notice_settled_without_anything_sent(world, service, run):
    quiet = notice(world, "3 new members joined Ashford North this week", at(9, 30))
    assert run(at(10)) == {"no_devices": 1}
    assert settled(quiet.id) == (at(10), "no_devices")
    assert service.received == []


def test_a_device_that_logged_out_is_sent_nothing(client, world, service, run):
    mobile = phone(client, service, "mobile")
    client.post("/api/v1/auth/logout", headers=bearer(mobile.token), json={})
    notice(world, "3 new members joined Ashford North this week", at(9, 30))

    assert run(at(10)) == {"subscriptions_dropped": 1, "no_devices": 1}
    assert service.received == [] and subscription(mobile.endpoint) is None


def test_two_runs_at_once_send_each_notice_once(app, client, world, service, run, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite one scheduler runs the job; row locks (SKIP LOCKED) are PostgreSQL's")
    phone(client, service, "mobile")
    for n in range(4):
        notice(world, f"Notice {n}", at(9, n))
    service.delay = 0.2
    results = []

    def job():
        with app.app_context():
            results.append(run(at(10)))
            db.session.remove()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(service.to("mobile")) == 4
    assert sum(r.get("delivered", 0) for r in results) == 4


def test_with_push_off_the_job_sends_nothing_and_says_so(app, client, world, service, run):
    token = login(client, Role.CANVASSER)
    pending = notice(world, "3 new members joined Ashford North this week", at(9, 30))
    app.config.update(VAPID_PUBLIC_KEY=None, VAPID_PRIVATE_KEY=None)

    assert "push is off" in run(at(10))
    assert settled(pending.id) == (None, None)
    key = client.get("/api/v1/push/key", headers=bearer(token))
    assert key.status_code == 404 and key.get_json()["error"]["details"] == {"reason": "push_not_configured"}
    refused = subscribe(client, token, Browser(service.endpoint("x")))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "conflict"


# -------------------------------------------------------------------------------------------------- the API

def test_the_app_gets_the_key_to_subscribe_with(app, client, world):
    token = login(client, Role.CANVASSER)
    answer = client.get("/api/v1/push/key", headers=bearer(token))
    assert answer.status_code == 200
    assert answer.get_json() == {"public_key": app.config["VAPID_PUBLIC_KEY"]}
    assert len(unb64(answer.get_json()["public_key"])) == 65
    assert client.get("/api/v1/push/key").status_code == 401


def test_subscribing_again_changes_nothing_and_is_audited_once_without_the_endpoint(client, world, service):
    browser = Browser(service.endpoint("mobile"))
    token = login(client, Role.CANVASSER)
    first = subscribe(client, token, browser)
    again = subscribe(client, token, browser)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert first.get_json()["service"] == "127.0.0.1"
    assert "endpoint" not in first.get_json() and "keys" not in first.get_json()
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "push.subscribe")))
    assert len(events) == 1
    assert events[0].actor_user_id == world.users[Role.CANVASSER].id
    assert "/push/mobile" not in json.dumps(events[0].details)
    assert browser.subscription()["keys"]["auth"] not in json.dumps(events[0].details)


def test_a_device_has_one_subscription_and_a_new_login_on_the_browser_takes_it_over(client, world, service):
    token = login(client, Role.CANVASSER)
    subscribe(client, token, Browser(service.endpoint("old")))
    subscribe(client, token, Browser(service.endpoint("new")))  # the browser's subscription changed
    assert subscription(service.endpoint("old")) is None
    assert subscription(service.endpoint("new")).user_id == world.users[Role.CANVASSER].id

    shared = Browser(service.endpoint("new"))
    other = login(client, Role.PHONE_BANKER)
    assert subscribe(client, other, shared).status_code == 201
    assert subscription(service.endpoint("new")).user_id == world.users[Role.PHONE_BANKER].id
    assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 1


@pytest.mark.parametrize("change, field_name", [
    ({"endpoint": "http://127.0.0.1/push/plain"}, "endpoint"),
    ({"endpoint": "https://intranet.example.org/admin"}, "endpoint"),  # not a push service
    ({"endpoint": "not a url"}, "endpoint"),
    ({"endpoint": "https://user:pw@127.0.0.1/push/x"}, "endpoint"),
    ({"keys": {"p256dh": b64(b"\x04" + b"\x01" * 64), "auth": b64(b"a" * 16)}}, "keys"),  # not on the curve
    ({"keys": {"p256dh": "short", "auth": b64(b"a" * 16)}}, "keys"),
    ({"keys": {"auth": b64(b"a" * 16)}}, "keys"),
    ({"keys": None}, "keys"),
    ({"admin": True}, "admin"),
])
def test_a_subscription_that_is_not_a_browsers_is_refused_naming_the_field(client, world, service, change, field_name):
    body = {**Browser(service.endpoint("mobile")).subscription(), **change}
    token = login(client, Role.CANVASSER)
    answer = client.post("/api/v1/push/subscriptions", json=body, headers=bearer(token))
    assert answer.status_code == 422, answer.get_json()
    assert field_name in answer.get_json()["error"]["details"]
    assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_a_short_auth_secret_is_refused(client, world, service):
    body = Browser(service.endpoint("mobile")).subscription()
    body["keys"]["auth"] = b64(b"a" * 15) + "A"
    answer = client.post("/api/v1/push/subscriptions", json=body, headers=bearer(login(client, Role.CANVASSER)))
    assert answer.status_code == 422
    assert "auth" in answer.get_json()["error"]["details"]["keys"]


def test_only_ones_own_subscription_can_be_removed(client, world, service):
    mine = phone(client, service, "mine", Role.CANVASSER)
    theirs = phone(client, service, "theirs", Role.PHONE_BANKER)

    stranger = client.delete("/api/v1/push/subscriptions", json={"endpoint": theirs.endpoint},
                             headers=bearer(mine.token))
    assert stranger.status_code == 404 and stranger.get_json()["error"]["code"] == "not_found"
    assert subscription(theirs.endpoint) is not None

    gone = client.delete("/api/v1/push/subscriptions", json={"endpoint": mine.endpoint}, headers=bearer(mine.token))
    assert gone.status_code == 204
    assert subscription(mine.endpoint) is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "push.unsubscribe"))
    assert event.actor_user_id == world.users[Role.CANVASSER].id and mine.endpoint not in json.dumps(event.details)
    assert client.delete("/api/v1/push/subscriptions", json={"endpoint": mine.endpoint},
                         headers=bearer(mine.token)).status_code == 404


def test_subscriptions_at_a_host_no_longer_allowed_are_dropped_not_sent_to(app, client, world, service, run):
    mobile = phone(client, service, "mobile")
    notice(world, "3 new members joined Ashford North this week", at(9, 30))
    app.config["PUSH_SERVICE_HOSTS"] = "fcm.googleapis.com"
    assert run(at(10)) == {"no_devices": 1}
    assert service.received == [] and subscription(mobile.endpoint) is None


# ------------------------------------------------------------------------------------ keys and configuration

def test_flask_push_keys_prints_a_pair_that_pushes_and_then_only_the_public_key(app, runner):
    from server.config import check_vapid, vapid_public_key

    app.config.update(VAPID_PUBLIC_KEY=None, VAPID_PRIVATE_KEY=None, VAPID_SUBJECT=None)
    out = runner.invoke(args=["push", "keys"]).output
    lines = dict(line.split("=", 1) for line in out.splitlines() if line.startswith("VAPID_"))
    assert set(lines) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"}
    assert vapid_public_key(lines["VAPID_PRIVATE_KEY"]) == lines["VAPID_PUBLIC_KEY"]
    check_vapid(lines["VAPID_PUBLIC_KEY"], lines["VAPID_PRIVATE_KEY"], lines["VAPID_SUBJECT"])

    app.config.update(VAPID_PUBLIC_KEY=lines["VAPID_PUBLIC_KEY"], VAPID_PRIVATE_KEY=lines["VAPID_PRIVATE_KEY"],
                      VAPID_SUBJECT=SUBJECT)
    out = runner.invoke(args=["push", "keys"]).output
    assert lines["VAPID_PUBLIC_KEY"] in out and lines["VAPID_PRIVATE_KEY"] not in out


@pytest.mark.parametrize("subject", ["admin@example.org", "mailto:nobody", "https://example.org/contact",
                                     "http://example.org", "mailto:a b@example.org"])
def test_a_vapid_subject_that_push_services_would_refuse_stops_start_up(monkeypatch, subject):
    monkeypatch.setenv("VAPID_SUBJECT", subject)
    with pytest.raises(ConfigError, match="VAPID_SUBJECT"):
        Config().validate()


def test_a_mismatched_or_broken_key_pair_stops_start_up(monkeypatch):
    from server.cli.push import new_key_pair

    (public, _), (_, private) = new_key_pair(), new_key_pair()
    monkeypatch.setenv("VAPID_SUBJECT", "https://groundwork.example.org")
    monkeypatch.setenv("VAPID_PUBLIC_KEY", public)
    monkeypatch.setenv("VAPID_PRIVATE_KEY", private)
    with pytest.raises(ConfigError, match="not the public half"):
        Config().validate()
    monkeypatch.setenv("VAPID_PRIVATE_KEY", "not-a-key")
    with pytest.raises(ConfigError, match="not a usable"):
        Config().validate()
    monkeypatch.delenv("VAPID_PRIVATE_KEY")
    with pytest.raises(ConfigError, match="set together"):
        Config().validate()


@pytest.mark.parametrize("hours", ["9pm-9am", "21:00", "25:00-09:00", "09:00-09:00"])
def test_quiet_hours_that_cannot_be_read_stop_start_up(monkeypatch, hours):
    monkeypatch.setenv("PUSH_QUIET_HOURS", hours)
    with pytest.raises(ConfigError, match="PUSH_QUIET_HOURS"):
        Config()


def test_quiet_hours_are_read_in_uk_time_and_may_be_switched_off(app):
    app.config["PUSH_QUIET_HOURS"] = "21:00-09:00"
    summer = datetime(2026, 7, 1, 20, 30, tzinfo=timezone.utc)  # 21:30 in London (BST)
    assert push.in_quiet_hours(summer)
    assert not push.in_quiet_hours(datetime(2026, 12, 1, 20, 30, tzinfo=timezone.utc))  # 20:30 GMT
    app.config["PUSH_QUIET_HOURS"] = "13:00-14:00"
    assert push.in_quiet_hours(datetime(2026, 12, 1, 13, 30, tzinfo=timezone.utc))
    app.config["PUSH_QUIET_HOURS"] = "off"
    assert not push.in_quiet_hours(summer)
