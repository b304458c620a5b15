"""Reading the app's own file of unsent records (format ``groundwork.unsent-records``, pwa/README.md), which a
volunteer hands to their CLP admin when the records could not be delivered.

Its records are fed through the sync engine as the original device's pushes, keeping their volunteer,
device, storage, mutation ids and times, so a record already delivered is a harmless duplicate. Only the
envelope is checked here: the file's own fields, and that each record has a status and a mutation object.
Each mutation is handed on exactly as the phone built it (the engine validates its contents, and its
content hash must match what the phone would have pushed). Pure: no database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.errors import BadRequest
from server.services.imports.errors import ImportRefused, describe_size
from server.services.imports.read import DEFAULT_MAX_BYTES
from server.services.imports.workbook import OLE_MAGIC, ZIP_MAGIC
from server.transport import parse_json
from sync.protocol import parse_datetime, parse_uuid

EXPORT_FORMAT = "groundwork.unsent-records"
SUPPORTED_FORMAT_VERSIONS = frozenset({1})
STATUSES = ("pending", "failed")
MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class ExportUser:
    """The volunteer who recorded the file's records, as their phone knew them."""

    id: int
    email: str | None
    name: str | None


@dataclass(frozen=True)
class ExportDevice:
    id: str  # the device's UUID, as written
    name: str | None


@dataclass(frozen=True)
class ExportRecord:
    """One outbox entry: ``mutation`` exactly as in the file; ``position`` counts from 1 in the file."""

    position: int
    status: str  # "pending" or "failed"
    failure: dict[str, Any] | None
    mutation: dict[str, Any]
    context: dict[str, Any] | None

    @property
    def mutation_id(self) -> str | None:
        """The mutation's id if it has a string one (the engine decides whether it is valid)."""
        value = self.mutation.get("id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ExportFile:
    """A file of unsent records, its envelope checked."""

    format_version: int
    exported_at: datetime | None  # the phone's clock, which may be wrong; None if the file's value is not a time
    exported_at_text: str
    protocol_version: int
    schema_version: int
    user: ExportUser
    device: ExportDevice
    storage_id: str
    records: tuple[ExportRecord, ...]

    def push_envelope(self) -> dict[str, Any]:
        """The fields of a push body this file supplies (without ``mutations`` and ``device_time``)."""
        return {"device_id": self.device.id, "storage_id": self.storage_id,
                "protocol_version": self.protocol_version, "schema_version": self.schema_version}


def _brief(value: Any) -> str:
    """A value from the file as a message shows it, cut short: an edited file may hold anything there."""
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _whole(value: Any) -> bool:
    return type(value) is int and value >= 1


def read_export(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ExportFile:
    """The export's envelope and records, or ImportRefused saying plainly what is wrong with the file."""
    if len(data) > max_bytes:
        raise ImportRefused("too_large", f"The file is {describe_size(len(data))}; the largest file that can be "
                                         f"imported is {describe_size(max_bytes)}.",
                            {"size": len(data), "max_bytes": max_bytes})
    if not data.strip():
        raise ImportRefused("empty", "The file is empty.")
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        raise ImportRefused("not_an_export", "This is a spreadsheet, not an export of unsent records from the "
                                             "Groundwork app: import it as a canvass sheet instead.")
    try:
        document = parse_json(data.removeprefix(b"\xef\xbb\xbf"))
    except BadRequest as exc:
        raise ImportRefused("unreadable", "The file is not a readable export of unsent records: it is not valid "
                                          "JSON. Ask the volunteer to export the records again.",
                            {"json": exc.details}) from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ImportRefused("not_an_export", "The file is not an export of unsent records from the Groundwork app "
                                             f"(its \"format\" should be {EXPORT_FORMAT!r}).")
    version = document.get("format_version")
    if not _whole(version) or version not in SUPPORTED_FORMAT_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_FORMAT_VERSIONS))
        raise ImportRefused("export_version", f"The file is an export of unsent records in format version "
                                              f"{_brief(version)}, which this server does not read (it reads version "
                                              f"{supported}). Update the server, or ask the volunteer to export "
                                              "again from an up-to-date app.",
                            {"format_version": version, "supported": sorted(SUPPORTED_FORMAT_VERSIONS)})
    problems: list[str] = []
    user, device, storage_id = _envelope(document, problems)
    records = _records(document.get("records"), problems)
    if problems:
        shown = problems[:MAX_LISTED_PROBLEMS]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise ImportRefused("export_invalid", "The export file is damaged or was edited: " + "; ".join(shown) + more
                            + ". Ask the volunteer to export the records again.", {"problems": problems})
    if not records:
        raise ImportRefused("empty", "The export file holds no records: there is nothing to import.")
    exported_at_text = document.get("exported_at") if isinstance(document.get("exported_at"), str) else ""
    return ExportFile(
        format_version=version, exported_at=parse_datetime(exported_at_text), exported_at_text=exported_at_text,
        protocol_version=document["protocol_version"], schema_version=document["schema_version"],
        user=user, device=device, storage_id=storage_id, records=tuple(records),
    )


