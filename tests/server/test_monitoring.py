"""Monitoring (issue 11, docs/monitoring.md), told as the stories the people who use it would tell.

1. Six seats in two regions, a few hundred electors, and contact records whose every figure is worked out by
   hand below: doors, calls, conversations, electors reached, volunteers, weeks, contact rates, peers, the
   percentile among them, and each region's average.
2. Broxtowe: an ordinary seat beats a regional average dragged down by safe seats, but sits at its peers' median.
3. Who sees what: regional staff their region, a CLP admin their CLP, volunteers nothing; peers are shown by
   name, code and rate only.
4. A phone that stopped syncing with 40 records: its weeks are provisional until it delivers them.
5. Each table downloads as CSV, formula cells neutralised, every download audited.
6. Bad questions get a clear 4xx in the one error shape, never a 500.
7. ``flask monitoring rebuild`` and ``flask jobs run rollups``.

(The rollups kept equal to a full rebuild through random pushes, imports and undos: tests/server/test_rollups.py.)
"""
from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import (
    ActivitySeat,
    AuditEvent,
    Campaign,
    CampaignCode,
    Channel,
    CodeSet,
    Constituency,
    ConstituencyProfile,
    ContactRecord,
    Elector,
    ElectorStatus,
    OutcomeMeaning,
    PollingDistrict,
    RecordKind,
    RecordSource,
    Region,
    Role,
    Ward,
)
from server.services import accounts, rollups
from tests.factories import PASSWORD, Clp, bearer, login, make_clp, make_world
from tests.server.test_imports_helpers import build_register

# -- building the worlds ----------------------------------------------------------------------------------------

# Every seat's profile has the seven default features (docs/peers.md). Five are the same everywhere, so they tell
# no seat apart; the share over 65 (weight 1) and the previous majority (weight 2) do.
SAME = {"age_18_24": 10, "owner_occupied": 60, "social_rented": 15, "degree": 30, "imd_score": 20}


def add_codes(campaign) -> None:
    """Outcomes besides SPOKE and NH: a refusal, a call unanswered, a call back, and do not contact."""
    for position, (code, meaning, channels) in enumerate([
            ("REF", OutcomeMeaning.REFUSED, ["door", "phone"]), ("NA", OutcomeMeaning.NO_ANSWER, ["phone"]),
            ("CB", OutcomeMeaning.CALL_BACK, ["phone"]), ("DNC", OutcomeMeaning.DO_NOT_CONTACT, ["door", "phone"])],
            start=3):
        db.session.add(CampaignCode(campaign_id=campaign.id, code_set=CodeSet.OUTCOME, code=code, label=code,
                                    meaning=meaning, channels=channels, position=position))
    db.session.commit()


def bare_seat(region: Region, code: str, name: str, prefix: str) -> Constituency:
    """A seat with a ward and a polling district but no register loaded."""
    seat = Constituency(code=code, name=name, region=region)
    ward = Ward(constituency=seat, code=f"{code}-W1", name=f"{name} Central")
    db.session.add_all([seat, ward])
    db.session.flush()
    db.session.add(PollingDistrict(ward=ward, constituency_id=seat.id, code=prefix, name=f"{name} {prefix}"))
    db.session.commit()
    return seat


def volunteer(name: str, clp: Constituency, role: Role = Role.CANVASSER):
    return accounts.create_user(email=f"{name.lower()}@example.test", name=name, password=PASSWORD, role=role,
                                constituency_code=clp.code)


def profile(seat_id: int, age_65_plus: float, majority_pct: float) -> None:
    db.session.add(ConstituencyProfile(constituency_id=seat_id, features={
        **SAME, "age_65_plus": age_65_plus, "majority_pct": majority_pct}))


def record(campaign, elector: Elector, user, at: datetime, outcome: str, *, channel: str = "door",
           kind: RecordKind = RecordKind.RECORD, supersedes: uuid.UUID | None = None) -> uuid.UUID:
    """A contact record as the sync engine stores it (the rollups read only the table)."""
    made = ContactRecord(id=uuid.uuid4(), campaign_id=campaign.id, constituency_id=elector.constituency_id,
                         elector_id=elector.id, kind=kind, supersedes_id=supersedes, channel=Channel(channel),
                         outcome=outcome if kind != RecordKind.RETRACTION else None, occurred_at=at,
                         user_id=user.id, source=RecordSource.PWA)
    db.session.add(made)
    return made.id


def at(day: date, minute: int = 0) -> datetime:
    return datetime.combine(day, time(10, 0), timezone.utc) + timedelta(minutes=minute)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def get(client, who, path, **params):
    return client.get(f"/api/v1{path}", query_string=params, headers=bearer(login(client, who)))


def board(client, who, six, path="/activity", **params):
    """A dashboard read for the general election, named (it is also the default: the national campaign running
    today comes before a CLP's local drive)."""
    return get(client, who, path, campaign_id=six.world.campaign.id, **params)


@dataclass
class Six:
    world: object
    seats: dict[str, Constituency]
    w0: date  # the Monday of the campaign's first week
    users: dict[str, object] = field(default_factory=dict)

    def id(self, letter: str) -> int:
        return self.seats[letter].id


