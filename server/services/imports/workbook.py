"""Reading an Excel workbook (.xlsx) with openpyxl in read-only mode, or refusing it in one plain sentence.

Workbooks arrive protected with a password (Excel then stores them as an OLE container, not a zip), as an
old .xls or an .ods renamed, damaged, or as a zip bomb; each is refused with what to do. A readable one gives
its first visible sheet, every cell as text: a formula is read as its own text, never its cached result
(nothing a workbook computes is trusted), and merged cells, which openpyxl's read-only mode does not report,
are found by streaming the sheet's XML, so that a value merged down over several rows is not silently given
to the first row only. Pure: no database.
"""
from __future__ import annotations

import bisect
import io
import re
import zipfile
from datetime import date, datetime, time, timedelta
from posixpath import join, normpath
from xml.etree import ElementTree

from server.services.imports.errors import ERROR, WARNING, ImportRefused, Problem, column_letter, describe_size
from server.services.imports.table import Shaper, Table, refuse

# A workbook is a zip: its sheets may expand to many times the upload. Beyond this ratio (real workbooks
# compress about 5 to 10 times) it is a zip bomb or something no canvass sheet needs.
MAX_XLSX_EXPANSION = 20
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
XLSX_NAMES = (".xlsx", ".xlsm", ".xltx", ".xltm")
# Excel saves a password-protected .xlsx as an OLE container holding these two streams (MS-OFFCRYPTO);
# directory entry names are UTF-16LE.
_ENCRYPTED_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
_MERGE = re.compile(rb"<(?:[A-Za-z0-9_]+:)?mergeCell\b[^>]*?\bref=\"([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)\"")
_CELL_REF = re.compile(r"^([A-Z]+)([0-9]+)$")
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def read_workbook(data: bytes, filename: str, max_bytes: int, heading_line: int | None) -> Table:
    """The first visible sheet of a workbook as a Table, or ImportRefused."""
    if data.startswith(OLE_MAGIC):
        if all(stream in data for stream in _ENCRYPTED_STREAMS):
            raise refuse("password_protected",
                         "The workbook is protected with a password, so it cannot be read. Open it in Excel, "
                         "remove the password (File > Info > Protect Workbook > Encrypt with Password, and clear "
                         "it), save it, and import it again.")
        if (filename or "").lower().endswith(XLSX_NAMES):
            # Named .xlsx but stored as an OLE container: Excel does that only to an encrypted workbook, unless an
            # old .xls was renamed. Either way the remedy is the same.
            raise refuse("password_protected",
                         "The workbook cannot be read: it is named .xlsx but stored the way Excel stores a workbook "
                         "protected with a password (or an old .xls file renamed). Open it in Excel, remove any "
                         "password (File > Info > Protect Workbook > Encrypt with Password, and clear it), save "
                         "it as \"Excel Workbook (.xlsx)\", and import it again.")
        raise refuse("old_excel", "The file is an Excel 97-2003 workbook (.xls), which cannot be read. Open it "
                                  "in Excel and save it as \"Excel Workbook (.xlsx)\" (or \"CSV UTF-8\"), then "
                                  "import that.")
    if not data.startswith(ZIP_MAGIC):
        raise refuse("corrupt", "The file is named as an Excel workbook but is not one: it may be damaged, or "
                                "renamed from another format. Open it in Excel and save it as \"Excel Workbook "
                                "(.xlsx)\", then import that.")
    # Anything the zip or XML layers raise on a damaged file (BadZipFile, a CRC error, NotImplementedError for a
    # garbled version field, a parse error) means the file is damaged: one plain refusal, never a traceback.
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if "xl/workbook.bin" in names:
            raise refuse("unsupported_format", "The file is an Excel binary workbook (.xlsb), which cannot be "
                                               "read. Save it as \"Excel Workbook (.xlsx)\" or \"CSV UTF-8\".")
        if "mimetype" in names and archive.read("mimetype").startswith(b"application/vnd.oasis"):
            raise refuse("unsupported_format", "The file is an OpenDocument spreadsheet (.ods). Save it as "
                                               "\"Excel Workbook (.xlsx)\" or \"CSV UTF-8\", then import that.")
        if "xl/workbook.xml" not in names:
            raise _corrupt()
        expanded = sum(info.file_size for info in archive.infolist())
        if expanded > MAX_XLSX_EXPANSION * max_bytes:
            raise refuse("too_large", f"The workbook expands to {describe_size(expanded)} when opened, more than "
                                      "can be imported at once. Split it into smaller files, or save the sheet as "
                                      "\"CSV UTF-8\" and import that.", size=expanded, max_bytes=max_bytes)
        return _read_sheet(data, archive, heading_line)
    except ImportRefused:
        raise
    except Exception:  # noqa: BLE001 - any failure inside the parser means the file is damaged, not our bug to show
        raise _corrupt() from None


