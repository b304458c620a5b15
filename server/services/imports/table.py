"""A sheet as read, whatever its format: headings, rows of text numbered as the spreadsheet program numbers
them, and the problems and notes found on the way; and the shaping both readers share, which finds the
heading row below any title block and gives every row exactly one cell per heading. Pure: no database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from server.services.imports.errors import ERROR, WARNING, ImportRefused, Problem, column_letter

# NUL (which PostgreSQL refuses), other control characters and lone surrogates (a damaged UTF-16 file) are
# never part of a canvass record; tab, line feed and carriage return are (a note typed over several lines).
BAD_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class Row:
    """One non-blank row below the headings: its number in the spreadsheet, and one text cell per heading."""

    line: int
    cells: tuple[str, ...]


@dataclass
class Table:
    """A sheet as read: headings, rows, and what the admin should know about how it was read."""

    format: str  # "csv" or "xlsx"
    headings: list[str]
    heading_line: int
    rows: list[Row]
    encoding: str | None = None  # CSV only
    delimiter: str | None = None  # CSV only
    sheet: str | None = None  # xlsx only: the sheet read
    other_sheets: list[str] = field(default_factory=list)  # xlsx only: the sheets not read
    blank_rows: int = 0  # wholly blank rows below the headings, skipped
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def label(self, column: int) -> str:
        """How to name a column to the admin: its heading, or its letter when it has none."""
        heading = self.headings[column] if column < len(self.headings) else ""
        return heading or f"column {column_letter(column)}"

    def column(self, index: int) -> list[tuple[int, str]]:
        """(line, cell) of every row in one column."""
        return [(row.line, row.cells[index]) for row in self.rows]


def refuse(reason: str, message: str, **details) -> ImportRefused:
    """An ImportRefused with its details given as keywords."""
    return ImportRefused(reason, message, details)


class Shaper:
    """Finds the heading row, then turns each later row into a Row of exactly one cell per heading.

    Unless the admin names the heading row, it is the first row that fills at least three quarters as many
    cells as the fullest of the first LOOK_AHEAD non-blank rows: a title block above the headings ("Canvass sheet,
    Elmford ward", "Canvasser: Jo") fills one or two cells, a heading row fills every column.
    """

    LOOK_AHEAD = 20

    def __init__(self, table: Table, heading_line: int | None) -> None:
        self.table = table
        self.wanted = heading_line
        self.width = 0
        self.found = False
        self._waiting: list[tuple[int, list[str]]] = []

    def add(self, line: int, cells: list[str]) -> None:
        """Take one spreadsheet row."""
        if self.found:
            self._add_row(line, cells)
        elif self.wanted is not None:
            if line >= self.wanted and any(cell.strip() for cell in cells):
                self._take_headings(line, cells)
        else:
            self._waiting.append((line, cells))
            if sum(1 for _, waiting in self._waiting if any(c.strip() for c in waiting)) >= self.LOOK_AHEAD:
                self._decide()

    def _decide(self) -> None:
        waiting, self._waiting = self._waiting, []
        filled = [(line, cells, sum(1 for c in cells if c.strip())) for line, cells in waiting]
        fullest = max((count for _, _, count in filled), default=0)
        if not fullest:
            return
        need = max(min(2, fullest), -(-3 * fullest // 4))
        titles = []
        for line, cells, count in filled:
            if self.found:
                self._add_row(line, cells)
            elif count >= need:
                self._take_headings(line, cells)
            elif count:
                titles.append(line)
        if titles:
            # Rows named, not quoted: a title block often names the canvasser ("Canvasser: Jo ...").
            listed = ", ".join(str(line) for line in titles[:5]) + (" and more" if len(titles) > 5 else "")
            what = f"rows {listed} look" if len(titles) > 1 else f"row {listed} looks"
            self.table.notes.append(f"Read the headings from row {self.table.heading_line}. Above them, {what} like "
                                    "a title and not part of the table, so not read. If the headings are on "
                                    "another row, say which.")

    def _take_headings(self, line: int, cells: list[str]) -> None:
        table = self.table
        headings = [cell.strip() for cell in cells]
        while headings and not headings[-1]:
            headings.pop()
        table.headings, table.heading_line, self.found = headings, line, True
        self.width = len(headings)
        self._check_characters(line, cells)

    def _add_row(self, line: int, cells: list[str]) -> None:
        table = self.table
        if not any(cell.strip() for cell in cells):
            table.blank_rows += 1
            return
        width = self.width
        for index in range(width, len(cells)):
            if cells[index].strip():
                table.problems.append(Problem(
                    line, "row", "beyond_headings",
                    f"cell {column_letter(index)}{line} holds a value, but its column has no heading, so it is not "
                    "read: give the column a heading or move the value", WARNING,
                    f"{column_letter(index)}{line}"))
        row = tuple(cells[:width]) + ("",) * (width - len(cells))
        self._check_characters(line, row)
        table.rows.append(Row(line, row))

    def _check_characters(self, line: int, cells) -> None:
        for index, cell in enumerate(cells):
            if bad := BAD_CHARACTER.search(cell):
                code = ord(bad.group())
                what = ("a NUL character" if code == 0 else f"a broken character (U+{code:04X})"
                        if 0xD800 <= code <= 0xDFFF else f"a control character (U+{code:04X})")
                ref = f"{column_letter(index)}{line}"
                self.table.problems.append(Problem(
                    line, "row", "bad_character", f"cell {ref} contains {what}, which no canvass record holds: "
                                                  "is the file damaged?", ERROR, ref))

    def finish(self, where: str) -> Table:
        """The table, or ImportRefused if it has no headings or no rows."""
        table = self.table
        if not self.found and self._waiting:
            self._decide()
        if not self.found:
            if self.wanted is not None:
                raise refuse("empty", f"{where} has nothing on row {self.wanted} or below, where the headings "
                                      "were said to be.")
            raise refuse("empty", f"{where} is empty: it has no headings and no rows.")
        if not table.rows:
            # A heading that runs over lines is rows swallowed by an unclosed quote: naming it would repeat
            # people's details, so the headings are listed only when they look like headings.
            plain = all(len(h) <= 60 and h.isprintable() for h in table.headings)
            if plain:
                listed = ", ".join(h for h in table.headings if h)[:200]
                raise refuse("headings_only", f"{where} has headings ({listed}) but no rows below them.",
                             headings=table.headings)
            raise refuse("headings_only", f"{where} has a heading row but no rows below it (is a quote mark "
                                          "left open on the first line?).")
        if blank := table.blank_rows:
            table.notes.append("1 blank row was skipped." if blank == 1 else f"{blank} blank rows were skipped.")
        return table
