"""Story: the dashboards' rollups stay equal to the contact records (docs/monitoring.md, "Rollups").

Phones push at random through the API (new contacts, corrections, retractions, some arriving before what they
correct), a CLP imports a canvass sheet and later undoes it, a new seat's register is loaded and a CLP's next
edition adds electors, a local drive is re-dated; the scheduler's ``rollups`` job runs now and then in between.
At the end every row the job has kept equals what ``flask monitoring rebuild`` computes from scratch, and the
seats' totals equal a count made here, by hand, straight from contact_record and the register.
"""
from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    ActivityElectorate,
    ActivityRollup,
    ActivitySeat,
    Campaign,
    CampaignKind,
    CampaignCode,
    CodeSet,
    Constituency,
    ContactRecord,
    Elector,
    ElectorState,
    PollingDistrict,
    Role,
    Ward,
)
from server.services import rollups
from server.services.register_import import import_register
from tests.factories import bearer, login, make_world
from tests.server.phone import HttpPhone
from tests.server.test_imports_helpers import build_register, csv_bytes, row, run_job, upload
from tests.server.test_monitoring import add_codes

REGISTER = ("Elector Number Prefix,Elector Number,Elector Number Suffix,Elector Markers,Elector DOB,Elector Surname,"
            "Elector Forename,PostCode,Address1,Address2,Address3,Address4,Address5,Address6")
SEAT_COLUMNS = ("contacts", "doors", "calls", "conversations", "reached", "volunteers", "electorate")
# What a phone may record on each channel (the campaign's codes, add_codes).
OUTCOMES = {"door": ["SPOKE", "SPOKE", "NH", "NH", "REF"], "phone": ["SPOKE", "NA", "NA", "CB", "REF"]}
CONVERSATION = {"SPOKE", "REF", "CB", "DNC"}


def snapshot() -> dict:
    """Every row of the three rollup tables, without when they were computed."""
    db.session.expire_all()
    rollup = {(r.campaign_id, r.district_key, r.week, r.user_key):
              (r.constituency_id, r.ward_id, r.contacts, r.doors, r.calls, r.conversations, r.reached)
              for r in db.session.scalars(select(ActivityRollup))}
    electorate = {(r.campaign_id, r.polling_district_id): (r.constituency_id, r.ward_id, r.electors)
                  for r in db.session.scalars(select(ActivityElectorate))}
    seats = {(r.campaign_id, r.constituency_id): tuple(getattr(r, c) for c in SEAT_COLUMNS)
             for r in db.session.scalars(select(ActivitySeat))}
    return {"activity_rollup": rollup, "activity_electorate": electorate, "activity_seat": seats}


def register_rows(prefix: str, numbers, street: str = "Fen Road", town: str = "Fenwick") -> list[str]:
    return [f"{prefix},{n},0,,,Fenn{n},Alex,EF9 {1 + n % 9}AB,{n},{street},{town},,," for n in numbers]