def _corrupt() -> ImportRefused:
    # The file's name is not repeated: names of files are often a volunteer's or a street's.
    return refuse("corrupt", "The file is damaged and cannot be read as an Excel workbook. If it opens in "
                             "Excel, save it again as \"Excel Workbook (.xlsx)\" (or \"CSV UTF-8\") and import "
                             "that.")


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each worksheet's name -> its part in the zip, from the workbook and its relationships."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_NS_PKG_REL}Relationship")}
    paths = {}
    for sheet in workbook.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_NS_REL}id"), "")
        paths[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else normpath(join("xl", target))
    return paths


def _merged_ranges(archive: zipfile.ZipFile, path: str) -> list[tuple[str, int, int, int]]:
    """(reference, first row, last row, first column) of each merged range, by streaming the sheet's XML for
    mergeCell (openpyxl's read-only mode does not read them)."""
    found = []
    tail = b""
    with archive.open(path) as stream:
        while chunk := stream.read(1 << 20):
            block = tail + chunk
            last_end = 0
            for match in _MERGE.finditer(block):
                found.append(match.group(1).decode())
                last_end = match.end()
            # Keep the unmatched end of the block: a mergeCell element may straddle two chunks.
            tail = block[max(last_end, len(block) - 512):]
    ranges = []
    for ref in dict.fromkeys(found):
        first, _, last = ref.partition(":")
        first_match, last_match = _CELL_REF.match(first), _CELL_REF.match(last or first)
        if first_match and last_match:
            ranges.append((ref, int(first_match.group(2)), int(last_match.group(2)),
                           _column_index(first_match.group(1))))
    return ranges


def _column_index(letters: str) -> int:
    """The 0-based index of a column letter: "A" -> 0, "AB" -> 27 (column_letter's inverse)."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _cell_text(value, data_type: str) -> str:
    """A cell's value as the text the admin sees: dates as ISO, whole numbers without ".0"."""
    if value is None:
        return ""
    if data_type == "f":
        return value if isinstance(value, str) else getattr(value, "text", None) or "=(a data table formula)"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _read_sheet(data: bytes, archive: zipfile.ZipFile, heading_line: int | None) -> Table:
    import openpyxl  # imported here: only workbooks need it, and it is slow to import

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    try:
        sheets = workbook.worksheets
        visible = [ws for ws in sheets if ws.sheet_state == "visible"]
        if not visible:
            raise refuse("empty", "The workbook has no visible sheet to read. Unhide the sheet to import and "
                                  "save the workbook again.")
        sheet = visible[0]
        others = [ws.title for ws in sheets if ws is not sheet]
        hidden = {ws.title for ws in sheets if ws.sheet_state != "visible"}
        table = Table(format="xlsx", headings=[], heading_line=0, rows=[], sheet=sheet.title, other_sheets=others)
        shaper = Shaper(table, heading_line)
        formulas: list[Problem] = []
        sheet.reset_dimensions()  # a wrong <dimension> would otherwise pad every row to it
        for line, cells in enumerate(sheet.iter_rows(), 1):
            texts = []
            for index, cell in enumerate(cells):
                data_type = getattr(cell, "data_type", "n")
                text = _cell_text(cell.value, data_type)
                texts.append(text)
                ref = f"{column_letter(index)}{line}"
                if data_type == "f":
                    formulas.append(Problem(
                        line, "row", "formula", f"cell {ref} holds a formula: it is read as the text of the "
                                                "formula, not its result; type the value in instead",
                        WARNING, ref))
                elif data_type == "e":
                    formulas.append(Problem(line, "row", "cell_error", f"cell {ref} shows an error ({text}): "
                                                                       "it is read as that text", WARNING, ref))
            while texts and not texts[-1].strip():
                texts.pop()
            shaper.add(line, texts)
    finally:
        workbook.close()
    where = f"The sheet {sheet.title!r}"
    table = shaper.finish(where)
    read_lines = {table.heading_line} | {row.line for row in table.rows}
    table.problems.extend(p for p in formulas if p.line in read_lines)
    paths = _sheet_paths(archive)
    if sheet.title in paths:
        table.problems.extend(_merge_problems(_merged_ranges(archive, paths[sheet.title]), table))
    table.problems.sort(key=lambda p: (p.line, p.cell or ""))
    note = f"Read the sheet {sheet.title!r}"
    if others:
        note += " (the first visible sheet); not read: " + ", ".join(
            repr(o) + (" (hidden)" if o in hidden else "") for o in others)
    table.notes.insert(0, note + ".")
    return table


def _merge_problems(ranges: list[tuple[str, int, int, int]], table: Table) -> list[Problem]:
    """A problem on every read row a merged range covers. Excel keeps a merged range's value in its first cell
    only, so the rows below the first have no value of their own there (an error: the row would silently take
    the batch header's, or nothing); the first row, and a range within one row, lose nothing but are warned of.
    A range whose first cell is empty hides nothing and is passed over."""
    cells = {row.line: row.cells for row in table.rows}
    cells[table.heading_line] = tuple(table.headings)
    lines = sorted(cells)
    problems = []
    for ref, first, last, column in ranges:
        if first in cells:
            shown_cells = cells[first]
            if column >= len(shown_cells) or not shown_cells[column].strip():
                continue
        start = bisect.bisect_left(lines, first)
        for line in lines[start:bisect.bisect_right(lines, last)]:
            severity = WARNING
            if first == last:
                message = (f"cells {ref} are merged: unmerge them (Home > Merge & Center > Unmerge Cells) so each "
                           "value sits in its own cell")
            elif line == first:
                message = (f"cells {ref} are merged across rows {first} to {last}, so this value belongs to this "
                           "row only, not the rows below: unmerge them and fill the value into each row")
            else:
                severity = ERROR
                message = (f"cells {ref} are merged across rows {first} to {last}, so this row has no value of its "
                           f"own there (only row {first} has it): unmerge them and fill the value into each row")
            problems.append(Problem(line, "row", "merged_cells", message, severity, ref))
    return problems
