"""`flask demo`: the made-up dataset people first explore Groundwork with, and the lists its volunteers open."""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    Assignment,
    AssignmentKind,
    AssignmentUser,
    AuditEvent,
    Campaign,
    CampaignCode,
    CodeSet,
    Constituency,
    ContactRecord,
    Elector,
    ElectorStatus,
    Member,
    PollingDistrict,
    Property,
    Region,
    Role,
    SurveyQuestion,
    User,
)
from server.orm import utcnow
from server.services.demo import DEMO_PASSWORD, NEW_MEMBER_DAYS, build_demo
from server.services import demo_profiles

SMALL = "800"
POSTCODE = re.compile(r"^[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-Z]? [0-9][ABD-HJLNP-UW-Z]{2}$")
DRAMA_NUMBER = re.compile(
    r"^(07700 900\d{3}|01\d{2} 49[68] \d{4}|020 7946 0\d{3}|029 2018 0\d{3})$"
)


def build(runner, *args: str):
    result = runner.invoke(args=["demo", "--electors", SMALL, *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def fingerprint() -> str:
    """Names, addresses, numbers and record ids: everything a seed should fix, and no database ids."""
    electors = db.session.execute(
        select(Constituency.code, Elector.prefix, Elector.number, Elector.suffix, Elector.forenames, Elector.surname,
               Elector.markers, Elector.phone, Elector.status, Property.address_lines, Property.postcode)
        .join(Property, Property.id == Elector.property_id).join(Constituency, Constituency.id == Elector.constituency_id)
    ).all()
    members = db.session.execute(
        select(Member.membership_number, Member.first_name, Member.last_name, Member.email, Member.phone)
    ).all()
    records = db.session.scalars(select(ContactRecord.id)).all()
    users = db.session.scalars(select(User.email)).all()
    parts = sorted(map(repr, electors)) + sorted(map(repr, members)) + sorted(map(str, records)) + sorted(users)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def comparison_seats():
    """The 20 seats the demo CLPs are compared with (demo_profiles.py), each with a small register of its own."""
    return select(Constituency.id).where(Constituency.code.in_(demo_profiles.comparison_codes()))


def demo_electors() -> int:
    """Electors on the demo CLPs' registers: what ``--electors`` asks for."""
    return db.session.scalar(select(func.count()).select_from(Elector).where(
        Elector.constituency_id.not_in(comparison_seats())))


def test_the_demo_builds_every_roles_login_and_prints_it(runner):
    result = build(runner, "--seed", "3")

    for role in Role:
        user = db.session.scalar(select(User).where(User.email == f"{role.value}@demo.groundwork.test"))
        assert user is not None and user.role == role and user.active
        line = next(line for line in result.output.splitlines() if user.email in line)
        assert role.value in line and DEMO_PASSWORD in line
    first_clp = db.session.scalar(select(User.constituency_id).where(User.role == Role.CANVASSER,
                                                                      User.email.startswith("canvasser@")))
    for role in (Role.PHONE_BANKER, Role.CLP_ADMIN, Role.MEMBERSHIP_SECRETARY):
        assert db.session.scalar(select(User.constituency_id).where(User.email == f"{role.value}@demo.groundwork.test")) \
            == first_clp
    regional = db.session.scalar(select(User).where(User.role == Role.REGIONAL_STAFF))
    assert db.session.get(Constituency, first_clp).region_id == regional.region_id
    assert "electors" in result.output and "contact records" in result.output

    # Four CLPs with the electors asked for, and 20 seats to compare them with (demo_profiles.py), each with a
    # small register and some canvassing, so every seat has a contact rate (demo_comparison.py).
    assert count(Region) == 2 and count(Constituency) == 24
    assert demo_electors() == int(SMALL)
    assert db.session.scalar(select(func.count(func.distinct(Elector.constituency_id))).where(
        Elector.constituency_id.in_(comparison_seats()))) == 20
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "demo.build"))
    assert audit.details["seed"] == 3


def test_the_canvasser_logs_in_with_the_printed_password_and_sees_their_walk_list_in_order(runner, client):
    build(runner)
    response = client.post("/api/v1/auth/login", json={
        "email": "canvasser@demo.groundwork.test", "password": DEMO_PASSWORD, "device_name": "Demo phone"})
    assert response.status_code == 201, response.get_json()
    token = response.get_json()["token"]

    page = client.get("/api/v1/electors?per_page=500", headers={"Authorization": f"Bearer {token}"}).get_json()

    walk = db.session.scalar(select(Assignment).where(Assignment.kind == AssignmentKind.WALK))
    on_list = {item.property_id for item in walk.items}
    assert page["total"] > 0 and page["total"] <= 500
    assert {e["property"]["id"] for e in page["items"]} <= on_list
    # The register numbers a district in walk order, so the list reads back in elector-number order.
    numbers = [(e["number"], e["suffix"]) for e in page["items"]]
    assert numbers == sorted(numbers)
    assert len({e["prefix"] for e in page["items"]}) == 1