@pytest.fixture
def six(app) -> Six:
    """Six seats: Ashford North, Bramley and Calder in the North; Coleford, Dunmore and Eskdale in the South.

    The electorates (in Groundwork by the campaign's last day, not removed before its first, not provisional):
      A  Ashford North  101 on the register, one of them removed before the campaign began, so 100; one more
                        removed during it still counts, and one added provisionally does not.
      B  Bramley         80          C  Calder  none: no register loaded
      D  Coleford        60          E  Dunmore  100          F  Eskdale  50
    """
    world = make_world()
    add_codes(world.campaign)
    north, south = world.north, world.south
    a, b, d = world.home, world.neighbour, world.away  # make_clp gave each Ava and Ben (house 1), Cara (house 2)
    c = bare_seat(north, "E14000004", "Calder", "CC1")
    e = make_clp(south, "E14000005", "Dunmore", "DA1")
    f = make_clp(south, "E14000006", "Eskdale", "EA1")
    db.session.commit()
    for clp, more in ((a, 98), (b, 77), (d, 57), (e, 97), (f, 47)):
        clp.electors += build_register(clp, more)
    start = world.campaign.starts_on
    gone, leaving = a.electors[-1], a.electors[-2]
    gone.status, gone.removed_at = ElectorStatus.REMOVED, at(start - timedelta(days=10))
    leaving.status, leaving.removed_at = ElectorStatus.REMOVED, at(start + timedelta(days=5))
    db.session.add(Elector(constituency_id=a.constituency.id, polling_district_id=a.district.id,
                           property_id=a.properties[1].id, prefix=a.district.code, number=0, suffix=17,
                           surname="Adeyemi", forenames="Tolu", provisional=True))
    seats = {"A": a.constituency, "B": b.constituency, "C": c, "D": d.constituency, "E": e.constituency,
             "F": f.constituency}
    six = Six(world, seats, monday(start))
    six.users = {"X": world.users[Role.CANVASSER], "P": world.users[Role.PHONE_BANKER],
                 "Y": volunteer("Yusuf", a.constituency), "B1": volunteer("Bea", b.constituency),
                 "D1": volunteer("Dara", d.constituency), "E1": volunteer("Emeka", e.constituency),
                 "F1": volunteer("Fern", f.constituency)}
    _canvass(six, {"A": a, "B": b, "D": d, "E": e, "F": f})
    # Profiles: the share over 65 has mean 20 and sd 4 (20 22 16 22 26 14: deviations 0 2 -4 2 6 -6, squares
    # 96, /6 = 16), so z = A 0, B .5, C -1, D .5, E 1.5, F -1.5. The previous majority has mean 50 and sd 10
    # (50 60 50 50 30 60: squares 0 100 0 0 400 100 = 600, /6 = 100), so z = A 0, B 1, C 0, D 0, E -2, F 1.
    for letter, age, majority in (("A", 20, 50), ("B", 22, 60), ("C", 16, 50), ("D", 22, 50), ("E", 26, 30),
                                  ("F", 14, 60)):
        profile(seats[letter].id, age, majority)
    db.session.commit()
    rollups.rebuild()
    return six


def _canvass(six: Six, clps: dict[str, Clp]) -> None:
    """The contact records. W1 is the campaign's second week (its Monday), W2 its third (a Tuesday), W3 its
    fourth (a Wednesday); PRE is the Friday before the campaign's first week, before the campaign began."""
    campaign, u = six.world.campaign, six.users
    w1, w2, w3, pre = six.w0 + timedelta(days=7), six.w0 + timedelta(days=15), six.w0 + timedelta(days=23), \
        six.w0 - timedelta(days=3)
    a = clps["A"].electors
    ava, ben, cara, s = a[0], a[1], a[2], a[3:]
    # Ashford North, W1, canvasser X:
    record(campaign, ava, u["X"], at(w1), "SPOKE")  # Ava and Ben at one knock on house 1: one door
    record(campaign, ben, u["X"], at(w1, 1), "SPOKE")
    record(campaign, cara, u["X"], at(w1, 5), "NH")  # Cara not home: a door, no conversation
    record(campaign, s[0], u["X"], at(w1, 60), "SPOKE")  # s0 is spoken to twice (again by phone in W3)
    wrong = record(campaign, s[1], u["X"], at(w1, 70), "SPOKE")  # corrected to not home: no conversation
    record(campaign, s[1], u["X"], at(w1, 75), "NH", kind=RecordKind.CORRECTION, supersedes=wrong)
    late = record(campaign, s[2], u["X"], at(w1, 80), "NH")  # corrected to spoke: a conversation, at 11:20
    record(campaign, s[2], u["X"], at(w1, 85), "SPOKE", kind=RecordKind.CORRECTION, supersedes=late)
    undone = record(campaign, s[3], u["X"], at(w1, 90), "SPOKE")  # retracted: not a contact at all
    record(campaign, s[3], u["X"], at(w1, 91), None, kind=RecordKind.RETRACTION, supersedes=undone)
    # W2: Y finds Cara in and she refuses (a conversation: she was reached), then 14 conversations on Long Road;
    # X finds s18 not home, and speaks to s20 for the second time: the first was before the campaign began.
    record(campaign, cara, u["Y"], at(w2), "REF")
    for i, elector in enumerate(s[4:18]):
        record(campaign, elector, u["Y"], at(w2, 1 + i), "SPOKE")
    record(campaign, s[18], u["X"], at(w2, 30), "NH")
    record(campaign, s[20], u["X"], at(pre), "SPOKE")
    record(campaign, s[20], u["X"], at(w2, 31), "SPOKE")
    # W3: the phone banker calls s0 again (a conversation, but s0 was reached in W1) and s19 (no answer).
    record(campaign, s[0], u["P"], at(w3), "SPOKE", channel="phone")
    record(campaign, s[19], u["P"], at(w3, 5), "NA", channel="phone")
    # Bramley, W1, Bea: 12 conversations (Ava and Ben at one knock, Cara, then nine on the street), 3 not home.
    b = clps["B"].electors
    for i in range(15):
        record(campaign, b[i], u["B1"], at(w1, i), "SPOKE" if i < 12 else "NH")
    # Coleford: 6 conversations, too few to rate. Dunmore: 30, half in W1 and half in W2. Eskdale: 10 in W2.
    for i in range(3, 9):
        record(campaign, clps["D"].electors[i], u["D1"], at(w1, i), "SPOKE")
    for i in range(30):
        record(campaign, clps["E"].electors[i], u["E1"], at(w1 if i < 15 else w2, i), "SPOKE")
    for i in range(10):
        record(campaign, clps["F"].electors[i], u["F1"], at(w2, i), "SPOKE")
    db.session.commit()


