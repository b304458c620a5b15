"""What web push tells volunteers and their admins, received at a real push service on this machine.

A volunteer hears when they are given a list or it changes (once, however often the admin edits it before
the push goes), is reminded before the list's session, and is warned when work has sat unsent on their phone
for a day; a CLP's admins hear, once a day, how many of its phones went quiet holding work. Every payload
decrypts to {title, body, link, id} and names no elector, and no volunteer but its reader. Time is passed to
the jobs, so sessions, quiet hours and days are told as stories over tomorrow and the day after.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AccessChange, Assignment, AccessChangeKind, Device, DeviceStorage, Notice, Role
from server.orm import utcnow
from server.services.reminders import send_session_reminders, unsynced_work_alerts
from tests.factories import add_street, bearer, login, make_world
from tests.server import push_service
from tests.server.phone import HttpPhone
from tests.server.push_service import configure_push, phone, subscription, verify_vapid

service, run = push_service.service, push_service.run  # fixtures

LONDON = ZoneInfo("Europe/London")
DAY = datetime.now(LONDON).date() + timedelta(days=1)  # "tomorrow": every session below is on it
HALL = "Ashworth Vale Labour Hall"


def at(hour: int, minute: int = 0, *, day: int = 0) -> datetime:
    """A moment of the story, in UK time: ``at(18, 30)`` is 18:30 tomorrow, ``at(9, day=1)`` the day after."""
    return datetime.combine(DAY + timedelta(days=day), time(hour, minute), tzinfo=LONDON).astimezone(timezone.utc)


@pytest.fixture
def world(app, service):
    configure_push(app)
    world = make_world()
    add_street(world.home, 3, "Long Street")
    return world


def _admin(client) -> dict:
    return bearer(login(client, Role.CLP_ADMIN, device_name="Office laptop"))


def _new_walk_list(client, world, admin, *, assignees=(Role.CANVASSER,), **extra) -> dict:
    body = {"campaign_id": world.campaign.id, "streets": [{"polling_district_id": world.home.district.id,
                                                           "street": "Long Street"}],
            "size": 50, "ends_at": at(22, day=2).isoformat(),
            "assignee_ids": [world.users[r].id for r in assignees], **extra}
    made = client.post("/api/v1/lists/walk", json=body, headers=admin)
    assert made.status_code == 201, made.get_json()
    [walk] = made.get_json()
    return walk


def _edit(client, admin, list_id: int, **changes):
    return client.patch(f"/api/v1/lists/{list_id}", json=changes, headers=admin)


def _notices(user, kind: str | None = None) -> list[Notice]:
    db.session.expire_all()
    stmt = select(Notice).where(Notice.user_id == user.id)
    if kind:
        stmt = stmt.where(Notice.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notice.id)))


def _names_nobody(world, text: str) -> None:
    """No elector's name or address number, and no volunteer's name, is in ``text``."""
    for elector in world.home.electors:
        assert elector.surname not in text and f"{elector.forenames} " not in text
        assert elector.elector_number not in text
    for role in (Role.CANVASSER, Role.PHONE_BANKER):
        assert world.users[role].name not in text
    assert "@example.test" not in text


# --------------------------------------------------------------------------------------------- lists

def test_a_volunteer_given_a_new_list_hears_of_it_on_their_phone_naming_no_elector(app, client, world, service, run):
    sam = phone(client, service, "sam", Role.CANVASSER)
    walk = _new_walk_list(client, world, _admin(client), session_at=at(18, 30).isoformat(), meeting_place=HALL)

    assert run(at(10)) == {"delivered": 1}

    [message] = service.to("sam")
    payload = sam.read(message)
    [notice] = _notices(world.users[Role.CANVASSER])
    assert set(payload) == {"title", "body", "link", "id"}
    assert payload["title"] == "Groundwork" and payload["id"] == notice.id and payload["link"] == "#/lists"
    # What the admin typed (the list's name, the meeting place) is shown in the app, never pushed.
    assert payload["body"].startswith("You have a new walk list. Session: canvassing at 18:30")
    assert walk["name"] not in payload["body"] and HALL not in payload["body"]
    assert notice.text.startswith(f"You have a new walk list: {walk['name']}. Session: canvassing at 18:30")
    assert notice.text.endswith(f", {HALL}.")
    _names_nobody(world, json.dumps(payload))
    claims = verify_vapid(message.headers["authorization"], app.config["VAPID_PUBLIC_KEY"])
    assert claims["aud"] == f"https://127.0.0.1:{service.port}" and claims["sub"] == push_service.SUBJECT
    assert notice.kind == "assignment" and notice.data["assignment_id"] == walk["id"]


def test_an_admin_who_edits_a_list_three_times_before_the_push_goes_sends_one(client, world, service, run):
    sam = phone(client, service, "sam", Role.CANVASSER)
    admin = _admin(client)
    walk = _new_walk_list(client, world, admin)
    for name in ("Long Street: Saturday", "Long Street: Sunday", "Long Street: Sunday morning"):
        assert _edit(client, admin, walk["id"], name=name).status_code == 200

    assert run(at(10)) == {"delivered": 1}
    [message] = service.to("sam")
    assert sam.read(message)["body"] == "You have a new walk list."  # still news
    [notice] = _notices(world.users[Role.CANVASSER])
    assert notice.text == "You have a new walk list: Long Street: Sunday morning."

    # Heard of now: three more edits are one "changed".
    for place in ("The Crown", "The Swan", HALL):
        edited = _edit(client, admin, walk["id"], session_at=at(18, 30).isoformat(), meeting_place=place)
        assert edited.status_code == 200
    assert run(at(11)) == {"delivered": 1}
    assert sam.read(service.to("sam")[1])["body"].startswith("One of your lists has changed. "
                                                              "Session: canvassing at 18:30")
    assert _notices(world.users[Role.CANVASSER])[1].text.startswith(
        "Your list Long Street: Sunday morning has changed. Session: canvassing at 18:30")
    assert len(_notices(world.users[Role.CANVASSER])) == 2


def test_someone_added_to_a_list_hears_it_is_new_and_the_others_nothing_and_ending_it_sends_nothing(
        client, world, service, run):
    phone(client, service, "sam", Role.CANVASSER)
    pat = phone(client, service, "pat", Role.PHONE_BANKER)
    admin = _admin(client)
    walk = _new_walk_list(client, world, admin)
    run(at(10))
    assert len(service.to("sam")) == 1

    both = [world.users[Role.CANVASSER].id, world.users[Role.PHONE_BANKER].id]
    given = client.put(f"/api/v1/lists/{walk['id']}/assignees", json={"user_ids": both}, headers=admin)
    assert given.status_code == 200
    assert run(at(11)) == {"delivered": 1}
    assert pat.read(service.to("pat")[0])["body"] == "You have a new walk list."
    assert len(service.to("sam")) == 1

    # Taken from Pat before the push went, and then ended: nothing more is pushed to either.
    assert _edit(client, admin, walk["id"], name="Long Street: evening").status_code == 200
    client.put(f"/api/v1/lists/{walk['id']}/assignees", json={"user_ids": both[:1]}, headers=admin)
    client.post(f"/api/v1/lists/{walk['id']}/end", headers=admin)
    assert run(at(12)) == {}
    assert len(service.received) == 2
    assert all(n.push_outcome == "expired" for n in _notices(world.users[Role.CANVASSER])[1:])


def test_lists_cut_from_one_selection_are_one_notice_not_one_each(client, world, service, run):
    sam = phone(client, service, "sam", Role.CANVASSER)
    body = {"campaign_id": world.campaign.id, "polling_district_ids": [world.home.district.id], "size": 2,
            "ends_at": at(22, day=2).isoformat(), "assignee_ids": [world.users[Role.CANVASSER].id]}
    made = client.post("/api/v1/lists/walk", json=body, headers=_admin(client)).get_json()
    assert len(made) == 3

    assert run(at(10)) == {"delivered": 1}
    assert sam.read(service.to("sam")[0])["body"] == "You have 3 new walk lists."
    [notice] = _notices(world.users[Role.CANVASSER])
    assert notice.text == f"You have 3 new walk lists, starting with {made[0]['name']}."


def test_a_phone_holds_its_lists_session_time_and_place_to_show_offline(client, world):
    admin = _admin(client)
    walk = _new_walk_list(client, world, admin, session_at=at(18, 30).isoformat(), meeting_place=f"  {HALL}  ")
    assert (walk["session_at"], walk["meeting_place"]) == (at(18, 30).isoformat(), HALL)
    canvasser = HttpPhone(client, Role.CANVASSER)
    while canvasser.pull().get_json()["has_more"]:
        pass
    held = {key[1]: data for key, data in canvasser.local.items() if key[0] == "assignment"}
    assert held[walk["id"]]["session_at"] == at(18, 30).isoformat()
    assert held[walk["id"]]["meeting_place"] == HALL

    version = db.session.get(Assignment, walk["id"]).version
    cleared = _edit(client, admin, walk["id"], session_at=None, meeting_place="")
    assert cleared.status_code == 200
    assert (cleared.get_json()["session_at"], cleared.get_json()["meeting_place"]) == (None, None)
    db.session.expire_all()
    assert db.session.get(Assignment, walk["id"]).version == version + 1
    while canvasser.pull().get_json()["has_more"]:
        pass
    held = {key[1]: data for key, data in canvasser.local.items() if key[0] == "assignment"}
    assert (held[walk["id"]]["session_at"], held[walk["id"]]["meeting_place"]) == (None, None)


@pytest.mark.parametrize("change, field_name", [
    ({"session_at": "2030-12-03T18:30:00"}, "session_at"),  # no offset: which 18:30?
    ({"session_at": "tonight"}, "session_at"),
    ({"session_at": "2001-12-03T18:30:00+00:00"}, "session_at"),  # past
    ({"session_at": "2999-12-03T18:30:00+00:00"}, "session_at"),  # after the list ends
    ({"meeting_place": "x" * 201}, "meeting_place"),
    ({"meeting_place": 7}, "meeting_place"),
])
def test_a_session_that_cannot_be_is_refused_naming_the_field(client, world, change, field_name):
    world.home.electors[0].phone = "07700 900001"  # someone to call
    db.session.commit()
    admin = _admin(client)
    walk = _new_walk_list(client, world, admin)
    edited = _edit(client, admin, walk["id"], **change)
    assert edited.status_code == 422, edited.get_json()
    assert field_name in edited.get_json()["error"]["details"]
    body = {"campaign_id": world.campaign.id, "source": "electors", "ends_at": at(22, day=2).isoformat(), **change}
    made = client.post("/api/v1/lists/call", json=body, headers=admin)
    assert made.status_code == 422 and field_name in made.get_json()["error"]["details"]


def test_moving_a_list_to_end_before_its_session_is_refused_naming_the_session(client, world):
    admin = _admin(client)
    walk = _new_walk_list(client, world, admin, session_at=at(18, 30).isoformat())
    moved = _edit(client, admin, walk["id"], ends_at=at(17).isoformat())
    assert moved.status_code == 422 and "session_at" in moved.get_json()["error"]["details"]


# ------------------------------------------------------------------------------------------ reminders

def test_a_session_at_half_six_reminds_once_and_a_moved_session_reminds_again(client, world, service, run):
    sam = phone(client, service, "sam", Role.CANVASSER)
    admin = _admin(client)
    walk = _new_walk_list(client, world, admin, session_at=at(18, 30).isoformat(), meeting_place=HALL)
    run(at(10))

    assert send_session_reminders(at(16, 29))["reminders"] == 0  # more than two hours before
    assert send_session_reminders(at(16, 30))["reminders"] == 1
    assert send_session_reminders(at(16, 35))["reminders"] == 0  # a second run writes nothing
    assert run(at(16, 36)) == {"delivered": 1}
    reminder = sam.read(service.to("sam")[-1])
    assert reminder["body"] == "Reminder: canvassing at 18:30 today." and reminder["link"] == "#/lists"
    assert _notices(world.users[Role.CANVASSER], "reminder")[0].text == f"Reminder: canvassing at 18:30 today, {HALL}"
    _names_nobody(world, json.dumps(reminder))

    assert _edit(client, admin, walk["id"], session_at=at(19, 30).isoformat()).status_code == 200
    assert send_session_reminders(at(17, 35))["reminders"] == 1
    assert send_session_reminders(at(17, 40))["reminders"] == 0
    run(at(17, 41))
    bodies = [sam.read(m)["body"] for m in service.to("sam")]
    assert bodies[-1] == "Reminder: canvassing at 19:30 today."
    assert bodies[-2].startswith("One of your lists has changed.")
    assert len(_notices(world.users[Role.CANVASSER], "reminder")) == 2


def test_a_reminder_written_in_quiet_hours_waits_for_the_morning_unless_the_session_would_be_over(
        client, world, service, run):
    sam = phone(client, service, "sam", Role.CANVASSER)
    admin = _admin(client)
    walk = _new_walk_list(client, world, admin, session_at=at(9, 30, day=1).isoformat(), meeting_place=HALL)
    run(at(10))

    # A morning session: reminded at 07:30, in quiet hours; the push goes when they end, before it begins.
    assert send_session_reminders(at(7, 30, day=1))["reminders"] == 1
    assert run(at(7, 31, day=1)) == {"held_for_quiet_hours": 1}
    assert run(at(9, 0, day=1)) == {"delivered": 1}
    assert sam.read(service.to("sam")[-1])["body"] == "Reminder: canvassing at 09:30 today."

    # A late session: the reminder would only arrive the next morning, after it. The app lists it; no push.
    assert _edit(client, admin, walk["id"], session_at=at(23, 30, day=1).isoformat()).status_code == 200
    run(at(10, day=1))
    sent = len(service.received)
    assert send_session_reminders(at(21, 30, day=1))["reminders"] == 1
    late = _notices(world.users[Role.CANVASSER], "reminder")[-1]
    assert (late.push_outcome, late.read_at) == ("expired", None)
    assert run(at(9, 0, day=2)) == {}
    assert len(service.received) == sent
    listed = client.get("/api/v1/notices", headers=bearer(sam.token)).get_json()
    assert any(n["text"] == f"Reminder: canvassing at 23:30 today, {HALL}" for n in listed)


def test_a_reminder_held_back_until_its_session_began_is_never_pushed(app, client, world, service, run):
    app.config["PUSH_MAX_PER_DAY"] = 1
    phone(client, service, "sam", Role.CANVASSER)
    _new_walk_list(client, world, _admin(client), session_at=at(18, 30).isoformat())
    assert run(at(10)) == {"delivered": 1}  # the day's one push: the new list

    assert send_session_reminders(at(16, 30))["reminders"] == 1
    assert run(at(16, 31)) == {"capped": 1}
    assert send_session_reminders(at(18, 30))["overtaken"] == 1  # the session has begun
    assert run(at(9, 0, day=1)) == {}
    assert len(service.received) == 1


def test_a_reminder_the_push_job_reaches_after_its_session_began_is_settled_not_sent(app, client, world, service, run):
    """Between two runs of the reminders job (every 5 minutes) the push job settles a reminder it finds late."""
    app.config["PUSH_MAX_PER_DAY"] = 1
    phone(client, service, "sam", Role.CANVASSER)
    _new_walk_list(client, world, _admin(client), session_at=at(18, 30).isoformat())
    assert run(at(10)) == {"delivered": 1}
    assert send_session_reminders(at(16, 30))["reminders"] == 1
    app.config["PUSH_MAX_PER_DAY"] = 5  # the cap lifts just as the session begins, before the reminders job runs
    assert run(at(18, 31)) == {"expired": 1}
    assert len(service.received) == 1


def test_no_reminder_for_a_list_that_ended_or_whose_clp_is_suspended_by_then(client, world, service):
    admin = _admin(client)
    ended = _new_walk_list(client, world, admin, session_at=at(18, 30).isoformat())
    client.post(f"/api/v1/lists/{ended['id']}/end", headers=admin)
    assert send_session_reminders(at(16, 30))["reminders"] == 0

    _new_walk_list(client, world, admin, session_at=at(18, 30).isoformat())
    db.session.add(AccessChange(constituency_id=world.home.constituency.id, kind=AccessChangeKind.SUSPEND,
                                effective_at=at(18), reason="Audit of the accounts", created_at=utcnow()))
    db.session.commit()
    assert send_session_reminders(at(16, 30))["reminders"] == 0
    assert _notices(world.users[Role.CANVASSER], "reminder") == []


def test_a_phone_the_push_service_says_is_gone_is_removed_and_the_other_still_reminded(client, world, service, run):
    old, new = phone(client, service, "old", Role.CANVASSER), phone(client, service, "new", Role.CANVASSER)
    _new_walk_list(client, world, _admin(client), session_at=at(18, 30).isoformat(), meeting_place=HALL)
    service.answer("old", 410)

    assert run(at(10)) == {"delivered": 1}
    assert subscription(old.endpoint) is None and subscription(new.endpoint) is not None
    send_session_reminders(at(16, 30))
    assert run(at(16, 31)) == {"delivered": 1}
    assert len(service.to("old")) == 1
    assert new.read(service.to("new")[-1])["body"].startswith("Reminder: canvassing at 18:30 today")


# -------------------------------------------------------------------------------------------- unsynced work

def _outbox(phone_: HttpPhone, *, unsent: int, oldest: datetime, last_heard: datetime) -> Device:
    """What the phone last said of its outbox, and when it was last heard from."""
    db.session.add(DeviceStorage(device_id=uuid.UUID(phone_.device_id), storage_id=uuid.UUID(phone_.storage_id),
                                 unsent_count=unsent, oldest_unsent_at=oldest, reported_at=last_heard,
                                 last_push_at=last_heard, app_version="pwa-1"))
    db.session.commit()
    return db.session.get(Device, uuid.UUID(phone_.device_id))


def test_work_a_day_old_on_a_phone_warns_its_canvasser_once_a_day_and_the_admins_digest_names_nobody(
        client, world, service, run):
    sam = phone(client, service, "sam", Role.CANVASSER)
    office = phone(client, service, "office", Role.CLP_ADMIN)
    now = utcnow()
    canvassers = _outbox(HttpPhone(client, Role.CANVASSER), unsent=12, oldest=now - timedelta(hours=25),
                         last_heard=now - timedelta(hours=1))
    bankers = _outbox(HttpPhone(client, Role.PHONE_BANKER), unsent=3, oldest=now - timedelta(days=5),
                      last_heard=now - timedelta(days=4))
    fresh = _outbox(HttpPhone(client, Role.CANVASSER), unsent=2, oldest=now - timedelta(hours=2),
                    last_heard=now - timedelta(hours=1))

    assert unsynced_work_alerts(now) == {"unsynced": 2, "stale_devices": 1}
    # Later the same UK day: nothing more. An hour on, or the day's last second when the suite runs late
    # (an hour on from 23:30 would be tomorrow, and warn again, rightly).
    midnight = datetime.combine(now.astimezone(LONDON).date() + timedelta(days=1), time(0), tzinfo=LONDON)
    later = min(now + timedelta(minutes=60), midnight.astimezone(timezone.utc) - timedelta(seconds=1))
    assert unsynced_work_alerts(later) == {"unsynced": 0, "stale_devices": 0}
    run(at(10))

    warning = sam.read(service.to("sam")[0])
    assert warning["body"] == ("12 records on one of your phones have not reached the party for over a day. "
                               "Open Groundwork where there is signal to send them.")
    [sams_warning] = _notices(world.users[Role.CANVASSER], "unsynced")
    assert sams_warning.text.startswith(f"12 records on your phone '{canvassers.name}' have not reached")
    assert warning["link"] == "#/sync"
    assert fresh.name not in json.dumps(warning)
    [banker_warning] = _notices(world.users[Role.PHONE_BANKER], "unsynced")
    assert banker_warning.text.startswith(f"3 records on your phone '{bankers.name}' have not reached")

    digest = office.read(service.to("office")[0])
    assert digest["body"] == ("1 phone in Ashford North has held unsent work without syncing for 3 days or more. "
                              "See which on the dashboard.")
    assert digest["link"] == "#/admin/dashboard"
    _names_nobody(world, json.dumps(digest))
    for device in (canvassers, bankers, fresh):
        assert device.name not in json.dumps(digest)

    # A later day (UK time), still stuck: warned again, once. 26 hours on is always a later UK day, and the
    # fresh phone's work (two hours old now) is by then over a day old, whatever the time of day the suite runs.
    tomorrow = now + timedelta(hours=26)
    assert tomorrow.astimezone(LONDON).date() > now.astimezone(LONDON).date()
    assert unsynced_work_alerts(tomorrow) == {"unsynced": 3, "stale_devices": 1}  # now the fresh one too
    assert unsynced_work_alerts(tomorrow) == {"unsynced": 0, "stale_devices": 0}


def test_a_signed_out_phone_is_not_nagged_and_a_phone_that_caught_up_is_quiet(client, world, service):
    now = utcnow()
    lost = HttpPhone(client, Role.CANVASSER)
    _outbox(lost, unsent=5, oldest=now - timedelta(hours=30), last_heard=now - timedelta(hours=2))
    db.session.get(Device, uuid.UUID(lost.device_id)).revoked_at = now
    caught_up = HttpPhone(client, Role.PHONE_BANKER)
    _outbox(caught_up, unsent=5, oldest=now - timedelta(hours=30), last_heard=now - timedelta(hours=2))
    db.session.get(DeviceStorage, (uuid.UUID(caught_up.device_id), uuid.UUID(caught_up.storage_id))).unsent_count = 0
    db.session.commit()

    assert unsynced_work_alerts(now) == {"unsynced": 0, "stale_devices": 0}


# ------------------------------------------------------------------------------------------ milestones

def test_a_phone_bankers_250th_call_reaches_their_phone_as_a_thank_you_and_their_admins_without_a_name(
        app, client, world, service, run):
    """The scheduler's minute, in order: rollups, milestones, push. The volunteer's phone gets the celebration
    (opening their thanks), their CLP admin's the prompt to thank them, naming nobody; once, however often run."""
    from server.services import recognition

    amy = phone(client, service, "amy", Role.PHONE_BANKER)
    office = phone(client, service, "office", Role.CLP_ADMIN)
    banker = world.users[Role.PHONE_BANKER]
    for _ in range(2):
        _calls_made(world, banker, 250)
    assert run(at(10)) == {"delivered": 2}

    [mine] = service.to("amy")
    payload = amy.read(mine)
    assert payload["link"] == "#/thanks" and "250 calls" in payload["body"]
    assert payload["body"] == "250 calls this campaign. Thank you!"  # no name, not even the reader's
    assert _notices(banker, "milestone")[0].text == f"250 calls this campaign. Thank you, {banker.name.split()[0]}!"
    [theirs] = service.to("office")
    prompt = office.read(theirs)
    assert prompt["link"] == "#/admin/recognition" and "250 calls" in prompt["body"]
    _names_nobody(world, json.dumps(prompt))
    recognition.check_milestones()
    assert run(at(10, 5)) == {}


