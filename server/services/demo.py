"""A realistic, made-up dataset to explore Groundwork with: geography, register, members, a campaign,
a few weeks of canvassing and one login per role. Every name, address, postcode and phone number is
fictional, and the same seed always builds the same people, addresses and contact-record ids.
"""
from __future__ import annotations

import hashlib
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Sequence

from flask import current_app
from sqlalchemy import func, insert, inspect, select, text
from werkzeug.security import generate_password_hash

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
    ElectorStatus,
    Member,
    MemberStatus,
    PollingDistrict,
    Property,
    RecordKind,
    RecordSource,
    Region,
    RegisterEdition,
    ReviewItem,
    Role,
    SurveyQuestion,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
    User,
    Ward,
)
from server.orm import utcnow
from server.services import audit, demo_comparison, demo_profiles
from server.services import demo_vocabulary as vocabulary
from server.services.register_parse import ParsedAddress, address_key, parse_address

try:
    from zoneinfo import ZoneInfo

    LONDON = ZoneInfo("Europe/London")
except Exception:  # no tz database on this machine: UTC is close enough for a demo
    LONDON = timezone.utc

# Printed by `flask demo` and documented: the dataset is for local exploration, never production.
DEMO_PASSWORD = "groundwork-demo"
DEMO_EMAIL_DOMAIN = "demo.groundwork.test"
DEFAULT_ELECTORS = 40_000
MIN_ELECTORS = 200
MAX_ELECTORS = 400_000
NEW_MEMBER_DAYS = 30

_CHUNK = 5_000
_HISTORY_DAYS = 21  # canvassing happened over the last three weeks of a campaign that began four weeks ago


class DemoRefused(Exception):
    """The database is not in a state the demo may build into (it already holds data)."""


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    scope: str


@dataclass
class DemoSummary:
    seed: int
    logins: list[DemoLogin]
    counts: dict[str, int]


# --------------------------------------------------------------------------------------------------
# The plan: everything is drawn in memory first (no database ids involved, so the draws never depend
# on the database), then written in bulk.

@dataclass(slots=True, eq=False)
class _Elector:
    prop: "_Property"
    surname: str
    forenames: str
    markers: str = ""
    attainer_days: int | None = None
    removed_days: int | None = None
    number: int = 0
    suffix: int = 0
    phone: str | None = None
    id: int | None = None

    @property
    def current(self) -> bool:
        return self.removed_days is None


@dataclass(slots=True, eq=False)
class _Property:
    district: "_District"
    street: str
    house_number: int
    building: str | None
    flat: str | None
    postcode: str = ""
    lines: list = field(default_factory=list)
    # Parsed by the register importer's own parser, so a later import of these addresses matches them.
    parsed: ParsedAddress | None = None
    electors: list[_Elector] = field(default_factory=list)
    id: int | None = None


@dataclass(slots=True, eq=False)
class _District:
    clp: "_Clp"
    ward_index: int
    code: str
    name: str
    sector: int
    target: int
    properties: list[_Property] = field(default_factory=list)
    id: int | None = None


@dataclass(slots=True, eq=False)
class _Clp:
    index: int
    region_index: int
    code: str
    name: str
    towns: tuple
    area: str
    wards: list = field(default_factory=list)  # (code, name)
    ward_ids: list = field(default_factory=list)
    districts: list[_District] = field(default_factory=list)
    streets: set = field(default_factory=set)
    id: int | None = None
    edition_id: int | None = None

    def electors(self) -> list[_Elector]:
        return [e for d in self.districts for p in d.properties for e in p.electors]


def _weighted(rng: random.Random, pairs: Sequence[tuple]):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights``, every part at least 1, summing exactly to ``total``."""
    scale = sum(weights)
    parts = [max(1, int(total * w / scale)) for w in weights]
    i = 0
    while sum(parts) < total:
        parts[i % len(parts)] += 1
        i += 1
    while sum(parts) > total:
        parts[max(range(len(parts)), key=lambda k: parts[k])] -= 1
    return parts


def _collation_safe(name: str, others: Iterable[str]) -> bool:
    """False if ``name`` might sort against one of ``others`` differently on SQLite and PostgreSQL.

    Binary order (SQLite) and linguistic order (PostgreSQL) agree when two strings first differ at two
    letters of the same case; at a space or an apostrophe they may not ("Mill Lane", "Millbrook Road").
    """
    for other in others:
        for a, b in zip(name, other):
            if a != b:
                if not (a.isalpha() and b.isalpha() and a.islower() == b.islower()):
                    return False
                break
    return True


class _PhonePool:
    """Unique numbers from Ofcom's drama ranges: mostly mobiles while they last, landlines after."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.mobiles = [f"{vocabulary.MOBILE_RANGE[0]}{n:03d}" for n in range(vocabulary.MOBILE_RANGE[1])]
        self.landlines = [f"{prefix}{n:03d}" for prefix in vocabulary.LANDLINE_RANGES for n in range(1000)]
        rng.shuffle(self.mobiles)
        rng.shuffle(self.landlines)

    def take(self) -> str:
        first, second = (self.mobiles, self.landlines) if self.rng.random() < 0.7 else (self.landlines, self.mobiles)
        if first:
            return first.pop()
        if second:
            return second.pop()
        # Only a demo of several hundred thousand electors gets here: numbers start to repeat.
        return f"{vocabulary.MOBILE_RANGE[0]}{self.rng.randrange(vocabulary.MOBILE_RANGE[1]):03d}"


