"""Bad files: each is refused in one plain sentence with a stable reason, or read with its problems on the
rows they affect. Never a traceback, and never a name or an address repeated in a message."""
from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.services.imports import (DEFAULT_MAX_BYTES, ERROR, WARNING, ElectorIndex, ImportRefused, RowIdentity,
                                     Table, check_constituency, map_columns, parse_elector_number, read_table)
from tests.imports.sheets import DATA, csv_bytes, register, xlsx_bytes

HEADINGS = ["Elector No", "Surname", "Result", "VI", "Date"]
ROWS = [["AA1-1", "Kowalski", "S", "L", "01/02/2026"], ["AA1-3", "Bell", "NI", "", "01/02/2026"]]


def refusal(data: bytes, filename: str = "canvass.csv", **kw) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        read_table(data, filename, **kw)
    refused = caught.value
    assert refused.details["reason"] == refused.reason
    assert "\n" not in refused.message and refused.message.endswith(".")
    return refused


# ---------------------------------------------------------------------------------------------------
# Encodings


def test_a_csv_saved_by_an_old_excel_in_windows_1252_is_read_with_its_accents():
    table = read_table(csv_bytes([HEADINGS, ["AA1-7", "Zoë Brontë", "S", "Lab", "01/02/2026"]], "cp1252"), "a.csv")
    assert table.encoding == "windows-1252"
    assert table.rows[0].cells[1] == "Zoë Brontë"


def test_a_csv_saved_by_a_phone_as_utf16_with_a_byte_order_mark_is_read():
    table = read_table(csv_bytes([HEADINGS, ["AA1-7", "Zoë", "S", "L", "01/02/2026"]], "utf-16"), "a.csv")
    assert table.rows[0].cells[:2] == ("AA1-7", "Zoë")


def test_utf16_without_a_byte_order_mark_is_refused_as_the_wrong_encoding():
    refused = refusal(csv_bytes([HEADINGS] + ROWS, "utf-16-le"))
    assert refused.reason == "encoding"
    assert "CSV UTF-8" in refused.message


def test_a_file_typed_partly_in_utf8_and_partly_in_windows_1252_is_refused_naming_lines_not_names():
    data = (csv_bytes([HEADINGS, ["AA1-7", "Zoë", "S", "L", "01/02/2026"]])
            + csv_bytes([["AA1-8", "Chloë", "S", "L", "01/02/2026"]], "cp1252"))
    refused = refusal(data)
    assert refused.reason == "mixed_encoding"
    assert "line 2" in refused.message and "line 3" in refused.message
    assert "Zo" not in refused.message and "Chlo" not in refused.message
    assert refused.details["utf8_lines"] == [2] and refused.details["other_lines"] == [3]


def test_accents_garbled_by_a_double_conversion_are_refused_before_any_name_is_misspelt():
    garbled = "Zoë".encode("utf-8").decode("cp1252")  # "ZoÃ«"
    refused = refusal(csv_bytes([HEADINGS, ["AA1-7", garbled, "S", "L", "01/02/2026"], ROWS[1]]))
    assert refused.reason == "encoding"
    assert refused.details["lines"] == [2]
    assert "ZoÃ" not in refused.message


@pytest.mark.parametrize("data, what", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
])
def test_a_scan_or_photo_of_the_sheet_is_refused_saying_what_it_is(data, what):
    refused = refusal(data, "sheet.csv")
    assert refused.reason == "unsupported_format"
    assert what in refused.message


def test_binary_data_is_refused_as_not_text():
    assert refusal(bytes(range(1, 256)) * 40).reason == "not_text"


def test_the_apps_export_file_uploaded_as_a_sheet_is_pointed_to_the_right_import():
    refused = refusal(b'{"format": "groundwork.unsent-records"}', "groundwork-unsent.json")
    assert refused.reason == "unsupported_format"
    assert "export file" in refused.message


# ---------------------------------------------------------------------------------------------------
# Empty, headings only, too large


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b",,,\r\n,,\r\n"])
def test_an_empty_csv_is_refused_as_empty(data):
    assert refusal(data).reason == "empty"


