"""Story: the admin confirms a sheet's mapping. A heading the importer did not know and a code nobody mapped
are set once and offered again for the CLP's next sheet; a sheet with no date column takes the batch
header's; rows the matcher could not decide are settled by the admin (this elector, skip, or a new person
at an address, who goes to the review queue); and an undo reaches the phones at their next pull."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from server.extensions import db
from server.models import Assignment, ContactRecord, ReviewItem, Role
from server.orm import utcnow
from tests.factories import bearer, login, make_world
from tests.server.phone import HttpPhone
from tests.server.test_imports_helpers import csv_bytes, days_ago, run_job, upload

HEADINGS = ["Elector No", "Who", "Forenames", "House", "Street", "Postcode", "Result", "VI"]


def _row(elector, result="S", vi="L", number=True, surname=None):
    prop = elector.property
    return [elector.elector_number if number else "", surname or elector.surname, elector.forenames,
            str(prop.house_number), prop.street, prop.postcode, result, vi]


def test_the_admins_mapping_is_used_and_offered_again_for_the_next_sheet(app, client):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    home = world.home.electors
    rows = [_row(home[0], result="Gone fishing", vi=""), _row(home[2])]
    batch = upload(client, token, csv_bytes(rows, headings=HEADINGS), "a.csv", campaign_id=world.campaign.id).get_json()
    assert "surname" not in batch["proposal"]["columns"]
    assert [u["token"] for u in batch["proposal"]["codes"]["outcome"]["unknown"]] == ["Gone fishing"]

    day = days_ago(4)
    put = client.put(f"/api/v1/imports/{batch['id']}/mapping", headers=bearer(token), json={
        "columns": {"surname": "Who"}, "codes": {"outcome": {"Gone fishing": "NH"}},
        "header": {"date": day.isoformat(), "canvasser": "J. Smith", "sheet": "Ward 1 / 3"}})
    assert put.status_code == 200, put.get_json()
    mapped = put.get_json()
    assert mapped["proposal"]["columns"]["surname"]["heading"] == "Who"
    assert mapped["proposal"]["codes"]["outcome"]["unknown"] == []
    done = run_job(client, token, batch["id"], "commit")
    assert done["result"]["counts"]["new"] == 2 and done["result"]["counts"]["rejected"] == 0
    records = {r.elector_id: r for r in db.session.scalars(select(ContactRecord))}
    assert records[home[0].id].outcome == "NH" and records[home[0].id].occurred_at.date() == day
    assert client.put(f"/api/v1/imports/{batch['id']}/mapping", headers=bearer(token), json={}).status_code == 409

    nxt = upload(client, token, csv_bytes([_row(home[1], result="Gone fishing", vi="")], headings=HEADINGS),
                 "b.csv", campaign_id=world.campaign.id).get_json()
    assert nxt["proposal"]["columns"]["surname"]["source"] == "saved"
    assert nxt["proposal"]["codes"]["outcome"]["unknown"] == []
    assert nxt["proposal"]["codes"]["outcome"]["known"][0]["source"] == "saved"


def test_undecided_rows_are_settled_by_the_admin_and_a_new_person_goes_to_review(app, client):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    ava, ben, cara = world.home.electors
    rows = [
        _row(ava, number=False, surname=ava.surname) [:2] + [""] + _row(ava)[3:],  # Ava or Ben? same house
        ["", "Zebedee", "Zak", "77", "Quarry Lane", "EF9 9ZZ", "S", "L"],  # nobody like that on the register
        _row(cara),
    ]
    batch = upload(client, token, csv_bytes(rows, headings=HEADINGS), "c.csv", campaign_id=world.campaign.id)
    assert batch.status_code == 201, batch.get_json()
    batch = batch.get_json()
    client.put(f"/api/v1/imports/{batch['id']}/mapping", headers=bearer(token),
               json={"columns": {"surname": "Who"}, "header": {"date": days_ago(1).isoformat()}})
    preview = run_job(client, token, batch["id"], "preview")["result"]
    assert preview["counts"]["choose"] == 1 and preview["counts"]["unmatched"] == 1
    choose = preview["choose"][0]
    assert {c["elector_id"] for c in choose["candidates"]} == {ava.id, ben.id}
    assert all(c["fields"] for c in choose["candidates"])  # the per-field breakdown, in words too
    assert all("surname" in c["explain"] and c["explain"] == ", ".join(f["describe"] for f in c["fields"])
               for c in choose["candidates"])
    unmatched = preview["unmatched"][0]
    bad = client.put(f"/api/v1/imports/{batch['id']}/mapping", headers=bearer(token),
                     json={"choices": {str(choose["line"]): {"elector": 1}}})
    assert bad.status_code == 422
    put = client.put(f"/api/v1/imports/{batch['id']}/mapping", headers=bearer(token), json={"choices": {
        str(choose["line"]): {"elector_id": ben.id},
        str(unmatched["line"]): {"new_elector": {"property_id": cara.property_id}}}})
    assert put.status_code == 200, put.get_json()
    done = run_job(client, token, batch["id"], "commit")["result"]["counts"]
    assert (done["new"], done["new_electors"], done["choose"], done["unmatched"]) == (2, 1, 0, 0)
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.kind == "new_elector"))
    assert item.data["surname"] == "Zebedee" and item.data["import_batch_id"] == batch["id"]
    assert {r.elector_id for r in db.session.scalars(select(ContactRecord))} == {ben.id, cara.id}


def test_an_undo_reaches_the_phones_at_their_next_pull(app, client):
    world = make_world()
    # The canvasser's list began three days ago. A sheet's row with a date and no time is placed at noon UTC of
    # that day, and a phone shows the team's activity since its list began: with the factories' list begun a
    # day ago, yesterday's noon fell before it whenever this ran after noon.
    db.session.execute(update(Assignment).values(starts_at=utcnow() - timedelta(days=3)))
    db.session.commit()
    token = login(client, Role.CLP_ADMIN)
    phone = HttpPhone(client, Role.CANVASSER)  # walks the house of Ava and Ben
    ava = world.home.electors[0]
    assert phone.pull().status_code == 200
    batch = upload(client, token, csv_bytes([_row(ava)], headings=HEADINGS), "d.csv",
                   campaign_id=world.campaign.id).get_json()
    client.put(f"/api/v1/imports/{batch['id']}/mapping", headers=bearer(token),
               json={"columns": {"surname": "Who"}, "header": {"date": days_ago(1).isoformat()}})
    run_job(client, token, batch["id"], "commit")
    while phone.pull().get_json()["has_more"]:
        pass
    assert ("activity", ava.id) in phone.local
    run_job(client, token, batch["id"], "undo")
    while phone.pull().get_json()["has_more"]:
        pass
    assert ("activity", ava.id) not in phone.local


def test_each_record_is_credited_to_the_volunteer_the_sheet_names(app, client):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    ava, ben, cara = world.home.electors
    headings = HEADINGS + ["Canvasser"]
    rows = [_row(ava) + ["canvasser"], _row(ben) + [""], _row(cara) + ["Someone we do not know"]]
    batch = upload(client, token, csv_bytes(rows, headings=headings), "e.csv", campaign_id=world.campaign.id)
    batch = batch.get_json()
    client.put(f"/api/v1/imports/{batch['id']}/mapping", headers=bearer(token), json={
        "columns": {"surname": "Who"},
        "header": {"date": days_ago(1).isoformat(), "canvasser": "Phone_Banker@example.test"}})
    done = run_job(client, token, batch["id"], "commit")["result"]
    assert done["counts"]["new"] == 3
    credited = {r.elector_id: r.user_id for r in db.session.scalars(select(ContactRecord))}
    assert credited == {ava.id: world.users[Role.CANVASSER].id, ben.id: world.users[Role.PHONE_BANKER].id,
                        cara.id: world.users[Role.CLP_ADMIN].id}
