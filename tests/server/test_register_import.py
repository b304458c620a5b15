"""The electoral register importer: councils' CSV files, new editions, bad rows, and the CLI command."""
from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.errors import NotFound, ValidationFailed
from server.extensions import db
from server.models import (
    AuditEvent,
    Channel,
    Constituency,
    ContactRecord,
    Elector,
    ElectorStatus,
    PollingDistrict,
    Property,
    RecordSource,
    Region,
    RegisterEdition,
    Ward,
)
from server.services.register_import import import_register
from server.services.register_parse import (
    RegisterRejected,
    address_key,
    normalise_postcode,
    parse_address,
    parse_markers,
    parse_register,
    parse_rows,
)
from tests.factories import make_campaign

DATA = Path(__file__).resolve().parent.parent / "data" / "registers"
DEC_14 = DATA / "register-2026-12-full-14col.csv"
DEC_13 = DATA / "register-2026-12-full-13col.csv"
JAN_14 = DATA / "register-2027-01-full-14col.csv"
JAN_UPDATE = DATA / "register-2027-01-update-style.csv"
BAD = DATA / "register-bad-rows.csv"
HEADER_14 = ("Elector Number Prefix,Elector Number,Elector Number Suffix,Elector Markers,Elector DOB,"
             "Elector Surname,Elector Forename,PostCode,Address1,Address2,Address3,Address4,Address5,Address6")
CODE = "E14000001"


def make_constituency(code: str = CODE, prefixes=("AA1", "AA2", "AB1", "AB2")) -> Constituency:
    """A region, one constituency with one ward, and the polling districts the synthetic files use."""
    region = db.session.scalar(select(Region).where(Region.code == "NW")) or Region(code="NW", name="North West")
    constituency = Constituency(code=code, name=f"Elmford {code[-1]}", region=region)
    ward = Ward(constituency=constituency, code="CEN", name="Central")
    db.session.add_all([constituency, ward])
    db.session.flush()
    for prefix in prefixes:
        db.session.add(PollingDistrict(ward=ward, constituency_id=constituency.id, code=prefix, name=prefix))
    db.session.commit()
    return constituency