# -- 1. the figures, worked out by hand --------------------------------------------------------------------------

def test_a_regions_seats_show_the_activity_and_the_contact_rates_worked_out_by_hand(client, six):
    body = board(client, Role.REGIONAL_STAFF, six).get_json()
    assert body["scope"] == {"kind": "region", "id": six.world.north.id, "name": "North"}
    assert body["level"] == "constituency" and body["period"]["whole_campaign"] is True
    units = {u["name"]: u for u in body["units"]}
    assert list(units) == ["Ashford North", "Bramley", "Calder"]

    a = units["Ashford North"]
    # In the campaign's weeks (PRE is before them):
    #   contacts: W1 Ava, Ben, Cara, s0, s1 (corrected), s2 (corrected) = 6 (s3 retracted); W2 Cara, 14 on
    #     Long Road, s18, s20 = 17; W3 two calls = 2.  6 + 17 + 2 = 25.
    #   doors: W1 house 1 (Ava and Ben, one knock), house 2, s0, s1, s2 = 5; W2 house 2 again (another canvasser,
    #     another day), 14, s18, s20 = 17.  5 + 17 = 22.
    #   calls: 2.  conversations: W1 Ava, Ben, s0, s2 = 4; W2 Cara (refused), 14, s20 = 16; W3 s0 = 1.  21.
    #   reached (first spoken to in the period): W1 4, W2 Cara and 14 = 15: 19 (s0 was reached in W1, s20 before
    #     the campaign's first week).  Volunteers: X, Y and the phone banker, 3.
    assert {k: a[k] for k in ("contacts", "doors", "calls", "conversations", "reached", "volunteers")} == \
        {"contacts": 25, "doors": 22, "calls": 2, "conversations": 21, "reached": 19, "volunteers": 3}
    # To date: the 19, and s20, whose record is in the campaign though dated before it began: 20 of 100.
    assert (a["reached_to_date"], a["electorate"], a["contact_rate"], a["rate_note"]) == (20, 100, 0.2, None)

    b = units["Bramley"]
    # 15 contacts: 12 conversations, 3 not home; doors: house 1 once (Ava, Ben), house 2, 12 on the street = 14.
    assert {k: b[k] for k in ("contacts", "doors", "calls", "conversations", "reached", "volunteers")} == \
        {"contacts": 15, "doors": 14, "calls": 0, "conversations": 12, "reached": 12, "volunteers": 1}
    assert (b["electorate"], b["contact_rate"]) == (80, 12 / 80)  # 0.15
    c = units["Calder"]
    assert (c["contacts"], c["electorate"], c["contact_rate"], c["rate_note"]) == (0, 0, None, "no_register")
    assert c["comparison"]["reason"] == "no_rate"

    # The North's average: the plain mean of the rates of its seats that have one, A .2 and B .15 = .175.
    assert body["regional_average"] == {"average": pytest.approx(0.175), "seats_with_rate": 2}
    # Totals: electors reached 20 + 12 = 32 of 100 + 80 + 0 = 180.
    totals = body["totals"]
    assert (totals["reached_to_date"], totals["electorate"]) == (32, 180)
    assert totals["contact_rate"] == pytest.approx(32 / 180)
    assert (totals["doors"], totals["conversations"], totals["volunteers"]) == (22 + 14, 21 + 12, 4)

    # A's peers (k = 5, those with a rate): B .15, F .2, E .3 (C has no register, D too few: passed over).
    # Sorted .15 .2 .3: median .2; Q1 at position .25 * 2 = .5, between .15 and .2: .175; Q3 at 1.5: .25.
    # A's .2: one peer below, one level (counted half): (1 + .5) / 3 = 50%. Within the middle half; above the
    # North's .175.
    assert a["comparison"] == {
        "reason": None, "peers": 3, "peer_median": pytest.approx(0.2), "peer_q1": pytest.approx(0.175),
        "peer_q3": pytest.approx(0.25), "percentile": pytest.approx(50), "against_peers": "within",
        "regional_average": pytest.approx(0.175), "against_region": "above"}
    # B's .15 against A .2, E .3, F .2: sorted .2 .2 .3, median .2, Q1 .2, Q3 .25; none below: 0%, below them
    # and below the North's .175.
    assert b["comparison"]["percentile"] == 0 and b["comparison"]["peer_median"] == pytest.approx(0.2)
    assert (b["comparison"]["against_peers"], b["comparison"]["against_region"]) == ("below", "below")


def test_the_south_and_the_nation_from_a_national_admins_seat(client, six):
    south = board(client, Role.NATIONAL_ADMIN, six, region_id=six.world.south.id).get_json()
    units = {u["name"]: u for u in south["units"]}
    assert list(units) == ["Coleford", "Dunmore", "Eskdale"]
    # Coleford reached 6 (fewer than MONITORING_MIN_COUNT, 10): the count, no rate.
    assert (units["Coleford"]["reached_to_date"], units["Coleford"]["contact_rate"],
            units["Coleford"]["rate_note"]) == (6, None, "too_few")
    # Eskdale reached exactly 10 of 50: rated, .2. Dunmore 30 of 100: .3.
    assert (units["Eskdale"]["contact_rate"], units["Dunmore"]["contact_rate"]) == (0.2, 0.3)
    # The South's average: (.3 + .2) / 2 = .25 (Coleford has no rate).
    assert south["regional_average"]["average"] == pytest.approx(0.25)
    # Dunmore's peers A .2, B .15, F .2: sorted .15 .2 .2, median .2, Q3 at 1.5 .2: above them, 100th percentile.
    dunmore = units["Dunmore"]["comparison"]
    assert (dunmore["against_peers"], dunmore["percentile"], dunmore["against_region"]) == ("above", 100, "above")
    # Eskdale's peers A .2, B .15, E .3: one below, one level: 50%; below the South's .25.
    eskdale = units["Eskdale"]["comparison"]
    assert (eskdale["against_peers"], eskdale["percentile"], eskdale["against_region"]) == ("within", 50, "below")
    assert units["Coleford"]["comparison"]["reason"] == "no_rate"

    nation = board(client, Role.NATIONAL_ADMIN, six).get_json()
    assert nation["scope"]["kind"] == "nation" and nation["level"] == "region"
    regions = {u["name"]: u for u in nation["units"]}
    # North 32 of 180; South 6 + 30 + 10 = 46 of 60 + 100 + 50 = 210.
    assert (regions["North"]["reached_to_date"], regions["North"]["electorate"]) == (32, 180)
    assert (regions["South"]["reached_to_date"], regions["South"]["electorate"]) == (46, 210)
    assert regions["South"]["contact_rate"] == pytest.approx(46 / 210)