def test_the_phone_banker_has_a_call_list_of_electors_with_phone_numbers(runner):
    build(runner)
    banker = db.session.scalar(select(User).where(User.email == "phone_banker@demo.groundwork.test"))
    call = db.session.scalar(
        select(Assignment).join(AssignmentUser).where(AssignmentUser.user_id == banker.id)
    )
    assert call.kind == AssignmentKind.CALL
    now = utcnow()
    assert call.starts_at <= now < call.ends_at and call.constituency_id == banker.constituency_id
    electors = [db.session.get(Elector, item.elector_id) for item in call.items]
    assert electors and all(e.phone and e.status == ElectorStatus.CURRENT for e in electors)
    assert all(e.constituency_id == banker.constituency_id for e in electors)


def test_the_same_seed_builds_the_same_dataset(runner):
    build(runner, "--seed", "7")
    first = fingerprint()

    build(runner, "--seed", "7", "--reset")
    assert fingerprint() == first
    assert demo_electors() == int(SMALL)

    # Dates follow the day it is built; the people, addresses and record ids do not.
    build_demo(seed=7, electors=int(SMALL), reset=True, now=utcnow() + timedelta(days=100, hours=5))
    assert fingerprint() == first

    build(runner, "--seed", "8", "--reset")
    assert fingerprint() != first


def test_the_demo_refuses_to_overwrite_a_database_that_has_data(runner, app):
    build(runner)
    electors, records = count(Elector), count(ContactRecord)

    refused = runner.invoke(args=["demo", "--electors", SMALL])
    assert refused.exit_code != 0
    assert "already holds data" in refused.output and "--reset" in refused.output

    skipped = runner.invoke(args=["demo", "--electors", SMALL, "--if-empty"])
    assert skipped.exit_code == 0 and "leaving it" in skipped.output
    assert "canvasser@demo.groundwork.test" in skipped.output, "make run shows the logins every time"

    assert (count(Elector), count(ContactRecord)) == (electors, records)
    assert count(Campaign) == 1


def test_the_demo_refuses_a_database_holding_only_someone_elses_account(runner):
    from server.services import accounts

    accounts.create_user(email="admin@example.test", name="Real Admin", password="a long real password",
                         role=Role.NATIONAL_ADMIN)

    refused = runner.invoke(args=["demo", "--electors", SMALL])

    assert refused.exit_code != 0 and "app_user" in refused.output
    assert count(Region) == 0 and count(User) == 1


def test_the_demo_will_not_run_in_production_without_force(runner, app):
    app.config["ENV"] = "production"

    refused = runner.invoke(args=["demo", "--electors", SMALL])

    assert refused.exit_code != 0 and "production" in refused.output
    assert count(Region) == 0


def test_every_elector_lives_at_a_property_in_their_own_constituency_and_polling_district(runner):
    build(runner)
    mismatched = db.session.scalar(
        select(func.count()).select_from(Elector)
        .join(Property, Property.id == Elector.property_id)
        .join(PollingDistrict, PollingDistrict.id == Elector.polling_district_id)
        .where(
            (Property.constituency_id != Elector.constituency_id)
            | (Property.polling_district_id != Elector.polling_district_id)
            | (PollingDistrict.constituency_id != Elector.constituency_id)
            | (PollingDistrict.code != Elector.prefix)
        )
    )
    assert mismatched == 0
    assert db.session.scalar(select(func.count()).select_from(Property).where(~Property.electors.any())) == 0

    properties = db.session.scalars(select(Property)).all()
    assert all(POSTCODE.match(p.postcode) for p in properties)
    assert all(p.street and p.house_number and p.sort_key and p.address_key for p in properties)
    # Neighbours share a postcode, as on a real street.
    by_postcode = defaultdict(int)
    for p in properties:
        by_postcode[p.postcode] += 1
    assert max(by_postcode.values()) > 3

    phones = db.session.scalars(select(Elector.phone).where(Elector.phone.is_not(None))).all()
    assert phones and all(DRAMA_NUMBER.match(phone) for phone in phones)
    assert len(set(phones)) == len(phones)

    electors = db.session.scalars(select(Elector)).all()
    assert any(e.suffix for e in electors)
    assert any(e.status == ElectorStatus.REMOVED for e in electors)
    attainers = [e for e in electors if "N" in e.markers]
    assert attainers and all(e.attainer_date for e in attainers)
    # Households of two or more mostly share a surname.
    households = defaultdict(list)
    for e in electors:
        households[e.property_id].append(e.surname)
    shared = [len(set(names)) == 1 for names in households.values() if len(names) > 1]
    assert sum(shared) > 0.6 * len(shared)
    assert max(len(names) for names in households.values()) <= 5


