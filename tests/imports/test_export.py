"""The app's file of unsent records (pwa/js/export.js writes it; pwa/README.md describes it): read when it is
what the app wrote, refused in plain words when it was edited, damaged, or is some other file."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest

from server.services.imports import EXPORT_FORMAT, ImportRefused, read_export
from tests.imports.sheets import xlsx_bytes

DEVICE = "8662859a-0f9e-43cd-b076-61a4830182b1"
STORAGE = "46bccfc5-956f-4ea9-8231-bd933b79ac85"


def contact(mutation_id: str, seq: int, elector_id: int, outcome: str, intention: str | None = None) -> dict:
    data = {"campaign_id": 1, "elector_id": elector_id, "channel": "door", "outcome": outcome}
    if intention:
        data["intention"] = intention
    return {"id": mutation_id, "seq": seq, "type": "contact", "occurred_at": "2026-11-21T17:40:03.118Z",
            "base_version": None, "data": data}


def exported() -> dict:
    """A file as buildExport() makes it: two records waiting, one the server refused."""
    return {
        "format": "groundwork.unsent-records",
        "format_version": 1,
        "exported_at": "2026-11-21T18:02:11.402Z",
        "protocol_version": 1,
        "schema_version": 1,
        "user": {"id": 7, "email": "canvasser@demo.groundwork.test", "name": "Omar Mahmood"},
        "device": {"id": DEVICE, "name": "Android phone"},
        "storage_id": STORAGE,
        "records": [
            {"status": "pending", "failure": None,
             "mutation": contact("99ca22b3-1d69-4eaa-958d-f204c0e26623", 14, 812, "SPOKE", "LAB"),
             "context": {"elector_number": "AA1-28", "name": "Adaeze Okoye", "address": "3 Canal Rise, EF1 1AE"}},
            {"status": "failed",
             "failure": {"status": "rejected", "details": {"outcome": ["unknown"]}, "at": "2026-11-21T17:50:00Z"},
             "mutation": contact("0b6e0f1e-8d0c-4a55-9a59-3f1c1f1e2a10", 15, 813, "NOT_HOME"),
             "context": None},
        ],
    }


def as_file(document, *, indent=2) -> bytes:
    # The screen saves JSON.stringify(doc, null, 2).
    return json.dumps(document, indent=indent, ensure_ascii=False).encode()


def refusal(data: bytes, **kw) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        read_export(data, **kw)
    assert "\n" not in caught.value.message
    return caught.value


def test_a_file_the_app_exported_is_read_with_each_mutation_exactly_as_the_phone_built_it():
    document = exported()
    export = read_export(as_file(document))
    assert EXPORT_FORMAT == document["format"]
    assert (export.format_version, export.protocol_version, export.schema_version) == (1, 1, 1)
    assert export.exported_at == datetime(2026, 11, 21, 18, 2, 11, 402000, tzinfo=timezone.utc)
    assert (export.user.id, export.user.name, export.device.id, export.storage_id) == (
        7, "Omar Mahmood", DEVICE, STORAGE)
    assert [(r.position, r.status, r.mutation_id) for r in export.records] == [
        (1, "pending", "99ca22b3-1d69-4eaa-958d-f204c0e26623"), (2, "failed", "0b6e0f1e-8d0c-4a55-9a59-3f1c1f1e2a10")]
    assert [r.mutation for r in export.records] == [r["mutation"] for r in document["records"]]
    assert export.records[0].context["elector_number"] == "AA1-28"
    assert export.records[1].failure["status"] == "rejected"
    assert export.push_envelope() == {"device_id": DEVICE, "storage_id": STORAGE, "protocol_version": 1,
                                      "schema_version": 1}


def test_a_file_saved_again_by_a_text_editor_with_a_byte_order_mark_and_no_indentation_is_still_read():
    export = read_export(b"\xef\xbb\xbf" + as_file(exported(), indent=None))
    assert len(export.records) == 2


def test_a_phone_clock_time_that_is_not_a_time_does_not_stop_the_import():
    document = exported()
    document["exported_at"] = "sometime on Saturday"
    export = read_export(as_file(document))
    assert export.exported_at is None and export.exported_at_text == "sometime on Saturday"


@pytest.mark.parametrize("tamper, expected", [
    (lambda d: d["records"][0].update(status="sent"), "record 1 has status 'sent', not pending or failed"),
    (lambda d: d["records"][1].pop("mutation"), "record 2 has no mutation"),
    (lambda d: d["records"][1].update(failure=None), "record 2 failed but does not say how"),
    (lambda d: d["records"][1]["mutation"].update(id=d["records"][0]["mutation"]["id"]),
     "record 2 has the same mutation id as record 1"),
    (lambda d: d["user"].update(id="7"), "the volunteer's id (\"user.id\") is '7', not a user id"),
    (lambda d: d.pop("user"), "it does not say which volunteer recorded the records (\"user\" is missing)"),
    (lambda d: d["device"].update(id="my phone"), "the device's id (\"device.id\") is 'my phone', not a device id"),
    (lambda d: d.update(storage_id=None), "\"storage_id\" is None, not a storage id"),
    (lambda d: d.update(protocol_version="1"), "\"protocol_version\" is '1', not a whole number"),
    (lambda d: d.update(records={"0": {}}), "\"records\" is missing or not a list"),
])
def test_an_edited_or_damaged_export_is_refused_saying_what_is_wrong(tamper, expected):
    document = copy.deepcopy(exported())
    tamper(document)
    refused = refusal(as_file(document))
    assert refused.reason == "export_invalid"
    assert expected in refused.details["problems"]
    assert refused.message.startswith("The export file is damaged or was edited: ")
    assert refused.message.endswith("Ask the volunteer to export the records again.")


def test_the_refusal_of_an_edited_export_repeats_no_names_addresses_or_emails_from_it():
    document = exported()
    for record in document["records"]:
        record["status"] = "sent"
    document["records"][1]["context"] = {"elector_number": "AA1-29", "name": "Jo Bloggs", "address": "4 Canal Rise"}
    refused = refusal(as_file(document))
    for personal in ("Adaeze", "Okoye", "Canal Rise", "EF1 1AE", "Jo Bloggs", "Omar", "canvasser@"):
        assert personal not in refused.message and personal not in str(refused.details)


def test_many_problems_are_listed_up_to_twenty_and_counted_beyond():
    document = exported()
    document["records"] = [{"status": "lost", "mutation": {}} for _ in range(30)]
    refused = refusal(as_file(document))
    assert "(and 10 more)" in refused.message and len(refused.details["problems"]) == 30


@pytest.mark.parametrize("document", [
    {"format": "something.else", "format_version": 1},
    {"records": []},
    [{"status": "pending"}],
    "groundwork.unsent-records",
])
def test_json_that_is_not_an_export_of_the_app_is_refused_as_not_an_export(document):
    refused = refusal(json.dumps(document).encode())
    assert refused.reason == "not_an_export"
    assert "groundwork.unsent-records" in refused.message


def test_an_export_in_a_newer_format_is_refused_asking_for_an_update():
    document = exported()
    document["format_version"] = 2
    refused = refusal(as_file(document))
    assert refused.reason == "export_version"
    assert refused.details["format_version"] == 2 and refused.details["supported"] == [1]


def test_a_spreadsheet_uploaded_as_an_export_is_pointed_to_the_sheet_import():
    refused = refusal(xlsx_bytes([["Elector No", "Result"], ["AA1-1", "S"]]))
    assert refused.reason == "not_an_export"
    assert "canvass sheet" in refused.message


@pytest.mark.parametrize("data", [as_file(exported())[:200], b"Elector No,Result\r\nAA1-1,S\r\n",
                                  b'{"format": NaN}'])
def test_a_file_cut_short_or_not_json_is_refused_as_unreadable(data):
    assert refusal(data).reason == "unreadable"


def test_an_empty_file_or_an_export_with_no_records_is_refused_as_empty():
    assert refusal(b"").reason == "empty"
    document = exported()
    document["records"] = []
    refused = refusal(as_file(document))
    assert refused.reason == "empty" and "nothing to import" in refused.message


def test_an_export_over_the_size_limit_is_refused_before_it_is_parsed():
    data = as_file(exported())
    refused = refusal(data, max_bytes=len(data) - 1)
    assert refused.reason == "too_large" and refused.details["size"] == len(data)