def test_a_clp_admin_sees_their_clp_by_ward_and_week(client, six):
    body = board(client, Role.CLP_ADMIN, six).get_json()
    assert body["scope"]["kind"] == "constituency" and body["scope"]["id"] == six.id("A")
    assert body["level"] == "ward"
    [ward] = body["units"]
    assert ward["name"] == "Ashford North Central" and ward["comparison"] is None
    assert (ward["doors"], ward["reached_to_date"], ward["electorate"], ward["contact_rate"]) == (22, 20, 100, 0.2)

    weeks = body["weeks"]
    this_week = monday(datetime.now(timezone.utc).date())
    assert [w["week"] for w in weeks] == [(six.w0 + timedelta(days=7 * n)).isoformat()
                                          for n in range((this_week - six.w0).days // 7 + 1)]
    assert all(date.fromisoformat(w["week"]).weekday() == 0 for w in weeks)  # Mondays
    by_week = {date.fromisoformat(w["week"]): w for w in weeks}
    measures = ("contacts", "doors", "calls", "conversations", "reached", "volunteers", "reached_to_date")
    w = [by_week[six.w0 + timedelta(days=7 * n)] for n in range(4)]
    # W0: nothing, but s20 was reached before it (the week before the campaign's first), so 1 to date.
    assert tuple(w[0][m] for m in measures) == (0, 0, 0, 0, 0, 0, 1)
    assert tuple(w[1][m] for m in measures) == (6, 5, 0, 4, 4, 1, 1 + 4)
    assert tuple(w[2][m] for m in measures) == (17, 17, 0, 16, 15, 2, 5 + 15)
    assert tuple(w[3][m] for m in measures) == (2, 0, 2, 1, 0, 1, 20)
    # Fewer than 10 reached to date: no rate yet; from W2, 20 of 100.
    assert [x["contact_rate_to_date"] for x in w] == [None, None, 0.2, 0.2]
    assert w[1]["label"] == f"w/c {(six.w0 + timedelta(days=7)).day} {(six.w0 + timedelta(days=7)):%b %Y}"
    assert not any(x["provisional"] for x in weeks)

    # A period of the second and third weeks narrows the activity, not the rate.
    narrow = board(client, Role.CLP_ADMIN, six, since=(six.w0 + timedelta(days=9)).isoformat(),
                 until=(six.w0 + timedelta(days=16)).isoformat()).get_json()
    assert narrow["period"]["since"] == (six.w0 + timedelta(days=7)).isoformat()
    assert narrow["period"]["until"] == (six.w0 + timedelta(days=20)).isoformat()  # W2's Sunday
    assert narrow["period"]["whole_campaign"] is False
    assert (narrow["totals"]["doors"], narrow["totals"]["reached"]) == (5 + 17, 4 + 15)
    assert (narrow["totals"]["reached_to_date"], narrow["totals"]["contact_rate"]) == (20, 0.2)
    assert [x["reached_to_date"] for x in narrow["weeks"]] == [5, 20]


def test_a_seats_peers_are_the_nearest_seats_that_have_a_rate(client, six):
    response = board(client, Role.CLP_ADMIN, six, f"/activity/seats/{six.id('A')}/comparison", k=3)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # Distances from A (z 0, 0), weights 1 (over 65) and 2 (majority): sqrt(za^2 + 2 zm^2):
    #   D sqrt(.25) = .5; C sqrt(1) = 1; B sqrt(.25 + 2) = 1.5; F sqrt(2.25 + 2) = 2.062; E sqrt(2.25 + 8) = 3.202.
    # D (too few) and C (no register) are passed over, nearest first; the three nearest with a rate are B, F, E.
    assert [(p["name"], p["rate_note"]) for p in body["passed_over"]] == [("Coleford", "too_few"),
                                                                           ("Calder", "no_register")]
    assert [p["name"] for p in body["peers"]] == ["Bramley", "Eskdale", "Dunmore"]
    assert [p["distance"] for p in body["peers"]] == pytest.approx([1.5, 4.25 ** 0.5, 10.25 ** 0.5], abs=1e-6)
    assert [p["rate"] for p in body["peers"]] == [0.15, 0.2, 0.3]
    assert (body["rate"], body["reached"], body["electorate"]) == (0.2, 20, 100)
    result = body["result"]
    assert (result["peer_median"], result["percentile"], result["against_peers"]) == (0.2, 50, "within")
    assert result["regional_average"] == pytest.approx(0.175) and result["against_region"] == "above"
    assert [f["name"] for f in body["features"] if f["weight"] == 2] == ["majority_pct"]
    assert any("share aged 18 to 24" in n and "tells them apart in nothing" in n for n in body["notes"])
    # The region's seats, with their rates, for the table beside the chart.
    assert [(s["name"], s["rate"], s["rate_note"]) for s in body["region_seats"]] == [
        ("Ashford North", 0.2, None), ("Bramley", 0.15, None), ("Calder", None, "no_register")]

    # With k = 2, two peers with a rate are too few to compare with (at least 3).
    few = board(client, Role.CLP_ADMIN, six, f"/activity/seats/{six.id('A')}/comparison", k=2).get_json()
    assert few["reason"] == "too_few_peers" and few["result"] is None and len(few["peers"]) == 2


def test_the_dashboard_and_the_seat_comparison_agree_on_a_seats_rate(client, six):
    seats = board(client, Role.NATIONAL_ADMIN, six, level="constituency").get_json()
    for unit in seats["units"]:
        seat = board(client, Role.NATIONAL_ADMIN, six, f"/activity/seats/{unit['id']}/comparison").get_json()
        assert (seat["rate"], seat["reached"], seat["electorate"]) == \
            (unit["contact_rate"], unit["reached_to_date"], unit["electorate"]), unit["name"]


def test_calls_with_no_elector_count_for_their_clp_outside_any_polling_district(client, six):
    """A welcome call to a member (or an imported row matched to nobody) has no elector: it counts in its CLP's
    calls and conversations, under "Not in a polling district", and reaches no elector."""
    world = six.world
    db.session.add(ContactRecord(id=uuid.uuid4(), campaign_id=world.campaign.id, constituency_id=six.id("A"),
                                 elector_id=None, channel=Channel.PHONE, outcome="SPOKE",
                                 occurred_at=at(six.w0 + timedelta(days=8)), user_id=six.users["P"].id,
                                 source=RecordSource.PWA))
    db.session.commit()
    rollups.catch_up()
    body = board(client, Role.CLP_ADMIN, six).get_json()
    assert [u["name"] for u in body["units"]] == [
        "Ashford North Central", "Not in a polling district (calls to members, unmatched imported rows)"]
    outside = body["units"][1]
    assert (outside["id"], outside["calls"], outside["conversations"], outside["reached"], outside["volunteers"]) \
        == (None, 1, 1, 0, 1)
    # The CLP's totals: 2 + 1 calls, 21 + 1 conversations, still 20 reached of 100.
    totals = body["totals"]
    assert (totals["calls"], totals["conversations"], totals["reached_to_date"], totals["contact_rate"]) == \
        (3, 22, 20, 0.2)
    by_district = board(client, Role.CLP_ADMIN, six, level="polling_district").get_json()
    assert [u["id"] for u in by_district["units"]][-1] == 0


# -- 2. Broxtowe ---------------------------------------------------------------------------------------------------

def _seat_with_register(region: Region, code: str, name: str, prefix: str, electors: int = 100) -> Clp:
    clp = make_clp(region, code, name, prefix)
    clp.electors += build_register(clp, electors - len(clp.electors))
    return clp


def test_broxtowe_beats_a_region_dragged_down_by_safe_seats_but_sits_at_its_peers_median(client, app):
    """Broxtowe, a marginal seat, reached 30 of its 100 electors. Its region's other rated seats are safe ones
    where little canvassing happens (12, 10, 14 and 11 of 100), so the regional average is (30 + 12 + 10 + 14 +
    11) / 5 = 77 / 5 = 15.4%: Broxtowe is far above it. Its peers, the five marginal seats most like it
    (elsewhere), reached 26, 28, 30, 32 and 34 of 100: median 30, middle half 28 to 32 (Q1 at position 1, Q3 at
    3), and Broxtowe's 30 is level with one and above two: (2 + .5) / 5 = 50%. Ordinary, fairly compared."""
    world = make_world()
    north, south = world.north, world.south
    made = {"Broxtowe": (_seat_with_register(north, "E14000601", "Broxtowe", "BX1"), 30, 5)}
    for i, (reached, majority) in enumerate([(12, 40), (10, 42), (14, 45), (11, 38)]):
        made[f"Safe {i}"] = (_seat_with_register(north, f"E1400070{i}", f"Safe {i}", f"SF{i}"), reached, majority)
    for i, (reached, majority) in enumerate([(26, 4), (28, 6), (30, 5.5), (32, 4.5), (34, 6.5)]):
        made[f"Marginal {i}"] = (_seat_with_register(south, f"E1400080{i}", f"Marginal {i}", f"MG{i}"), reached,
                                 majority)
    recorder = world.users[Role.NATIONAL_ADMIN]
    day = world.campaign.starts_on + timedelta(days=3)
    for clp, reached, majority in made.values():
        for i in range(reached):
            record(world.campaign, clp.electors[i], recorder, at(day, i), "SPOKE")
        profile(clp.constituency.id, 20, majority)  # alike in everything but how safe they were
    db.session.commit()
    rollups.rebuild()
    broxtowe = made["Broxtowe"][0].constituency

    body = get(client, Role.REGIONAL_STAFF, "/activity", campaign_id=world.campaign.id).get_json()
    unit = next(u for u in body["units"] if u["name"] == "Broxtowe")
    assert unit["contact_rate"] == 0.3
    # Ashford North and Bramley have 3 electors each and no contact: no rate, not in the average.
    assert body["regional_average"] == {"average": pytest.approx(0.154), "seats_with_rate": 5}
    brief = unit["comparison"]
    assert brief["against_region"] == "above" and brief["regional_average"] == pytest.approx(0.154)
    assert brief["percentile"] == pytest.approx(50) and brief["against_peers"] == "within"
    assert (brief["peer_median"], brief["peer_q1"], brief["peer_q3"]) == pytest.approx((0.30, 0.28, 0.32))
    assert "comparison with similar seats is the fair one" in body["definitions"]["fair"]

    seat = get(client, Role.REGIONAL_STAFF, f"/activity/seats/{broxtowe.id}/comparison",
               campaign_id=world.campaign.id).get_json()
    assert sorted(p["name"] for p in seat["peers"]) == [f"Marginal {i}" for i in range(5)]  # none of the safe seats
    assert all(p["similar_in_words"].startswith("similar in: ") for p in seat["peers"])
    result = seat["result"]
    assert (result["against_region"], result["against_peers"], result["percentile"]) == ("above", "within", 50)
    assert "above it" in result["note"] and "safe seats" in result["note"]
    assert "The comparison with similar seats is the fair one." in result["note"]
    assert "50th percentile" in result["note"]


# -- 3. who sees what ----------------------------------------------------------------------------------------------

@pytest.fixture
def small(app):
    """make_world's three CLPs with 23 electors each, 12 of them spoken to, and profiles: every seat rated."""
    world = make_world()
    for clp, (age, majority) in ((world.home, (20, 5)), (world.neighbour, (30, 40)), (world.away, (21, 6))):
        clp.electors += build_register(clp, 20)
        for i in range(12):
            record(world.campaign, clp.electors[i], world.users[Role.NATIONAL_ADMIN],
                   at(world.campaign.starts_on + timedelta(days=2), i), "SPOKE")
        profile(clp.constituency.id, age, majority)
    db.session.commit()
    rollups.rebuild()
    return world


def _status(client, who, path, **params) -> int:
    return get(client, who, path, **params).status_code


def test_regional_staff_see_their_region_and_nothing_of_another(client, small):
    world = small
    body = get(client, Role.REGIONAL_STAFF, "/activity", campaign_id=world.campaign.id).get_json()
    assert body["scope"]["name"] == "North"
    assert [u["name"] for u in body["units"]] == ["Ashford North", "Bramley"]
    assert _status(client, Role.REGIONAL_STAFF, "/activity", constituency_id=world.neighbour.constituency.id) == 200
    assert _status(client, Role.REGIONAL_STAFF, "/activity", region_id=world.south.id) == 404
    assert _status(client, Role.REGIONAL_STAFF, "/activity", constituency_id=world.away.constituency.id) == 404
    assert _status(client, Role.REGIONAL_STAFF, f"/activity/seats/{world.away.constituency.id}/comparison") == 404
    # A CLP's own drive elsewhere is not theirs to monitor.
    assert _status(client, Role.REGIONAL_STAFF, "/activity", campaign_id=world.away_drive.id) == 404
    token = login(client, Role.REGIONAL_STAFF)
    for body in ({"table": "units", "region_id": world.south.id},
                 {"table": "peers", "constituency_id": world.away.constituency.id}):
        assert client.post("/api/v1/activity/export", json=body, headers=bearer(token)).status_code == 404


def test_a_clp_admin_sees_their_clp_only(client, small):
    world = small
    body = get(client, Role.CLP_ADMIN, "/activity", campaign_id=world.campaign.id).get_json()
    assert (body["scope"]["kind"], body["scope"]["id"], body["level"]) == \
        ("constituency", world.home.constituency.id, "ward")
    assert _status(client, Role.CLP_ADMIN, "/activity", constituency_id=world.home.constituency.id) == 200
    # Their region is not theirs to monitor, though their seat lies in it; nor is their neighbour.
    assert _status(client, Role.CLP_ADMIN, "/activity", region_id=world.north.id) == 404
    assert _status(client, Role.CLP_ADMIN, "/activity", region_id=world.south.id) == 404
    assert _status(client, Role.CLP_ADMIN, "/activity", constituency_id=world.neighbour.constituency.id) == 404
    assert _status(client, Role.CLP_ADMIN, f"/activity/seats/{world.neighbour.constituency.id}/comparison") == 404
    assert _status(client, Role.CLP_ADMIN, "/activity", campaign_id=world.away_drive.id) == 404
    assert _status(client, Role.CLP_ADMIN, "/activity", campaign_id=999999) == 404
    response = client.post("/api/v1/activity/export", json={"table": "units", "region_id": world.north.id},
                           headers=bearer(login(client, Role.CLP_ADMIN)))
    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.CANVASSER, Role.PHONE_BANKER, Role.MEMBERSHIP_SECRETARY],
                         ids=lambda r: r.value)
