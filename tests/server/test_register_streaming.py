"""Register import in bounded memory: the file is read, checked and written a chunk at a time inside one
transaction. A register read in chunks gives what it gives read whole, a bad row in the last chunk still
leaves nothing written, and households, UPRNs and duplicate numbers are seen across chunk boundaries.
"""
from __future__ import annotations

import io
import random
import tracemalloc

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Constituency, Elector, PollingDistrict, Property, RegisterEdition
from server.services.register_import import import_register
from server.services.register_parse import RegisterRejected, RowChecker, _FirstLines
from server.services.register_read import RecordReader
from tests.server.test_register_import import (
    CODE,
    DEC_14,
    HEADER_14,
    JAN_14,
    count,
    elector,
    make_constituency,
    register_file,
)

HEADER_UPRN = HEADER_14 + ",UPRN"


@pytest.fixture
def chunk_rows(monkeypatch):
    """Make the importer work in chunks of ``n`` rows."""
    def set_size(n: int) -> None:
        monkeypatch.setattr("server.services.register_import.CHUNK_ROWS", n)
    return set_size


def snapshot(code: str) -> list[tuple]:
    rows = db.session.execute(
        select(Elector.prefix, Elector.number, Elector.suffix, Elector.surname, Elector.status, Elector.version,
               Property.address_key, Property.sort_key, Property.uprn, Property.version)
        .join(Property, Property.id == Elector.property_id)
        .join(Constituency, Constituency.id == Elector.constituency_id)
        .where(Constituency.code == code)
        .order_by(Elector.prefix, Elector.number, Elector.suffix)).all()
    return [tuple(r) for r in rows]


def test_a_register_read_in_chunks_of_seven_rows_gives_what_it_gives_read_whole(app, chunk_rows):
    make_constituency("E14000001")
    make_constituency("E14000002")
    whole = [import_register(path, "E14000001") for path in (DEC_14, JAN_14)]

    chunk_rows(7)
    chunked = [import_register(path, "E14000002") for path in (DEC_14, JAN_14)]

    for a, b in zip(whole, chunked):
        assert (a.counts, a.properties_added, a.properties_updated) == (b.counts, b.properties_added,
                                                                        b.properties_updated)
    assert chunked[1].counts == {"added": 46, "updated": 23, "removed": 75, "unchanged": 2305, "rejected": 0}
    assert snapshot("E14000002") == snapshot("E14000001")
    assert len(snapshot("E14000001")) == 2403 + 46


def test_a_dry_run_in_chunks_counts_exactly_what_the_import_then_does(app, chunk_rows):
    make_constituency()
    import_register(DEC_14, CODE)
    chunk_rows(50)

    dry = import_register(JAN_14, CODE, dry_run=True)
    real = import_register(JAN_14, CODE)

    assert dry.counts == real.counts
    assert (dry.properties_added, dry.properties_updated) == (real.properties_added, real.properties_updated)
    assert count(RegisterEdition) == 2


def test_a_bad_row_after_thousands_of_written_rows_still_leaves_nothing_written(app, chunk_rows, tmp_path):
    make_constituency(prefixes=("AA1",))
    lines = DEC_14.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "register-2026-12.csv"
    path.write_text("\n".join([*lines, "AA1,9999,0,,,Bell,Ava,NOT A POSTCODE,2,High Street,Elmford,,,"]) + "\n",
                    encoding="utf-8")
    chunk_rows(100)

    with pytest.raises(RegisterRejected) as refused:
        import_register(path, CODE, create_districts=True)

    assert [r["line"] for r in refused.value.details["rows"]] == [len(lines) + 1]
    assert count(Elector) == count(Property) == count(RegisterEdition) == 0
    assert count(PollingDistrict) == 1  # AA2, AB1 and AB2, created in early chunks, went with the rest


def test_a_household_split_across_chunks_is_one_home_that_takes_the_uprn_from_its_later_row(
        app, chunk_rows, tmp_path):
    make_constituency()
    rows = ["AA1,1,0,,,Shaw,Isla,EF1 1AA,5,Mill Lane,Elmford,,,,",
            "AA1,2,0,,,Khan,Ali,EF1 1AA,7,Mill Lane,Elmford,,,,",
            "AA1,3,0,,,Shaw,Tom,EF1 1AA,5,Mill Lane,Elmford,,,,100023336956"]
    chunk_rows(2)

    summary = import_register(register_file(tmp_path, rows, header=HEADER_UPRN), CODE)

    assert (summary.properties_added, summary.properties_updated) == (2, 0)
    isla, tom = elector("AA1-1"), elector("AA1-3")
    assert isla.property_id == tom.property_id
    assert (isla.property.uprn, isla.property.version) == ("100023336956", 1)