def test_an_empty_workbook_is_refused_as_empty():
    assert refusal(xlsx_bytes([]), "canvass.xlsx").reason == "empty"


def test_a_csv_with_headings_only_is_refused_listing_the_headings():
    refused = refusal(csv_bytes([HEADINGS, ["", "", "", "", ""]]))
    assert refused.reason == "headings_only"
    assert "Elector No, Surname, Result" in refused.message
    assert refused.details["headings"] == HEADINGS


def test_a_workbook_with_headings_only_is_refused_naming_its_sheet():
    refused = refusal(xlsx_bytes([HEADINGS]), "canvass.xlsx")
    assert refused.reason == "headings_only"
    assert "'Canvass'" in refused.message


def test_a_file_over_the_default_50_mb_is_refused_before_it_is_read():
    refused = refusal(b"x" * (DEFAULT_MAX_BYTES + 1))
    assert refused.reason == "too_large"
    assert refused.details == {"reason": "too_large", "size": DEFAULT_MAX_BYTES + 1, "max_bytes": 50 * 1024 * 1024}
    assert "50 MB" in refused.message


def test_the_size_limit_is_the_callers_to_set():
    data = csv_bytes([HEADINGS] + ROWS)
    assert refusal(data, max_bytes=len(data) - 1).reason == "too_large"
    assert read_table(data, "a.csv", max_bytes=len(data)).rows


def test_a_small_workbook_that_expands_to_gigabytes_a_zip_bomb_is_refused_as_too_large():
    source, target = zipfile.ZipFile(io.BytesIO(xlsx_bytes([HEADINGS] + ROWS))), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, source.read(info.filename))
        out.writestr("xl/media/padding.bin", bytes(8 * 1024 * 1024))  # compresses to a few kilobytes
    data = target.getvalue()
    refused = refusal(data, "canvass.xlsx", max_bytes=len(data))
    assert refused.reason == "too_large"
    assert "expands" in refused.message


# ---------------------------------------------------------------------------------------------------
# Workbooks that cannot be read


def test_an_xlsx_with_a_password_is_refused_in_one_line():
    data = (DATA / "password-protected.xlsx").read_bytes()  # encrypted by Excel's method; see data/README.md
    refused = refusal(data, "canvass.xlsx")
    assert refused.reason == "password_protected"
    assert "password" in refused.message and "Kowalski" not in refused.message


def test_an_xlsx_that_is_only_an_ole2_container_is_taken_for_a_protected_workbook():
    # Excel writes a workbook with a password as an OLE2 compound file; these are its first eight bytes.
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + bytes(1024)
    assert refusal(data, "canvass.xlsx").reason == "password_protected"


def test_an_old_xls_workbook_is_refused_asking_for_xlsx_or_csv():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1536)
    refused = refusal(data, "canvass.xls")
    assert refused.reason == "old_excel"
    assert "Excel Workbook (.xlsx)" in refused.message