def test_volunteers_and_membership_secretaries_may_not_monitor(client, small, role):
    home = small.home.constituency.id
    assert _status(client, role, "/activity") == 403
    assert _status(client, role, f"/activity/seats/{home}/comparison") == 403
    response = client.post("/api/v1/activity/export", json={"table": "units"}, headers=bearer(login(client, role)))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_peers_elsewhere_are_shown_by_name_code_and_rate_and_nothing_personal(client, small):
    world = small
    response = get(client, Role.CLP_ADMIN, f"/activity/seats/{world.home.constituency.id}/comparison",
                   campaign_id=world.campaign.id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # The nearest seat is Coleford, in the South: the CLP admin may not monitor it, but sees it as a peer.
    assert [p["name"] for p in body["peers"]] == ["Coleford", "Bramley"]
    assert body["reason"] == "too_few_peers"  # two peers with a rate: fewer than three
    for peer in body["peers"]:
        assert set(peer) == {"id", "code", "name", "rate", "reached", "electorate", "distance", "similar_in",
                             "similar_in_words"}
    assert {tuple(sorted(s)) for s in body["region_seats"]} == {
        ("code", "electorate", "id", "name", "rate", "rate_note", "reached")}
    text = json.dumps(body)
    people = [e.surname for clp in (world.home, world.neighbour, world.away) for e in clp.electors]
    people += [u.name for u in world.users.values()] + [u.email for u in world.users.values()]
    assert not [p for p in people if p in text]


# -- 4. a phone that stopped syncing ----------------------------------------------------------------------------

def test_a_phone_that_stopped_syncing_with_40_records_makes_its_weeks_provisional_until_it_delivers(client, app):
    from server.models import DeviceStorage
    from tests.server.phone import HttpPhone

    world = make_world()
    ava, ben = world.home.electors[0], world.home.electors[1]
    phone = HttpPhone(client, Role.CANVASSER)
    now = datetime.now(timezone.utc)
    oldest = now - timedelta(days=5)  # the oldest of the 40 the phone still holds was made five days ago
    first_knock = at((now - timedelta(days=6)).date())
    response = phone.push([phone.contact(world, ava, at=first_knock)],
                          outbox={"unsent": 40, "oldest_at": oldest.isoformat(), "app_version": "pwa-1"})
    assert response.status_code == 200, response.get_json()
    # ...and then nothing was heard from it for four days (as tests/server/test_sync_health.py has it).
    storage = db.session.get(DeviceStorage, (uuid.UUID(phone.device_id), uuid.UUID(phone.storage_id)))
    silent = now - timedelta(days=4)
    storage.last_push_at = storage.reported_at = silent
    db.session.commit()
    rollups.catch_up()

    health = get(client, Role.CLP_ADMIN, "/sync-health").get_json()
    [device] = health["devices"]
    assert (device["volunteer_name"], device["unsent"], device["constituency_name"], device["at_risk"]) == \
        ("Canvasser", 40, "Ashford North", True)
    body = get(client, Role.CLP_ADMIN, "/activity", campaign_id=world.campaign.id).get_json()
    provisional = {w["week"] for w in body["weeks"] if w["provisional"]}
    # Every week from the one of the oldest unsent record to the one of the phone's last report.
    first, last = monday(oldest.date()), monday(silent.date())
    assert provisional == {(first + timedelta(days=7 * n)).isoformat() for n in range((last - first).days // 7 + 1)}
    assert body["totals"]["contacts"] == 1

    # The phone gets a signal: the 40 arrive, and it reports nothing left.
    held = [phone.contact(world, (ava, ben)[i % 2], "NH", at=at(oldest.date(), i)) for i in range(40)]
    response = phone.push(held, outbox={"unsent": 0, "oldest_at": None, "app_version": "pwa-1"})
    assert [r["status"] for r in response.get_json()["results"]] == ["applied"] * 40
    rollups.catch_up()
    assert get(client, Role.CLP_ADMIN, "/sync-health").get_json()["devices"] == []
    body = get(client, Role.CLP_ADMIN, "/activity", campaign_id=world.campaign.id).get_json()
    assert not [w for w in body["weeks"] if w["provisional"]]
    assert body["totals"]["contacts"] == 41
    # Ava and Ben live together: the 40 knocks of one day by one canvasser at house 1 are one door, and the
    # knock the day before another.
    assert body["totals"]["doors"] == 2


# -- 5. CSV downloads ----------------------------------------------------------------------------------------------

def _export(client, who, **body):
    return client.post("/api/v1/activity/export", json=body, headers=bearer(login(client, who)))


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _audits() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "activity.export")
                                   .order_by(AuditEvent.id)))


