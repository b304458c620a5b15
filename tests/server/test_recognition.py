"""Stories: volunteers are counted, celebrated once per milestone, thanked, and ranked only if they said yes.

A phone banker's 250th call arrives twice, from two phones, out of order: one milestone, one notice for them and
one for their CLP's admin. An undo below 250 and a redo fire nothing again. Calls handed in by file count. A CLP
sets its own milestones for a local drive. Leaderboards show teams first, then only volunteers who opted in, the
top ten and never a bottom; hiding takes effect at once. Admins thank the people of their own CLP only.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    ActivityRollup,
    AuditEvent,
    Channel,
    ContactRecord,
    Milestone,
    Notice,
    RecordSource,
    Role,
)
from server.services import accounts, recognition, rollups
from tests.factories import PASSWORD, bearer, login, make_world
from tests.server.phone import HttpPhone
from tests.server.test_imports_exports import export_file
from tests.server.test_imports_helpers import run_job, upload


@pytest.fixture
def world(app):
    return make_world()


def scheduler_runs() -> None:
    """What the scheduler does each minute: the rollups job, then the milestones job."""
    rollups.catch_up()
    recognition.check_milestones()


def calls(world, user, n: int, *, campaign=None, elector=None, start=None) -> list[ContactRecord]:
    """``n`` calls a volunteer's phones delivered earlier today, each a minute apart."""
    campaign, elector = campaign or world.campaign, elector or world.home.electors[2]
    start = start or datetime.now(timezone.utc) - timedelta(hours=6)
    records = [ContactRecord(id=uuid.uuid4(), campaign_id=campaign.id, constituency_id=elector.constituency_id,
                             elector_id=elector.id, channel=Channel.PHONE, outcome="SPOKE",
                             occurred_at=start + timedelta(seconds=60 * i), user_id=user.id, source=RecordSource.PWA)
               for i in range(n)]
    db.session.add_all(records)
    db.session.commit()
    return records


def call(phone: HttpPhone, world, *, at: datetime) -> dict:
    return phone.contact(world, world.home.electors[2], "SPOKE", channel="phone", at=at)


def retraction(phone: HttpPhone, world, original: dict) -> dict:
    return phone._mutation("contact_retraction", {"supersedes": original["id"], "campaign_id": world.campaign.id,
                                                  "elector_id": world.home.electors[2].id, "channel": "phone",
                                                  "reason": None})


def pushed(phone: HttpPhone, mutations: list[dict]) -> list[str]:
    response = phone.push(mutations)
    assert response.status_code == 200, response.get_json()
    return [r["status"] for r in response.get_json()["results"]]


def notices_of(user, kind: str) -> list[Notice]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(Notice.user_id == user.id, Notice.kind == kind)))


def milestones() -> list[tuple]:
    db.session.expire_all()
    return [(m.user_id, m.campaign_id, m.measure, m.threshold) for m in db.session.scalars(select(Milestone))]


def calls_counted(user, campaign) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(ActivityRollup.calls), 0)).where(
        ActivityRollup.user_key == user.id, ActivityRollup.campaign_id == campaign.id)))


def volunteer(world, name: str, *, role=Role.CANVASSER, clp=None, opt_in=True):
    user = accounts.create_user(email=f"{name.lower().replace(' ', '.')}@example.test", name=name, password=PASSWORD,
                                role=role, constituency_code=(clp or world.home).constituency.code)
    user.leaderboard_opt_in = opt_in
    db.session.commit()
    return user


# ------------------------------------------------------------------------------------------ milestones

