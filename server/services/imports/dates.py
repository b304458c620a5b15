"""Reading the dates on a typed-up canvass sheet, the UK way round, and saying when a date could be wrong.

UK sheets write the day first, so 01/02/2026 is 1 February 2026. Dates are read day-first in every
numeric form (01/02/2026, 1/2/26, 1.2.2026, 1-2-2026), and also as ISO (2026-02-01, as Excel dates arrive
from a workbook), with a month name in either order ("1 Feb 2026", "Sat 1st February 2026", "Feb 1, 2026"),
as Excel serial day numbers (46054), and as 20260201. A two-digit year is in this century.

When to flag a date as ambiguous (the rule, per file, for numeric dates such as 03/04/2026 whose two numbers
are both 12 or less and differ, which month-first would read as 4 March):

1. If any date in the file only makes sense month-first (11/25/2026: there is no month 25), that date is
   an error, and every ambiguous date is flagged: whoever typed the file may have written month-first.
2. Otherwise, if any date only makes sense day-first (25/11/2026), the file is confirmed day-first and
   ambiguous dates are read so without a flag.
3. Otherwise (every numeric date reads either way) the dates are read day-first, and flagged only if they
   fall closer together read month-first than day-first: a sheet covers a canvassing session or a few
   weeks, so 02/01, 02/05 and 02/09 (eight months apart day-first, eight days month-first) are suspect,
   while 01/02, 02/02 and 03/02 are not.

The file-level note says which rule applied, so the admin reads one sentence rather than a flag on every
row. Impossible dates (31/02/2026), dates in the future and dates before EARLIEST are errors, each on its
line. A row with no date takes the batch header's. Pure: no database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable

from server.services.imports.errors import WARNING, Problem, shown

EARLIEST = date(2000, 1, 1)
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug folded in for every serial after 60)
_SERIAL_RANGE = (32874, 73050)  # 1990-01-01 to 2099-12-31: a bare number outside it is no date
MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february", "febuary"), ("mar", "march"), ("apr", "april"), ("may",),
    ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
    ("nov", "november"), ("dec", "december")), 1) for name in names}
_TIME = r"(?:[ T,]+(\d{1,2})[:.](\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(am|pm)?)?"
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})" + _TIME + r"\s*(?:z|[+-]\d{2}:?\d{2})?$", re.I)
_NUMERIC = re.compile(r"^(\d{1,2})\s*([/.\-])\s*(\d{1,2})(?:\s*\2\s*(\d{4}|\d{2}))?" + _TIME + "$", re.I)
_SERIAL = re.compile(r"^(\d{5})(?:\.(\d+))?$")
_COMPACT = re.compile(r"^(20\d{2})(\d{2})(\d{2})$")  # 20260201, as some systems export
_WEEKDAY = re.compile(r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.I)
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]*([a-z]+)\.?,?[\s\-/.]*(\d{4}|\d{2})?" + _TIME + "$", re.I)
_MONTH_DAY = re.compile(r"^([a-z]+)\.?[\s\-/.]*(\d{1,2})(?:st|nd|rd|th)?,?[\s\-/.]+(\d{4}|\d{2})" + _TIME + "$", re.I)


class DateError(ValueError):
    """A date that cannot be read, or is impossible; the message completes "The date ...": "is not a real date"."""


@dataclass(frozen=True)
class ParsedDate:
    """A date as written: its day-first value, and for numeric dates the two numbers in the order written."""

    value: date
    time: time | None = None
    numeric: tuple[int, int] | None = None  # (first, second) of a numeric date, for the ambiguity rule
    year_given: bool = True

    @property
    def ambiguous(self) -> bool:
        """Whether month-first would read it as another real date."""
        return (self.numeric is not None and self.numeric[0] <= 12 and self.numeric[1] <= 12
                and self.numeric[0] != self.numeric[1])

    @property
    def month_first(self) -> date | None:
        """The date read month-first, if that is another real date."""
        return self.value.replace(month=self.numeric[0], day=self.numeric[1]) if self.ambiguous else None


def spoken(value: date) -> str:
    """A date as the admin says it: "1 February 2026"."""
    return f"{value.day} {value:%B %Y}"


def _year(text: str | None, default_year: int | None) -> tuple[int, bool]:
    if text is None:
        if default_year is None:
            raise DateError("has no year: write it in full, as 01/02/2026")
        return default_year, False
    year = int(text)
    return (2000 + year if len(text) == 2 else year), True


def _time(hour: str | None, minute: str | None, second: str | None, half: str | None) -> time | None:
    if hour is None:
        return None
    h, m, s = int(hour), int(minute), int(second or 0)
    if half:
        if not 1 <= h <= 12:
            raise DateError("has a time that is not a real time")
        h = h % 12 + (12 if half.lower() == "pm" else 0)
    if h > 23 or m > 59 or s > 59:
        raise DateError("has a time that is not a real time")
    return time(h, m, s)


def _make(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if 1 <= month <= 12 and day > 28:
            days = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
            raise DateError(f"is not a real date: {date(year, month, 1):%B %Y} has {days} days") from None
        raise DateError("is not a real date") from None


def parse_date(raw: str, *, default_year: int | None = None) -> ParsedDate:
    """A date as a UK sheet writes it (day first). Raises DateError with what is wrong.

    A numeric date whose second number is over 12 (11/25/2026) is an error here: it reads only month-first.
    """
    text = " ".join(raw.strip().split())
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups()[:3])
        return ParsedDate(_make(year, month, day), _time(*match.groups()[3:7]))
    if match := _COMPACT.match(text):
        return ParsedDate(_make(*(int(g) for g in match.groups())))
    if match := _NUMERIC.match(text):
        first, second = int(match.group(1)), int(match.group(3))
        year, given = _year(match.group(4), default_year)
        moment = _time(*match.groups()[4:8])
        if second > 12:
            if first <= 12:
                hint = spoken(_make(year, first, second)) if second <= 31 else None
                raise DateError(f"has no month {second}: it reads only month-first"
                                + (f" (as {hint})" if hint else "") + "; UK dates are written day first")
            raise DateError("is not a real date: neither number is a month")
        if first == 0 or second == 0:
            raise DateError("is not a real date")
        return ParsedDate(_make(year, second, first), moment, (first, second), given)
    if match := _SERIAL.match(text):
        whole = int(match.group(1))
        if _SERIAL_RANGE[0] <= whole <= _SERIAL_RANGE[1]:
            moment = None
            if match.group(2):
                seconds = round(float("0." + match.group(2)) * 86400)
                moment = (datetime.min + timedelta(seconds=min(seconds, 86399))).time()
            return ParsedDate(EXCEL_EPOCH + timedelta(days=whole), moment)
        raise DateError("is a number, not a date")
    text = _WEEKDAY.sub("", text)
    for pattern, day_group, month_group in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        if (match := pattern.match(text)) and match.group(month_group).lower() in MONTHS:
            year, given = _year(match.group(3), default_year)
            value = _make(year, MONTHS[match.group(month_group).lower()], int(match.group(day_group)))
            return ParsedDate(value, _time(*match.groups()[3:7]), None, given)
    raise DateError("is not a date (write it as 01/02/2026)")


@dataclass
class DateColumn:
    """The dates of one sheet: by line, with problems, and the one sentence that says how they were read."""

    dates: dict[int, date] = field(default_factory=dict)  # every line with a date, the batch date included
    times: dict[int, time] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rule: str = "none"  # "month_first_seen", "day_first_confirmed", "spread", "either_way" or "none"
    note: str | None = None


def read_dates(values: Iterable[tuple[int, str]], *, batch_date: date | None = None, latest: date | None = None,
               earliest: date = EARLIEST, field_name: str = "date") -> DateColumn:
    """Read a sheet's date column, ``values`` being (line, cell); flags by the rule in this module's docstring.

    ``latest`` (the day of the import) makes later dates errors; ``batch_date`` fills rows with no date and
    gives a year to dates written without one.
    """
    column = DateColumn()
    parsed: dict[int, tuple[str, ParsedDate]] = {}
    month_first_lines: list[tuple[int, str]] = []
    default_year = batch_date.year if batch_date else None
    for line, raw in values:
        text = raw.strip()
        if not text:
            if batch_date is not None:
                column.dates[line] = batch_date
            continue
        try:
            result = parse_date(text, default_year=default_year)
        except DateError as exc:
            column.problems.append(Problem(line, field_name, "bad_date", f"the date {shown(text)} {exc}"))
            if "month-first" in str(exc):
                month_first_lines.append((line, text))
            continue
        value = result.value
        other = result.month_first
        if latest is not None and value > latest:
            hint = (f"; read month-first it would be {spoken(other)}" if other and earliest <= other <= latest
                    else "")
            column.problems.append(Problem(line, field_name, "bad_date",
                                           f"the date {shown(text)} is {spoken(value)}, which is in the future{hint}"))
            continue
        if value < earliest:
            column.problems.append(Problem(line, field_name, "bad_date",
                                           f"the date {shown(text)} is {spoken(value)}, before {earliest.year}: "
                                           "is the year right?"))
            continue
        if not result.year_given:
            column.problems.append(Problem(line, field_name, "date_without_year",
                                           f"the date {shown(text)} has no year: {batch_date.year} was taken from "
                                           "the batch date", WARNING))
        parsed[line] = (text, result)
        column.dates[line] = value
        if result.time is not None:
            column.times[line] = result.time
    _judge(column, parsed, month_first_lines, field_name)
    return column


def _judge(column: DateColumn, parsed: dict[int, tuple[str, ParsedDate]], month_first_lines: list[tuple[int, str]],
           field_name: str) -> None:
    """Apply the ambiguity rule: flag ambiguous dates, or not, and write the note."""
    ambiguous = {line: (text, p) for line, (text, p) in parsed.items() if p.ambiguous}
    day_first_only = [(line, text) for line, (text, p) in parsed.items() if p.numeric and p.numeric[0] > 12]
    flag_because = None
    if month_first_lines:
        line, text = month_first_lines[0]
        column.rule = "month_first_seen"
        flag_because = f"this file also has dates that read only month-first (row {line}: {text})"
        count = len(month_first_lines)
        column.note = (f"{count} date{'s' if count > 1 else ''} in this file read{'' if count > 1 else 's'} "
                       f"only month-first (row {line}: {text}), so it may have been typed month-first: check "
                       "every date that could be read either way.")
    elif day_first_only:
        line, text = day_first_only[0]
        column.rule = "day_first_confirmed"
        if ambiguous:
            column.note = (f"Dates are read day first; the file confirms it (row {line}: {text} can only be "
                           "day first).")
    elif len({p.value for _, p in ambiguous.values()}) >= 2:
        day_first = [p.value for _, p in ambiguous.values()]
        month_first = [p.month_first for _, p in ambiguous.values()]
        day_span = (max(day_first) - min(day_first)).days
        month_span = (max(month_first) - min(month_first)).days
        if month_span < day_span:
            column.rule = "spread"
            flag_because = (f"this file's dates spread over {day_span} days read day first, and over only "
                            f"{month_span} read month first")
            column.note = (f"Dates are read day first, as UK sheets are written, but then they spread over "
                           f"{day_span} days, and read month first over only {month_span}: check whether the sheet "
                           "was typed month first.")
        else:
            column.rule = "either_way"
            column.note = (f"{len(ambiguous)} dates could be read either way; they are read day first, as UK "
                           f"sheets are written (for example {_example(ambiguous)}).")
    elif ambiguous:
        column.rule = "either_way"
        column.note = (f"Dates are read day first, as UK sheets are written (for example {_example(ambiguous)}).")
    if flag_because:
        for line, (text, result) in sorted(ambiguous.items()):
            column.problems.append(Problem(
                line, field_name, "ambiguous_date",
                f"the date {shown(text)} was read day first as {spoken(result.value)}, but {flag_because}: it may "
                f"mean {spoken(result.month_first)}", WARNING))
    column.problems.sort(key=lambda p: p.line)


def _example(ambiguous: dict[int, tuple[str, ParsedDate]]) -> str:
    line = min(ambiguous)
    text, result = ambiguous[line]
    return f"row {line}: {text} is {spoken(result.value)}"