def test_every_table_downloads_with_formula_cells_neutralised_and_is_audited(client, small):
    world = small
    world.neighbour.constituency.name = '=HYPERLINK("http://x")'
    db.session.commit()
    campaign = world.campaign.id

    units = _rows(_export(client, Role.REGIONAL_STAFF, table="units", campaign_id=campaign))
    assert units[0][:3] == ["Level", "Code", "Name"]
    names = [row[2] for row in units[1:]]
    assert "'=HYPERLINK(\"http://x\")" in names and "Ashford North" in names
    home = next(row for row in units[1:] if row[2] == "Ashford North")
    heading = dict(zip(units[0], home))
    assert (heading["Electorate"], heading["Contact rate (%)"]) == ("23", "52.2")  # 12 / 23
    assert "General Election" in heading["Rate window"]

    weeks = _rows(_export(client, Role.REGIONAL_STAFF, table="weeks", campaign_id=campaign))
    assert weeks[0][0] == "Week beginning" and len(weeks) > 2
    assert all(date.fromisoformat(row[0]).weekday() == 0 for row in weeks[1:])

    peers = _rows(_export(client, Role.REGIONAL_STAFF, table="peers", campaign_id=campaign,
                          constituency_id=world.home.constituency.id))
    assert [row[0] for row in peers[1:]] == ["seat", "peer", "peer", "same region"]
    assert "'=HYPERLINK(\"http://x\")" in [row[2] for row in peers[1:]]

    # The comparison as adjusted on screen downloads as adjusted: here with the nearest peer only.
    fewer = _rows(_export(client, Role.REGIONAL_STAFF, table="peers", campaign_id=campaign,
                          constituency_id=world.home.constituency.id, k=1))
    assert [row[0] for row in fewer[1:]] == ["seat", "peer", "same region"]

    health = _rows(_export(client, Role.CLP_ADMIN, table="sync-health"))
    assert health[0][:2] == ["CLP", "Volunteer"] and len(health) == 1  # no phone holds unsent work

    audits = _audits()
    assert [(a.details["table"], a.details["rows"]) for a in audits] == [
        ("units", len(units) - 1), ("weeks", len(weeks) - 1), ("peers", 4), ("peers", 3), ("sync-health", 0)]
    assert audits[2].target_type == "constituency" and audits[2].target_id == str(world.home.constituency.id)
    assert all(a.details["campaign_id"] == campaign for a in audits[:3])
    assert audits[0].actor_user_id == world.users[Role.REGIONAL_STAFF].id

    # Without a campaign named, the file covers the national campaign running today (not the CLP's local drive,
    # which started as late and has a higher id), and the audit says which.
    assert world.local_drive.starts_on >= db.session.get(Campaign, campaign).starts_on
    _rows(_export(client, Role.CLP_ADMIN, table="weeks"))
    assert _audits()[-1].details["campaign_id"] == campaign

    response = _export(client, Role.REGIONAL_STAFF, table="peers", campaign_id=campaign)
    assert response.status_code == 422
    assert "constituency_id" in response.get_json()["error"]["details"]
    assert len(_audits()) == 6  # a refused download is not recorded as one