def test_the_250th_call_arriving_twice_from_two_phones_and_out_of_order_fires_one_milestone(client, world):
    banker, admin = world.users[Role.PHONE_BANKER], world.users[Role.CLP_ADMIN]
    now = datetime.now(timezone.utc)
    calls(world, banker, 248, start=now - timedelta(hours=6))
    first_phone, second_phone = HttpPhone(client, Role.PHONE_BANKER), HttpPhone(client, Role.PHONE_BANKER)
    later = call(first_phone, world, at=now - timedelta(minutes=10))  # the 250th by time...
    earlier = call(second_phone, world, at=now - timedelta(minutes=40))  # ...arrives after this, the 249th

    assert pushed(first_phone, [later]) == ["applied"]
    scheduler_runs()
    assert calls_counted(banker, world.campaign) == 249 and milestones() == []

    assert pushed(second_phone, [earlier]) == ["applied"]
    assert pushed(first_phone, [later]) == ["duplicate"]  # it lost the answer and sends it again
    scheduler_runs()
    scheduler_runs()
    assert pushed(second_phone, [earlier]) == ["duplicate"]
    scheduler_runs()

    assert calls_counted(banker, world.campaign) == 250
    assert milestones() == [(banker.id, world.campaign.id, "calls", 250)]
    mine = notices_of(banker, "milestone")
    assert [n.text for n in mine] == ["250 calls this campaign. Thank you, Phone!"]
    assert mine[0].link == "#/thanks" and mine[0].data["threshold"] == 250
    theirs = notices_of(admin, "milestone_admin")
    assert len(theirs) == 1 and theirs[0].link == "#/admin/recognition"
    assert theirs[0].text.startswith("A volunteer in Ashford North has made 250 calls this campaign")
    assert "Phone" not in theirs[0].text and "Ashfordson" not in theirs[0].text  # names neither volunteer nor elector

    # The phone asks for its counts: the check runs again for this person, and finds nothing new.
    body = client.get("/api/v1/me/recognition", headers=bearer(first_phone.token)).get_json()
    assert body["counts"]["campaign"]["calls"] == 250 and body["counts"]["total"]["calls"] == 250
    assert body["next"] == {"calls": 500, "doors": 100}
    assert [(r["measure"], r["threshold"], r["celebrated_at"]) for r in body["reached"]] == [("calls", 250, None)]
    assert len(milestones()) == 1 and len(notices_of(banker, "milestone")) == 1


def test_an_undo_below_250_and_a_redo_fire_no_milestone_again(client, world):
    banker = world.users[Role.PHONE_BANKER]
    now = datetime.now(timezone.utc)
    calls(world, banker, 249, start=now - timedelta(hours=6))
    phone = HttpPhone(client, Role.PHONE_BANKER)
    last = call(phone, world, at=now - timedelta(minutes=5))
    assert pushed(phone, [last]) == ["applied"]
    scheduler_runs()
    assert milestones() == [(banker.id, world.campaign.id, "calls", 250)]

    session = client.get("/api/v1/me/recognition", headers=bearer(phone.token),
                         query_string={"since": (now - timedelta(minutes=30)).isoformat()}).get_json()
    assert session["counts"]["session"] == {"calls": 1, "doors": 0, "conversations": 1}

    assert pushed(phone, [retraction(phone, world, last)]) == ["applied"]  # "Undo"
    # The session counts fold the undo at once, before the rollups have run.
    session = client.get("/api/v1/me/recognition", headers=bearer(phone.token),
                         query_string={"since": (now - timedelta(minutes=30)).isoformat()}).get_json()
    assert session["counts"]["session"]["calls"] == 0
    scheduler_runs()
    assert calls_counted(banker, world.campaign) == 249
    below = client.get("/api/v1/me/recognition", headers=bearer(phone.token)).get_json()
    assert below["counts"]["campaign"]["calls"] == 249 and below["next"]["calls"] == 500

    redo = call(phone, world, at=now - timedelta(minutes=1))
    assert pushed(phone, [redo]) == ["applied"]
    scheduler_runs()
    assert calls_counted(banker, world.campaign) == 250
    assert milestones() == [(banker.id, world.campaign.id, "calls", 250)]
    assert len(notices_of(banker, "milestone")) == 1
    assert len(notices_of(world.users[Role.CLP_ADMIN], "milestone_admin")) == 1
    body = client.get("/api/v1/me/recognition", headers=bearer(phone.token)).get_json()
    assert body["next"]["calls"] == 500, "a milestone once reached is not offered again"