def elector(number: str, code: str = CODE) -> Elector:
    """The elector with a printed number such as ``AA1-12`` or ``AA1-17/3``."""
    prefix, _, rest = number.partition("-")
    num, _, suffix = rest.partition("/")
    return db.session.scalar(select(Elector).join(Constituency, Constituency.id == Elector.constituency_id).where(
        Constituency.code == code, Elector.prefix == prefix, Elector.number == int(num),
        Elector.suffix == int(suffix or 0)))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def register_file(tmp_path: Path, rows: list[str], header: str = HEADER_14, name: str = "register.csv",
                  encoding: str = "utf-8", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(newline.join([header, *rows, ""]).encode(encoding))
    return path


# --- Reading councils' files --------------------------------------------------------------------------


def test_a_councils_14_column_register_imports_into_an_empty_constituency(app):
    constituency = make_constituency()

    summary = import_register(DEC_14, CODE)

    assert summary.counts == {"added": 2403, "updated": 0, "removed": 0, "unchanged": 0, "rejected": 0}
    assert summary.edition_label == "register-2026-12-full-14col"
    assert count(Elector, Elector.constituency_id == constituency.id) == 2403
    kowalski = elector("AA1-2")
    assert (kowalski.surname, kowalski.forenames, kowalski.markers) == ("Kowalski", "Ama Margaret", "E")
    assert kowalski.property.address_lines == ["1", "High Street", "Elmford"]
    assert kowalski.property.postcode == "EF1 1AA"
    assert (kowalski.property.street, kowalski.property.house_number) == ("High Street", 1)
    # Household: the two Kowalskis at 1 High Street share one property.
    assert elector("AA1-1").property_id == kowalski.property_id
    attainer = elector("AA1-12")
    assert (attainer.markers, attainer.attainer_date) == ("N", date(2028, 1, 7))
    edition = db.session.get(RegisterEdition, summary.edition_id)
    assert (edition.mode, edition.added, edition.filename) == ("full", 2403, "register-2026-12-full-14col.csv")
    assert kowalski.first_seen_edition_id == kowalski.last_seen_edition_id == edition.id
    assert kowalski.status == ElectorStatus.CURRENT and kowalski.version == 1


def test_the_same_electors_in_the_13_column_layout_give_the_same_electors(app):
    make_constituency("E14000001")
    make_constituency("E14000002")

    import_register(DEC_14, "E14000001")
    import_register(DEC_13, "E14000002")

    def snapshot(code):
        rows = db.session.execute(
            select(Elector.prefix, Elector.number, Elector.suffix, Elector.surname, Elector.forenames,
                   Elector.markers, Elector.attainer_date, Property.address_key, Property.sort_key)
            .join(Property, Property.id == Elector.property_id)
            .join(Constituency, Constituency.id == Elector.constituency_id)
            .where(Constituency.code == code)
            .order_by(Elector.prefix, Elector.number, Elector.suffix)).all()
        return [tuple(r) for r in rows]

    fourteen = snapshot("E14000001")
    assert len(fourteen) == 2403
    assert snapshot("E14000002") == fourteen
    # And re-reading the same edition in the other layout changes nothing.
    again = import_register(DEC_13, "E14000001")
    assert again.counts == {"added": 0, "updated": 0, "removed": 0, "unchanged": 2403, "rejected": 0}


def test_a_windows_1252_file_with_crlf_and_a_utf8_file_with_a_bom_both_import(app, tmp_path):
    make_constituency()
    rows = ["AA1,1,0,,,Ó'Brien,Zoë,EF1 1AA,1,High Street,Elmford,,,",
            "AA1,2,0,,,Müller,José,EF1 1AA,1,High Street,Elmford,,,"]
    windows = register_file(tmp_path, rows, name="cp1252.csv", encoding="cp1252", newline="\r\n")
    bom = register_file(tmp_path, rows, name="bom.csv", encoding="utf-8-sig", newline="\r\n")

    first = import_register(windows, CODE)
    assert (first.encoding, first.added) == ("windows-1252", 2)
    assert (elector("AA1-1").surname, elector("AA1-1").forenames) == ("Ó'Brien", "Zoë")

    second = import_register(bom, CODE)
    assert (second.encoding, second.unchanged, second.updated) == ("utf-8", 2, 0)
    assert elector("AA1-2").forenames == "José"


def test_the_monthly_update_style_file_is_read_with_its_own_headings(app):
    make_constituency()
    import_register(DEC_14, CODE)

    summary = import_register(JAN_UPDATE, CODE, mode="update")

    # The same changes as the full January file, except that nobody is removed by an update.
    assert summary.counts == {"added": 46, "updated": 23, "removed": 0, "unchanged": 2305, "rejected": 0}
    joiner = elector("AA1-17/3")
    assert (joiner.surname, joiner.forenames, joiner.attainer_date) == ("Martin", "Peter", date(2027, 7, 21))
    assert elector("AA1-22").status == ElectorStatus.CURRENT  # left in January, but an update never removes


def test_common_heading_spellings_are_recognised_whatever_their_case_and_spacing():
    headings = ["prefix", "NUMBER", "Suffix", "Franchise Flag", "Date_of_Birth", "Surname", "Forename(s)",
                "Address 1", "address_2", "Post Code", "UPRN"]
    parsed = parse_rows(headings, [(2, ["AB2", "7", "1", "N E", "2027-03-01", "Patel", "Ravi",
                                        "Flat 2, Victoria Court", "12 Mill Lane", "ef2 8bd", "000100023336956"])])

    assert parsed.problems == []
    row = parsed.rows[0]
    assert (row.elector_number, row.markers, row.attainer_date) == ("AB2-7/1", "EN", date(2027, 3, 1))
    assert (row.surname, row.forenames, row.postcode, row.uprn) == ("Patel", "Ravi", "EF2 8BD", "100023336956")
    assert row.address_lines == ("Flat 2, Victoria Court", "12 Mill Lane")


# --- Editions -----------------------------------------------------------------------------------------


def test_the_next_edition_adds_joiners_marks_leavers_removed_and_keeps_their_contact_history(app):
    make_constituency()
    december = import_register(DEC_14, CODE)
    leaver, married = elector("AA1-22"), elector("AA1-33")
    leaver_id, married_id = leaver.id, married.id
    campaign = make_campaign("County council by-election")
    record = ContactRecord(id=uuid.uuid4(), campaign_id=campaign.id, constituency_id=leaver.constituency_id,
                           elector_id=leaver_id, channel=Channel.DOOR, outcome="SPOKE", occurred_at=leaver.created_at,
                           source=RecordSource.PWA)
    db.session.add(record)
    db.session.commit()

    january = import_register(JAN_14, CODE)

    assert january.counts == {"added": 46, "updated": 23, "removed": 75, "unchanged": 2305, "rejected": 0}
    gone = db.session.get(Elector, leaver_id)
    assert gone.status == ElectorStatus.REMOVED and gone.removed_at is not None
    assert gone.last_seen_edition_id == december.edition_id and gone.version == 2
    assert db.session.get(ContactRecord, record.id).elector_id == leaver_id
    # A marriage is an update of the same elector, not a new one.
    renamed = elector("AA1-33")
    assert (renamed.id, renamed.surname, renamed.version) == (married_id, "Ellis", 2)
    joiner = elector("AA1-17/3")
    assert joiner.first_seen_edition_id == joiner.last_seen_edition_id == january.edition_id
    assert joiner.property_id == elector("AA1-17").property_id  # joined the household at 9 High Street
    unchanged = elector("AA1-1")
    assert (unchanged.first_seen_edition_id, unchanged.last_seen_edition_id) == (december.edition_id,
                                                                               january.edition_id)
    assert unchanged.version == 1
    assert count(Elector) == 2403 + 46  # nobody deleted


def test_a_removed_elector_who_reappears_becomes_current_again_with_the_same_id(app):
    make_constituency()
    import_register(DEC_14, CODE)
    leaver_id = elector("AA1-22").id
    import_register(JAN_14, CODE)

    # The council reissues December's register as a February correction: newer, though its file name is not.
    back = import_register(DEC_14, CODE, edition_label="2027-02 (correction)", edition_date=date(2027, 2, 1))

    assert back.removed == 46 and back.updated == 75 + 23
    returned = db.session.get(Elector, leaver_id)
    assert (returned.status, returned.removed_at, returned.version) == (ElectorStatus.CURRENT, None, 3)
    assert elector("AA1-33").surname == "Adams"


def test_properties_are_matched_by_uprn_and_flats_walk_together_in_number_order(app, tmp_path):
    make_constituency()
    first = register_file(tmp_path, [
        "AA1,1,0,,,Shaw,Isla,EF1 1AA,Flat 10,Victoria Court,12 High Street,Elmford,,,",
        "AA1,2,0,,,Shaw,Tom,EF1 1AA,Flat 2,Victoria Court,12 High Street,Elmford,,,",
        "AA1,3,0,,,Khan,Ali,EF1 1AA,10 High Street,Elmford,,,,,",
        "AA1,4,0,,,Jones,Ann,EF1 1AA,14 High Street,Elmford,,,,,100023336956",
        "AA1,5,0,,,Rowe,Sam,EF1 1AA,Apartment 1,Victoria Court,12 High Street,Elmford,,,",
    ], header=HEADER_14 + ",UPRN", name="first.csv")

    import_register(first, CODE)

    walk = db.session.scalars(select(Property).order_by(Property.street, Property.sort_key)).all()
    assert [(p.house_number, p.building, p.flat) for p in walk] == [
        (10, None, None), (12, "Victoria Court", "Apartment 1"), (12, "Victoria Court", "Flat 2"),
        (12, "Victoria Court", "Flat 10"), (14, None, None)]
    jones_home = elector("AA1-4").property_id

    # The council corrects the address but the UPRN is the same property.
    second = register_file(tmp_path, ["AA1,4,0,,,Jones,Ann,EF1 1AA,14A High Street,Elmford,,,,,100023336956"],
                           header=HEADER_14 + ",UPRN", name="second.csv")
    summary = import_register(second, CODE, mode="update")
    assert (summary.unchanged, summary.properties_added, summary.properties_updated) == (1, 0, 1)
    moved = db.session.get(Property, jones_home)
    assert moved.address_lines == ["14A High Street", "Elmford"] and moved.uprn == "100023336956"
    assert moved.version == 2, "phones holding the property must fetch the corrected address"


def test_polling_districts_the_constituency_lacks_are_refused_unless_asked_to_create_them(app, tmp_path):
    constituency = make_constituency(prefixes=("AA1",))
    path = register_file(tmp_path, ["AA1,1,0,,,Bell,Ava,EF1 1AA,2,High Street,Elmford,,,",
                                    "ZZ9,1,0,,,Bell,Ben,EF1 1AA,2,High Street,Elmford,,,"])

    with pytest.raises(RegisterRejected) as refused:
        import_register(path, CODE)
    [problem] = refused.value.details["rows"]
    assert problem["line"] == 3 and problem["field"] == "prefix"
    assert "ZZ9" in problem["message"] and "--create-districts" in problem["message"]

    summary = import_register(path, CODE, create_districts=True)
    assert summary.added == 2 and summary.districts_created == ["ZZ9"]
    district = db.session.scalar(select(PollingDistrict).where(PollingDistrict.code == "ZZ9"))
    assert district.constituency_id == constituency.id
    assert (district.ward.code, district.ward.name) == ("UNALLOC", "Unallocated")
    assert elector("ZZ9-1").polling_district_id == district.id


# --- Bad input ----------------------------------------------------------------------------------------


def test_a_register_with_bad_rows_is_refused_with_every_line_number_and_nothing_is_written(app):
    make_constituency()

    with pytest.raises(RegisterRejected) as refused:
        import_register(BAD, CODE)

    rows = refused.value.details["rows"]
    assert [(r["line"], r["field"]) for r in rows] == [
        (12, "prefix"), (13, "number"), (14, "number"), (15, "markers"), (16, "dob"), (17, "surname"),
        (18, "postcode"), (19, "row")]
    messages = {r["line"]: r["message"] for r in rows}
    assert messages[12] == "Elector Number Prefix is missing"
    assert "'twelve'" in messages[13]
    assert "AA1-1" in messages[14] and "line 2" in messages[14]
    assert "Q" in messages[15]
    assert "31/02/2027" in messages[16]
    assert "no name" in messages[17]
    assert "ZZZ" in messages[18]
    assert refused.value.details["rejected"] == 8
    assert count(Elector) == count(Property) == count(RegisterEdition) == count(AuditEvent) == 0


def test_a_file_whose_headings_are_not_recognised_names_what_is_missing_and_an_explicit_mapping_rescues_it(
        app, tmp_path):
    make_constituency()
    header = HEADER_14.replace("Elector Surname", "Nom").replace("PostCode", "Code Postal")
    path = register_file(tmp_path, ["AA1,1,0,,,Kowalski,Margaret,EF1 1AA,1,High Street,Elmford,,,"], header=header)

    with pytest.raises(ValidationFailed) as refused:
        import_register(path, CODE)
    assert refused.value.details["missing"] == ["surname", "postcode"]
    assert "Nom" in refused.value.message and "Code Postal" in refused.value.message
    assert count(Elector) == 0

    summary = import_register(path, CODE, mapping={"surname": "Nom", "postcode": "code postal"})
    assert summary.added == 1 and elector("AA1-1").surname == "Kowalski"


def test_a_mapping_that_names_a_heading_the_file_lacks_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        parse_register(HEADER_14 + "\n", mapping={"surname": "Family"})
    assert "Family" in refused.value.message and "Elector Surname" in refused.value.message


def test_dry_run_reports_the_changes_and_writes_nothing(app):
    make_constituency()
    import_register(DEC_14, CODE)
    before = count(Elector, Elector.status == ElectorStatus.CURRENT)

    summary = import_register(JAN_14, CODE, dry_run=True)

    assert summary.counts == {"added": 46, "updated": 23, "removed": 75, "unchanged": 2305, "rejected": 0}
    assert summary.dry_run and summary.edition_id is None
    assert count(Elector, Elector.status == ElectorStatus.CURRENT) == before
    assert count(RegisterEdition) == 1 and elector("AA1-33").surname == "Adams"


def test_a_full_register_with_no_electors_is_refused_rather_than_removing_everyone(app, tmp_path):
    make_constituency()
    import_register(DEC_14, CODE)

    with pytest.raises(ValidationFailed):
        import_register(register_file(tmp_path, []), CODE)

    assert count(Elector, Elector.status == ElectorStatus.REMOVED) == 0


def test_an_unknown_constituency_is_not_found(app):
    with pytest.raises(NotFound):
        import_register(DEC_14, "E14999999")


def test_the_import_is_audited_in_the_same_transaction(app):
    constituency = make_constituency()

    summary = import_register(DEC_14, CODE, edition_label="December 2026")

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "register.import"))
    assert event.target_type == "register_edition" and event.target_id == str(summary.edition_id)
    assert event.constituency_id == constituency.id
    assert event.details["counts"]["added"] == 2403 and event.details["mode"] == "full"
    assert event.details["filename"] == "register-2026-12-full-14col.csv"
    assert len(event.details["sha256"]) == 64