def test_a_download_is_named_in_plain_ascii_whatever_the_area_is_called(client, small):
    world = small
    world.home.constituency.name = "Gŵyr & Môn"
    db.session.commit()
    response = _export(client, Role.CLP_ADMIN, table="units", campaign_id=world.campaign.id)
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    disposition.encode("latin-1")  # a header a WSGI server can send
    assert disposition == f'attachment; filename="units-g-yr---m-n-{world.campaign.id}.csv"'


# -- 6. bad input ------------------------------------------------------------------------------------------------

def _refused(response, status: int = 422) -> dict:
    assert response.status_code == status, (response.status_code, response.get_json())
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    return error


def test_bad_questions_get_a_clear_answer_in_the_one_error_shape(client, small):
    world = small
    campaign = world.campaign
    token = login(client, Role.NATIONAL_ADMIN)

    def ask(path="/activity", **params):
        return client.get(f"/api/v1{path}", query_string=params, headers=bearer(token))

    seat = f"/activity/seats/{world.home.constituency.id}/comparison"
    assert "level" in _refused(ask(level="bogus"))["details"]
    error = _refused(ask(campaign_id=campaign.id, since=campaign.starts_on + timedelta(days=20),
                         until=campaign.starts_on + timedelta(days=5)))
    assert "until" in error["details"]
    error = _refused(ask(campaign_id=campaign.id, since=campaign.ends_on + timedelta(days=30)))
    assert "outside the campaign" in error["message"]
    _refused(ask(campaign_id=campaign.id, until=campaign.starts_on - timedelta(days=30)))
    _refused(ask(since="yesterday"))
    _refused(ask(since="0999-01-01"))
    _refused(ask(campaign_id=0))
    assert _refused(ask(campaign_id=987654), 404)["code"] == "not_found"
    assert _refused(ask(region_id=987654), 404)["code"] == "not_found"
    _refused(ask(seat, k=0))
    _refused(ask(seat, k=51))
    _refused(ask(seat, k="many"))
    error = _refused(ask(seat, features="age_65_plus", weights="degree:2"))
    assert "degree" in error["message"]
    _refused(ask(seat, features="age_65_plus", weights="age_65_plus:0"))  # nothing left to compare on
    _refused(ask(seat, weights="majority_pct:x"))
    _refused(ask(seat, exclude="abc"))
    _refused(ask("/activity/seats/987654/comparison"), 404)
    # A feature the seat has no figure for is refused, as GET /constituencies/{id}/peers refuses it.
    assert _refused(ask(seat, features="age_65_plus,no_such_share"))["details"] == {"features": ["no_such_share"]}
    # One CLP's figures are not labelled as its region's.
    assert "level" in _refused(ask(constituency_id=world.home.constituency.id, level="region"))["details"]
    # A period that starts later this campaign, with no end given, is a period of its own (nothing in it yet).
    later = ask(campaign_id=campaign.id, since=campaign.ends_on - timedelta(days=3))
    assert later.status_code == 200 and later.get_json()["totals"]["contacts"] == 0

    def export(**body):
        return client.post("/api/v1/activity/export", json=body, headers=bearer(token))

    _refused(export(table="everything"))
    _refused(export(table="units", level="bogus"))
    _refused(export(table="units", campaign_id=campaign.id, since=campaign.ends_on.isoformat(),
                    until=campaign.starts_on.isoformat()))
    _refused(export())
    _refused(export(table="units", extra=1))