def test_calls_just_sent_count_at_once_and_agree_with_the_rollups_once_they_run(client, world):
    """A phone banker ends a session seconds after their last sync, before the rollups job has run: their week,
    campaign and all-time counts already hold what they sent (an undo too), and equal what the job then says."""
    banker = world.users[Role.PHONE_BANKER]
    now = datetime.now(timezone.utc)
    calls(world, banker, 10, start=now - timedelta(hours=3))
    phone = HttpPhone(client, Role.PHONE_BANKER)
    earlier = call(phone, world, at=now - timedelta(minutes=40))
    assert pushed(phone, [earlier]) == ["applied"]
    scheduler_runs()

    def mine() -> dict:
        return client.get("/api/v1/me/recognition", headers=bearer(phone.token)).get_json()["counts"]

    assert mine()["campaign"]["calls"] == 11
    fresh = [call(phone, world, at=now - timedelta(minutes=m)) for m in (3, 2)]
    assert pushed(phone, fresh + [retraction(phone, world, earlier)]) == ["applied"] * 3
    before_job = mine()
    assert before_job["campaign"]["calls"] == before_job["total"]["calls"] == 12  # 11 + 2 - 1
    assert before_job["week"]["calls"] == 12 or rollups.week_of(now - timedelta(hours=3)) != rollups.week_of(now)
    scheduler_runs()
    assert mine() == before_job
    assert calls_counted(banker, world.campaign) == 12


