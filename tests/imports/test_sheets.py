"""A typed-up sheet read end to end: file, columns, codes, dates and batch header become canvass records
with their problems on their rows, and the records find their electors."""
from __future__ import annotations

from datetime import date

from server.services.imports import (MATCHED, BatchHeader, ElectorIndex, ElectorNumber, map_columns, match_rows,
                                     observed_codes, parse_sheet, propose_codes, read_table)
from server.services.imports.records import split_name
from tests.imports.sheets import CAMPAIGN, csv_bytes, find, register, xlsx_bytes

TODAY = date(2026, 3, 1)


def read(data: bytes, filename: str = "sheet.csv", *, batch: BatchHeader = BatchHeader(), code_corrections=None,
         column_corrections=None):
    """The pipeline as the import screen runs it, with the admin accepting every proposal."""
    table = read_table(data, filename)
    columns = map_columns(table.headings, questions=CAMPAIGN.questions, corrections=column_corrections)
    codes = {name: propose_codes(name, values, CAMPAIGN, channel="door",
                                 corrections=(code_corrections or {}).get(name))
             for name, values in observed_codes(table, columns).items()}
    return parse_sheet(table, columns, CAMPAIGN, codes=codes, batch=batch, latest=TODAY)


def test_a_paper_sheet_typed_into_excel_becomes_records_that_find_their_electors():
    rows = [
        ["Canvass sheet, High Street"],
        ["PD/No", "Name", "Address", "Postcode", "Date", "Result", "VI", "Str", "Postal vote?", "Notes"],
        ["AA1-1", "Margaret Kowalski", "1 High Street", "EF1 1AA", "14/02/2026", "S", "Lab", "S", "yes", ""],
        ["", "Ava Bel", "2 High Street", "EF1 1AA", "14/02/2026", "L", "", "", "", "Wants a poster"],
        ["AA1-22", "Grace Lewis", "11 High Street", "EF1 1AA", "14/02/2026", "NI", "", "", "", ""],
        ["", "KOWALSKI Ama", "1 High Street, Elmford, EF1 1AA", "", "15/02/2026", "Ref", "", "", "", ""],
    ]
    sheet = read(xlsx_bytes(rows), "round-2.xlsx", batch=BatchHeader(canvasser="Jo", sheet="HS-2"))
    assert sheet.counts() == {"rows": 4, "importable": 4, "skipped": 0, "with_errors": 0}
    first, second, third, fourth = sheet.records
    assert (first.line, first.outcome, first.intention, first.strength) == (3, "SPOKE", "LAB", "STRONG")
    assert first.survey_answers == {"postal_vote": True}
    assert (first.canvasser, first.sheet, first.occurred_on) == ("Jo", "HS-2", date(2026, 2, 14))
    assert (second.outcome, second.intention, second.notes) == ("SPOKE", "LAB", "Wants a poster")
    assert (second.identity.surname, second.identity.forenames, second.identity.house_number,
            second.identity.street) == ("Bel", "Ava", "2", "High Street")
    assert third.outcome == "NOT_HOME" and third.identity.elector_number == ElectorNumber("AA1", 22)
    assert (fourth.identity.surname, fourth.identity.postcode, fourth.outcome) == ("KOWALSKI", "EF1 1AA", "REFUSED")

    results = match_rows([record.identity for record in sheet.records], ElectorIndex(register()))
    assert [(r.verdict, r.elector_id) for r in results] == [
        (MATCHED, find("AA1-1").id), (MATCHED, find("AA1-3").id), (MATCHED, find("AA1-22").id),
        (MATCHED, find("AA1-2").id)]
    assert "surname 0.9" in results[1].reason  # "Bel" for Bell


def test_a_batch_header_gives_the_canvasser_date_and_polling_district_to_rows_without_them():
    data = csv_bytes([["No", "Surname", "Result", "Canvasser"], ["12", "Bell", "NI", ""], ["13", "Bell", "S", "Sam"]])
    sheet = read(data, column_corrections={"elector_number": "No", "house_number": None},
                 batch=BatchHeader(canvasser="Jo Bloggs", date=date(2026, 2, 7), sheet="AA1 round 3",
                                   polling_district="AA1"))
    first, second = sheet.records
    assert (first.identity.elector_number, first.canvasser, first.occurred_on, first.sheet) == (
        ElectorNumber("AA1", 12), "Jo Bloggs", date(2026, 2, 7), "AA1 round 3")
    assert second.canvasser == "Sam"  # the row's own canvasser wins
    assert all(record.importable for record in sheet.records)


def test_a_sheet_with_no_dates_and_no_batch_date_asks_for_one_on_every_row():
    sheet = read(csv_bytes([["Elector No", "Result"], ["AA1-1", "S"], ["AA1-2", "NI"]]))
    assert [(p.line, p.code) for p in sheet.problems] == [(2, "no_date"), (3, "no_date")]
    assert "batch header" in sheet.problems[0].message
    assert sheet.counts()["with_errors"] == 2


def test_a_row_with_an_unmapped_code_cannot_be_imported_until_the_admin_maps_it():
    data = csv_bytes([["Elector No", "Date", "Result"], ["AA1-1", "01/02/2026", "S"], ["AA1-2", "01/02/2026", "Zz"]])
    sheet = read(data)
    assert [(p.line, p.code) for p in sheet.problems] == [(3, "unknown_code")]
    assert not sheet.records[1].importable
    mapped = read(data, code_corrections={"outcome": {"Zz": "CALL_BACK"}})
    assert mapped.records[1].outcome == "CALL_BACK" and mapped.records[1].importable


