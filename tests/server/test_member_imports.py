"""Stories: a regional office loads the membership list it exported (docs/members.md, "Importing the
membership list").

A region's CSV lands member by member in each of its CLPs; the next month's file updates them in place and
marks who resigned, deleting nobody; an Excel export with one full-name column reads as well; a file with bad
rows changes nothing and says which line and column to fix; a dry run only counts; nobody imports outside
their own scope; an erased member never comes back; and the command line does the same.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEvent, Member, MemberStatus, Role
from server.services.members_columns import map_member_columns
from server.services.members_import import uk_today
from server.services.members_parse import normalise_phone, split_name
from tests.factories import bearer, login, make_world

DATA = Path(__file__).parent.parent / "data" / "members"
HEADINGS = ["Membership number", "First name", "Last name", "Join date", "Status", "CLP", "Address 1", "Town",
            "Postcode", "Email", "Phone", "Contact by email", "Contact by phone", "Contact by post"]


@pytest.fixture
def world(app):
    return make_world()


def csv_bytes(rows: list[list], headings: list[str] = HEADINGS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def person(number: str, first: str, last: str, clp: str = "Ashford North", *, joined="03/02/2021",
           status="Active", email=None, phone="07700 900111", consent=("yes", "no", "yes")) -> list:
    return [number, first, last, joined, status, clp, f"{number[-2:]} Mill Lane", "Ashford", "AB1 2CD",
            email if email is not None else f"{first.lower()}@example.test", phone, *consent]


def upload(client, token, data: bytes, filename="members.csv", **form):
    return client.post("/api/v1/member-imports", headers=bearer(token), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), filename), **{k: str(v) for k, v in form.items()}})


def members() -> dict[str, Member]:
    db.session.expire_all()
    return {m.membership_number: m for m in db.session.scalars(select(Member))}


def member_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Member))


# -- a region's list ----------------------------------------------------------------------------------


def test_a_regional_officer_loads_their_regions_csv_and_each_member_lands_in_their_clp(client, world):
    token = login(client, Role.REGIONAL_STAFF)
    data = (DATA / "north-region.csv").read_bytes()

    response = upload(client, token, data, "north-region.csv", region_id=world.north.id)

    assert response.status_code == 201, response.get_json()
    summary = response.get_json()
    assert (summary["added"], summary["updated"], summary["unchanged"], summary["rows"]) == (4, 0, 0, 4)
    assert summary["scope"] == {"kind": "region", "id": world.north.id, "code": "N", "name": "North"}
    assert summary["by_status"] == {"new": 1, "active": 2, "lapsed": 1, "resigned": 0}
    assert {c["name"]: c["added"] for c in summary["by_constituency"]} == {"Ashford North": 2, "Bramley": 2}
    assert summary["ignored_columns"] == ["Title"]
    home, neighbour = world.home.constituency.id, world.neighbour.constituency.id
    stored = members()
    assert {n: m.constituency_id for n, m in stored.items()} == {
        "L1000001": home, "L1000002": home, "L1000003": neighbour, "L1000004": neighbour}
    ada = stored["L1000001"]
    assert (ada.first_name, ada.last_name, ada.joined_on, ada.status) == ("Ada", "Okafor", date(2021, 2, 3),
                                                                         MemberStatus.ACTIVE)
    assert ada.address_lines == ["Flat 2", "14 Mill Lane", "Ashford"] and ada.postcode == "AB1 2CD"
    assert ada.email == "ada.okafor@example.test" and ada.phone == "07700 900101"
    assert (ada.consent_email, ada.consent_phone, ada.consent_post) == (True, False, True)
    assert stored["L1000002"].phone == "07700 900102"  # +44 form, as the rest of Groundwork writes numbers
    assert stored["L1000003"].phone == "07700 900103"  # the leading zero a spreadsheet dropped, restored
    assert stored["L1000003"].email is None and stored["L1000003"].status == MemberStatus.NEW
    assert (stored["L1000003"].consent_email, stored["L1000003"].consent_post) == (False, True)  # blank is no
    assert stored["L1000004"].status == MemberStatus.LAPSED and stored["L1000004"].left_on == uk_today()

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "members.import"))
    assert event.region_id == world.north.id and event.actor_user_id == world.users[Role.REGIONAL_STAFF].id
    assert event.details["sha256"] and event.details["filename"] == "north-region.csv"
    assert event.details["counts"]["added"] == 4 and event.details["scope"]["kind"] == "region"
    assert not {"Okafor", "Ada", "ada.okafor@example.test"} & set(str(event.details).split("'"))


def test_a_reimport_updates_members_in_place_and_marks_a_resignation_without_deleting_anyone(client, world):
    token = login(client, Role.REGIONAL_STAFF)
    first = [person("L2000001", "Ada", "Okafor"), person("L2000002", "Ben", "Harris"),
             person("L2000003", "Cal", "Iqbal", "Bramley"), person("L2000004", "Dee", "Walsh", "Bramley")]
    assert upload(client, token, csv_bytes(first), region_id=world.north.id).status_code == 201
    before = members()
    ids = {n: m.id for n, m in before.items()}
    stamped = {n: (m.updated_at, m.consent_updated_at) for n, m in before.items()}

    headings = HEADINGS + ["Date left"]
    second = [
        person("L2000001", "Ada", "Okafor", email="ada.new@example.test") + [""],  # a new email
        person("L2000002", "Ben", "Harris", consent=("yes", "yes", "yes")) + [""],  # now agrees to calls
        person("L2000003", "Cal", "Iqbal", "Bramley", status="Resigned") + ["14/01/2026"],
        # Dee (L2000004) is not in this month's file.
    ]
    response = upload(client, token, csv_bytes(second, headings), region_id=world.north.id)

    assert response.status_code == 201, response.get_json()
    summary = response.get_json()
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (0, 3, 0)
    assert summary["left"] == {"lapsed": 0, "resigned": 1}
    assert (summary["not_in_file"], summary["not_in_file_current"]) == (1, 1)
    after = members()
    assert {n: m.id for n, m in after.items()} == ids  # the same rows, updated in place; nobody deleted
    assert after["L2000001"].email == "ada.new@example.test"
    assert after["L2000001"].updated_at > stamped["L2000001"][0]
    assert after["L2000001"].consent_updated_at == stamped["L2000001"][1]  # no consent changed
    assert after["L2000002"].consent_phone is True
    assert after["L2000002"].consent_updated_at > stamped["L2000002"][1]
    cal = after["L2000003"]
    assert (cal.status, cal.left_on) == (MemberStatus.RESIGNED, date(2026, 1, 14))
    dee = after["L2000004"]
    assert (dee.status, dee.updated_at) == (MemberStatus.ACTIVE, stamped["L2000004"][0])  # left alone

    again = upload(client, token, csv_bytes(second, headings), region_id=world.north.id).get_json()
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert again["left"] == {"lapsed": 0, "resigned": 0}


def test_an_excel_export_with_one_full_name_column_is_read_for_one_clp(client, world):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Membership Report: Ashford North"])  # a title block above the headings
    sheet.append([])
    sheet.append(["Member No", "Full Name", "Joined", "Membership Status", "E-mail", "Telephone",
                  "Postcode", "Email opt in", "Branch"])
    sheet.append([3000001, "Mrs Ada van der Berg", datetime(2020, 5, 17), "Current", "ADA@EXAMPLE.TEST",
                  "020 7946 0001", "AB1 2CD", True, "Central"])
    sheet.append([3000002, "Harris, Ben", datetime(2024, 12, 1), "new", None, 7700900002, "ab12cd", False,
                  "Central"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    token = login(client, Role.NATIONAL_ADMIN)

    response = upload(client, token, buffer.getvalue(), "ashford.xlsx", constituency_id=world.home.constituency.id)

    assert response.status_code == 201, response.get_json()
    summary = response.get_json()
    assert summary["added"] == 2 and summary["ignored_columns"] == ["Branch"]
    stored = members()
    ada, ben = stored["3000001"], stored["3000002"]
    assert (ada.first_name, ada.last_name, ada.joined_on) == ("Ada", "van der Berg", date(2020, 5, 17))
    assert (ada.email, ada.phone, ada.consent_email) == ("ada@example.test", "020 7946 0001", True)
    assert (ben.first_name, ben.last_name, ben.status, ben.phone) == ("Ben", "Harris", MemberStatus.NEW,
                                                                     "07700 900002")
    assert ben.postcode == "AB1 2CD" and ben.consent_email is False
    assert {ada.constituency_id, ben.constituency_id} == {world.home.constituency.id}


# -- bad files ------------------------------------------------------------------------------------------


def test_a_file_with_bad_rows_is_refused_line_by_line_and_nothing_is_written(client, world):
    token = login(client, Role.REGIONAL_STAFF)
    rows = [
        person("L4000001", "Ada", "Okafor"),  # line 2: fine
        person("L4000002", "Ben", "Harris", email="ben at example"),  # line 3
        person("L4000003", "Cal", "Iqbal", joined="31/02/2021"),  # line 4
        person("L4000004", "Dee", "Walsh", status="Suspended"),  # line 5
        person("L4000005", "Eve", "Moss", "Atlantis"),  # line 6
        person("L4000001", "Fay", "Copy"),  # line 7: the number of line 2 again
        person("L4000007", "Gus", "Lee", consent=("maybe", "no", "no")),  # line 8
    ]
    response = upload(client, token, csv_bytes(rows), region_id=world.north.id)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and "Nothing was written" in error["message"]
    problems = {(p["line"], p["column"]): p["message"] for p in error["details"]["rows"]}
    assert set(problems) == {(3, "Email"), (4, "Join date"), (5, "Status"), (6, "CLP"), (7, "Membership number"),
                             (8, "Contact by email")}
    assert "already on line 2" in problems[(7, "Membership number")]
    assert "February 2021 has 28 days" in problems[(4, "Join date")]
    assert "Atlantis" in problems[(6, "CLP")]
    assert "Ben" not in str(error) and "ben at example" not in str(error)  # no personal data echoed
    assert error["details"]["errors"] == 6 and error["details"]["rejected"] == 6
    assert member_count() == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "members.import")) is None


def test_a_file_with_hundreds_of_bad_rows_lists_the_first_hundred_and_counts_them_all(client, world):
    token = login(client, Role.NATIONAL_ADMIN)
    rows = [person(f"L5{n:06d}", "Ada", "Okafor", email="not-an-email") for n in range(250)]
    error = upload(client, token, csv_bytes(rows), constituency_id=world.home.constituency.id).get_json()["error"]
    assert len(error["details"]["rows"]) == 100 and error["details"]["errors"] == 250
    assert error["details"]["rows"][0]["line"] == 2 and error["details"]["rows"][0]["cell"] == "J2"


def test_a_file_a_region_cannot_place_or_with_no_numbers_or_not_a_spreadsheet_is_refused_whole(client, world):
    token = login(client, Role.REGIONAL_STAFF)
    no_clp = [h for h in HEADINGS if h != "CLP"]
    rows = [[c for h, c in zip(HEADINGS, person("L6000001", "Ada", "Okafor")) if h != "CLP"]]
    refused = upload(client, token, csv_bytes(rows, no_clp), region_id=world.north.id)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"]["reason"] == "no_clp_column"

    # The same file is fine for one CLP: its rows are that CLP's members.
    loaded = upload(client, token, csv_bytes(rows, no_clp), constituency_id=world.neighbour.constituency.id)
    assert loaded.status_code == 201, loaded.get_json()
    assert members()["L6000001"].constituency_id == world.neighbour.constituency.id

    unnumbered = csv_bytes([["Ada", "Okafor", "03/02/2021"]], ["First name", "Surname", "Joined"])
    refused = upload(client, token, unnumbered, constituency_id=world.home.constituency.id).get_json()["error"]
    assert refused["details"]["reason"] == "missing_columns" and refused["details"]["missing"] == ["Membership number"]

    pdf = upload(client, token, b"%PDF-1.7 not a list", "members.pdf", constituency_id=world.home.constituency.id)
    assert pdf.status_code == 422 and pdf.get_json()["error"]["details"]["reason"] == "unsupported_format"
    assert member_count() == 1


def test_a_dry_run_counts_what_would_change_and_writes_nothing(client, world):
    token = login(client, Role.REGIONAL_STAFF)
    data = (DATA / "north-region.csv").read_bytes()

    response = upload(client, token, data, region_id=world.north.id, dry_run="true")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["dry_run"] is True and response.get_json()["added"] == 4
    assert member_count() == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "members.import")) is None


# -- scope and roles ------------------------------------------------------------------------------------


def test_regional_staff_cannot_import_for_another_regions_clp(client, world):
    token = login(client, Role.REGIONAL_STAFF)
    data = csv_bytes([person("L7000001", "Ada", "Okafor", "Coleford")])

    assert upload(client, token, data, constituency_id=world.away.constituency.id).status_code == 404
    assert upload(client, token, data, region_id=world.south.id).status_code == 404
    assert upload(client, token, data, constituency_id=2_000_000).status_code == 404
    # Their own region, but a row naming a CLP in another: that line is refused.
    inside = upload(client, token, data, region_id=world.north.id)
    assert inside.status_code == 422
    (problem,) = inside.get_json()["error"]["details"]["rows"]
    assert problem["line"] == 2 and "not in the North region" in problem["message"]
    both = upload(client, token, data, region_id=world.north.id, constituency_id=world.home.constituency.id)
    assert both.status_code == 422
    assert member_count() == 0


def test_regional_staff_cannot_move_a_member_out_of_another_region_by_their_number(client, world):
    db.session.add(Member(membership_number="L7100001", constituency_id=world.away.constituency.id,
                          joined_on=date(2020, 1, 1), first_name="Ada", last_name="Okafor"))
    db.session.commit()
    token = login(client, Role.REGIONAL_STAFF)
    response = upload(client, token, csv_bytes([person("L7100001", "Ada", "Okafor")]), region_id=world.north.id)
    assert response.status_code == 422
    assert "outside your scope" in response.get_json()["error"]["details"]["rows"][0]["message"]
    assert members()["L7100001"].constituency_id == world.away.constituency.id


@pytest.mark.parametrize("role", [Role.CANVASSER, Role.PHONE_BANKER, Role.CLP_ADMIN, Role.MEMBERSHIP_SECRETARY])
def test_roles_without_the_import_permission_are_refused(client, world, role):
    token = login(client, role)
    response = upload(client, token, csv_bytes([person("L8000001", "Ada", "Okafor")]),
                      constituency_id=world.home.constituency.id)
    assert response.status_code == 403
    assert response.get_json()["error"]["details"] == {"required_permission": "members:import"}
    assert member_count() == 0


def test_an_erased_member_never_gets_their_details_back_from_a_reimport(client, world):
    erased_at = datetime.now().astimezone()
    db.session.add(Member(membership_number="L9000001", constituency_id=world.home.constituency.id,
                          joined_on=date(2020, 1, 1), first_name="", last_name="", email=None, phone=None,
                          address_lines=[], postcode=None, erased_at=erased_at))
    db.session.commit()
    token = login(client, Role.REGIONAL_STAFF)
    rows = [person("L9000001", "Ada", "Okafor"), person("L9000002", "Ben", "Harris")]

    response = upload(client, token, csv_bytes(rows), region_id=world.north.id)

    assert response.status_code == 201, response.get_json()
    summary = response.get_json()
    assert (summary["skipped_erased"], summary["added"], summary["updated"]) == (1, 1, 0)
    erased = members()["L9000001"]
    assert (erased.first_name, erased.last_name, erased.email, erased.phone, erased.address_lines) == (
        "", "", None, None, [])
    assert erased.updated_at is None


# -- the command line -----------------------------------------------------------------------------------


def test_an_operator_loads_a_regions_list_from_the_command_line(runner, world):
    result = runner.invoke(args=["members", "import", str(DATA / "north-region.csv"), "--region", "North"])

    assert result.exit_code == 0, result.output
    assert "4 added" in result.output and "Columns not read: 'Title'" in result.output
    assert "Ashford North (E14000001): 2 added" in result.output
    assert member_count() == 4
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "members.import"))
    assert event.actor_user_id is None and event.region_id == world.north.id

    dry = runner.invoke(args=["members", "import", str(DATA / "north-region.csv"), "--clp", "E14000001",
                              "--dry-run"])
    assert dry.exit_code != 0  # two of its rows are Bramley's, outside the one CLP named
    assert "line 4:" in dry.output and "line 5:" in dry.output


def test_the_command_line_reports_bad_rows_by_line_and_exits_non_zero(runner, world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([person("L9100001", "Ada", "Okafor"),
                                person("L9100002", "Ben", "Harris", joined="2021-13-01")]))
    result = runner.invoke(args=["members", "import", str(path), "--clp", "Ashford North"])
    assert result.exit_code != 0
    assert "line 3: Join date (column D)" in result.output and "Nothing was written" in result.output
    assert member_count() == 0

    assert runner.invoke(args=["members", "import", str(path)]).exit_code != 0  # neither --clp nor --region
    unknown = runner.invoke(args=["members", "import", str(path), "--region", "Atlantis"])
    assert unknown.exit_code != 0 and "Atlantis" in unknown.output


# -- the pure rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("full, expected", [
    ("Smith, Jo", ("Jo", "Smith")), ("Mrs Jo van der Berg", ("Jo", "van der Berg")), ("Cher", ("", "Cher")),
    ("Mary Ann Smith", ("Mary Ann", "Smith")), ("Jo Smith Jr", ("Jo", "Smith Jr")),
])
def test_a_full_name_is_split_sensibly(full, expected):
    assert split_name(full) == expected


@pytest.mark.parametrize("raw, expected", [
    ("07700 900123", "07700 900123"), ("+44 (0)7700 900123", "07700 900123"), ("0044 7700 900123", "07700 900123"),
    ("7700900123", "07700 900123"), ("020-7946-0123", "020 7946 0123"), ("+33 1 23 45 67 89", "+33123456789"),
    ("12345", None), ("call me", None),
])
def test_phone_numbers_are_normalised_as_groundwork_writes_them(raw, expected):
    assert normalise_phone(raw) == expected


def test_headings_are_recognised_however_an_office_spells_them():
    columns = map_member_columns(["Mem. No.", "Forename", "Surname", "Date of joining", "Membership Status",
                                  "Constituency", "E-mail address", "Contact by post?", "Date of birth"])
    assert set(columns.columns) == {"membership_number", "first_name", "last_name", "joined_on", "status",
                                    "constituency", "email", "consent_post"}
    assert columns.ignored == ["Date of birth"] and not columns.missing()