def test_a_second_person_at_a_door_already_counted_today_is_no_extra_door(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    first, second = next((a, b) for a in world.home.electors for b in world.home.electors
                         if a.id < b.id and a.property_id == b.property_id)
    now = datetime.now(timezone.utc)
    assert pushed(phone, [phone.contact(world, first, "SPOKE", at=now - timedelta(minutes=30))]) == ["applied"]
    scheduler_runs()
    counted = client.get("/api/v1/me/recognition", headers=bearer(phone.token)).get_json()["counts"]["campaign"]
    assert pushed(phone, [phone.contact(world, second, "SPOKE", at=now - timedelta(minutes=29))]) == ["applied"]
    now_counts = client.get("/api/v1/me/recognition", headers=bearer(phone.token)).get_json()["counts"]["campaign"]
    assert now_counts["doors"] == counted["doors"]  # the same door, the same day

    assert now_counts["conversations"] == counted["conversations"] + 1
    scheduler_runs()
    assert client.get("/api/v1/me/recognition", headers=bearer(phone.token)).get_json()["counts"]["campaign"] == \
        now_counts


def test_calls_handed_in_by_file_count_and_the_phones_later_sync_adds_nothing(client, world):
    banker = world.users[Role.PHONE_BANKER]
    world.campaign.milestones = {"calls": [3, 5]}
    db.session.commit()
    phone = HttpPhone(client, Role.PHONE_BANKER)
    now = datetime.now(timezone.utc)
    sent = [call(phone, world, at=now - timedelta(minutes=30 - i)) for i in range(2)]
    assert pushed(phone, sent) == ["applied", "applied"]
    unsent = [call(phone, world, at=now - timedelta(minutes=20))]
    admin = login(client, Role.CLP_ADMIN, device_name="Office laptop")
    batch = upload(client, admin, export_file(phone, banker, unsent), "unsent-records.json").get_json()
    assert run_job(client, admin, batch["id"], "commit")["result"]["counts"]["new"] == 1
    scheduler_runs()
    assert milestones() == [(banker.id, world.campaign.id, "calls", 3)]

    assert pushed(phone, unsent) == ["duplicate"]
    scheduler_runs()
    assert milestones() == [(banker.id, world.campaign.id, "calls", 3)]
    assert len(notices_of(banker, "milestone")) == 1


def test_a_clp_sets_its_own_milestones_for_a_local_drive(client, world):
    admin = bearer(login(client, Role.CLP_ADMIN, device_name="Office laptop"))
    drive = world.local_drive
    answer = client.patch(f"/api/v1/campaigns/{drive.id}", headers=admin, json={"milestones": {"calls": [2, 5]}})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["milestones"] == {"calls": [2, 5], "doors": recognition.DEFAULT_MILESTONES["doors"]}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.update"))
    assert event.details["fields"] == ["milestones"]
    national = client.get(f"/api/v1/campaigns/{world.campaign.id}", headers=admin).get_json()
    assert national["milestones"] == recognition.DEFAULT_MILESTONES

    banker = world.users[Role.PHONE_BANKER]
    calls(world, banker, 2, campaign=drive)
    scheduler_runs()
    assert milestones() == [(banker.id, drive.id, "calls", 2)]
    phone = login(client, Role.PHONE_BANKER)
    body = client.get("/api/v1/me/recognition", headers=bearer(phone), query_string={"campaign_id": drive.id})
    body = body.get_json()
    assert body["campaign"]["id"] == drive.id and body["milestones"]["calls"] == [2, 5]
    assert body["next"]["calls"] == 5 and [r["threshold"] for r in body["reached"]] == [2]

    # Back to the defaults.
    reset = client.patch(f"/api/v1/campaigns/{drive.id}", headers=admin, json={"milestones": None})
    assert reset.get_json()["milestones"] == recognition.DEFAULT_MILESTONES


@pytest.mark.parametrize("milestones_, field, says", [
    ({"calls": [500, 250]}, "calls", "smallest first"),
    ({"calls": [250, 250]}, "calls", "once"),
    ({"calls": [0]}, "calls", "from 1"),
    ({"doors": [2_000_000]}, "doors", "1,000,000"),
    ({"doors": list(range(1, 22))}, "doors", "At most 20"),
    ({"votes": [10]}, "votes", "Unknown measure"),
])
def test_milestones_that_cannot_be_used_are_refused_naming_the_measure(client, world, milestones_, field, says):
    admin = bearer(login(client, Role.CLP_ADMIN, device_name="Office laptop"))
    answer = client.patch(f"/api/v1/campaigns/{world.local_drive.id}", headers=admin,
                          json={"milestones": milestones_})
    assert answer.status_code == 422, answer.get_json()
    details = answer.get_json()["error"]["details"]["milestones"]
    assert says in details[field][0]
    assert client.patch(f"/api/v1/campaigns/{world.local_drive.id}", headers=admin,
                        json={"milestones": {"calls": ["lots"]}}).status_code == 422


# ------------------------------------------------------------------------------------------ thanks

def test_an_admin_thanks_a_volunteer_and_an_admin_of_another_clp_cannot_see_or_thank(client, world):
    banker = world.users[Role.PHONE_BANKER]
    calls(world, banker, 250)
    scheduler_runs()
    milestone = db.session.scalar(select(Milestone))
    volunteer(world, "Nell Other", role=Role.CLP_ADMIN, clp=world.neighbour)
    other = bearer(login(client, "nell.other@example.test"))
    assert client.get("/api/v1/milestones", headers=other).get_json() == []
    refused = client.post(f"/api/v1/milestones/{milestone.id}/thanks", headers=other, json={})
    assert refused.status_code == 404 and refused.get_json()["error"]["details"] == {"milestone_id": [milestone.id]}
    assert notices_of(world.users[Role.CLP_ADMIN], "milestone_admin") != []
    assert notices_of(banker, "thanks") == []

    canvasser = bearer(login(client, Role.CANVASSER))
    assert client.get("/api/v1/milestones", headers=canvasser).status_code == 403

    admin = bearer(login(client, Role.CLP_ADMIN, device_name="Office laptop"))
    listed = client.get("/api/v1/milestones", headers=admin).get_json()
    assert [(m["volunteer_name"], m["measure"], m["threshold"], m["thanked_at"]) for m in listed] == [
        ("Phone Banker", "calls", 250, None)]
    assert client.post(f"/api/v1/milestones/{milestone.id}/thanks", headers=admin,
                       json={"message": "x" * 301}).status_code == 422
    thanked = client.post(f"/api/v1/milestones/{milestone.id}/thanks", headers=admin,
                          json={"message": "Brilliant evening, see you Thursday"})
    assert thanked.status_code == 200, thanked.get_json()
    assert thanked.get_json()["thanked_by_name"] == "Clp Admin" and thanked.get_json()["thanked_at"]
    again = client.post(f"/api/v1/milestones/{milestone.id}/thanks", headers=admin)
    assert again.status_code == 200 and again.get_json()["thanked_at"] == thanked.get_json()["thanked_at"]
    words = notices_of(banker, "thanks")
    assert [n.text for n in words] == ["Clp says thank you for your 250 calls in General Election: "
                                       "“Brilliant evening, see you Thursday”"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "milestone.thank")) == 2