def test_two_uprns_at_one_written_address_in_different_chunks_stay_two_homes(app, chunk_rows, tmp_path):
    make_constituency()
    rows = ["AA1,1,0,,,Shaw,Isla,EF1 1AA,Victoria Court,12 High Street,Elmford,,,,100000000001",
            "AA1,2,0,,,Khan,Ali,EF1 1AA,7,Mill Lane,Elmford,,,,",
            "AA1,3,0,,,Rowe,Sam,EF1 1AA,Victoria Court,12 High Street,Elmford,,,,100000000002"]
    path = register_file(tmp_path, rows, header=HEADER_UPRN)
    chunk_rows(2)

    import_register(path, CODE)

    isla, sam = elector("AA1-1").property, elector("AA1-3").property
    assert isla.id != sam.id
    assert (isla.uprn, sam.uprn) == ("100000000001", "100000000002")
    assert sam.address_key == isla.address_key[:380] + "#100000000002"
    # And the next edition, read in chunks again, finds each home by its UPRN and changes nothing.
    again = import_register(path, CODE)
    assert (again.unchanged, again.properties_added, again.properties_updated) == (3, 0, 0)


def test_a_register_given_as_a_stream_imports_like_a_file_whether_or_not_it_can_seek(app):
    make_constituency()

    class Upload(io.RawIOBase):
        """A one-way stream, as a request body may be."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            return self._data.readinto(buffer)

    data = DEC_14.read_bytes()
    seekable = import_register(io.BytesIO(data), CODE, filename="uploads/register-2026-12-full.csv")
    one_way = import_register(io.BufferedReader(Upload(data)), CODE, filename="register-2026-12-full.csv")

    assert seekable.added == 2403 and one_way.unchanged == 2403
    assert seekable.sha256 == one_way.sha256 and seekable.filename == "register-2026-12-full.csv"


def test_a_number_repeated_chunks_later_names_the_line_it_first_appeared_on(app, chunk_rows, tmp_path):
    make_constituency()
    rows = [f"AA1,{n},0,,,Bell,Ava,EF1 1AA,{n},High Street,Elmford,,," for n in range(1, 9)]
    rows += ["AA1,900000,0,,,Bell,Ben,EF1 1AA,1,High Street,Elmford,,,",
             "AA1,3,1,,,Bell,Cal,EF1 1AA,3,High Street,Elmford,,,",
             "AA1,2,0,,,Bell,Dee,EF1 1AA,2,High Street,Elmford,,,",  # line 12: AA1-2 is on line 3
             "AA1,900000,0,,,Bell,Eve,EF1 1AA,1,High Street,Elmford,,,",  # line 13: on line 10
             "AA1,3,1,,,Bell,Fay,EF1 1AA,3,High Street,Elmford,,,"]  # line 14: on line 11
    chunk_rows(3)

    with pytest.raises(RegisterRejected) as refused:
        import_register(register_file(tmp_path, rows), CODE)

    assert [(r["line"], r["message"]) for r in refused.value.details["rows"]] == [
        (12, "elector number AA1-2 is already on line 3"),
        (13, "elector number AA1-900000 is already on line 10"),
        (14, "elector number AA1-3/1 is already on line 11")]


def test_elector_numbers_are_remembered_in_a_few_bytes_each_whatever_their_order():
    keys = [(f"A{d}", n, 1 if n % 50 == 0 else 0) for d in range(20) for n in range(1, 2501)]
    keys += [("ZZ9", 2_000_000_000, 0)]
    random.Random(7).shuffle(keys)
    first_lines = _FirstLines()

    assert all(first_lines.claim(key, line) is None for line, key in enumerate(keys, start=2))
    assert all(first_lines.claim(key, 10**6) == line for line, key in enumerate(keys, start=2))
    tracemalloc.start()
    try:
        lines = _FirstLines()
        for line, key in enumerate(keys, start=2):
            lines.claim(key, line)
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A dict of 50,001 tuples would take about 10 MB; most numbers sit in arrays at 4 bytes each.
    assert used < 2_000_000, used


def test_reading_a_large_register_holds_one_chunk_at_a_time(tmp_path):
    path = tmp_path / "register.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER_14 + "\n")
        for n in range(8000):  # four polling districts of 2,000
            handle.write(f"A{n // 2000},{n % 2000 + 1},0,,,Bell,Ava May,EF1 1AA,{n},High Street,Elmford,,,\n")

    def peak_reading(chunk_size: int) -> int:
        tracemalloc.start()
        try:
            with path.open(encoding="utf-8", newline="") as text:
                reader = RecordReader(text)
                checker = RowChecker(reader.headings)
                rows = sum(len(chunk.rows) for chunk in checker.chunks(reader, chunk_size))
            assert rows == 8000 and checker.rejected == 0
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    chunked, whole = peak_reading(400), peak_reading(8000)

    # Every row held at once takes about 7 MB; a chunk of 400 a fraction of that.
    assert chunked < 2_000_000 and chunked * 4 < whole, (chunked, whole)
