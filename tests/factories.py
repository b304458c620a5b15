"""Builders for small, readable test worlds: two regions, three CLPs, one user of every role."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from server.extensions import db
from server.models import (
    Assignment,
    AssignmentItem,
    AssignmentKind,
    AssignmentUser,
    Campaign,
    CampaignCode,
    CampaignKind,
    Channel,
    CodeSet,
    Constituency,
    ContactRecord,
    Elector,
    OutcomeMeaning,
    PollingDistrict,
    Property,
    RecordSource,
    Region,
    Role,
    Ward,
)
from server.services import accounts

PASSWORD = "correct horse battery staple"
NOW = datetime.now(timezone.utc)


@dataclass
class Clp:
    constituency: Constituency
    ward: Ward
    district: PollingDistrict
    properties: list[Property] = field(default_factory=list)
    electors: list[Elector] = field(default_factory=list)


@dataclass
class World:
    north: Region
    south: Region
    home: Clp  # the CLP where every CLP-scoped test user works (in the north)
    neighbour: Clp  # another CLP in the same region
    away: Clp  # a CLP in the other region
    campaign: Campaign
    local_drive: Campaign  # the home CLP's own drive
    away_drive: Campaign
    users: dict[Role, object] = field(default_factory=dict)


def make_clp(region: Region, code: str, name: str, prefix: str) -> Clp:
    constituency = Constituency(code=code, name=name, region=region)
    ward = Ward(constituency=constituency, code=f"{code}-W1", name=f"{name} Central")
    db.session.add_all([constituency, ward])
    db.session.flush()
    district = PollingDistrict(ward=ward, constituency_id=constituency.id, code=prefix, name=f"{name} {prefix}")
    db.session.add(district)
    db.session.flush()
    clp = Clp(constituency, ward, district)
    number = 0
    for house in (1, 2):
        prop = Property(
            constituency_id=constituency.id, polling_district_id=district.id,
            address_lines=[str(house), "High Street", name], postcode="EF1 1AA", street="High Street",
            house_number=house, sort_key=f"high street|{house:05d}", address_key=f"{code}|{house} high street|ef11aa",
        )
        db.session.add(prop)
        db.session.flush()
        clp.properties.append(prop)
        for forename in ("Ava", "Ben") if house == 1 else ("Cara",):
            number += 1
            elector = Elector(
                constituency_id=constituency.id, polling_district_id=district.id, property_id=prop.id,
                prefix=prefix, number=number, surname=f"{name.split()[0]}son", forenames=forename,
            )
            db.session.add(elector)
            clp.electors.append(elector)
    db.session.flush()
    return clp


def add_street(clp: Clp, count: int, street: str = "Long Street") -> list[Elector]:
    """``count`` more houses in the CLP's district, one elector each (numbered after those already there)."""
    constituency, district = clp.constituency, clp.district
    added = []
    for house in range(1, count + 1):
        prop = Property(
            constituency_id=constituency.id, polling_district_id=district.id,
            address_lines=[f"{house} {street}", constituency.name], postcode="EF1 2BB", street=street,
            house_number=house, sort_key=f"{street.lower()}|{house:05d}",
            address_key=f"{constituency.code}|{house} {street.lower()}|ef12bb",
        )
        db.session.add(prop)
        db.session.flush()
        clp.properties.append(prop)
        elector = Elector(constituency_id=constituency.id, polling_district_id=district.id, property_id=prop.id,
                          prefix=district.code, number=100 + len(clp.electors), surname=f"Street{house}",
                          forenames="Sam")
        db.session.add(elector)
        db.session.flush()
        clp.electors.append(elector)
        added.append(elector)
    db.session.commit()
    return added