def test_a_phone_marks_its_own_milestones_celebrated_and_never_anyone_elses(client, world):
    banker, canvasser = world.users[Role.PHONE_BANKER], world.users[Role.CANVASSER]
    calls(world, banker, 250)
    calls(world, canvasser, 250)
    scheduler_runs()
    ids = {m.user_id: m.id for m in db.session.scalars(select(Milestone))}
    phone = bearer(login(client, Role.PHONE_BANKER))

    theirs = client.post("/api/v1/me/recognition/celebrated", headers=phone,
                         json={"milestone_ids": [ids[banker.id], ids[canvasser.id]]})
    assert theirs.status_code == 404 and theirs.get_json()["error"]["details"] == {"milestone_ids": [ids[canvasser.id]]}
    assert client.post("/api/v1/me/recognition/celebrated", headers=phone,
                       json={"milestone_ids": []}).status_code == 422

    done = client.post("/api/v1/me/recognition/celebrated", headers=phone, json={"milestone_ids": [ids[banker.id]]})
    assert done.status_code == 200, done.get_json()
    first = done.get_json()["reached"][0]["celebrated_at"]
    assert first is not None
    again = client.post("/api/v1/me/recognition/celebrated", headers=phone, json={"milestone_ids": [ids[banker.id]]})
    assert again.get_json()["reached"][0]["celebrated_at"] == first


def test_bad_input_to_my_recognition_is_a_clear_422(client, world):
    phone = bearer(login(client, Role.PHONE_BANKER))
    now = datetime.now(timezone.utc)
    for since in ("yesterday-ish", "1800-01-01T00:00:00+00:00", "2026-13-45T99:00:00Z"):
        answer = client.get("/api/v1/me/recognition", headers=phone, query_string={"since": since})
        assert answer.status_code == 422, answer.get_json()
        assert list(answer.get_json()["error"]["details"]) == ["since"]
    later = client.get("/api/v1/me/recognition", headers=phone,
                       query_string={"since": (now + timedelta(hours=2)).isoformat()})
    assert later.status_code == 200 and later.get_json()["counts"]["session"]["calls"] == 0, \
        "a phone whose clock runs fast has done nothing since yet"
    assert client.get("/api/v1/me/recognition", headers=phone,
                      query_string={"campaign_id": world.away_drive.id}).status_code == 404
    assert client.put("/api/v1/me/leaderboard", headers=phone, json={"opt_in": "yes"}).status_code == 422
    empty = client.get("/api/v1/me/recognition", headers=phone).get_json()
    assert empty["counts"]["session"] is None and empty["counts"]["campaign"]["calls"] == 0
    assert empty["reached"] == [] and empty["leaderboard_opt_in"] is False


# ------------------------------------------------------------------------------------------ leaderboards

def everything_said(body) -> str:
    return json.dumps(body)


def test_a_volunteer_who_did_not_opt_in_is_in_no_leaderboard_and_nowhere_ranked(client, world):
    banker = world.users[Role.PHONE_BANKER]  # the CLP's busiest caller, who never said yes
    calls(world, banker, 100)
    people = [volunteer(world, f"Vol{n} Surname{n}") for n in range(1, 13)]
    for n, person in enumerate(people, start=1):
        calls(world, person, n)
    away = volunteer(world, "Far Away", clp=world.neighbour)
    calls(world, away, 50, elector=world.neighbour.electors[0])
    rollups.catch_up()

    phone = bearer(login(client, Role.PHONE_BANKER))
    boards = client.get("/api/v1/leaderboards", headers=phone).get_json()
    assert [t["kind"] for t in boards["teams"]] == ["constituencies", "phone_banks"], "teams come first"
    clps = boards["teams"][0]["entries"]
    assert [(e["rank"], e["name"], e["is_mine"]) for e in clps] == [(1, "Ashford North", True), (2, "Bramley", False)]
    assert clps[0]["calls"] == 100 + sum(range(1, 13))
    banks = boards["teams"][1]["entries"]
    assert [(e["name"], e["calls"], e["is_mine"]) for e in banks] == [("call list", 100, True)]

    board = boards["people"]
    assert board["opted_in"] is False and board["me"] is None
    assert [(e["rank"], e["name"], e["calls"]) for e in board["entries"]] == [
        (rank, f"Vol{n} S.", n) for rank, n in enumerate(range(12, 2, -1), start=1)], "the top ten, no bottom"
    said = everything_said(boards)
    assert "Phone B" not in said and "Far" not in said
    mine = client.get("/api/v1/me/recognition", headers=phone).get_json()
    assert "rank" not in everything_said(mine)

    # The busiest opted-in volunteer hides: gone at once, and the others move up.
    top = bearer(login(client, "vol12.surname12@example.test"))
    assert client.put("/api/v1/me/leaderboard", headers=top, json={"opt_in": False}).get_json() == {
        "leaderboard_opt_in": False}
    hidden = client.get("/api/v1/leaderboards", headers=top).get_json()["people"]
    assert "Vol12" not in everything_said(hidden) and hidden["me"] is None
    assert hidden["entries"][0]["name"] == "Vol11 S." and len(hidden["entries"]) == 10
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.actor_user_id == people[-1].id, AuditEvent.action.like("leaderboard.%"))) == "leaderboard.opt_out"

    # The phone banker says yes: ranked first among those who opted in, and told their own rank.
    assert client.put("/api/v1/me/leaderboard", headers=phone, json={"opt_in": True}).status_code == 200
    joined = client.get("/api/v1/leaderboards", headers=phone).get_json()["people"]
    assert joined["entries"][0] == {"rank": 1, "name": "Phone B.", "calls": 100, "doors": 0, "is_me": True}
    assert joined["me"] == {"rank": 1, "calls": 100, "doors": 0} and joined["opted_in"] is True

    # A volunteer low down (last of twelve) who opted in sees their own counts, but no place: nothing says last.
    low = bearer(login(client, "vol1.surname1@example.test"))
    assert client.get("/api/v1/leaderboards", headers=low).get_json()["people"]["me"] == {
        "rank": None, "calls": 1, "doors": 0}

    # Regional staff see the teams only.
    regional = client.get("/api/v1/leaderboards", headers=bearer(login(client, Role.REGIONAL_STAFF))).get_json()
    assert regional["people"] is None and [t["kind"] for t in regional["teams"]] == ["constituencies", "phone_banks"]


