"""The two ways an import speaks to the admin: a refusal of the whole file, and problems on its rows.

A refusal means nothing in the file can be imported until the admin fixes it (wrong format, unreadable,
empty, too large). A problem belongs to one row or cell and says whether that row can still be imported
("warning") or must be fixed or left out ("error"). Pure: no database.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from server.errors import ValidationFailed

ERROR = "error"
WARNING = "warning"


class ImportRefused(ValidationFailed):
    """The whole file is refused; ``reason`` is a stable code and ``message`` says what to do, in plain words.

    Reasons: ``too_large``, ``empty``, ``headings_only``, ``encoding``, ``mixed_encoding``, ``not_text``,
    ``password_protected``, ``corrupt``, ``old_excel``, ``unsupported_format``, ``unreadable``,
    ``not_an_export``, ``export_version``, ``export_invalid``, ``another_clp``, ``missing_columns``.
    """

    def __init__(self, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": reason, **(details or {})})
        self.reason = reason


@dataclass(frozen=True)
class Problem:
    """Something wrong with one row (``line`` as the spreadsheet numbers it; 0 for the file as a whole).

    ``code`` is stable for a screen to group by (``formula``, ``merged_cells``, ``unknown_code``...);
    ``cell`` is a spreadsheet reference such as "B7" when one cell is at fault.
    """

    line: int
    field: str
    code: str
    message: str
    severity: str = ERROR
    cell: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 -> "A", 27 -> "AB"."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def describe_size(size: int) -> str:
    """A file size as the admin reads it: "52.4 MB", or bytes below one megabyte."""
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{size / 1024 / 1024:.1f}".removesuffix(".0") + " MB"


def shown(value: str, limit: int = 40) -> str:
    """A value quoted for a message, cut short so a long cell cannot flood the report."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
