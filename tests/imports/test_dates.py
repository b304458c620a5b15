"""Dates on a UK canvass sheet: day first, as written here; an ambiguous date flagged only when the file
gives a reason to doubt it; impossible, future and undated rows said plainly, on their rows."""
from __future__ import annotations

from datetime import date, time

import pytest

from server.services.imports import DateError, parse_date, read_dates

FEB_1 = date(2026, 2, 1)


def dates(*cells: str, **kw):
    return read_dates(list(enumerate(cells, 2)), **kw)


@pytest.mark.parametrize("written", [
    "01/02/2026", "1/2/2026", "1/2/26", "01.02.2026", "1-2-2026", "2026-02-01", "2026-02-01T00:00:00",
    "1 Feb 2026", "1st February 2026", "Sun 1st Feb 2026", "Feb 1, 2026", "1-Feb-26", "46054", "20260201",
])
def test_every_way_of_writing_the_first_of_february_reads_day_first(written):
    assert parse_date(written).value == FEB_1


def test_a_date_with_a_time_keeps_the_time():
    parsed = parse_date("01/02/2026 18:45")
    assert (parsed.value, parsed.time) == (FEB_1, time(18, 45))
    assert parse_date("1/2/2026 6.45pm").time == time(18, 45)


@pytest.mark.parametrize("written, why", [
    ("31/02/2026", "is not a real date: February 2026 has 28 days"),
    ("29/02/2026", "is not a real date: February 2026 has 28 days"),
    ("31/04/2026", "is not a real date: April 2026 has 30 days"),
    ("00/01/2026", "is not a real date"),
    ("13/13/2026", "is not a real date: neither number is a month"),
    ("11/25/2026", "has no month 25: it reads only month-first (as 25 November 2026); UK dates are written day first"),
    ("01/02/2026 25:00", "has a time that is not a real time"),
    ("next Tuesday", "is not a date (write it as 01/02/2026)"),
    ("12345", "is a number, not a date"),
    ("1/2", "has no year: write it in full, as 01/02/2026"),
])
def test_an_impossible_date_says_what_is_wrong_with_it(written, why):
    with pytest.raises(DateError) as caught:
        parse_date(written)
    assert str(caught.value) == why


def test_a_leap_day_in_a_leap_year_is_a_real_date():
    assert parse_date("29/02/2028").value == date(2028, 2, 29)


def test_dates_of_one_canvassing_weekend_read_day_first_without_a_flag():
    column = dates("31/01/2026", "01/02/2026", "01/02/2026", "02/02/2026")
    assert column.dates == {2: date(2026, 1, 31), 3: FEB_1, 4: FEB_1, 5: date(2026, 2, 2)}
    assert column.problems == []
    assert column.rule == "day_first_confirmed"  # 31/01 can only be day first


def test_ambiguous_dates_that_sit_together_either_way_are_read_day_first_with_one_note_and_no_flags():
    column = dates("03/02/2026", "04/02/2026", "05/02/2026")
    assert column.rule == "either_way"
    assert column.problems == []
    assert column.note.startswith("3 dates could be read either way; they are read day first")


def test_dates_that_sit_together_only_month_first_are_each_flagged():
    # 2 January, 2 May, 2 September day first; 1, 5 and 9 February month first: a sheet covers weeks, not months.
    column = dates("02/01/2026", "02/05/2026", "02/09/2026", latest=date(2026, 12, 31))
    assert column.rule == "spread"
    assert [(p.line, p.code) for p in column.problems] == [(2, "ambiguous_date"), (3, "ambiguous_date"),
                                                           (4, "ambiguous_date")]
    assert column.problems[1].message == (
        "the date '02/05/2026' was read day first as 2 May 2026, but this file's dates spread over 243 days read "
        "day first, and over only 8 read month first: it may mean 5 February 2026")
    assert column.dates[3] == date(2026, 5, 2)  # still read day first: the admin decides
    assert "check whether the sheet was typed month first" in column.note


def test_a_date_that_reads_only_month_first_is_an_error_and_every_ambiguous_date_in_the_file_is_flagged():
    column = dates("03/04/2026", "11/25/2026", "15/04/2026")
    assert column.rule == "month_first_seen"
    assert [(p.line, p.code, p.severity) for p in column.problems] == [
        (2, "ambiguous_date", "warning"), (3, "bad_date", "error")]
    assert "it may mean 4 March 2026" in column.problems[0].message
    assert 3 not in column.dates and column.dates[4] == date(2026, 4, 15)


def test_a_date_on_the_same_day_and_month_number_is_never_ambiguous():
    column = dates("02/02/2026", "03/03/2026", "04/04/2026")
    assert column.problems == [] and column.note is None


def test_impossible_dates_are_errors_on_their_own_rows_and_the_other_rows_keep_their_dates():
    column = dates("01/02/2026", "31/02/2026", "bank holiday", "02/02/2026")
    assert [(p.line, p.code) for p in column.problems] == [(3, "bad_date"), (4, "bad_date")]
    assert set(column.dates) == {2, 5}


def test_a_date_after_the_day_of_the_import_is_an_error_that_suggests_month_first_when_that_fits():
    column = dates("01/12/2026", latest=date(2026, 3, 1))
    assert column.problems[0].message == ("the date '01/12/2026' is 1 December 2026, which is in the future; "
                                          "read month-first it would be 12 January 2026")


def test_a_date_before_2000_asks_whether_the_year_is_right():
    column = dates("01/02/1996")
    assert column.problems[0].message == "the date '01/02/1996' is 1 February 1996, before 2000: is the year right?"


def test_rows_with_no_date_take_the_batch_date_and_dates_without_a_year_take_its_year_with_a_warning():
    column = dates("", "5 Feb", "06/02", batch_date=FEB_1)
    assert column.dates == {2: FEB_1, 3: date(2026, 2, 5), 4: date(2026, 2, 6)}
    assert [(p.line, p.code, p.severity) for p in column.problems] == [(3, "date_without_year", "warning"),
                                                                      (4, "date_without_year", "warning")]