def write_register(tmp_path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("\n".join([REGISTER, *rows, ""]))
    return path


class Canvass:
    """Phones pushing at random: each remembers what it recorded, to correct or retract it later, and may hold a
    contact back while its correction goes first."""

    def __init__(self, client, world, rng: random.Random):
        self.client, self.world, self.rng = client, world, rng
        self.phones = {"national": HttpPhone(client, Role.NATIONAL_ADMIN), "admin": HttpPhone(client, Role.CLP_ADMIN),
                       "canvasser": HttpPhone(client, Role.CANVASSER)}
        self.reach = {"national": [], "admin": [], "canvasser": [e.id for e in world.home.electors[:2]]}
        self.recorded: dict[str, list[dict]] = defaultdict(list)
        self.held: dict[str, list[dict]] = defaultdict(list)
        self.statuses: dict[str, int] = defaultdict(int)

    def when(self) -> datetime:
        start = datetime.combine(self.world.campaign.starts_on, time(8), timezone.utc)
        if self.rng.random() < 0.05:  # a phone whose clock or sheet says before the campaign began
            return start - timedelta(days=self.rng.randint(1, 9))
        span = (datetime.now(timezone.utc) - timedelta(hours=1) - start).total_seconds()
        return start + timedelta(seconds=self.rng.uniform(0, span))

    def round(self, name: str, size: int) -> None:
        phone, rng = self.phones[name], self.rng
        mutations = self.held.pop(name, [])
        for _ in range(size):
            roll = rng.random()
            mine = self.recorded[name]
            if roll < 0.2 and mine:
                original = rng.choice(mine)
                channel = original["data"]["channel"]
                mutations.append(phone._mutation("contact_correction", {
                    **original["data"], "supersedes": original["id"], "outcome": rng.choice(OUTCOMES[channel])}))
            elif roll < 0.28 and mine:
                original = rng.choice(mine)
                data = original["data"]
                mutations.append(phone._mutation("contact_retraction", {
                    "supersedes": original["id"], "campaign_id": data["campaign_id"],
                    "elector_id": data["elector_id"], "channel": data["channel"], "reason": None}))
            else:
                channel = "phone" if rng.random() < 0.3 else "door"
                campaign = self.world.local_drive if name == "admin" and rng.random() < 0.3 else self.world.campaign
                outcome = rng.choice(OUTCOMES[channel]) if rng.random() > 0.01 else "DNC"
                contact = phone._mutation("contact", {
                    "campaign_id": campaign.id, "elector_id": rng.choice(self.reach[name]), "channel": channel,
                    "outcome": outcome, "intention": None}, at=self.when())
                mine.append(contact)
                if rng.random() < 0.1:  # its correction goes now; the contact itself in a later push
                    self.held[name].append(contact)
                    mutations.append(phone._mutation("contact_correction", {
                        **contact["data"], "supersedes": contact["id"], "outcome": rng.choice(OUTCOMES[channel])}))
                else:
                    mutations.append(contact)
        response = phone.push(mutations)
        assert response.status_code == 200, response.get_json()
        for result in response.get_json()["results"]:
            self.statuses[result["status"]] += 1

    def flush(self) -> None:
        for name in list(self.held):
            self.round(name, 0)


def by_hand(campaign_ids) -> dict[tuple[int, int], dict]:
    """Each (campaign, CLP)'s contacts, calls, conversations and electors reached, counted straight from
    contact_record: a chain is a record and what names it (corrections, retractions); a retracted chain counts
    for nothing, a corrected one as its latest correction, at the original's time."""
    db.session.expire_all()
    meanings = {(c.campaign_id, c.code): c.meaning.value for c in db.session.scalars(
        select(CampaignCode).where(CampaignCode.code_set == CodeSet.OUTCOME))}
    chains: dict[uuid.UUID, list[ContactRecord]] = defaultdict(list)
    for r in db.session.scalars(select(ContactRecord).where(ContactRecord.campaign_id.in_(campaign_ids))):
        chains[r.supersedes_id or r.id].append(r)  # every correction here names the original itself
    counts: dict[tuple[int, int], dict] = defaultdict(lambda: {"contacts": 0, "calls": 0, "conversations": 0,
                                                                "reached": set()})
    for chain in chains.values():
        if any(r.kind.value == "retraction" for r in chain):
            continue
        corrections = [r for r in chain if r.kind.value == "correction"]
        stands = max(corrections, key=lambda r: (r.occurred_at, r.id)) if corrections else chain[0]
        seat = counts[(stands.campaign_id, stands.constituency_id)]
        seat["contacts"] += 1
        seat["calls"] += stands.channel.value == "phone"
        if meanings.get((stands.campaign_id, stands.outcome)) in ("spoke", "refused", "call_back", "do_not_contact"):
            seat["conversations"] += 1
            seat["reached"].add(stands.elector_id)
    return {key: {**value, "reached": len(value["reached"])} for key, value in counts.items()}


def test_rollups_kept_by_the_job_equal_a_rebuild_after_random_pushes_imports_and_undos(app, client, tmp_path):
    rng = random.Random(20261129)
    world = make_world()
    add_codes(world.campaign)
    add_codes(world.local_drive)
    today = date.today()
    # Last spring's by-election, long over, in which nobody recorded anything.
    db.session.add(Campaign(name="Spring by-election", kind=CampaignKind.BY_ELECTION,
                            starts_on=today - timedelta(days=200), ends_on=today - timedelta(days=150)))
    for clp, count in ((world.home, 60), (world.neighbour, 40), (world.away, 30)):
        clp.electors += build_register(clp, count)
    # The registers were loaded long ago (so they were on the register during the spring by-election too).
    db.session.execute(Elector.__table__.update().values(created_at=datetime.now(timezone.utc) - timedelta(days=400)))
    fenwick = Constituency(code="E14000009", name="Fenwick", region_id=world.north.id)
    db.session.add(fenwick)
    db.session.flush()
    ward = Ward(constituency_id=fenwick.id, code="FEN-W1", name="Fenwick Central")
    db.session.add(ward)
    db.session.flush()
    db.session.add(PollingDistrict(ward_id=ward.id, constituency_id=fenwick.id, code="FA1", name="Fenwick FA1"))
    db.session.commit()
    canvass = Canvass(client, world, rng)
    canvass.reach["national"] = [e.id for clp in (world.home, world.neighbour, world.away) for e in clp.electors]
    canvass.reach["admin"] = [e.id for e in world.home.electors]
    admin = login(client, Role.CLP_ADMIN)
    sheet = None

    for step in range(12):
        for name in ("national", "admin", "canvasser"):
            if rng.random() < 0.7:
                canvass.round(name, rng.randint(3, 12))
        if step == 2:  # a canvass sheet kept during an outage: 25 conversations on the home CLP's streets
            rows = [row(e, today - timedelta(days=rng.randint(2, 20))) for e in rng.sample(world.home.electors[3:], 25)]
            made = upload(client, admin, csv_bytes(rows), "outage.csv", campaign_id=world.campaign.id)
            assert made.status_code == 201, made.get_json()
            sheet = made.get_json()["id"]
            committed = run_job(client, admin, sheet, "commit")
            assert committed["status"] == "committed" and committed["result"]["counts"]["new"] > 0
        if step == 4:  # Fenwick's first register: 30 electors; the national office's phone starts on them
            import_register(write_register(tmp_path, "fenwick-1.csv", register_rows("FA1", range(1, 31))),
                            "E14000009", edition_date=today - timedelta(days=20))
            canvass.reach["national"] += list(db.session.scalars(
                select(Elector.id).where(Elector.constituency_id == fenwick.id)))
        if step == 6:  # the sheet was a mistake: undone
            assert run_job(client, admin, sheet, "undo")["status"] == "undone"
        if step == 7:  # the home CLP's next edition (an update) adds four electors
            import_register(write_register(tmp_path, "home-update.csv", register_rows(
                "AA1", range(5001, 5005), street="New Road", town="Ashford")), world.home.constituency.code,
                mode="update", edition_date=today - timedelta(days=2))
        if step == 8:  # Fenwick's next edition: 28 of the 30 again, and 5 newcomers
            import_register(write_register(tmp_path, "fenwick-2.csv", register_rows(
                "FA1", [*range(1, 29), *range(31, 36)])), "E14000009", edition_date=today - timedelta(days=1))
        if step == 9:  # the home CLP's drive is re-dated: it began a week later
            drive = world.local_drive
            response = client.patch(f"/api/v1/campaigns/{drive.id}", headers=bearer(admin), json={
                "starts_on": (drive.starts_on + timedelta(days=7)).isoformat()})
            assert response.status_code == 200, response.get_json()
        if rng.random() < 0.6:
            rollups.catch_up()
    canvass.flush()
    rollups.catch_up()

    assert canvass.statuses["applied"] > 150, dict(canvass.statuses)
    kept = snapshot()
    assert kept["activity_rollup"] and kept["activity_seat"]
    rollups.rebuild()
    rebuilt = snapshot()
    for table in kept:
        assert kept[table] == rebuilt[table], table

    # The seats' totals, against a count by hand from contact_record.
    campaigns = [world.campaign.id, world.local_drive.id]
    counted = by_hand(campaigns)
    seats = {key: dict(zip(SEAT_COLUMNS, values)) for key, values in rebuilt["activity_seat"].items()
             if key[0] in campaigns}
    for key, expected in counted.items():
        assert {m: seats[key][m] for m in expected} == expected, key
    assert all(seats[key]["contacts"] == 0 for key in seats if key not in counted)
    # ...and against the sync engine's own fold of each elector (contacts by channel, every campaign).
    folded = sum(sum(state.contacts.values()) for state in db.session.scalars(select(ElectorState)))
    assert folded == sum(r[2] for r in rebuilt["activity_rollup"].values())

    # The electorates, against the register: Fenwick's 30, then 35 (the two who left during the campaign still
    # count); the home CLP's 63 (3 + 60) and the four added by the update.
    electorate = {k: v[-1] for k, v in rebuilt["activity_seat"].items()}
    assert electorate[(world.campaign.id, fenwick.id)] == 35
    assert electorate[(world.campaign.id, world.home.constituency.id)] == 63 + 4
    assert db.session.scalar(select(func.count()).select_from(Elector).where(
        Elector.constituency_id == fenwick.id, Elector.removed_at.is_not(None))) == 2
    # Nobody recorded anything in the spring by-election, and it is over: it has no rows, kept or rebuilt.
    spring = db.session.scalar(select(Campaign.id).where(Campaign.name == "Spring by-election"))
    assert not [k for k in kept["activity_seat"] if k[0] == spring]


def test_a_correction_of_a_refused_correction_still_corrects_the_original(app, client):
    """A phone corrects a contact, the correction is refused (an unknown code), and the phone corrects again,
    naming the refused correction as the one it replaces (docs/sync-protocol.md 7.3.2). The sync engine joins
    the three into one conversation through the refused one's receipt; so must the rollups."""
    world = make_world()
    phone = HttpPhone(client, Role.CANVASSER)
    ava = world.home.electors[0]
    first = phone.contact(world, ava, "SPOKE", at=datetime.combine(world.campaign.starts_on + timedelta(days=1),
                                                                   time(10), timezone.utc))
    refused = phone._mutation("contact_correction", {**first["data"], "supersedes": first["id"], "outcome": "ZZ"})
    again = phone._mutation("contact_correction", {**first["data"], "supersedes": refused["id"], "outcome": "NH"})
    assert [r["status"] for r in phone.push([first]).get_json()["results"]] == ["applied"]
    assert [r["status"] for r in phone.push([refused]).get_json()["results"]] == ["rejected"]
    assert [r["status"] for r in phone.push([again]).get_json()["results"]] == ["applied"]
    db.session.expire_all()
    assert db.session.get(ElectorState, ava.id).contacts == {"door": 1}  # one knock, not home
    rollups.rebuild()
    seat = db.session.get(ActivitySeat, (world.campaign.id, world.home.constituency.id))
    assert (seat.contacts, seat.doors, seat.conversations, seat.reached) == (1, 1, 0, 0)
