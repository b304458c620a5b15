"""Reading an uploaded spreadsheet (CSV or Excel .xlsx) into headings and rows of text, or refusing it whole.

Canvass sheets typed up from paper arrive in every state: saved by Excel in Windows-1252, by a phone as
UTF-16, as an old .xls, with a password, with a title block of merged cells, with formulas. Each such file
is either refused with one plain message saying what to do, or read with its problems attached to the rows
they affect, numbered as the admin's spreadsheet program numbers them. Every cell comes back as text;
nothing is evaluated (a formula is read as its text, never its cached result). Pure: no database.
"""
from __future__ import annotations

import csv
import io
import re

from server.errors import ValidationFailed
from server.services.imports.errors import ERROR, WARNING, ImportRefused, Problem, column_letter, describe_size
from server.services.imports.table import BAD_CHARACTER, Row, Shaper, Table, refuse
from server.services.imports.workbook import OLE_MAGIC, XLSX_NAMES, ZIP_MAGIC, read_workbook
from server.services.register_read import MAX_CELL_LINES, decode_register

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_BREAK = re.compile(r"\r\n|\r|\n")

__all__ = ["DEFAULT_MAX_BYTES", "Row", "Table", "detect_format", "read_table"]


def detect_format(data: bytes, filename: str) -> str:
    """"xlsx", "csv" or "export" (the app's JSON file of unsent records), from the bytes first and the name second."""
    name = (filename or "").lower()
    if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC) or name.endswith(XLSX_NAMES + (".xls",)):
        return "xlsx"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{") or name.endswith(".json"):
        return "export"
    return "csv"


def read_table(data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
               heading_line: int | None = None) -> Table:
    """The headings and rows of a CSV or .xlsx file, or ImportRefused saying why it cannot be read.

    Headings are the first non-blank row, or row ``heading_line`` when the admin says so (rows above it are
    then ignored: a title block, say). Rows are numbered as a spreadsheet program shows them.
    """
    if len(data) > max_bytes:
        raise refuse("too_large", f"The file is {describe_size(len(data))}; the largest file that can be imported is "
                                  f"{describe_size(max_bytes)}. Split it into smaller files and import each.",
                     size=len(data), max_bytes=max_bytes)
    if not data.strip():
        raise refuse("empty", "The file is empty: it has no headings and no rows.")
    kind = detect_format(data, filename)
    if kind == "export":
        raise refuse("unsupported_format", "This is a JSON file, not a spreadsheet. If it is a file of unsent "
                                           "records exported from the app, import it as an export file.")
    if kind == "xlsx":
        return read_workbook(data, filename, max_bytes, heading_line)
    return _read_csv(data, heading_line)


# ---------------------------------------------------------------------------------------------------
# CSV


def _mixed_encoding(data: bytes) -> tuple[list[int], list[int]]:
    """Lines of a file that is not wholly UTF-8 which are UTF-8 with accents, and lines that are not UTF-8."""
    utf8, other = [], []
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8.append(number)
        except UnicodeDecodeError:
            other.append(number)
    return utf8, other


def _lines_text(lines: list[int]) -> str:
    """"line 3", "lines 2, 5 and 9", "lines 1, 2, 3, 4, 5 and 12 more"."""
    if len(lines) == 1:
        return f"line {lines[0]}"
    if len(lines) <= 5:
        return "lines " + ", ".join(str(n) for n in lines[:-1]) + f" and {lines[-1]}"
    return "lines " + ", ".join(str(n) for n in lines[:5]) + f" and {len(lines) - 5} more"


# Files that are plainly something else, by their first bytes: named in the refusal so the admin knows.
_SIGNATURES = ((b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG photo"),
               (b"GIF8", "a GIF image"), (b"{\\rtf", "a Word (RTF) document"))
# UTF-8 read as Windows-1252 and saved again as UTF-8: "Zoë" becomes "ZoÃ«". No UK name or code holds these pairs.
_MOJIBAKE = re.compile("[\u00c2\u00c3\u00c5][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                       "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
                       "\u20ac\u2122]")


def _decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the name of its encoding, or ImportRefused."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise refuse("unsupported_format", f"The file is {what}, not a spreadsheet. Type the sheet up in a "
                                               "spreadsheet and save it as \"CSV UTF-8\" or \"Excel Workbook "
                                               "(.xlsx)\", then import that.")
    boms = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
    if not data.startswith(boms):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            utf8, other = _mixed_encoding(data)
            if utf8 and other:
                raise refuse(
                    "mixed_encoding",
                    "The file mixes two text encodings: accented letters on "
                    f"{_lines_text(utf8)} are saved as UTF-8, but on {_lines_text(other)} in another "
                    "encoding (probably Windows-1252, from an older Excel), so some names would come out "
                    "garbled. Open the file, check the accented letters on those lines, and save it as "
                    "\"CSV UTF-8\".", utf8_lines=utf8[:20], other_lines=other[:20]) from None
    try:
        text, encoding = decode_register(data)
    except ValidationFailed as exc:
        encoding = (exc.details or {}).get("encoding", ["?"])[0]
        if encoding.startswith("utf-16") and not (exc.details or {}).get("truncated"):
            raise refuse("encoding", "The file is UTF-16 text without a byte-order mark, so it cannot be read "
                                     "reliably: open it and save it as \"CSV UTF-8\", then import that.",
                         encoding=encoding) from None
        raise _not_text(encoding) from None
    # Text has few control characters; a binary file read as Latin-1 is full of them.
    head = text[:65536]
    if len(BAD_CHARACTER.findall(head)) > max(8, len(head) // 100):
        raise _not_text(encoding)
    if garbled := _garbled_lines(text):
        raise refuse("encoding", f"The accented letters on {_lines_text(garbled)} are garbled (such as \"Ã«\" "
                                 "for \"ë\"): the file was converted from one text encoding to another twice. "
                                 "Export the sheet again from where it was typed, saved as \"CSV UTF-8\", and "
                                 "import that.", encoding=encoding, lines=garbled[:20])
    return text, encoding


def _not_text(encoding: str) -> ImportRefused:
    return refuse("not_text", "The file is not a spreadsheet or CSV text (it looks like binary data). Export "
                              "the sheet as \"CSV UTF-8\" or \"Excel Workbook (.xlsx)\" and import that.",
                  encoding=encoding)


def _garbled_lines(text: str) -> list[int]:
    """Lines (of the file, from 1) holding UTF-8 that was decoded as Windows-1252 and saved again."""
    if not _MOJIBAKE.search(text):
        return []
    return [number for number, line in enumerate(_BREAK.split(text), 1) if _MOJIBAKE.search(line)]


def _delimiter(text: str) -> str:
    """Comma, tab or semicolon: whichever the first non-blank line has most of (comma on a tie)."""
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _read_csv(data: bytes, heading_line: int | None) -> Table:
    text, encoding = _decode(data)
    delimiter = _delimiter(text)
    table = Table(format="csv", headings=[], heading_line=0, rows=[], encoding=encoding, delimiter=delimiter)
    shaper = Shaper(table, heading_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = enumerate(reader, 1)
    pending = None
    while True:
        try:
            following = next(records, None)
        except csv.Error as exc:
            line = (pending[0] + 1) if pending else 1
            raise refuse("unreadable", f"The file is not readable as CSV from row {line} on ({exc}). A quotation "
                                       "mark that is never closed is the usual cause: check that row.",
                         line=line) from None
        if pending is not None:
            line, record = pending
            if problem := _runaway(line, record, delimiter, shaper.width, at_end=following is None):
                table.problems.append(problem)
            shaper.add(line, record)
        if following is None:
            break
        pending = following
    table = shaper.finish("The file")
    # A CSV holds no formulas, but a cell typed as one would run if the file were opened in a spreadsheet
    # again: it is kept as text (and neutralised in every export), and the admin is told.
    for row in table.rows:
        for index, cell in enumerate(row.cells):
            if cell.startswith("=") and len(cell) > 1:
                ref = f"{column_letter(index)}{row.line}"
                table.problems.append(Problem(
                    row.line, "row", "formula", f"cell {ref} starts with \"=\" like a formula: it is kept "
                                                "as text, never run", WARNING, ref))
    table.problems.sort(key=lambda p: (p.line, p.cell or ""))
    return table


def _runaway(line: int, record: list[str], delimiter: str, width: int, *, at_end: bool) -> Problem | None:
    """A Problem if a quoted cell of this row swallowed the rows after it (a quotation mark not closed)."""
    row_like = max(1, (width - 1) // 2)
    for index, cell in enumerate(record):
        pieces = _BREAK.split(cell)
        if len(pieces) == 1:
            continue
        # Python's csv gives a cell left open at the end of the file everything to the end, final line break
        # included; a cell closed properly never ends with one.
        unclosed = at_end and pieces[-1] == ""
        if unclosed or len(pieces) > MAX_CELL_LINES or any(p.count(delimiter) >= row_like for p in pieces[1:]):
            where = "runs to the end of the file" if unclosed else f"runs over {len(pieces)} lines"
            return Problem(line, "row", "runaway_quote",
                           f"a quoted cell ({column_letter(index)}{line}) opens on this row and {where}, so the rows "
                           "after it were read as part of one cell: check the quotation marks on this row",
                           ERROR, f"{column_letter(index)}{line}")
    return None
