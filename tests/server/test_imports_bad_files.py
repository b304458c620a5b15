"""Story: an admin uploads files that cannot be imported. Each is a 4xx in the one error shape, saying what
is wrong with the file, and the database is unchanged. Problems on single rows (merged cells, blank rows,
formulas) do not refuse the file: the rows are listed, and a formula is kept as text, neutralised in
every export."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEvent, ContactRecord, ImportBatch, ImportFile, ImportJob, Role
from server.services.csv_safe import neutralise
from tests.factories import bearer, login, make_world
from tests.imports.sheets import xlsx_bytes
from tests.server.test_imports_helpers import HEADINGS, csv_bytes, row, run_job, upload

DATA = Path(__file__).parents[1] / "imports" / "data"


def _counts() -> tuple:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (ImportBatch, ImportFile, ImportJob, ContactRecord, AuditEvent))


def _sheet(world, rows=None) -> list[list[str]]:
    from tests.server.test_imports_helpers import days_ago

    return rows or [row(e, days_ago(2)) for e in world.home.electors]


def _bad_files(world):
    from tests.server.test_imports_helpers import days_ago

    good = _sheet(world)
    away = [row(e, __import__("datetime").date.today()) for e in world.away.electors]
    return {
        "mixed_encoding": (csv_bytes([row(world.home.electors[0], days_ago(2), name="Zoë")])
                           + "AA1-2,Chloë,Ben,1,High Street,EF1 1AA,01/11/2026,S,L\r\n".encode("cp1252"), "sheet.csv"),
        "missing_columns": (csv_bytes([[r[6], r[8]] for r in good], headings=["Date", "Notes"]), "sheet.csv"),
        "empty": (b"", "sheet.csv"),
        "headings_only": (csv_bytes([]), "sheet.csv"),
        "password_protected": ((DATA / "password-protected.xlsx").read_bytes(), "sheet.xlsx"),
        "corrupt": (b"PK\x03\x04" + b"\x00" * 200, "sheet.xlsx"),
        "another_clp": (csv_bytes(away), "sheet.csv"),
        "unreadable": (b'{"format": "groundwork.unsent-records", ', "unsent.json"),
    }


@pytest.mark.parametrize("reason", ["mixed_encoding", "missing_columns", "empty", "headings_only",
                                    "password_protected", "corrupt", "another_clp", "unreadable"])
def test_a_bad_file_is_refused_with_its_reason_and_nothing_changes(app, client, reason):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    data, name = _bad_files(world)[reason]
    before = _counts()
    response = upload(client, token, data, name, campaign_id=world.campaign.id)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["reason"] == reason, error
    assert error["details"]["file"] == [error["message"]]
    assert _counts() == before


def test_a_file_over_the_size_limit_is_refused_and_a_body_over_the_upload_cap_is_a_413(app, client):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    data = csv_bytes(_sheet(world))
    app.config["IMPORT_MAX_BYTES"] = len(data) - 1
    before = _counts()
    response = upload(client, token, data, "sheet.csv", campaign_id=world.campaign.id)
    assert response.status_code == 422 and response.get_json()["error"]["details"]["reason"] == "too_large"
    app.config["IMPORT_UPLOAD_BYTES"] = 1000
    assert upload(client, token, b"x" * 2000, "sheet.csv").status_code == 413
    assert _counts() == before


def test_merged_cells_blank_rows_and_formulas_are_row_problems_and_a_formula_is_kept_as_text(app, client):
    world = make_world()
    token = login(client, Role.CLP_ADMIN)
    rows = _sheet(world)
    rows[0][8] = ""
    headings = HEADINGS + ["Notes"]
    sheet = [headings, rows[0] + ["=HYPERLINK(\"http://x.test\",\"see\")"], [""] * 10, rows[1] + [""],
             rows[2] + [""]]
    data = xlsx_bytes(sheet, merge=["G3:G4"])
    made = upload(client, token, data, "sheet.xlsx", campaign_id=world.campaign.id)
    assert made.status_code == 201, made.get_json()
    batch = made.get_json()
    done = run_job(client, token, batch["id"], "commit")
    counts = done["result"]["counts"]
    assert counts["rows"] >= 3 and counts["new"] >= 1
    flagged = {p["code"] for w in done["result"]["warnings"] for p in w["problems"]}
    errors = {p["code"] for r in done["result"]["rejected"] for p in r["reasons"]}
    assert "formula" in flagged and "merged_cells" in errors | flagged
    note = db.session.scalar(select(ContactRecord.notes).where(ContactRecord.notes.is_not(None)))
    assert note.startswith("=HYPERLINK")
    assert not str(neutralise(note)).startswith("=")


def test_a_canvasser_cannot_import_and_another_clps_batch_is_not_found(app, client):
    world = make_world()
    canvasser = login(client, Role.CANVASSER)
    response = upload(client, canvasser, csv_bytes(_sheet(world)), "sheet.csv")
    assert response.status_code == 403
    admin = login(client, Role.CLP_ADMIN)
    batch = upload(client, admin, csv_bytes(_sheet(world)), "sheet.csv", campaign_id=world.campaign.id).get_json()
    assert client.get(f"/api/v1/imports/{batch['id']}", headers=bearer(canvasser)).status_code == 403
    national = login(client, Role.NATIONAL_ADMIN)
    assert client.get(f"/api/v1/imports/{batch['id']}", headers=bearer(national)).status_code == 200
    assert client.get("/api/v1/imports/999999", headers=bearer(admin)).status_code == 404