def test_there_are_blocks_of_flats(runner):
    build(runner)
    flats = db.session.scalars(
        select(Property).where(Property.building.is_not(None))
        .order_by(Property.constituency_id, Property.street, Property.house_number, Property.sort_key)
    ).all()
    blocks = defaultdict(list)
    for p in flats:
        blocks[(p.constituency_id, p.street, p.house_number, p.building)].append(p)
    big = [homes for homes in blocks.values() if len(homes) >= 4]
    assert big
    # In every demo CLP (the comparison seats' small registers are streets of houses).
    assert {homes[0].constituency_id for homes in big} == set(db.session.scalars(
        select(Elector.constituency_id).where(Elector.constituency_id.not_in(comparison_seats()))))
    for homes in big:
        first = homes[0]
        assert first.address_lines[:3] == [first.flat, first.building, f"{first.house_number} {first.street}"]
        # Walk order takes the flats of a building together, in number order ("Flat 2" before "Flat 10").
        numbers = [int(p.flat.split()[-1]) for p in homes]
        assert numbers == sorted(numbers)


def test_some_members_joined_in_the_last_month(runner):
    build(runner)
    secretary = db.session.scalar(select(User).where(User.role == Role.MEMBERSHIP_SECRETARY))
    since = utcnow().date() - timedelta(days=NEW_MEMBER_DAYS)

    new = db.session.scalars(
        select(Member).where(Member.constituency_id == secretary.constituency_id, Member.joined_on >= since)
    ).all()

    assert new
    assert all(m.membership_number and (m.email or m.phone) and m.address_lines and m.postcode for m in new)
    members = db.session.scalars(select(Member)).all()
    assert len({m.membership_number for m in members}) == len(members)
    assert any(m.joined_on < since for m in members)
    linked = [m for m in members if m.elector_id]
    assert linked and len(linked) < len(members)
    for m in linked:
        elector = db.session.get(Elector, m.elector_id)
        assert elector.surname == m.last_name and elector.property.postcode == m.postcode


def test_the_campaign_has_uk_code_sets_a_survey_and_a_few_weeks_of_history(runner):
    build(runner)
    campaign = db.session.scalar(select(Campaign))
    today = utcnow().date()
    assert campaign.constituency_id is None and campaign.starts_on < today < campaign.ends_on
    assert campaign.call_script
    codes = defaultdict(dict)
    for code in db.session.scalars(select(CampaignCode)):
        codes[code.code_set][code.code] = code
    assert {"LAB", "CON", "LD", "GRN", "REF", "PC", "SNP", "OTH", "AGAINST", "UNDECIDED", "WONT_SAY",
            "WONT_VOTE"} <= set(codes[CodeSet.INTENTION])
    assert all(c.colour for c in codes[CodeSet.INTENTION].values())
    assert all(c.meaning and c.channels for c in codes[CodeSet.OUTCOME].values())
    assert codes[CodeSet.STRENGTH]
    assert {q.key for q in db.session.scalars(select(SurveyQuestion))} >= {"top_issue", "postal_vote", "likelihood"}

    records = db.session.scalars(select(ContactRecord)).all()
    assert records
    for r in records:
        assert r.outcome in codes[CodeSet.OUTCOME]
        assert r.channel.value in codes[CodeSet.OUTCOME][r.outcome].channels
        if r.outcome != "SPOKE":
            assert r.intention is None and r.strength is None and not r.survey_answers
        assert r.occurred_at < r.received_at <= utcnow() and r.occurred_at.date() >= campaign.starts_on
        assert r.user_id is not None
    assert any(r.intention for r in records)
    volunteers = {u.id for u in db.session.scalars(select(User).where(User.role.in_([Role.CANVASSER, Role.PHONE_BANKER])))}
    assert {r.user_id for r in records} <= volunteers
    contacted = len({r.elector_id for r in records})
    assert 0 < contacted < count(Elector) / 2


def test_the_register_can_grow_after_the_demo(runner):
    build(runner)
    district = db.session.scalar(select(PollingDistrict).order_by(PollingDistrict.id))
    home = Property(constituency_id=district.constituency_id, polling_district_id=district.id,
                    address_lines=["1 New Street", "Newtown"], postcode="EF9 9ZZ", street="New Street",
                    house_number=1, sort_key="1new street|0000010|0|0", address_key="1 new street newtown|EF99ZZ")
    db.session.add(home)
    db.session.flush()
    db.session.add(Elector(constituency_id=district.constituency_id, polling_district_id=district.id,
                           property_id=home.id, prefix=district.code, number=9999, surname="Newcomer",
                           forenames="Nia"))
    db.session.commit()

    assert demo_electors() == int(SMALL) + 1


@pytest.mark.slow
def test_the_default_demo_builds_quickly(runner):
    import time

    started = time.monotonic()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert demo_electors() == 40_000
    assert time.monotonic() - started < 60


def test_the_demo_history_is_folded_into_each_electors_state(runner, app):
    from sqlalchemy import func, select

    from server.extensions import db
    from server.models import ElectorState

    build(runner)
    contacted = db.session.scalar(select(func.count(func.distinct(ContactRecord.elector_id))))
    assert contacted > 0
    assert count(ElectorState) == contacted
    assert db.session.scalar(select(func.count()).select_from(ElectorState).where(ElectorState.intention.is_not(None))) > 0