# --- Values -------------------------------------------------------------------------------------------


def test_markers_dates_and_postcodes_are_normalised():
    assert parse_markers("N E") == ("EN", [])
    assert parse_markers("ne") == ("EN", [])
    assert parse_markers("Q?") == ("", ["?", "Q"])
    assert normalise_postcode(" ef1  1aa ") == "EF1 1AA"
    assert normalise_postcode("SW1A1AA") == "SW1A 1AA"
    assert normalise_postcode("ZZZ") is None


def test_addresses_are_parsed_for_walk_order():
    flat = parse_address(["Flat 3", "Victoria Court", "12 High Street", "Elmford"])
    assert (flat.flat, flat.building, flat.house_number, flat.street) == ("Flat 3", "Victoria Court", 12, "High Street")
    split = parse_address(["12", "High Street", "Elmford"])
    assert (split.house_number, split.street, split.building, split.flat) == (12, "High Street", None, None)
    named = parse_address(["Rose Cottage", "Mill Lane", "Elmford"])
    assert (named.building, named.street, named.house_number) == ("Rose Cottage", "Mill Lane", None)
    # Numeric order, not string order; the flats of number 12 sit together between 9 and 100.
    keys = [parse_address(lines).sort_key for lines in (
        ["100 High Street"], ["Flat 10", "Victoria Court", "12 High Street"], ["9 High Street"],
        ["Flat 2", "Victoria Court", "12 High Street"], ["12 High Street"])]
    assert sorted(keys) == [keys[2], keys[4], keys[3], keys[1], keys[0]]
    assert address_key(["1", "High Street", "Elmford"], "EF1 1AA") == address_key(["1 High Street", "Elmford"],
                                                                                 "EF1 1AA")