def test_rows_with_nothing_recorded_or_a_skipped_code_are_left_out_without_being_errors():
    data = csv_bytes([["Elector No", "Date", "Result", "Notes"], ["AA1-1", "01/02/2026", "", ""],
                      ["AA1-2", "01/02/2026", "Poss", ""], ["AA1-3", "01/02/2026", "", "Nice dog"]])
    sheet = read(data, code_corrections={"outcome": {"Poss": "skip_row"}})
    first, second, third = sheet.records
    assert first.skipped == "nothing recorded" and second.skipped == "Outcome 'Poss' is set to be skipped"
    assert [p.code for p in third.problems] == ["no_outcome"]  # notes but no outcome: say what happened
    assert sheet.counts() == {"rows": 3, "importable": 0, "skipped": 2, "with_errors": 1}


def test_an_intention_with_an_outcome_other_than_spoke_is_an_error_on_its_row():
    data = csv_bytes([["Elector No", "Date", "Result", "VI"], ["AA1-1", "01/02/2026", "NI", "Lab"]])
    sheet = read(data)
    assert [p.code for p in sheet.problems] == ["intention_without_spoke"]


def test_two_columns_giving_different_intentions_is_an_error_naming_both_columns():
    data = csv_bytes([["Elector No", "Date", "Result", "VI"], ["AA1-1", "01/02/2026", "Con", "Lab"]])
    problem = read(data).problems[0]
    assert problem.code == "conflicting_codes"
    assert problem.message == "Outcome gives intention CON, but Voting intention 'Lab' gives LAB"


def test_survey_answers_are_read_for_each_kind_of_question_and_bad_ones_left_out_with_a_warning():
    data = csv_bytes([["Elector No", "Date", "Result", "Postal vote?", "Likely to vote", "Most important issue"],
                      ["AA1-1", "01/02/2026", "S", "Y", "8", "NHS and social care"],
                      ["AA1-2", "01/02/2026", "S", "perhaps", "11", "the bins on Mill Lane"]])
    first, second = read(data).records
    assert first.survey_answers == {"postal_vote": True, "likelihood": 8, "top_issue": "nhs"}
    assert second.survey_answers == {}
    assert [p.code for p in second.problems] == ["bad_answer"] * 3
    assert all(p.severity == "warning" for p in second.problems) and second.importable
    assert not any("Mill Lane" in p.message for p in second.problems)


def test_a_bad_elector_number_falls_back_to_name_and_address_with_a_warning():
    data = csv_bytes([["Elector No", "Surname", "Postcode", "House No", "Date", "Result"],
                      ["twelve", "Bell", "EF1 1AA", "2", "01/02/2026", "S"]])
    record = read(data).records[0]
    assert record.identity.elector_number is None and record.importable
    assert [(p.code, p.severity) for p in record.problems] == [("bad_elector_number", "warning")]


def test_a_row_that_does_not_say_who_it_is_about_is_an_error():
    data = csv_bytes([["Elector No", "Surname", "Postcode", "Date", "Result"], ["", "Bell", "", "01/02/2026", "S"]])
    assert [p.code for p in read(data).problems] == ["no_elector"]


def test_problems_found_while_reading_arrive_on_their_rows_and_heading_problems_as_notes():
    rows = [["Elector No", "Date", "Result", "Result"], ["AA1-1", "01/02/2026", "S"], ["AA1-2", "=A2", "NI"]]
    sheet = read(xlsx_bytes(rows, merge=["C1:D1"]), "sheet.xlsx")
    assert [(p.line, p.code) for p in sheet.records[1].problems][:1] == [(3, "formula")]
    assert any(note.startswith("Row 1: cells C1:D1 are merged") for note in sheet.notes)


def test_names_in_one_cell_are_split_the_ways_sheets_write_them():
    assert split_name("Kowalski, Margaret") == ("Kowalski", "Margaret")
    assert split_name("Margaret Kowalski") == ("Kowalski", "Margaret")
    assert split_name("KOWALSKI Ama Margaret") == ("KOWALSKI", "Ama Margaret")
    assert split_name("Maria DE SOUZA") == ("DE SOUZA", "Maria")
    assert split_name("Mrs J SMITH") == ("SMITH", "Mrs J")
    assert split_name("Smith") == ("Smith", "")


def test_a_house_number_with_a_letter_keeps_its_letter():
    data = csv_bytes([["Surname", "Address", "Postcode", "Date", "Result"],
                      ["Bell", "Flat 2, 12A High Street", "EF1 1AA", "01/02/2026", "S"]])
    identity = read(data).records[0].identity
    assert (identity.house_number, identity.flat, identity.street) == ("12A", "Flat 2", "High Street")


def test_nothing_the_preview_says_about_a_messy_sheet_repeats_a_name_or_an_address_from_it():
    rows = [
        ["Canvasser: Jo Bloggs"],
        ["Elector No", "Name", "Address", "Postcode", "Date", "Result", "VI", "Postal vote?", "Notes", ""],
        ["Okonkwo", "Chidi Okonkwo", "12 Mill Lane", "ZZ9", "31/02/2026", "Zz", "Lab", "maybe", "", "Orchard Way"],
        ["AA1-5", "Priya Venkataraman", "=C3", "EF1 1AA", "11/25/2026", "NI", "Lab", "", "x" * 2100, ""],
        ["", "Siobhan Gallagher", "", "", "01/02/2026", "", "", "", "rang back", ""],
    ]
    sheet = read(xlsx_bytes(rows, merge=["B4:B5"]), "sheet.xlsx")
    said = [p.message for p in sheet.problems] + sheet.notes
    assert len(sheet.problems) >= 8
    for personal in ("Jo Bloggs", "Chidi", "Okonkwo", "Mill Lane", "ZZ9", "Priya", "Venkataraman", "Siobhan",
                     "Gallagher", "Orchard Way", "rang back"):
        assert not any(personal in text for text in said), personal
