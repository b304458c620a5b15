"""Reading a register file's bytes as CSV records: which encoding, which delimiter, and the files refused
outright (workbooks, UTF-16 without a byte-order mark, binary). Quoted fields that never close are found
and reported at the line where they open, instead of silently swallowing the rows after them.

Everything here streams, so a register of any size is read in bounded memory. Pure: no database.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import asdict, dataclass
from itertools import chain
from typing import IO, Iterable, Iterator

from server.errors import ValidationFailed

SNIFF_BYTES = 64 * 1024
READ_BYTES = 1 << 20
# A quoted field may hold a line break or two (a spreadsheet cell typed with Alt+Enter); one that runs over
# more lines than this has swallowed rows.
MAX_CELL_LINES = 4
_BREAK = re.compile(r"\r\n|\r|\n")
# The five bytes Windows-1252 leaves undefined; a file holding any of them is read as Latin-1.
_CP1252_DEFINED = bytes(b for b in range(256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))


@dataclass(frozen=True)
class Problem:
    """Why one row was rejected: the physical line in the file (header = 1), the field and a message."""

    line: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------
# Encodings


def _refuse(message: str, encoding: str) -> ValidationFailed:
    return ValidationFailed(message, details={"encoding": [encoding]})


def _utf16_without_bom(head: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when NUL bytes fill every other position, as UTF-16 text of Latin letters does."""
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    nul_even, nul_odd = even.count(0), odd.count(0)
    if nul_odd >= 0.6 * len(odd) and nul_even <= 0.1 * len(even):
        return "utf-16-le"
    if nul_even >= 0.6 * len(even) and nul_odd <= 0.1 * len(odd):
        return "utf-16-be"
    return None