def _calls_made(world, banker, count: int) -> None:
    """``count`` calls by ``banker`` in the last five hours (once: a second call adds none), counted by the
    scheduler's minute (rollups, then milestones)."""
    from server.models import Channel, ContactRecord, RecordSource
    from server.services import recognition, rollups

    if not db.session.scalar(select(ContactRecord.id).where(ContactRecord.user_id == banker.id).limit(1)):
        elector, start = world.home.electors[0], utcnow() - timedelta(hours=5)
        db.session.add_all([ContactRecord(id=uuid.uuid4(), campaign_id=world.campaign.id,
                                          constituency_id=elector.constituency_id, elector_id=elector.id,
                                          channel=Channel.PHONE, outcome="NO_ANSWER", user_id=banker.id,
                                          occurred_at=start + timedelta(minutes=i), source=RecordSource.PWA)
                            for i in range(count)])
        db.session.commit()
    rollups.catch_up()
    recognition.check_milestones()


# ------------------------------------------------------------------------------------------ typed words

def test_words_staff_type_are_shown_in_the_app_but_never_pushed_even_an_electors_name(client, world, service, run):
    """A list's name, its meeting place, the reason for a suspension and an admin's thank-you are typed by
    people, and could name anyone. Here each names an elector: the app shows the words, once signed in, and
    every push (decrypted as the phone would) carries none of them."""
    from server.models import Milestone

    sam = phone(client, service, "sam", Role.CANVASSER)
    amy = phone(client, service, "amy", Role.PHONE_BANKER)
    elector = world.home.electors[0]
    who = f"{elector.forenames} {elector.surname}"
    admin = _admin(client)
    _new_walk_list(client, world, admin, name=f"Long Street (not {who})", session_at=at(18, 30).isoformat(),
                   meeting_place=f"outside {who}'s house")
    suspended = client.post("/api/v1/access-changes", headers=bearer(login(client, Role.REGIONAL_STAFF)), json={
        "constituency_id": world.home.constituency.id, "kind": "suspend",
        "effective_at": at(9, day=2).isoformat(), "reason": f"A complaint from {who}"})
    assert suspended.status_code == 201, suspended.get_json()
    _calls_made(world, world.users[Role.PHONE_BANKER], 250)
    milestone = db.session.scalar(select(Milestone).where(Milestone.user_id == world.users[Role.PHONE_BANKER].id))
    thanked = client.post(f"/api/v1/milestones/{milestone.id}/thanks", headers=admin,
                          json={"message": f"{who} was so pleased you called"})
    assert thanked.status_code == 200, thanked.get_json()

    # Sam: the list and the suspension; Amy: the suspension, her milestone and her thanks. The CLP's other
    # accounts (the admins, the membership secretary) have notices but no phone taking them.
    assert run(at(10)) == {"delivered": 5, "no_devices": 3}
    pushed = {name: [browser.read(m) for m in service.to(name)] for name, browser in (("sam", sam), ("amy", amy))}
    for payloads in pushed.values():
        for payload in payloads:
            assert elector.surname not in json.dumps(payload) and elector.forenames not in json.dumps(payload)
            _names_nobody(world, json.dumps(payload))
    kinds = {n.kind: n for user in (world.users[Role.CANVASSER], world.users[Role.PHONE_BANKER])
             for n in _notices(user)}
    assert set(kinds) == {"assignment", "access_change", "milestone", "thanks"}
    assert who in kinds["assignment"].text and who in kinds["access_change"].text and who in kinds["thanks"].text
    bodies = {p["body"] for p in pushed["amy"]}
    assert "A thank-you for your 250 calls this campaign. Open Groundwork to read it." in bodies
    assert any(b.endswith("Open Groundwork to read why.") for b in bodies)
