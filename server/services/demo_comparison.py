"""The demo's comparison seats at work (docs/monitoring.md): a small register and a few weeks of canvassing for each
of the 20 seats demo_profiles adds, so every seat has a contact rate and the fair comparison works out of the box.

How hard each seat campaigns follows its kind, as it does in life: marginal seats are worked hardest and safe
seats hardly at all. So each region's average is pulled down by its safe seats, and a demo CLP can beat its
regional average while sitting only at its peers' median (the case docs/monitoring.md describes). Figures are
fixed by the seed, whatever else the demo holds.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from server.models import (
    Channel,
    ContactRecord,
    Elector,
    ElectorStatus,
    PollingDistrict,
    Property,
    RecordKind,
    RecordSource,
    Role,
    User,
    Ward,
)
from server.services.demo_profiles import COMPARISON_SEATS

# The share of the electorate spoken to by kind of seat, about the demo CLPs' own range.
SPOKEN_SHARE = {"safe": 0.012, "rural": 0.02, "suburb": 0.028, "town": 0.034, "urban": 0.03, "marginal": 0.045}
NOT_HOME_PER_SPOKEN = 1.2  # doors knocked with nobody in, per elector spoken to
STREETS = ("Church Lane", "Station Road", "Mill Street", "Victoria Road", "Park Avenue", "The Green")
SURNAMES = ("Ahmed", "Brown", "Clarke", "Davies", "Evans", "Fletcher", "Green", "Hughes", "Iqbal", "Jones")
FORENAMES = ("Alex", "Sam", "Jo", "Chris", "Pat", "Robin", "Kim", "Lee", "Ashley", "Morgan")


def add(seats: list, *, electors_per_seat: int, campaign_id: int, now: datetime, history_days: int,
        password_hash: str, insert: Callable, insert_numbered: Callable) -> dict[str, int]:
    """Give each comparison seat (Constituency rows, in COMPARISON_SEATS order) a ward, a district, a register and
    canvassing at its kind's rate, by one volunteer who cannot log in with the demo password."""
    rng = random.Random("groundwork-demo:comparison")
    rng_ids = random.Random("groundwork-demo:comparison-ids")
    created = now - timedelta(days=35)
    ward_ids = insert(Ward, [{"constituency_id": s.id, "code": "C", "name": f"{s.name} Central"} for s in seats],
                      ids=True)
    district_ids = insert(PollingDistrict, [
        {"ward_id": w, "constituency_id": s.id, "code": "ZA1", "name": f"{s.name} Central"}
        for s, w in zip(seats, ward_ids)], ids=True)
    users = insert(User, [
        {"email": f"volunteer@{s.code.lower()}.comparison.groundwork.test", "name": f"{s.name} volunteer",
         "role": Role.CANVASSER, "password_hash": password_hash + "!", "constituency_id": s.id, "region_id": None,
         "active": True, "created_at": now - timedelta(days=60)} for s in seats], ids=True)
    households = max(1, electors_per_seat // 2)
    properties, electors, records = [], [], []
    for index, (s, district) in enumerate(zip(seats, district_ids)):
        for n in range(households):
            street = STREETS[n % len(STREETS)]
            number = n // len(STREETS) + 1
            line = f"{number} {street}"
            properties.append({
                "constituency_id": s.id, "polling_district_id": district, "address_lines": [line, s.name],
                "postcode": f"ZX{index + 1} {n // 12 % 9 + 1}AB", "uprn": None, "street": street, "house_number": number,
                "building": None, "flat": None, "sort_key": f"{street}|{number:06d}",
                "address_key": f"{line}|{s.name}".lower(), "created_at": created})
    property_ids = insert_numbered(Property, properties)
    for i, (prop, prop_id) in enumerate(zip(properties, property_ids)):
        surname = SURNAMES[rng.randrange(len(SURNAMES))]  # a household shares a surname
        for j in range(2):
            electors.append({
                "constituency_id": prop["constituency_id"], "polling_district_id": prop["polling_district_id"],
                "property_id": prop_id, "prefix": "ZA1", "number": 2 * (i % households) + j + 1, "suffix": 0,
                "surname": surname, "forenames": FORENAMES[rng.randrange(len(FORENAMES))],
                "markers": "", "attainer_date": None, "status": ElectorStatus.CURRENT, "phone": None,
                "removed_at": None, "version": 1, "created_at": created, "updated_at": created})
    elector_ids = insert_numbered(Elector, electors)
    per_seat = 2 * households
    for index, (s, (_, kind)) in enumerate(zip(seats, COMPARISON_SEATS)):
        ids = elector_ids[index * per_seat:(index + 1) * per_seat]
        rng.shuffle(ids)
        spoken = round(per_seat * SPOKEN_SHARE[kind] * rng.uniform(0.85, 1.15))
        not_home = round(spoken * NOT_HOME_PER_SPOKEN)
        for k, elector_id in enumerate(ids[:spoken + not_home]):
            at = now - timedelta(days=rng.randint(1, history_days), hours=rng.randint(0, 8))
            records.append({
                "id": uuid.UUID(int=rng_ids.getrandbits(128), version=4), "campaign_id": campaign_id,
                "constituency_id": s.id, "elector_id": elector_id, "kind": RecordKind.RECORD, "supersedes_id": None,
                "channel": Channel.DOOR, "outcome": "SPOKE" if k < spoken else "NOT_HOME",
                "intention": None, "strength": None, "survey_answers": {}, "notes": None, "occurred_at": at,
                "received_at": min(at + timedelta(minutes=20), now), "user_id": users[index], "device_id": None,
                "source": RecordSource.PWA, "import_batch_id": None, "content_hash": None})
    insert(ContactRecord, records)
    return {"comparison_electors": len(electors), "comparison_contact_records": len(records)}