class EncodingProbe:
    """Finds the encoding of a register by seeing each byte once (while the file is hashed).

    A byte-order mark decides at once. Otherwise UTF-8 if every byte decodes as UTF-8, else Windows-1252, as
    councils' exports come; Latin-1 (which maps every byte) if the file holds a byte Windows-1252 leaves
    undefined, so the import can still report its rows. Files that are not CSV text are refused from their
    first bytes, each in one line that says what the file looks like and what to do.
    """

    def __init__(self, head: bytes) -> None:
        self.codec: str | None = None
        self.name = ""
        if head.startswith(b"PK\x03\x04"):
            raise _refuse("The file is a spreadsheet workbook (.xlsx or another zip file), not CSV: open it and "
                          "save it as \"CSV UTF-8\", then import that.", "xlsx")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise _refuse("The file is an Excel 97-2003 workbook (.xls), not CSV: open it and save it as "
                          "\"CSV UTF-8\", then import that.", "xls")
        for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                           (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
            if head.startswith(bom):
                self.codec = self.name = codec
                return
        if guess := _utf16_without_bom(head[:SNIFF_BYTES]):
            endian = "little" if guess.endswith("le") else "big"
            raise _refuse(f"The file looks like UTF-16 ({endian}-endian) text without a byte-order mark, which "
                          "cannot be read reliably: save it as \"CSV UTF-8\" and import that.", guess)
        sample = head[:SNIFF_BYTES]
        if sample and sample.count(0) > 0.3 * len(sample):
            raise _refuse(f"The file is not text: {sample.count(0) * 100 // len(sample)}% of its first bytes are "
                          "NUL. Export the register from the council's system as CSV and import that.", "binary")
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._utf8_ok = True
        self._cp1252_ok = True

    def feed(self, chunk: bytes) -> None:
        """See the next bytes of the file."""
        if self.codec is not None:
            return
        if self._utf8_ok:
            try:
                self._utf8.decode(chunk)
            except UnicodeDecodeError:
                self._utf8_ok = False
        if self._cp1252_ok and chunk.translate(None, _CP1252_DEFINED):
            self._cp1252_ok = False

    def finish(self) -> tuple[str, str]:
        """The codec to read the file with, and the encoding's name to report."""
        if self.codec is not None:
            return self.codec, self.name
        if self._utf8_ok:
            try:
                self._utf8.decode(b"", final=True)
                return "utf-8-sig", "utf-8"  # utf-8-sig also drops a UTF-8 byte-order mark
            except UnicodeDecodeError:
                pass
        return ("cp1252", "windows-1252") if self._cp1252_ok else ("latin-1", "latin-1")


def text_stream(binary: IO[bytes], codec: str) -> io.TextIOWrapper:
    """The file's text, decoded as it is read. Lone surrogates in UTF-16/32 come through, to be reported by line."""
    errors = "surrogatepass" if codec in ("utf-16", "utf-32") else "strict"
    return io.TextIOWrapper(binary, encoding=codec, errors=errors, newline="")


def decode_register(data: bytes) -> tuple[str, str]:
    """Text and encoding name of a whole file held in memory (see EncodingProbe for the rules)."""
    probe = EncodingProbe(data[:SNIFF_BYTES])
    probe.feed(data)
    codec, name = probe.finish()
    errors = "surrogatepass" if codec in ("utf-16", "utf-32") else "strict"
    try:
        return data.decode(codec, errors), name
    except UnicodeDecodeError as exc:  # a UTF-16 or UTF-32 file cut off in the middle of a character
        raise ValidationFailed(f"The file cannot be read as {name} text: it breaks off in the middle of a "
                               f"character (byte {exc.start:,}). Save or export it again.",
                               details={"encoding": [name], "truncated": [True]}) from None


# ---------------------------------------------------------------------------------------------------
# Records


class RecordReader:
    """The heading row, then each non-blank record with the physical line it starts on (header = line 1).

    Iterating yields ``(line, record, problem)``: a record, or None and the Problem that made the text
    unreadable from that line (a quoted field that never closes).
    """

    def __init__(self, lines: Iterable[str]) -> None:
        source = iter(lines)
        first = next(source, "")
        self.delimiter = "\t" if first.count("\t") > first.count(",") else ","
        self._reader = csv.reader(chain([first], source), delimiter=self.delimiter)
        self._previous = 0
        self.headings: list[str] = []
        self._records = self._raw()
        for line, end, record, problem in self._records:
            if problem is not None:
                raise ValidationFailed(f"The heading row cannot be read: line {line}: {problem.message}.",
                                       details={"rows": [problem.as_dict()]})
            self.headings = [cell.strip() for cell in record]
            break
        else:
            raise ValidationFailed("The file is empty: there is no heading row.", details={"headings": []})
        width = len(self.headings)
        # A line holding at least half a row's delimiters is a row, not part of an address.
        self._row_like = max(1, (width - 1) // 2)

    def _raw(self) -> Iterator[tuple[int, int, list[str] | None, Problem | None]]:
        """(first line, last line, record, problem) for each non-blank record; stops after an unreadable one."""
        reader = self._reader
        while True:
            start = self._previous + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    message = (f"a quoted field opens on this line and runs on for more than "
                               f"{csv.field_size_limit():,} characters: a quotation mark is not closed, so "
                               "the rest of the file cannot be read")
                else:
                    message = f"the file is not readable CSV from here ({exc})"
                yield start, start, None, Problem(start, "row", message)
                return
            self._previous = reader.line_num
            if any(cell.strip() for cell in record):
                yield start, reader.line_num, record, None

    def __iter__(self) -> Iterator[tuple[int, list[str] | None, Problem | None]]:
        # One record of look-ahead tells whether a record ran to the end of the file.
        pending = next(self._records, None)
        while pending is not None:
            following = next(self._records, None)
            line, end, record, problem = pending
            if problem is None and end > line:
                problem = self._runaway(line, end, record, at_end=following is None)
            yield (line, None, problem) if problem else (line, record, None)
            pending = following

    def _runaway(self, line: int, end: int, record: list[str], *, at_end: bool) -> Problem | None:
        """A Problem at the line where a quoted field opened, if that field swallowed the rows after it."""
        opened = line
        for cell in record:
            pieces = _BREAK.split(cell)
            if len(pieces) == 1:
                continue
            # Python's csv gives a field left open at the end of the file everything to the end, final
            # line break included; a field closed properly never ends with one.
            unclosed = at_end and pieces[-1] == ""
            if (unclosed or len(pieces) > MAX_CELL_LINES
                    or any(piece.count(self.delimiter) >= self._row_like for piece in pieces[1:])):
                where = ("is never closed: it runs to the end of the file" if unclosed
                         else f"runs on to line {end}")
                return Problem(opened, "row", f"a quoted field opens on this line and {where}, so the rows after "
                                              "it were read as part of one field: check the quotation marks "
                                              "on this line")
            opened += len(pieces) - 1
        return None