def make_campaign(name: str, constituency: Constituency | None = None) -> Campaign:
    campaign = Campaign(
        name=name, kind=CampaignKind.GENERAL_ELECTION if constituency is None else CampaignKind.LOCAL_DRIVE,
        starts_on=date.today() - timedelta(days=30), ends_on=date.today() + timedelta(days=60),
        constituency_id=constituency.id if constituency else None,
    )
    campaign.codes = [
        CampaignCode(code_set=CodeSet.OUTCOME, code="SPOKE", label="Spoke", meaning=OutcomeMeaning.SPOKE,
                     channels=["door", "phone"], position=1),
        CampaignCode(code_set=CodeSet.OUTCOME, code="NH", label="Not home", meaning=OutcomeMeaning.NOT_HOME,
                     channels=["door"], position=2),
        CampaignCode(code_set=CodeSet.INTENTION, code="LAB", label="Labour", colour="#E4003B", position=1),
        CampaignCode(code_set=CodeSet.INTENTION, code="UND", label="Undecided", position=2),
        CampaignCode(code_set=CodeSet.STRENGTH, code="1", label="Strong", position=1),
    ]
    db.session.add(campaign)
    db.session.flush()
    return campaign


def make_world() -> World:
    """Two regions; the home and neighbour CLPs in the north, the away CLP in the south."""
    north, south = Region(code="N", name="North"), Region(code="S", name="South")
    db.session.add_all([north, south])
    db.session.flush()
    home = make_clp(north, "E14000001", "Ashford North", "AA1")
    neighbour = make_clp(north, "E14000002", "Bramley", "BA1")
    away = make_clp(south, "E14000003", "Coleford", "CA1")
    world = World(
        north=north, south=south, home=home, neighbour=neighbour, away=away,
        campaign=make_campaign("General Election"),
        local_drive=make_campaign("Ashford North summer drive", home.constituency),
        away_drive=make_campaign("Coleford summer drive", away.constituency),
    )
    db.session.commit()
    for role in Role:
        world.users[role] = accounts.create_user(
            email=f"{role.value}@example.test", name=role.value.replace("_", " ").title(), password=PASSWORD,
            role=role,
            constituency_code=home.constituency.code if role.value not in ("regional_staff", "national_admin") else None,
            region_code=north.code if role == Role.REGIONAL_STAFF else None,
        )
    # The canvasser holds a walk list of the home CLP's first property; the phone banker a call list.
    assign(world, Role.CANVASSER, AssignmentKind.WALK, property=home.properties[0])
    assign(world, Role.PHONE_BANKER, AssignmentKind.CALL, elector=home.electors[2])
    return world


def assign(world: World, role: Role, kind: AssignmentKind, *, property=None, elector=None,
           starts_at: datetime | None = None, ends_at: datetime | None = None) -> Assignment:
    constituency_id = (property or elector).constituency_id
    assignment = Assignment(
        campaign_id=world.campaign.id, constituency_id=constituency_id, kind=kind, name=f"{kind.value} list",
        starts_at=starts_at or NOW - timedelta(days=1), ends_at=ends_at or NOW + timedelta(days=14),
    )
    assignment.items = [AssignmentItem(property_id=property.id if property else None,
                                       elector_id=elector.id if elector else None)]
    assignment.assignees = [AssignmentUser(user_id=world.users[role].id)]
    db.session.add(assignment)
    db.session.commit()
    return assignment


def contact(world: World, elector: Elector, *, user_role: Role = Role.CANVASSER, outcome: str = "SPOKE",
            intention: str | None = "LAB", occurred_at: datetime | None = None) -> ContactRecord:
    record = ContactRecord(
        id=uuid.uuid4(), campaign_id=world.campaign.id, constituency_id=elector.constituency_id,
        elector_id=elector.id, channel=Channel.DOOR, outcome=outcome, intention=intention,
        occurred_at=occurred_at or NOW, user_id=world.users[user_role].id, source=RecordSource.PWA,
    )
    db.session.add(record)
    db.session.commit()
    return record


def login(client, role_or_email, *, password: str = PASSWORD, device_name: str = "Test phone") -> str:
    """Log in through the API and return the bearer token."""
    email = f"{role_or_email.value}@example.test" if isinstance(role_or_email, Role) else role_or_email
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password, "device_name": device_name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