def test_a_weighting_on_an_unrated_seat_is_refused_too(client, small):
    """A bad weighting is bad input whatever the seat's figures: not answered 200 with "no rate"."""
    world = small
    path = f"/activity/seats/{world.home.constituency.id}/comparison"
    drive = world.local_drive.id  # nobody has canvassed for Ashford North's own drive
    assert get(client, Role.NATIONAL_ADMIN, path, campaign_id=drive).get_json()["reason"] == "no_rate"
    response = get(client, Role.NATIONAL_ADMIN, path, campaign_id=drive, features="age_65_plus", weights="degree:2")
    assert "degree" in _refused(response)["message"]


# -- 7. the command line -------------------------------------------------------------------------------------------

def test_flask_monitoring_rebuild_and_jobs_run_rollups(runner, client, app):
    world = make_world()
    for i in range(3):
        record(world.campaign, world.home.electors[i], world.users[Role.CANVASSER],
               at(world.campaign.starts_on + timedelta(days=1), i), "SPOKE")
    db.session.commit()
    result = runner.invoke(args=["monitoring", "rebuild"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Rebuilt the rollups: ")
    db.session.expire_all()
    seat = db.session.get(ActivitySeat, (world.campaign.id, world.home.constituency.id))
    assert (seat.contacts, seat.reached, seat.electorate) == (3, 3, 3)

    from tests.server.phone import HttpPhone

    phone = HttpPhone(client, Role.CANVASSER)
    assert phone.push([phone.contact(world, world.home.electors[0], "NH")]).status_code == 200
    result = runner.invoke(args=["jobs", "run", "rollups"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rollups: ")
    db.session.expire_all()
    seat = db.session.get(ActivitySeat, (world.campaign.id, world.home.constituency.id))
    assert (seat.contacts, seat.doors, seat.reached) == (4, 3, 3)
    result = runner.invoke(args=["monitoring", "catch-up"])
    assert result.exit_code == 0 and result.output.startswith("Caught up: ")
    db.session.expire_all()
    assert db.session.get(ActivitySeat, (world.campaign.id, world.home.constituency.id)).contacts == 4