# --- The command ----------------------------------------------------------------------------------------


def test_the_cli_imports_a_register_and_prints_the_summary(app, runner):
    make_constituency()

    result = runner.invoke(args=["register", "import", str(DEC_14), "--constituency", CODE, "--edition", "2026-12"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Imported 2026-12 into {CODE}: 2403 added, 0 updated, 0 removed, 0 unchanged, 0 rejected.")


def test_the_cli_lists_every_bad_line_and_exits_with_an_error(app, runner):
    make_constituency()

    result = runner.invoke(args=["register", "import", str(BAD), "--constituency", CODE])

    assert result.exit_code != 0
    assert "line 12: Elector Number Prefix is missing" in result.output
    for line in range(13, 20):
        assert f"line {line}: " in result.output
    assert "0 added, 0 updated, 0 removed, 0 unchanged, 8 rejected" in result.output
    assert count(Elector) == 0


def test_the_cli_takes_a_mapping_from_options_and_a_file_and_can_dry_run(app, runner, tmp_path):
    make_constituency()
    header = HEADER_14.replace("Elector Surname", "Nom").replace("PostCode", "Code Postal")
    path = register_file(tmp_path, ["AA1,1,0,,,Kowalski,Margaret,EF1 1AA,1,High Street,Elmford,,,"], header=header)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"surname": "Nom"}))

    refused = runner.invoke(args=["register", "import", str(path), "--constituency", CODE])
    assert refused.exit_code != 0 and "Code Postal" in refused.output

    dry = runner.invoke(args=["register", "import", str(path), "--constituency", CODE, "--mapping", str(mapping),
                              "--map", "postcode=Code Postal", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 added" in dry.output and "Nothing was written" in dry.output
    assert count(Elector) == 0

    done = runner.invoke(args=["register", "import", str(path), "--constituency", CODE, "--mapping", str(mapping),
                               "--map", "postcode=Code Postal", "--mode", "update"])
    assert done.exit_code == 0, done.output
    assert count(Elector) == 1


def test_the_cli_names_an_unknown_constituency(app, runner):
    result = runner.invoke(args=["register", "import", str(DEC_14), "--constituency", "E14999999"])
    assert result.exit_code != 0 and "E14999999" in result.output