class _Planner:
    """Draws the geography and the register. Each concern has its own random stream, so adding a
    draw to one (say, members) leaves the others (say, addresses) exactly as they were."""

    def __init__(self, seed: int, electors: int):
        self.total = electors
        self.geo = random.Random(f"groundwork-demo:{seed}:geography")
        self.people = random.Random(f"groundwork-demo:{seed}:people")
        self.clps: list[_Clp] = []

    def plan(self) -> tuple[list[_Clp], _PhonePool]:
        self._geography()
        for clp in self.clps:
            for district in clp.districts:
                self._district(clp, district)
        return self.clps, self._phones()

    def _geography(self) -> None:
        rng = self.geo
        for region_index, (_code, _name, seats) in enumerate(vocabulary.REGIONS):
            for name, towns in rng.sample(seats, 2):
                i = len(self.clps)
                self.clps.append(_Clp(i, region_index, f"E140990{i + 1:02d}", name, towns, vocabulary.POSTCODE_AREAS[i]))
        clp_targets = _apportion(self.total, [rng.uniform(0.9, 1.1) for _ in self.clps])
        for clp, clp_target in zip(self.clps, clp_targets):
            specs = []
            for w, ward_name in enumerate(sorted(rng.sample(vocabulary.WARD_NAMES, rng.randint(3, 5)))):
                clp.wards.append((f"E05099{clp.index + 1}{w + 1:02d}", ward_name))
                letters = "A" + "ABCDEFGHJKLMNPRSTUVW"[w]
                for d, suffix in enumerate(sorted(rng.sample(vocabulary.DISTRICT_SUFFIXES, rng.randint(2, 4)))):
                    specs.append((w, f"{letters}{d + 1}", f"{ward_name} {suffix}", d + 1))
            targets = _apportion(clp_target, [rng.uniform(0.6, 1.4) for _ in specs])
            clp.districts = [_District(clp, w, code, name, sector, t) for (w, code, name, sector), t in zip(specs, targets)]

    def _street_name(self, clp: _Clp, here: list[str]) -> str:
        rng = self.geo
        for attempt in range(500):
            name = f"{rng.choice(vocabulary.STREET_WORDS)} {_weighted(rng, vocabulary.STREET_KINDS)}"
            if attempt >= 250:  # a very large demo has used most plain names in this CLP
                name = f"{rng.choice(('Upper', 'Lower', 'Little', 'Great', 'Old'))} {name}"
            if name not in clp.streets and _collation_safe(name, here):
                clp.streets.add(name)
                here.append(name)
                return name
        raise RuntimeError("ran out of distinct street names; ask for fewer electors")

    def _district(self, clp: _Clp, district: _District) -> None:
        """Streets of houses (some split into flats, some blocks of flats) until the district is full."""
        rng = self.geo
        remaining = district.target
        names: list[str] = []
        streets: list[tuple[str, list[_Property]]] = []
        while remaining > 0:
            street = self._street_name(clp, names)
            houses = rng.randint(8, 60)
            block_at = rng.randint(1, houses) if rng.random() < 0.3 else None
            if not streets and district is clp.districts[0]:
                # Every CLP, and the walk list handed out in the first, has a block of flats however small the demo.
                block_at = rng.randint(1, 3)
            props: list[_Property] = []
            for number in range(1, houses + 1):
                if number == block_at:
                    building = f"{rng.choice(vocabulary.BUILDING_WORDS)} {rng.choice(vocabulary.BUILDING_KINDS)}"
                    flats = [(building, f"Flat {n}") for n in range(1, rng.randint(6, 24) + 1)]
                elif rng.random() < 0.04:  # a house split into flats
                    flats = [(None, f"Flat {x}") for x in "ABC"[: rng.randint(2, 3)]]
                else:
                    flats = [(None, None)]
                for building, flat in flats:
                    if remaining <= 0:
                        break
                    prop = _Property(district, street, number, building, flat)
                    remaining -= self._household(prop, remaining, flat=flat is not None)
                    props.append(prop)
                if remaining <= 0:
                    break
            streets.append((street, props))
        streets.sort(key=lambda s: s[0])  # walk order: street, then house number, then flats in their building
        town = clp.towns[district.ward_index % len(clp.towns)]
        outward = f"{clp.area}{district.ward_index + 1}"
        sector, unit = district.sector, -1
        for _street, props in streets:
            unit, left, building = unit + 1, rng.randint(8, 18), None
            for prop in props:
                if prop.building != building:
                    # A block of flats has a postcode of its own, and the street resumes on a new one.
                    unit, left, building = unit + 1, rng.randint(8, 18), prop.building
                elif left <= 0:
                    unit, left = unit + 1, rng.randint(8, 18)
                left -= 1
                if unit >= len(vocabulary.UNIT_LETTERS) ** 2:
                    sector, unit = sector + 4, 0  # districts take sectors 1-4 first; overflow moves on by four
                prop.postcode = f"{outward} {sector % 10}{vocabulary.UNIT_LETTERS[unit // 20]}{vocabulary.UNIT_LETTERS[unit % 20]}"
                prop.lines = [x for x in (prop.flat, prop.building, f"{prop.house_number} {prop.street}", town) if x]
                prop.parsed = parse_address(prop.lines)
                district.properties.append(prop)
        # Number electors in exactly the order a walk list is read back in.
        district.properties.sort(key=lambda p: (p.street, p.house_number, p.parsed.sort_key))
        number, previous = 0, None
        for prop in district.properties:
            for position, elector in enumerate(prop.electors):
                # A monthly update slots a newcomer in after a housemate, with that number and a suffix.
                if position > 0 and previous.suffix == 0 and rng.random() < 0.012:
                    elector.number, elector.suffix = previous.number, 1
                else:
                    number += 1
                    elector.number = number
                previous = elector

    def _household(self, prop: _Property, remaining: int, *, flat: bool) -> int:
        rng = self.people
        sizes = ((1, 50), (2, 35), (3, 10), (4, 5)) if flat else ((1, 29), (2, 35), (3, 15), (4, 13), (5, 8))
        size = min(_weighted(rng, sizes), remaining)
        origin = vocabulary.draw_origin(rng)
        surname = rng.choice(origin[1])
        eu_household = rng.random() < 0.02
        for position in range(size):
            for _attempt in range(50):
                # Mostly one surname per household; partners and lodgers sometimes bring their own.
                theirs = vocabulary.draw_origin(rng) if position > 0 and rng.random() < 0.18 else None
                own = rng.choice(theirs[1]) if theirs else surname
                female = rng.random() < 0.52
                forenames = vocabulary.draw_forename(rng, theirs or origin, female)
                if rng.random() < 0.25:
                    middle = vocabulary.draw_forename(rng, theirs or origin, female)
                    forenames += "" if middle == forenames else " " + middle
                # Housemates are listed by surname, then forenames; keep that order the same on every database.
                if _collation_safe(own, [e.surname for e in prop.electors if e.surname != own]) and _collation_safe(
                        forenames, [e.forenames for e in prop.electors if e.surname == own]):
                    break
            elector = _Elector(prop, own, forenames)
            markers = "E" if eu_household else ""
            if position >= 2 and rng.random() < 0.15:
                markers += "N"
                elector.attainer_days = rng.randint(5, 365)
            elif rng.random() < 0.004:
                markers += "F"
            elif rng.random() < 0.002:
                markers += "K"
            elector.markers = markers
            if rng.random() < 0.01:
                elector.removed_days = rng.randint(10, 70)
            prop.electors.append(elector)
        prop.electors.sort(key=lambda e: (e.surname, e.forenames))
        return size

    def _phones(self) -> _PhonePool:
        """A few per cent of current electors gave a phone number at an earlier canvass."""
        rng = self.people
        pool = _PhonePool(random.Random(rng.getrandbits(64)))
        for clp in self.clps:
            eligible = [e for e in clp.electors() if e.current and "F" not in e.markers]
            chosen = [e for e in eligible if rng.random() < 0.07]
            if len(chosen) < 12:  # a small demo still needs a call list worth opening
                chosen = sorted(rng.sample(eligible, min(12, len(eligible))), key=eligible.index)
            for elector in chosen:
                elector.phone = pool.take()
        return pool


