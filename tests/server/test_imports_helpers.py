"""Builders shared by the import stories (tests/server/test_imports_*.py): a register with distinct names,
sheets built row by row with what each row should become, and driving the API and the worker."""
from __future__ import annotations

import io
import random
from datetime import date, timedelta

from sqlalchemy import select

from server.extensions import db
from server.jobs import imports as jobs
from server.models import Elector, ElectorState, Property, Suppression, SuppressionChannel, SuppressionKind
from tests.factories import bearer

FIRST = ["Ava", "Ben", "Cara", "Dev", "Ella", "Finn", "Gita", "Hugo", "Isla", "Jack", "Kira", "Liam", "Maya",
         "Noah", "Orla", "Priya", "Quinn", "Rosa", "Sami", "Tara"]
SYLLABLES = ["ash", "bram", "cole", "dun", "elm", "fair", "glen", "holl", "ives", "kings", "lang", "mor",
             "north", "pem", "rad", "shel", "thorn", "wex", "yard", "zell"]
ENDINGS = ["by", "ford", "ley", "ton", "well"]


def surname(i: int) -> str:
    a, b, c = SYLLABLES[i % 20], SYLLABLES[(i // 20) % 20], ENDINGS[(i // 400) % 5]
    return (a + b + c).capitalize()


def build_register(clp, count: int) -> list[Elector]:
    """``count`` electors, one per house on streets of 100 houses, each with a surname no other has."""
    constituency, district = clp.constituency, clp.district
    electors = []
    for i in range(count):
        k, house = i // 100, i % 100 + 1
        street = f"{(SYLLABLES[k % 20] + SYLLABLES[(k // 20) % 20]).capitalize()} Road"
        postcode = f"EF1 {1 + (i // 100) % 9}{chr(65 + (i // 900) % 26)}{chr(65 + house % 26)}"
        prop = Property(constituency_id=constituency.id, polling_district_id=district.id,
                        address_lines=[f"{house} {street}", constituency.name], postcode=postcode, street=street,
                        house_number=house, sort_key=f"{street.lower()}|{house:05d}",
                        address_key=f"{constituency.code}|{house} {street.lower()}|{postcode}")
        db.session.add(prop)
        electors.append((prop, i))
    db.session.flush()
    made = []
    for prop, i in electors:
        elector = Elector(constituency_id=constituency.id, polling_district_id=district.id, property_id=prop.id,
                          prefix=district.code, number=1000 + i, surname=surname(i), forenames=FIRST[i % 20])
        db.session.add(elector)
        made.append(elector)
    db.session.commit()
    return made


def object_to(world, elector, kind=SuppressionKind.DO_NOT_CONTACT) -> None:
    db.session.add(Suppression(constituency_id=elector.constituency_id, elector_id=elector.id, kind=kind,
                               channel=SuppressionChannel.ALL, reason="Asked by letter", source="elector_request",
                               created_by_id=world.users[next(iter(world.users))].id))
    db.session.commit()


def typo(name: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(name) - 2)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


HEADINGS = ["Elector No", "Surname", "Forenames", "House", "Street", "Postcode", "Date", "Result", "VI"]


def row(elector: Elector, day: date, result: str = "S", vi: str = "L", *, number: bool = True,
        name: str | None = None) -> list[str]:
    prop = elector.property
    return [elector.elector_number if number else "", name or elector.surname, elector.forenames,
            str(prop.house_number), prop.street, prop.postcode, day.strftime("%d/%m/%Y"), result, vi]


def csv_bytes(rows: list[list[str]], headings=HEADINGS) -> bytes:
    out = io.StringIO()
    import csv

    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headings)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(client, token, data: bytes, filename="sheet.csv", **form):
    return client.post("/api/v1/imports", headers=bearer(token), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), filename), **{k: str(v) for k, v in form.items()}})


def run_job(client, token, batch_id: int, action: str) -> dict:
    """Queue ``action`` through the API, let the worker run it, and return the batch as the API shows it."""
    response = client.post(f"/api/v1/imports/{batch_id}/{action}", headers=bearer(token))
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert jobs.run_pending() >= 1
    polled = client.get(f"/api/v1/imports/{batch_id}/jobs/{job['id']}", headers=bearer(token)).get_json()
    assert polled["status"] == "done", polled
    return client.get(f"/api/v1/imports/{batch_id}", headers=bearer(token)).get_json()


STATE_FIELDS = ("intention", "strength", "intention_at", "last_contact_at", "last_spoke_at", "contacts",
                "do_not_contact", "presence", "last_door_at", "last_door_outcome", "last_call_at",
                "last_call_outcome", "call_back_at")


def states() -> dict:
    """Every elector's derived state, without when it was computed."""
    db.session.expire_all()
    return {s.elector_id: tuple(getattr(s, f) for f in STATE_FIELDS) for s in db.session.scalars(select(ElectorState))}


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)