def _envelope(document: dict, problems: list[str]) -> tuple[ExportUser, ExportDevice, str]:
    """The user, device and storage the records came from; what is wrong with them goes to ``problems``."""
    for name in ("protocol_version", "schema_version"):
        if not _whole(document.get(name)):
            problems.append(f"\"{name}\" is {_brief(document.get(name))}, not a whole number")
    if "exported_at" in document and not isinstance(document["exported_at"], str):
        problems.append("\"exported_at\" is not a time")
    user = document.get("user")
    if not isinstance(user, dict):
        problems.append("it does not say which volunteer recorded the records (\"user\" is missing)")
        user = {}
    elif not _whole(user.get("id")):
        problems.append(f"the volunteer's id (\"user.id\") is {_brief(user.get('id'))}, not a user id")
    for name in ("email", "name"):
        if user.get(name) is not None and not isinstance(user.get(name), str):
            problems.append(f"\"user.{name}\" is not text")
    device = document.get("device")
    if not isinstance(device, dict):
        problems.append("it does not say which device recorded the records (\"device\" is missing)")
        device = {}
    elif parse_uuid(device.get("id")) is None:
        problems.append(f"the device's id (\"device.id\") is {_brief(device.get('id'))}, not a device id")
    if device.get("name") is not None and not isinstance(device.get("name"), str):
        problems.append("\"device.name\" is not text")
    storage_id = document.get("storage_id")
    if parse_uuid(storage_id) is None:
        problems.append(f"\"storage_id\" is {_brief(storage_id)}, not a storage id")
    return (ExportUser(user.get("id"), user.get("email"), user.get("name")),
            ExportDevice(device.get("id"), device.get("name")), storage_id)


def _records(records: Any, problems: list[str]) -> list[ExportRecord]:
    if not isinstance(records, list):
        problems.append("\"records\" is missing or not a list")
        return []
    found = []
    first_with_id: dict[str, int] = {}
    for position, record in enumerate(records, 1):
        where = f"record {position}"
        if not isinstance(record, dict):
            problems.append(f"{where} is not an object")
            continue
        status, failure, mutation = record.get("status"), record.get("failure"), record.get("mutation")
        context = record.get("context")
        if status not in STATUSES:
            problems.append(f"{where} has status {_brief(status)}, not pending or failed")
        if failure is not None and not isinstance(failure, dict):
            problems.append(f"{where} has a failure that is not an object")
        if status == "failed" and not isinstance(failure, dict):
            problems.append(f"{where} failed but does not say how")
        if not isinstance(mutation, dict):
            problems.append(f"{where} has no mutation")
            continue
        if context is not None and not isinstance(context, dict):
            problems.append(f"{where} has a context that is not an object")
            context = None
        # The app gives every mutation its own id: two records with one id means the file was edited or
        # pieced together. (Whether a mutation's content was changed only the engine can tell, by its hash.)
        if isinstance(mutation_id := mutation.get("id"), str):
            if mutation_id in first_with_id:
                problems.append(f"{where} has the same mutation id as record {first_with_id[mutation_id]}")
            first_with_id.setdefault(mutation_id, position)
        found.append(ExportRecord(position, status, failure, mutation, context))
    return found