# --------------------------------------------------------------------------------------------------
# Writing it.

def _insert(model, rows: list[dict], *, ids: bool = False) -> list[int]:
    """Bulk insert in chunks; with ``ids``, return the new primary keys in the order of ``rows``."""
    out: list[int] = []
    # Every row names every column (None included), so each chunk goes out as a few multi-row INSERTs;
    # the ORM would otherwise drop None values and split the rows into many small batches.
    options = {"render_nulls": True}
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        if ids:
            stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
            out.extend(db.session.execute(stmt, chunk, execution_options=options).scalars())
        else:
            db.session.execute(insert(model), chunk, execution_options=options)
    return out


def _insert_numbered(model, rows: list[dict]) -> list[int]:
    """Bulk insert with ids we number ourselves: without RETURNING, both drivers take their fast path.

    (psycopg otherwise rewrites one huge multi-row statement per thousand rows, three times slower here.)
    """
    first = (db.session.scalar(select(func.max(model.id))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    for id_, row in zip(ids, rows):
        row["id"] = id_
    _insert(model, rows)
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql" and rows:
        # The id sequence must move past the ids we took, or the next ordinary insert would collide.
        table = model.__table__.name
        db.session.execute(text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                           {"table": table, "last": ids[-1]})
    return ids


def _at(day: date, hour: int, minute: int) -> datetime:
    """A local (UK) wall-clock time on ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(timezone.utc)


def _email_part(textual: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", textual.lower())


class _Builder:
    def __init__(self, seed: int, electors: int, now: datetime):
        self.seed = seed
        self.electors_wanted = electors
        self.now = now
        self.today = now.astimezone(LONDON).date()
        self.rng_staff = random.Random(f"groundwork-demo:{seed}:staff")
        self.rng_members = random.Random(f"groundwork-demo:{seed}:members")
        self.rng_history = random.Random(f"groundwork-demo:{seed}:history")
        self.rng_ids = random.Random(f"groundwork-demo:{seed}:record-ids")
        self.counts: dict[str, int] = {}

    def build(self) -> DemoSummary:
        self.clps, self.phones = _Planner(self.seed, self.electors_wanted).plan()
        self._geography()
        self.counts.update(demo_profiles.add(self.region_ids, [c.id for c in self.clps], self.now))
        self._register()
        logins = self._users()
        self._campaign()
        self._members()
        self._history()
        self._comparison_activity()
        self._reviews()
        self._assignments()
        audit.record("demo.build", target_type="dataset", details={"seed": self.seed, "counts": self.counts})
        return DemoSummary(seed=self.seed, logins=logins, counts=self.counts)

    def _geography(self) -> None:
        region_ids = _insert(Region, [{"code": code, "name": name} for code, name, _ in vocabulary.REGIONS], ids=True)
        self.region_ids = region_ids
        self.regions = [(code, name) for code, name, _ in vocabulary.REGIONS]
        ids = _insert(Constituency, [
            {"code": c.code, "name": c.name, "region_id": region_ids[c.region_index]} for c in self.clps
        ], ids=True)
        for clp, id_ in zip(self.clps, ids):
            clp.id = id_
        wards = [(clp, code, name) for clp in self.clps for code, name in clp.wards]
        ids = _insert(Ward, [{"constituency_id": clp.id, "code": code, "name": name} for clp, code, name in wards], ids=True)
        for (clp, _, _), id_ in zip(wards, ids):
            clp.ward_ids.append(id_)
        districts = [d for clp in self.clps for d in clp.districts]
        ids = _insert(PollingDistrict, [
            {"ward_id": d.clp.ward_ids[d.ward_index], "constituency_id": d.clp.id, "code": d.code, "name": d.name}
            for d in districts
        ], ids=True)
        for district, id_ in zip(districts, ids):
            district.id = id_
        self.counts.update(regions=len(region_ids), constituencies=len(self.clps), wards=len(wards),
                           polling_districts=len(districts))

    def _register(self) -> None:
        imported_at = self.now - timedelta(days=35)
        ids = _insert(RegisterEdition, [
            {"constituency_id": clp.id, "label": f"Demo register for {clp.name} (seed {self.seed})", "mode": "full",
             "filename": None, "imported_at": imported_at, "added": len(clp.electors()),
             "sha256": hashlib.sha256(f"groundwork-demo:{self.seed}:{clp.code}".encode()).hexdigest()}
            for clp in self.clps
        ], ids=True)
        for clp, id_ in zip(self.clps, ids):
            clp.edition_id = id_
        props = [p for clp in self.clps for d in clp.districts for p in d.properties]
        ids = _insert_numbered(Property, [
            {"constituency_id": p.district.clp.id, "polling_district_id": p.district.id, "address_lines": p.lines,
             "postcode": p.postcode, "uprn": None, "street": p.parsed.street, "house_number": p.parsed.house_number,
             "building": p.parsed.building, "flat": p.parsed.flat, "sort_key": p.parsed.sort_key,
             "address_key": address_key(p.lines, p.postcode), "created_at": imported_at}
            for p in props
        ])
        for prop, id_ in zip(props, ids):
            prop.id = id_
        electors = [e for p in props for e in p.electors]
        rows = []
        for e in electors:
            district = e.prop.district
            rows.append({
                "constituency_id": district.clp.id, "polling_district_id": district.id, "property_id": e.prop.id,
                "prefix": district.code, "number": e.number, "suffix": e.suffix, "surname": e.surname,
                "forenames": e.forenames, "markers": e.markers,
                "attainer_date": None if e.attainer_days is None else self.today + timedelta(days=e.attainer_days),
                "status": ElectorStatus.CURRENT if e.current else ElectorStatus.REMOVED,
                "phone": e.phone, "first_seen_edition_id": district.clp.edition_id,
                "last_seen_edition_id": district.clp.edition_id,
                "removed_at": None if e.current else self.now - timedelta(days=e.removed_days),
                "version": 1, "created_at": imported_at, "updated_at": imported_at,
            })
        for e, id_ in zip(electors, _insert_numbered(Elector, rows)):
            e.id = id_
        self.counts.update(
            properties=len(props), flats=sum(1 for p in props if p.flat), electors=len(electors),
            electors_removed=sum(1 for e in electors if not e.current),
            electors_with_phone=sum(1 for e in electors if e.phone),
        )

    def _users(self) -> list[DemoLogin]:
        """One login per role (CLP roles in the first CLP), plus a few named volunteers in every CLP."""
        rng = self.rng_staff
        # One published password for every demo account: hashing it once per account would only cost time.
        password_hash = generate_password_hash(DEMO_PASSWORD, method=current_app.config["PASSWORD_HASH_METHOD"])
        first, region_code, region_name = self.clps[0], *self.regions[0]
        specs: list[tuple[Role, str, int | None, int | None, bool]] = []  # role, email, clp index, region, login
        for role in Role:
            if role == Role.REGIONAL_STAFF:
                specs.append((role, f"{role.value}@{DEMO_EMAIL_DOMAIN}", None, 0, True))
            elif role == Role.NATIONAL_ADMIN:
                specs.append((role, f"{role.value}@{DEMO_EMAIL_DOMAIN}", None, None, True))
            else:
                specs.append((role, f"{role.value}@{DEMO_EMAIL_DOMAIN}", 0, None, True))
        # Leaderboards and activity reports need more than one volunteer per CLP.
        for clp in self.clps:
            extra = [(Role.CANVASSER, 3), (Role.PHONE_BANKER, 2)]
            for role, count in extra:
                for _ in range(count - (1 if clp.index == 0 else 0)):
                    specs.append((role, "", clp.index, None, False))
        emails: set[str] = set()
        rows = []
        for role, email, clp_index, region_index, _login in specs:
            name = " ".join(vocabulary.draw_person(rng))
            if not email:
                base = ".".join(_email_part(part) for part in name.split(" ", 1))
                email, n = f"{base}@{DEMO_EMAIL_DOMAIN}", 1
                while email in emails:
                    n += 1
                    email = f"{base}{n}@{DEMO_EMAIL_DOMAIN}"
            emails.add(email)
            rows.append({
                "email": email, "name": name, "role": role,
                "password_hash": password_hash,
                "constituency_id": None if clp_index is None else self.clps[clp_index].id,
                "region_id": None if region_index is None else self.region_ids[region_index],
                "active": True, "created_at": self.now - timedelta(days=60),
                # Colleagues who chose to be on their CLP's leaderboard; the demo logins have not, so the
                # boards show them the offer rather than a rank (docs/recognition.md).
                "leaderboard_opt_in": not _login and clp_index is not None and len(rows) % 2 == 0,
            })
        ids = _insert(User, rows, ids=True)
        self.volunteers: dict[tuple[int, Role], list[int]] = {}
        self.user_ids: dict[Role, int] = {}
        for (role, _email, clp_index, _region, login), id_ in zip(specs, ids):
            if login:
                self.user_ids[role] = id_
            if clp_index is not None and role in (Role.CANVASSER, Role.PHONE_BANKER):
                self.volunteers.setdefault((clp_index, role), []).append(id_)
        self.counts["users"] = len(rows)
        scopes = {
            Role.REGIONAL_STAFF: f"region {region_name} ({region_code})",
            Role.NATIONAL_ADMIN: "the nation",
        }
        clp_scope = f"CLP {first.name} ({first.code})"
        return [
            DemoLogin(role.value, email, DEMO_PASSWORD, scopes.get(role, clp_scope))
            for role, email, _c, _r, login in specs if login
        ]

    def _campaign(self) -> None:
        campaign = Campaign(
            name="General Election 2029", kind=CampaignKind.GENERAL_ELECTION,
            starts_on=self.today - timedelta(days=28), ends_on=self.today + timedelta(days=120),
            constituency_id=None, call_script=vocabulary.CALL_SCRIPT, created_at=self.now - timedelta(days=30),
        )
        codes = [
            CampaignCode(code_set=CodeSet.OUTCOME, code=code, label=label, meaning=meaning, channels=channels, position=i)
            for i, (code, label, meaning, channels) in enumerate(vocabulary.OUTCOMES, 1)
        ]
        codes += [
            CampaignCode(code_set=CodeSet.INTENTION, code=code, label=label, colour=colour, channels=[], position=i)
            for i, (code, label, colour) in enumerate(vocabulary.INTENTIONS, 1)
        ]
        codes += [
            CampaignCode(code_set=CodeSet.STRENGTH, code=code, label=label, channels=[], position=i)
            for i, (code, label) in enumerate(vocabulary.STRENGTHS, 1)
        ]
        campaign.codes = codes
        campaign.questions = [
            SurveyQuestion(key=key, text=question, kind=kind, options=options, position=i)
            for i, (key, question, kind, options) in enumerate(vocabulary.QUESTIONS, 1)
        ]
        db.session.add(campaign)
        db.session.flush()
        self.campaign_id = campaign.id
        self.counts["campaigns"] = 1

    def _members(self) -> None:
        """A few per cent of electors are members; most are on the register, some moved in since."""
        rng = self.rng_members
        drafts = []  # (days since joining, clp, elector or None, first, last, lines, postcode, phone)
        for clp in self.clps:
            electors = clp.electors()
            eligible = [e for e in electors if e.current and not set(e.markers) & {"N", "F"}]
            count = max(6, round(len(eligible) * 0.035))
            recent = set(rng.sample(range(count), min(count, max(2, round(count * 0.06)))))
            linked = rng.sample(eligible, min(len(eligible), round(count * 0.85)))
            props = [p for d in clp.districts for p in d.properties]
            for i in range(count):
                if i < len(linked):
                    e = linked[i]
                    person = (e, e.forenames.split(" ")[0], e.surname, e.prop.lines, e.prop.postcode, e.phone)
                else:
                    prop = rng.choice(props)
                    person = (None, *vocabulary.draw_person(rng), prop.lines, prop.postcode, None)
                if i in recent:
                    days = rng.randint(0, NEW_MEMBER_DAYS - 1)
                else:
                    days = _weighted(rng, ((rng.randint(NEW_MEMBER_DAYS, 730), 40), (rng.randint(731, 3650), 35),
                                           (rng.randint(3651, 9000), 25)))
                drafts.append((days, clp, *person))
        # Membership numbers rise with the join date, as a national sequence would.
        drafts.sort(key=lambda d: -d[0])
        number = 1_000_000 + rng.randint(0, 50_000)
        rows = []
        for days, clp, elector, first, last, lines, postcode, phone in drafts:
            number += rng.randint(1, 60)
            joined = self.today - timedelta(days=days)
            joined_at = min(_at(joined, 12, 0), self.now)
            status = MemberStatus.ACTIVE
            if days > 400:
                status = _weighted(rng, ((MemberStatus.ACTIVE, 88), (MemberStatus.LAPSED, 9), (MemberStatus.RESIGNED, 3)))
            email = None
            if rng.random() < 0.92:
                tail = str(rng.randint(1, 99)) if rng.random() < 0.4 else ""
                domain = rng.choice(("example.com", "example.org", "example.net"))
                email = f"{_email_part(first)}.{_email_part(last)}{tail}@{domain}"
            if phone is None and rng.random() < 0.75:
                phone = self.phones.take()
            rows.append({
                "membership_number": f"L{number:07d}", "constituency_id": clp.id, "joined_on": joined,
                "status": status, "first_name": first, "last_name": last, "email": email, "phone": phone,
                "address_lines": list(lines), "postcode": postcode, "elector_id": elector.id if elector else None,
                "consent_email": bool(email) and rng.random() < 0.7,
                "consent_phone": bool(phone) and rng.random() < 0.45,
                "consent_post": rng.random() < 0.55,
                "consent_updated_at": joined_at, "created_at": joined_at,
            })
        _insert(Member, rows)
        self.counts["members"] = len(rows)
        self.counts["members_joined_last_30_days"] = sum(1 for d in drafts if d[0] < NEW_MEMBER_DAYS)

    # ---- contact history --------------------------------------------------------------------------

    def _history(self) -> None:
        """A few weeks of doors and calls: most CLPs active, one quiet, none contacting everyone."""
        rng = self.rng_history
        self.records: list[dict] = []
        self.suppressions: list[dict] = []
        self.final: set[int] = set()  # electors with an outcome that ends calling them
        # The walk list handed out now covers a district nobody has knocked in yet.
        self.walk_district = self.clps[0].districts[0]
        rates = (0.1, 0.06, 0.08, 0.03)
        base = (("LAB", 34), ("CON", 19), ("REF", 14), ("LD", 9), ("GRN", 8), ("OTH", 2), ("AGAINST", 2),
                ("UNDECIDED", 8), ("WONT_SAY", 3), ("WONT_VOTE", 2))
        for clp in self.clps:
            lean = tuple((code, weight * rng.uniform(0.7, 1.3)) for code, weight in base)
            electorate = len(clp.electors())
            self._doors(clp, lean, round(electorate * rates[clp.index % 4] * 0.8))
            self._calls(clp, lean, round(electorate * rates[clp.index % 4] * 0.2))
        _insert(ContactRecord, self.records)
        _insert(Suppression, self.suppressions)
        self.counts["contact_records"] = len(self.records)
        self.counts["electors_with_a_record"] = len({r["elector_id"] for r in self.records})
        self.counts["electors_spoken_to"] = len({r["elector_id"] for r in self.records if r["outcome"] == "SPOKE"})
        self.counts["suppressions"] = len(self.suppressions)

    def _comparison_activity(self) -> None:
        """The seats the demo CLPs are compared with, at work in the same campaign (demo_comparison)."""
        seats = list(db.session.scalars(select(Constituency).where(
            Constituency.code.in_(demo_profiles.comparison_codes()))
            .order_by(Constituency.code)))
        password_hash = db.session.scalar(select(User.password_hash).limit(1))
        self.counts.update(demo_comparison.add(
            seats, electors_per_seat=min(2000, max(150, self.electors_wanted // 32)), campaign_id=self.campaign_id,
            now=self.now, history_days=_HISTORY_DAYS, password_hash=password_hash, insert=_insert,
            insert_numbered=_insert_numbered))

    def _reviews(self) -> None:
        """Something for the CLP admin to decide: two canvassers who heard different things at one door, a
        person found at an address who is not on the register, and a report that someone has moved away."""
        clp = self.clps[0]
        canvasser = self.user_ids[Role.CANVASSER]
        items: list[dict] = []
        blank = {"status": "open", "resolved_at": None, "resolved_by_id": None, "resolution": None}
        spoken = [r for r in self.records if r["constituency_id"] == clp.id and r["channel"] == Channel.DOOR
                  and r["outcome"] == "SPOKE" and r["intention"]]
        if spoken:
            first = spoken[len(spoken) // 2]
            colleagues = [u for u in self.volunteers.get((clp.index, Role.CANVASSER), []) if u != first["user_id"]]
            heard = "UNDECIDED" if first["intention"] != "UNDECIDED" else "LAB"
            at = first["occurred_at"] + timedelta(minutes=35)
            second = {**first, "id": uuid.UUID(int=self.rng_ids.getrandbits(128), version=4), "intention": heard,
                      "strength": None, "survey_answers": {}, "notes": None, "occurred_at": at,
                      "received_at": min(at + timedelta(minutes=4), self.now),
                      "user_id": colleagues[0] if colleagues else self.user_ids[Role.CLP_ADMIN]}
            self.records.append(second)
            _insert(ContactRecord, [second])
            self.counts["contact_records"] += 1
            items.append({**blank, "constituency_id": clp.id, "kind": "intention_conflict",
                          "elector_id": first["elector_id"], "created_at": second["received_at"],
                          "data": {"records": [str(first["id"]), str(second["id"])],
                                   "intentions": [first["intention"], heard]}})
        # Away from the walk list handed out, which stays as nobody has knocked it yet.
        homes = [p for p in clp.districts[-1].properties if p.electors and clp.districts[-1] is not self.walk_district]
        found_at = self.now - timedelta(hours=20)
        if homes:
            items.append({**blank, "constituency_id": clp.id, "kind": "new_elector", "elector_id": None,
                          "created_at": found_at, "data": {
                              "property_id": homes[0].id, "surname": "Adeyemi", "forenames": "Tolu", "phone": None,
                              "notes": None, "found_at": found_at.isoformat(), "user_id": canvasser,
                              "mutation_id": str(uuid.UUID(int=self.rng_ids.getrandbits(128), version=4))}})
        if len(homes) > 1:
            items.append({**blank, "constituency_id": clp.id, "kind": "presence_report",
                          "elector_id": homes[1].electors[0].id, "created_at": found_at, "data": {
                              "flag": "moved", "reported_at": found_at.isoformat(), "user_id": canvasser,
                              "mutation_id": str(uuid.UUID(int=self.rng_ids.getrandbits(128), version=4))}})
        _insert(ReviewItem, items)
        self.counts["review_items"] = len(items)

    def _record(self, clp: _Clp, elector: _Elector, channel: Channel, outcome: str, at: datetime, user_id: int,
                spoke: tuple[str | None, str | None, dict] = (None, None, {}), notes: str | None = None) -> None:
        rng = self.rng_history
        # Most records sync within minutes; some wait for signal until the next morning.
        delay = timedelta(minutes=rng.randint(1, 40)) if rng.random() < 0.88 else timedelta(hours=rng.randint(10, 15))
        intention, strength, answers = spoke
        self.records.append({
            "id": uuid.UUID(int=self.rng_ids.getrandbits(128), version=4), "campaign_id": self.campaign_id,
            "constituency_id": clp.id, "elector_id": elector.id, "kind": RecordKind.RECORD, "supersedes_id": None,
            "channel": channel, "outcome": outcome, "intention": intention, "strength": strength,
            "survey_answers": answers, "notes": notes, "occurred_at": at, "received_at": min(at + delay, self.now),
            "user_id": user_id, "device_id": None, "source": RecordSource.PWA, "import_batch_id": None,
            "content_hash": None,
        })
        if outcome in ("SPOKE", "WRONG_NUMBER", "MOVED", "DECEASED", "DO_NOT_CONTACT", "REFUSED"):
            self.final.add(elector.id)
        if outcome == "DO_NOT_CONTACT":
            self.suppressions.append({
                "constituency_id": clp.id, "elector_id": elector.id, "member_id": None,
                "kind": SuppressionKind.DO_NOT_CONTACT, "channel": SuppressionChannel.ALL,
                "reason": f"Asked not to be contacted again ({channel.value}).", "source": "canvass",
                "created_by_id": user_id, "created_at": min(at + delay, self.now), "lifted_at": None,
                "lifted_by_id": None,
            })

    def _conversation(self, lean, *, door: bool, like: str | None = None) -> tuple[str, str | None, dict]:
        rng = self.rng_history
        intention = like if like and rng.random() < 0.7 else _weighted(rng, lean)
        strength = _weighted(rng, (("STRONG", 45), ("LEANING", 35), ("SOFT", 20))) if intention in vocabulary.PARTIES else None
        asked = 0.55 if door else 0.8
        answers: dict = {}
        if rng.random() < asked:
            answers["top_issue"] = _weighted(rng, [(code, w) for code, _label, w in vocabulary.TOP_ISSUES])
        if rng.random() < asked * 0.6:
            answers["postal_vote"] = "yes" if rng.random() < 0.2 else "no"
        if intention == "LAB" and rng.random() < asked * 0.7:
            answers["poster"] = "yes" if strength == "STRONG" and rng.random() < 0.35 else "no"
        if rng.random() < asked:
            answers["likelihood"] = min(10, max(1, round(rng.gauss(8.2 if intention in vocabulary.PARTIES else 5, 2))))
        return intention, strength, answers

    def _doors(self, clp: _Clp, lean, target: int) -> None:
        rng = self.rng_history
        canvassers = self.volunteers[(clp.index, Role.CANVASSER)]
        districts = [d for d in clp.districts if d is not self.walk_district]
        rng.shuffle(districts)
        queue = [p for d in districts for p in d.properties]
        touched: set[int] = set()
        revisits: list[tuple[int, _Property]] = []
        day, pos = _HISTORY_DAYS, 0
        while len(touched) < target and pos < len(queue):
            user = rng.choice(canvassers)
            hour, minute = rng.choice(((10, 0), (10, 30), (11, 0), (13, 30), (14, 0), (17, 0), (17, 30), (18, 0)))
            batch = []
            while revisits and revisits[0][0] > day and len(batch) < 6:
                batch.append(revisits.pop(0)[1])
            size = rng.randint(20, 45)
            batch += queue[pos:pos + size]
            pos += size
            minutes = 0
            for prop in batch:
                minutes += rng.randint(1, 4)
                at = _at(self.today - timedelta(days=day), hour, minute) + timedelta(minutes=minutes)
                residents = [e for e in prop.electors if e.current]
                if not residents:
                    continue
                if self._knock(clp, lean, residents, at, user) == "NOT_HOME" and rng.random() < 0.3:
                    revisits.append((day, prop))
                touched.update(e.id for e in residents)
            day = max(1, day - rng.choice((0, 1, 1, 2, 3)))

    def _knock(self, clp: _Clp, lean, residents: list[_Elector], at: datetime, user: int) -> str:
        rng = self.rng_history
        r = rng.random()
        first = rng.choice(residents)
        if r < 0.52:
            for e in residents:
                self._record(clp, e, Channel.DOOR, "NOT_HOME", at, user)
            return "NOT_HOME"
        if r < 0.88:
            talk = self._conversation(lean, door=True)
            notes = rng.choice(vocabulary.DOOR_NOTES) if rng.random() < 0.06 else None
            self._record(clp, first, Channel.DOOR, "SPOKE", at, user, talk, notes)
            for e in residents:
                if e is not first and rng.random() < 0.35:
                    self._record(clp, e, Channel.DOOR, "SPOKE", at, user, self._conversation(lean, door=True, like=talk[0]))
            return "SPOKE"
        outcome = _weighted(rng, (("REFUSED", 45), ("CALL_BACK", 20), ("MOVED", 20), ("DO_NOT_CONTACT", 10),
                                  ("DECEASED", 5 if len(residents) > 1 else 0)))
        self._record(clp, first, Channel.DOOR, outcome, at, user)
        return outcome

    def _calls(self, clp: _Clp, lean, target: int) -> None:
        rng = self.rng_history
        callers = self.volunteers[(clp.index, Role.PHONE_BANKER)]
        candidates = [e for e in clp.electors() if e.phone and e.current and e.id not in self.final]
        rng.shuffle(candidates)
        candidates = candidates[: max(0, len(candidates) - 12)]  # leave some for the call list handed out now
        pos, day = 0, _HISTORY_DAYS - rng.randint(0, 3)
        while pos < min(target, len(candidates)):
            user = rng.choice(callers)
            hour, minute = rng.choice(((18, 0), (18, 30), (19, 0), (11, 0)))
            minutes = 0
            for elector in candidates[pos:pos + rng.randint(15, 35)]:
                minutes += rng.randint(2, 6)
                at = _at(self.today - timedelta(days=day), hour, minute) + timedelta(minutes=minutes)
                outcome = _weighted(rng, (("NO_ANSWER", 38), ("VOICEMAIL", 14), ("SPOKE", 33), ("WRONG_NUMBER", 5),
                                          ("REFUSED", 5), ("CALL_BACK", 4), ("DO_NOT_CONTACT", 1)))
                if outcome == "SPOKE":
                    notes = rng.choice(vocabulary.PHONE_NOTES) if rng.random() < 0.05 else None
                    self._record(clp, elector, Channel.PHONE, outcome, at, user, self._conversation(lean, door=False), notes)
                else:
                    self._record(clp, elector, Channel.PHONE, outcome, at, user)
                pos += 1
            day = max(1, day - rng.choice((1, 2, 2, 3)))

    # ---- lists handed out now ---------------------------------------------------------------------

    def _assignments(self) -> None:
        """The canvasser's walk list, and the phone banker's call list and welcome calls to new members, current
        from yesterday for two weeks."""
        clp = self.clps[0]
        starts, ends = self.now - timedelta(days=1), self.now + timedelta(days=14)
        walk_props: list[_Property] = []
        streets: list[str] = []
        for prop in self.walk_district.properties:
            if prop.street not in streets:
                if len(walk_props) >= 60:
                    break
                streets.append(prop.street)
            walk_props.append(prop)
        suppressed = {s["elector_id"] for s in self.suppressions}
        callees = [e for e in clp.electors() if e.phone and e.current and e.id not in self.final and e.id not in suppressed]
        callees = callees[:100]
        walk_name = f"{self.walk_district.code} {self.walk_district.name}: " + ", ".join(streets)
        # New members who agreed to be phoned, newest first: the membership secretary's welcome calls.
        newcomers = db.session.execute(
            select(Member.id, Member.joined_on).where(
                Member.constituency_id == clp.id, Member.phone.is_not(None), Member.consent_phone.is_(True),
                Member.joined_on >= self.now.date() - timedelta(days=NEW_MEMBER_DAYS))
            .order_by(Member.joined_on.desc(), Member.id).limit(15)).all()
        lists = [
            (AssignmentKind.WALK, walk_name[:160], Role.CANVASSER, [{"property_id": p.id} for p in walk_props]),
            (AssignmentKind.CALL, f"Phone bank: {clp.name}, weekday evenings", Role.PHONE_BANKER,
             [{"elector_id": e.id} for e in callees]),
            (AssignmentKind.CALL, f"Welcome calls: new members in {clp.name}", Role.PHONE_BANKER,
             [{"member_id": m.id, "reason": f"Welcome call: joined {m.joined_on.day} {m.joined_on:%b}"}
              for m in newcomers]),
        ]
        # The phone bank meets on the next weekday evening at half six (reminders go two hours before).
        evening = self.today + timedelta(days=1)
        while evening.weekday() >= 5:
            evening += timedelta(days=1)
        sessions = {1: {"session_at": _at(evening, 18, 30), "meeting_place": f"{clp.name} Labour Hall, Mill Street"}}
        ids = _insert(Assignment, [
            {"campaign_id": self.campaign_id, "constituency_id": clp.id, "kind": kind, "name": name,
             "starts_at": starts, "ends_at": ends, "created_by_id": self.user_ids[Role.CLP_ADMIN],
             "created_at": starts, "session_at": None, "meeting_place": None, **sessions.get(index, {})}
            for index, (kind, name, _role, _items) in enumerate(lists)
        ], ids=True)
        items, holders = [], []
        for assignment_id, (_kind, _name, role, targets) in zip(ids, lists):
            for position, target in enumerate(targets, 1):
                items.append({"assignment_id": assignment_id, "property_id": None, "elector_id": None,
                              "member_id": None, "reason": None, "position": position, **target})
            holders.append({"assignment_id": assignment_id, "user_id": self.user_ids[role], "assigned_at": starts})
        _insert(AssignmentItem, items)
        _insert(AssignmentUser, holders)
        self.counts["assignments"] = len(ids)
        self.counts["walk_list_properties"] = len(walk_props)
        self.counts["call_list_electors"] = len(callees)
        self.counts["welcome_call_members"] = len(newcomers)


# --------------------------------------------------------------------------------------------------
# Entry points.

def _tables():
    """Our tables that exist in this database, parents first (a migration may lag behind a model)."""
    present = set(inspect(db.session.connection()).get_table_names())
    return [t for t in db.metadata.sorted_tables if t.name in present]


def rows_present() -> dict[str, int]:
    """Row counts of every non-empty table: an empty result means the database is empty."""
    counts = {}
    for table in _tables():
        n = db.session.scalar(select(func.count()).select_from(table))
        if n:
            counts[table.name] = n
    return counts


def reset_database() -> None:
    """Delete every row of every table, children first, in the current transaction."""
    tables = _tables()
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement, and identities restart, so a rebuilt demo gets the same ids.
        quote = db.session.get_bind().dialect.identifier_preparer.quote
        db.session.execute(text("TRUNCATE TABLE " + ", ".join(quote(t.name) for t in tables) + " RESTART IDENTITY CASCADE"))
        return
    for table in reversed(tables):
        db.session.execute(table.delete())


def build_demo(*, seed: int = 1, electors: int = DEFAULT_ELECTORS, reset: bool = False,
               now: datetime | None = None) -> DemoSummary:
    """Build the demo dataset in one transaction; refuse if the database holds data, unless ``reset``."""
    if not MIN_ELECTORS <= electors <= MAX_ELECTORS:
        raise ValueError(f"electors must be between {MIN_ELECTORS} and {MAX_ELECTORS}")
    try:
        if reset:
            reset_database()
        else:
            present = rows_present()
            if present:
                raise DemoRefused(present)
        summary = _Builder(seed, electors, now or utcnow()).build()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    # The history was written directly, so fold it into each elector's derived state, as sync would.
    from server.services import recognition, rollups, sync

    sync.rebuild()
    rollups.rebuild()  # and the dashboards' figures, which the scheduler's job keeps current from here on
    volunteers = db.session.scalars(select(User.id).where(User.role.in_([Role.CANVASSER, Role.PHONE_BANKER])))
    recognition.check_milestones(user_ids=list(volunteers))  # milestones the history passed, for the console
    return summary


def existing_logins() -> list[DemoLogin]:
    """The per-role demo logins already in the database, for `flask demo --if-empty` to show again."""
    from sqlalchemy import select

    from server.models import Constituency, Region, User

    users = db.session.scalars(select(User).where(User.email.in_(
        [f"{role.value}@{DEMO_EMAIL_DOMAIN}" for role in Role])).order_by(User.id))
    logins = []
    for user in users:
        if user.constituency_id:
            c = db.session.get(Constituency, user.constituency_id)
            scope = f"CLP {c.name} ({c.code})"
        elif user.region_id:
            r = db.session.get(Region, user.region_id)
            scope = f"region {r.name} ({r.code})"
        else:
            scope = "the nation"
        logins.append(DemoLogin(user.role.value, user.email, DEMO_PASSWORD, scope))
    return logins