@pytest.mark.parametrize("damage", ["truncated", "no_workbook", "bad_xml", "not_a_zip"])
def test_a_damaged_xlsx_is_refused_as_corrupt_without_naming_the_file(damage):
    good = xlsx_bytes([HEADINGS] + ROWS)
    if damage == "truncated":
        data = good[: len(good) // 2]
    elif damage == "not_a_zip":
        data = b"Elector No;Surname\nnot really a workbook"
    else:
        source, target = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
        with zipfile.ZipFile(target, "w") as out:
            for info in source.infolist():
                if damage == "no_workbook" and info.filename == "xl/workbook.xml":
                    continue
                body = source.read(info.filename)
                if damage == "bad_xml" and info.filename == "xl/worksheets/sheet1.xml":
                    body = body[: len(body) // 2]
                out.writestr(info, body)
        data = target.getvalue()
    refused = refusal(data, "jo-bloggs-round.xlsx")
    assert refused.reason == "corrupt"
    assert "jo-bloggs" not in refused.message


def test_an_opendocument_spreadsheet_is_refused_asking_for_xlsx_or_csv():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    refused = refusal(buffer.getvalue(), "canvass.xlsx")
    assert refused.reason == "unsupported_format"
    assert ".ods" in refused.message


def test_a_hidden_sheet_is_not_read_and_the_admin_is_told_which_was():
    data = xlsx_bytes([HEADINGS] + ROWS, before=[("Old notes", "hidden")], after=[("Totals", "visible")])
    table = read_table(data, "canvass.xlsx")
    assert table.sheet == "Canvass" and table.other_sheets == ["Old notes", "Totals"]
    assert "'Old notes' (hidden)" in table.notes[0] and "'Totals'" in table.notes[0]


# ---------------------------------------------------------------------------------------------------
# Merged cells, blank rows, formulas, title blocks


def test_a_date_merged_down_a_block_of_rows_is_an_error_on_the_rows_that_lost_it():
    rows = [HEADINGS, ["AA1-1", "Kowalski", "S", "L", "01/02/2026"], ["AA1-2", "Kowalski", "S", "L"],
            ["AA1-3", "Bell", "NI"], ["AA1-4", "Bell", "S", "C", "02/02/2026"]]
    table = read_table(xlsx_bytes(rows, merge=["E2:E4"]), "canvass.xlsx")
    merged = {p.line: p for p in table.problems if p.code == "merged_cells"}
    assert set(merged) == {2, 3, 4}
    assert merged[2].severity == WARNING
    assert merged[3].severity == merged[4].severity == ERROR
    assert merged[3].cell == "E2:E4" and "only row 2 has it" in merged[3].message
    assert [row.cells[4] for row in table.rows] == ["01/02/2026", "", "", "02/02/2026"]


def test_a_merged_title_above_the_headings_and_merged_empty_cells_are_no_problem():
    rows = [["Canvass sheet: Elmford ward, round 2"], HEADINGS] + ROWS + [["AA1-4", "Bell", "NI", "", "01/02/2026"]]
    table = read_table(xlsx_bytes(rows, merge=["A1:E1", "D4:D5"]), "canvass.xlsx")  # D4 and D5 are both empty
    assert table.heading_line == 2
    assert not [p for p in table.problems if p.code == "merged_cells"]
    assert any("row 1 looks like a title" in note for note in table.notes)
    assert not any("Elmford" in note for note in table.notes)


def test_blank_rows_between_rows_are_skipped_and_the_rows_keep_their_spreadsheet_numbers():
    rows = [HEADINGS, ROWS[0], [], ["", "", "", "", ""], ROWS[1], []]
    for data, name in ((csv_bytes(rows), "a.csv"), (xlsx_bytes(rows), "a.xlsx")):
        table = read_table(data, name)
        assert [row.line for row in table.rows] == [2, 5]
        assert table.blank_rows >= 2
        assert any("blank rows were skipped" in note for note in table.notes)


def test_a_formula_in_a_workbook_is_read_as_its_text_never_its_result_and_flagged():
    rows = [HEADINGS, ROWS[0], ["AA1-2", "=B2", "S", "L", "=TODAY()"]]
    table = read_table(xlsx_bytes(rows), "canvass.xlsx")
    assert table.rows[1].cells[1] == "=B2" and table.rows[1].cells[4] == "=TODAY()"
    flagged = [p for p in table.problems if p.code == "formula"]
    assert [(p.cell, p.severity) for p in flagged] == [("B3", WARNING), ("E3", WARNING)]
    assert all("Kowalski" not in p.message for p in flagged)


def test_a_csv_cell_typed_like_a_formula_is_kept_as_text_and_flagged():
    table = read_table(csv_bytes([HEADINGS, ["AA1-2", '=HYPERLINK("http://x")', "S", "L", "01/02/2026"]]), "a.csv")
    assert table.rows[0].cells[1] == '=HYPERLINK("http://x")'
    assert [(p.code, p.cell) for p in table.problems] == [("formula", "B2")]


def test_dates_and_numbers_in_a_workbook_come_back_as_the_text_the_admin_sees():
    from datetime import datetime
    rows = [HEADINGS, ["AA1-1", "Kowalski", "S", "L", datetime(2026, 2, 1)], [None, "Bell", 3.0, None, 46054]]
    table = read_table(xlsx_bytes(rows), "canvass.xlsx")
    assert table.rows[0].cells[4] == "2026-02-01"
    assert table.rows[1].cells[2:] == ("3", "", "46054")


def test_a_quotation_mark_never_closed_is_an_error_on_the_row_where_it_opens():
    data = csv_bytes([HEADINGS]) + b'AA1-1,"Kowalski,S,L,01/02/2026\r\nAA1-2,Bell,NI,,01/02/2026\r\n'
    table = read_table(data, "a.csv")
    assert [(p.line, p.code, p.severity) for p in table.problems] == [(2, "runaway_quote", ERROR)]


def test_a_damaged_cell_with_a_nul_character_is_an_error_on_its_row():
    table = read_table(csv_bytes([HEADINGS, ["AA1-1", "Kowal\x00ski", "S", "L", "01/02/2026"]]), "a.csv")
    assert [(p.line, p.code, p.cell) for p in table.problems] == [(2, "bad_character", "B2")]


# ---------------------------------------------------------------------------------------------------
# A missing column, and a sheet for another CLP


def test_a_sheet_with_no_column_saying_who_or_what_happened_is_refused_once_the_admin_confirms_it():
    mapping = map_columns(["Date", "Canvasser", "Notes"])
    assert [m.code for m in mapping.missing] == ["elector", "result"]
    with pytest.raises(ImportRefused) as caught:
        mapping.require()
    assert caught.value.reason == "missing_columns"
    assert caught.value.details["missing"] == ["elector", "result"]
    assert "Elector number" in caught.value.message and "Outcome" in caught.value.message
    map_columns(HEADINGS).require()  # a complete mapping passes


def test_a_sheet_for_another_clp_is_refused_naming_districts_and_sectors_not_homes():
    index = ElectorIndex(register())
    rows = [RowIdentity(2, parse_elector_number("ZX1-14")), RowIdentity(3, parse_elector_number("ZX1-15")),
            RowIdentity(4, None, "Okafor", "Paul", "12", None, "High Street", "LS6 2AB"),
            RowIdentity(5, None, "Shah", "Nina", "14", None, "High Street", "LS6 2AD")]
    with pytest.raises(ImportRefused) as caught:
        check_constituency(rows, index, name="Elmford")
    refused = caught.value
    assert refused.reason == "another_clp"
    assert refused.details == {"reason": "another_clp", "outside": 4, "counted": 4}
    assert "polling district ZX1" in refused.message and "postcode sector LS6 2" in refused.message
    assert "LS6 2AB" not in refused.message and "Okafor" not in refused.message


def test_a_sheet_of_this_clp_with_a_stray_row_from_elsewhere_is_not_refused():
    index = ElectorIndex(register())
    rows = [RowIdentity(line, parse_elector_number(f"AA1-{line}")) for line in range(2, 12)]
    rows.append(RowIdentity(12, parse_elector_number("ZX1-3")))
    check_constituency(rows, index)
    check_constituency(rows[-1:], index)  # one row proves nothing


# ---------------------------------------------------------------------------------------------------
# Never a traceback


def _mutated(base: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    data = bytearray(base)
    for position, cut, insert in edits:
        position %= max(len(data), 1)
        data[position:position + cut] = insert
    return bytes(data)


_GOOD_XLSX = xlsx_bytes([HEADINGS] + ROWS, merge=["C2:C3"])
_GOOD_CSV = csv_bytes([HEADINGS] + ROWS + [["AA1-4", 'Be"ll', "R", "", "1/2/26"]])


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from([_GOOD_XLSX, _GOOD_CSV]),
       filename=st.sampled_from(["a.xlsx", "a.csv", "a.xls", "a"]),
       edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.binary(max_size=6)),
                      min_size=1, max_size=6))
def test_a_damaged_file_is_read_or_refused_never_a_traceback(base, filename, edits):
    try:
        table = read_table(_mutated(base, edits), filename)
    except ImportRefused as refused:
        assert refused.reason and "\n" not in refused.message
    else:
        assert isinstance(table, Table) and table.rows
        assert all(len(row.cells) == len(table.headings) for row in table.rows)
