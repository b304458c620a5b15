"""Story: imports run as jobs in the worker, never in a web request. A job is claimed with SKIP LOCKED, so
two workers never run one job; its progress can be read while its transaction is still open; and the same
file imported by two admins at once lands once (PostgreSQL: two real concurrent transactions)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.extensions import db
from server.jobs import imports as jobs
from server.models import ContactRecord, ImportJob, Role
from server.services import accounts
from tests.factories import PASSWORD, bearer, login, make_world
from tests.server.concurrency import WAIT, concurrently
from tests.server.test_imports_helpers import build_register, csv_bytes, days_ago, row, upload


def _postgres_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs two real concurrent transactions; SQLite serialises writers")


def _sheet_batch(client, token, world, electors):
    data = csv_bytes([row(e, days_ago(3)) for e in electors])
    made = upload(client, token, data, "sheet.csv", campaign_id=world.campaign.id)
    assert made.status_code == 201, made.get_json()
    return made.get_json(), data


def test_a_queued_job_waits_for_the_worker_and_is_claimed_once(app, client):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    batch, _ = _sheet_batch(client, token, world, world.home.electors)
    job = client.post(f"/api/v1/imports/{batch['id']}/preview", headers=bearer(token)).get_json()
    assert job["status"] == "queued"  # the request did not run it
    assert client.post(f"/api/v1/imports/{batch['id']}/commit", headers=bearer(token)).status_code == 409
    first, second = jobs.claim("worker-1"), jobs.claim("worker-2")
    assert first == job["id"] and second is None
    assert jobs.run_job(first) == "done"
    polled = client.get(f"/api/v1/imports/{batch['id']}/jobs/{job['id']}", headers=bearer(token)).get_json()
    assert polled["status"] == "done" and polled["done"] == polled["total"] == 3


def test_a_job_locked_by_one_worker_is_skipped_by_another(app, client):
    _postgres_only()
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    batch, _ = _sheet_batch(client, token, world, world.home.electors)
    job_id = client.post(f"/api/v1/imports/{batch['id']}/preview", headers=bearer(token)).get_json()["id"]
    with Session(db.engine) as holder:  # another worker, mid-claim: it holds the row
        holder.execute(select(ImportJob).where(ImportJob.id == job_id).with_for_update())
        assert jobs.claim("worker-2") is None  # skipped, not waited for
        holder.rollback()
    claimed = concurrently(app, *[lambda _client: jobs.claim("racer")] * 4)
    assert sorted(claimed, key=lambda c: c or 0) == [None, None, None, job_id]


def test_progress_is_readable_while_the_jobs_transaction_is_open(app, client, monkeypatch):
    _postgres_only()
    world = make_world()
    electors = build_register(world.home, 300)
    token = login(client, Role.CLP_ADMIN)
    batch, _ = _sheet_batch(client, token, world, electors)
    job_id = client.post(f"/api/v1/imports/{batch['id']}/commit", headers=bearer(token)).get_json()["id"]
    from server.services.imports import pipeline

    monkeypatch.setattr(pipeline, "PUSH_CHUNK", 100)
    midway, release = threading.Event(), threading.Event()

    class Pausing(jobs.Progress):
        def __init__(self, job_id):
            super().__init__(job_id, every=0)

        def __call__(self, stage, done, total):
            super().__call__(stage, done, total)
            if stage == "importing" and 0 < done < total and not midway.is_set():
                midway.set()
                release.wait(WAIT)

    monkeypatch.setattr(jobs, "Progress", Pausing)

    def worker():
        with app.app_context():
            jobs.run_pending()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        assert midway.wait(WAIT)
        seen = client.get(f"/api/v1/imports/{batch['id']}/jobs/{job_id}", headers=bearer(token)).get_json()
        assert seen["status"] == "running" and seen["stage"] == "importing" and 0 < seen["done"] < seen["total"]
        with Session(db.engine) as other:  # nothing of the commit is visible before it ends
            assert other.scalar(select(func.count()).select_from(ContactRecord)) == 0
    finally:
        release.set()
        thread.join(WAIT)
    done = client.get(f"/api/v1/imports/{batch['id']}", headers=bearer(token)).get_json()
    assert done["status"] == "committed" and done["job"]["status"] == "done"
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == 300


def test_the_same_file_imported_by_two_admins_at_once_lands_once(app, client):
    _postgres_only()
    world = make_world()
    electors = build_register(world.home, 200)
    accounts.create_user(email="second-admin@example.test", name="Second Admin", password=PASSWORD,
                         role=Role.CLP_ADMIN, constituency_code=world.home.constituency.code)
    tokens = [login(client, Role.CLP_ADMIN), login(client, "second-admin@example.test")]
    data = csv_bytes([row(e, days_ago(3)) for e in electors])
    made = [upload(client, t, data, "sheet.csv", campaign_id=world.campaign.id).get_json() for t in tokens]
    for token, batch in zip(tokens, made):
        assert client.post(f"/api/v1/imports/{batch['id']}/commit", headers=bearer(token)).status_code == 202
    concurrently(app, lambda _c: jobs.run_pending(limit=1), lambda _c: jobs.run_pending(limit=1))
    results = [client.get(f"/api/v1/imports/{b['id']}", headers=bearer(tokens[0])).get_json() for b in made]
    assert all(r["status"] == "committed" and r["job"]["status"] == "done" for r in results)
    assert sorted(r["result"]["counts"]["new"] for r in results) == [0, 200]
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == 200
    assert db.session.scalar(select(func.count(func.distinct(ContactRecord.import_batch_id)))) == 1


def test_a_job_that_cannot_run_fails_with_its_reason_and_changes_nothing(app, client):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    # Names but no address, and a column the importer does not know: the admin must map it before a commit.
    data = csv_bytes([[e.surname, "S", e.property.postcode] for e in world.home.electors],
                     headings=["Who", "Result", "Misc"])
    made = upload(client, token, data, "sheet.csv", campaign_id=world.campaign.id)
    assert made.status_code == 201, made.get_json()
    batch = made.get_json()
    assert batch["proposal"]["missing"], batch["proposal"]
    job = client.post(f"/api/v1/imports/{batch['id']}/commit", headers=bearer(token)).get_json()
    assert jobs.run_pending() == 1
    failed = client.get(f"/api/v1/imports/{batch['id']}/jobs/{job['id']}", headers=bearer(token)).get_json()
    assert failed["status"] == "failed" and failed["error"]["details"]["reason"] == "missing_columns"
    assert client.get(f"/api/v1/imports/{batch['id']}", headers=bearer(token)).get_json()["status"] == "uploaded"
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == 0
    assert client.post(f"/api/v1/imports/{batch['id']}/undo", headers=bearer(token)).status_code == 409