def test_each_phone_bank_has_its_own_board_of_the_volunteers_on_it_who_opted_in(client, world):
    """A phone bank's board ranks the volunteers on it who said yes, by the calls they made for it; a busier
    caller who never said yes, and a volunteer of the same CLP who is not on it, are not there."""
    from server.models import Assignment, AssignmentKind, AssignmentUser

    banker = world.users[Role.PHONE_BANKER]
    bank = db.session.scalar(select(Assignment).where(Assignment.kind == AssignmentKind.CALL))
    pat, sky = volunteer(world, "Pat Caller", role=Role.PHONE_BANKER), volunteer(world, "Sky Elsewhere")
    db.session.add(AssignmentUser(assignment_id=bank.id, user_id=pat.id))
    db.session.commit()
    calls(world, banker, 100)
    calls(world, pat, 30)
    calls(world, sky, 50)  # to the same person, but Sky is not on this phone bank
    rollups.catch_up()

    seen = client.get("/api/v1/leaderboards", headers=bearer(login(client, Role.PHONE_BANKER))).get_json()
    [board] = seen["phone_bank_people"]
    assert (board["list_id"], board["title"], board["opted_in"], board["me"]) == (
        bank.id, f"Volunteers on {bank.name}", False, None)
    assert board["entries"] == [{"rank": 1, "name": "Pat C.", "calls": 30, "doors": 0, "is_me": False}]
    assert [(e["name"], e["calls"]) for e in seen["people"]["entries"]] == [("Sky E.", 50), ("Pat C.", 30)]

    pats = client.get("/api/v1/leaderboards", headers=bearer(login(client, "pat.caller@example.test"))).get_json()
    assert pats["phone_bank_people"][0]["me"] == {"rank": 1, "calls": 30, "doors": 0}
    # Someone on no phone bank has no such board; regional staff see teams only.
    assert client.get("/api/v1/leaderboards", headers=bearer(login(client, "sky.elsewhere@example.test"))
                      ).get_json()["phone_bank_people"] == []
    regional = client.get("/api/v1/leaderboards", headers=bearer(login(client, Role.REGIONAL_STAFF))).get_json()
    assert regional["phone_bank_people"] == [] and regional["people"] is None


def test_a_local_drive_has_no_board_of_one_clp_and_its_phone_banks_count_only_its_calls(client, world):
    banker = world.users[Role.PHONE_BANKER]
    calls(world, banker, 4)  # the national campaign's
    rollups.catch_up()
    phone = bearer(login(client, Role.PHONE_BANKER))
    boards = client.get("/api/v1/leaderboards", headers=phone,
                        query_string={"campaign_id": world.local_drive.id}).get_json()
    assert [t["kind"] for t in boards["teams"]] == ["phone_banks"]
    assert boards["teams"][0]["entries"] == [] and boards["people"]["entries"] == []
