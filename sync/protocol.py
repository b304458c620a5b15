"""The wire vocabulary of sync v1: mutation types, result statuses, and validation of one mutation.

Validation here is structural and needs no database; rules that need data (code sets, scope,
suppression) live in the engine. Errors are ``{field: [messages]}``, as the API reports them.
"""
from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sync.rules import MAX_BIGINT, MAX_ID, UNSTORABLE_TEXT, unstorable


class Status(str, enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    ID_REUSED = "id_reused"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    FORBIDDEN = "forbidden"
    SUPPRESSED = "suppressed"
    HELD = "held"  # delivered after the device's access ended: kept for a CLP admin to accept or reject


class MutationType(str, enum.Enum):
    CONTACT = "contact"  # a door knock or call
    CONTACT_CORRECTION = "contact_correction"  # replaces an earlier contact's content
    CONTACT_RETRACTION = "contact_retraction"  # withdraws an earlier contact (an undo)
    ELECTOR_UPDATE = "elector_update"  # moved, new phone number, do not contact
    ELECTOR_NEW = "elector_new"  # someone found at an address who is not on the register


CONTACT_TYPES = frozenset({MutationType.CONTACT, MutationType.CONTACT_CORRECTION})
CHANNELS = ("door", "phone", "other")
# Elector fields a device may change, and flags it may raise.
UPDATABLE_FIELDS = ("phone",)
ELECTOR_FLAGS = ("moved", "deceased", "do_not_contact")
MAX_NOTES = 2000
MAX_ANSWERS = 50
# Times a phone can plausibly claim (a dead clock shows 1970 or 1980): anything outside is refused, and
# every time inside stays representable after the server corrects it for the device's clock.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Mutation:
    """One validated change from a device's outbox."""

    id: uuid.UUID
    seq: int
    type: MutationType
    occurred_at: datetime
    data: dict
    base_version: int | None
    content_hash: str
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # as sent, for a held delivery


@dataclass
class Result:
    id: str | None
    seq: int | None
    status: Status
    details: Any = None

    def to_dict(self) -> dict:
        out = {"id": self.id, "seq": self.seq, "status": self.status.value}
        if self.details is not None:
            out["details"] = self.details
        return out


@dataclass
class Errors:
    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)


# A mutation's fields; the hashed ones are all but its id and seq.
MUTATION_FIELDS = frozenset({"id", "seq", "type", "occurred_at", "base_version", "data"})
_HASHED = ("type", "occurred_at", "base_version", "data")


def _hashed_text(raw: dict) -> str:
    return json.dumps({k: raw.get(k) for k in _HASHED}, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(raw: dict, text: str | None = None) -> str:
    """A stable digest of what the client sent, to tell a harmless resend from a reused id (``text``: its
    hashed text, when already written)."""
    return hashlib.sha256((text if text is not None else _hashed_text(raw)).encode()).hexdigest()


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a zone, from 1900 to 2999 UTC, as the same instant in UTC (what the database
    keeps; an offset with seconds, +05:30:15, would otherwise lose them on the way to PostgreSQL as JSON);
    naive times are refused, since a phone's zone is unknown."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return None
        parsed = parsed.astimezone(timezone.utc)
        if not EARLIEST <= parsed < LATEST:
            return None
    except (ValueError, OverflowError):  # 0001-01-01T00:00+01:00 is a valid string but no UTC time
        return None
    return parsed


def parse_uuid(value: Any) -> uuid.UUID | None:
    """A UUID given as a string, or None."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _whole(value: Any, maximum: int = MAX_ID) -> bool:
    """A JSON whole number from 1 to ``maximum`` (true and 1.0 are not whole numbers here)."""
    return type(value) is int and 1 <= value <= maximum


def _may_hold_unstorable(raw: dict, text: str) -> bool:
    """False when ``raw`` surely holds no text _unstorable_fields would name, judged from its hashed text:
    json.dumps (ASCII) writes every NUL and every surrogate, and every other character beyond ASCII, as a
    \\u escape, so a text with no escape at all holds neither. The id and seq are not hashed, so they are
    looked at themselves (any object or list in them means the full walk), and so does a field beyond the
    known ones. Most pushes are plain ASCII, and this spares each of their mutations that walk."""
    if "\\u" in text or not raw.keys() <= MUTATION_FIELDS:
        return True
    return any(isinstance(value, (dict, list)) or (isinstance(value, str) and unstorable(value))
               for value in (raw.get("id"), raw.get("seq")))


def _unstorable_fields(raw: dict) -> list[str]:
    """The fields of a mutation holding text no database can store, at any depth (keys included): named
    down to ``data.<field>`` and ``data.changes.<field>``, and as ``mutation`` for a bad top-level key."""
    found: set[str] = set()
    stack: list[tuple[str, Any]] = [("", raw)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if unstorable(value):
                found.add(path)
        elif isinstance(value, dict):
            for key, child in value.items():
                if unstorable(key):
                    found.add(path or "mutation")
                elif not path or path in ("data", "data.changes"):
                    stack.append((f"{path}.{key}" if path else key, child))
                else:
                    stack.append((path, child))
        elif isinstance(value, list):
            stack.extend((path, child) for child in value)
    return sorted(found)


def _optional_text(errors: Errors, data: dict, name: str, max_len: int) -> None:
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > max_len):
        errors.add(f"data.{name}", f"Must be text of at most {max_len} characters, or null.")


def _check_person(errors: Errors, data: dict, whose: str = "An") -> None:
    """A contact is about one elector, or (on a member call list) one member: never both, never neither."""
    if "member_id" in data and "elector_id" not in data:
        if not _whole(data.get("member_id")):
            errors.add("data.member_id", f"A member id must be a whole number from 1 to {MAX_ID}.")
        return
    if "member_id" in data:
        errors.add("data.member_id", "Give an elector id or a member id, not both.")
    if not _whole(data.get("elector_id")):
        errors.add("data.elector_id", f"{whose} elector id is required (a whole number from 1 to {MAX_ID}).")


def _check_contact(errors: Errors, data: dict, *, correction: bool) -> None:
    allowed = {"campaign_id", "elector_id", "member_id", "channel", "outcome", "intention", "strength",
               "survey_answers", "notes", "call_back_at"}
    if correction:
        allowed.add("supersedes")
        if parse_uuid(data.get("supersedes")) is None:
            errors.add("data.supersedes", "The id of the contact being corrected is required.")
    for name in sorted(set(data) - allowed):
        errors.add(f"data.{name}", "Unknown field.")
    if not _whole(data.get("campaign_id")):
        errors.add("data.campaign_id", f"A campaign id is required (a whole number from 1 to {MAX_ID}).")
    _check_person(errors, data)
    if data.get("call_back_at") is not None and parse_datetime(data["call_back_at"]) is None:
        errors.add("data.call_back_at", "An ISO 8601 time with a zone, between 1900 and 2999, or null.")
    if data.get("channel") not in CHANNELS:
        errors.add("data.channel", f"Must be one of {', '.join(CHANNELS)}.")
    if not isinstance(data.get("outcome"), str) or not data.get("outcome"):
        errors.add("data.outcome", "An outcome code is required.")
    for name in ("intention", "strength"):
        _optional_text(errors, data, name, 32)
    _optional_text(errors, data, "notes", MAX_NOTES)
    answers = data.get("survey_answers", {})
    if not isinstance(answers, dict) or len(answers) > MAX_ANSWERS:
        errors.add("data.survey_answers", f"Must be an object of at most {MAX_ANSWERS} answers.")
    elif any(not isinstance(v, (str, int, bool, list)) or isinstance(v, float) for v in answers.values()):
        errors.add("data.survey_answers", "Answers must be text, whole numbers, yes/no or lists of codes.")


def _check_retraction(errors: Errors, data: dict) -> None:
    # A retraction names its elector and campaign itself: it may arrive before the record it withdraws.
    for name in sorted(set(data) - {"supersedes", "campaign_id", "elector_id", "member_id", "channel", "reason"}):
        errors.add(f"data.{name}", "Unknown field.")
    if parse_uuid(data.get("supersedes")) is None:
        errors.add("data.supersedes", "The id of the contact being retracted is required.")
    if not _whole(data.get("campaign_id")):
        errors.add("data.campaign_id", f"The campaign of the contact being retracted is required (a whole number from 1 to {MAX_ID}).")
    _check_person(errors, data, whose="The retracted contact's")
    if data.get("channel") not in CHANNELS:
        errors.add("data.channel", f"Must be one of {', '.join(CHANNELS)}.")
    _optional_text(errors, data, "reason", 400)


def _check_elector_update(errors: Errors, data: dict, base_version: Any) -> None:
    for name in sorted(set(data) - {"elector_id", "changes", "reason"}):
        errors.add(f"data.{name}", "Unknown field.")
    if not _whole(data.get("elector_id")):
        errors.add("data.elector_id", f"An elector id is required (a whole number from 1 to {MAX_ID}).")
    changes = data.get("changes")
    if not isinstance(changes, dict) or not changes:
        errors.add("data.changes", "At least one change is required.")
        return
    for name, value in changes.items():
        if name == "phone":
            if value is not None and (not isinstance(value, str) or not 5 <= len(value) <= 32):
                errors.add("data.changes.phone", "Must be a phone number (5-32 characters) or null.")
        elif name in ELECTOR_FLAGS:
            if value is not True:
                errors.add(f"data.changes.{name}", "Can only be set to true.")
        else:
            errors.add(f"data.changes.{name}", "This field cannot be changed from a device.")
    if any(name in UPDATABLE_FIELDS for name in changes) and not _whole(base_version):
        errors.add("base_version", "Changing a field needs the elector version the device last saw.")
    _optional_text(errors, data, "reason", 400)


def _check_elector_new(errors: Errors, data: dict) -> None:
    for name in sorted(set(data) - {"property_id", "surname", "forenames", "phone", "notes"}):
        errors.add(f"data.{name}", "Unknown field.")
    if not _whole(data.get("property_id")):
        errors.add("data.property_id", f"The property where they were found is required (a whole number from 1 to {MAX_ID}).")
    for name in ("surname", "forenames"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 120:
            errors.add(f"data.{name}", "Required, at most 120 characters.")
    _optional_text(errors, data, "phone", 32)
    _optional_text(errors, data, "notes", MAX_NOTES)


def parse_mutation(raw: Any) -> tuple[Mutation | None, Errors]:
    """Validate one mutation as sent by a device; return it, or the errors by field."""
    errors = Errors()
    if not isinstance(raw, dict):
        errors.add("mutation", "Must be an object.")
        return None, errors
    text = _hashed_text(raw)
    if _may_hold_unstorable(raw, text):
        for name in _unstorable_fields(raw):
            errors.add(name, UNSTORABLE_TEXT)
        if errors:  # nothing of it can be stored, not even a receipt naming its fields
            return None, errors
    for name in sorted(set(raw) - MUTATION_FIELDS):
        errors.add(name, "Unknown field.")
    mutation_id = parse_uuid(raw.get("id"))
    if mutation_id is None:
        errors.add("id", "A UUID made by the device is required.")
    seq = raw.get("seq")
    if not _whole(seq, MAX_BIGINT):
        errors.add("seq", f"A whole number from 1 to {MAX_BIGINT}, increasing per device storage, is required.")
    try:
        kind = MutationType(raw.get("type"))
    except ValueError:
        kind = None
        errors.add("type", f"Must be one of {', '.join(t.value for t in MutationType)}.")
    occurred_at = parse_datetime(raw.get("occurred_at"))
    if occurred_at is None:
        errors.add("occurred_at", "An ISO 8601 time with a zone, between 1900 and 2999, is required, "
                                  "e.g. 2026-11-21T10:15:00Z.")
    base_version = raw.get("base_version")
    if base_version is not None and not _whole(base_version):
        errors.add("base_version", f"Must be a whole number from 1 to {MAX_ID}, or null.")
    data = raw.get("data")
    if not isinstance(data, dict):
        errors.add("data", "Must be an object.")
    elif kind in CONTACT_TYPES:
        _check_contact(errors, data, correction=kind == MutationType.CONTACT_CORRECTION)
    elif kind == MutationType.CONTACT_RETRACTION:
        _check_retraction(errors, data)
    elif kind == MutationType.ELECTOR_UPDATE:
        _check_elector_update(errors, data, base_version)
    elif kind == MutationType.ELECTOR_NEW:
        _check_elector_new(errors, data)
    if errors:
        return None, errors
    return Mutation(mutation_id, seq, kind, occurred_at, data, base_version, content_hash(raw, text), raw), errors


MAX_APP_VERSION = 32


@dataclass(frozen=True)
class OutboxReport:
    """What a device says of its outbox with a push: records it holds unsent besides the ones in this push,
    when the oldest of them was made (device clock, as sent), and the app's version."""

    unsent: int
    oldest_at: datetime | None
    app_version: str | None


def parse_outbox_report(raw: Any, errors: Errors) -> OutboxReport | None:
    """Validate the optional ``outbox`` field of a push envelope; its errors are named ``outbox.<field>``."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("outbox", "Must be an object: {unsent, oldest_at, app_version}, or null.")
        return None
    before = len(errors.fields)
    for name in sorted(set(raw) - {"unsent", "oldest_at", "app_version"}):
        errors.add(f"outbox.{name}" if not unstorable(name) else "outbox", "Unknown field.")
    unsent = raw.get("unsent")
    if type(unsent) is not int or not 0 <= unsent <= MAX_ID:
        errors.add("outbox.unsent", f"A whole number from 0 to {MAX_ID} is required: records not yet delivered.")
        unsent = None
    oldest_at = None
    if raw.get("oldest_at") is not None:
        oldest_at = parse_datetime(raw["oldest_at"])
        if oldest_at is None:
            errors.add("outbox.oldest_at", "An ISO 8601 time with a zone, between 1900 and 2999, or null.")
        elif unsent == 0:
            errors.add("outbox.oldest_at", "Must be null when nothing is unsent.")
    elif unsent:
        errors.add("outbox.oldest_at", "When records are unsent, the time the oldest of them was made is required.")
    version = raw.get("app_version")
    if version is not None and (not isinstance(version, str) or not 1 <= len(version) <= MAX_APP_VERSION
                                or unstorable(version)):
        errors.add("outbox.app_version", f"Text of 1 to {MAX_APP_VERSION} characters, or null.")
    if len(errors.fields) > before:
        return None
    return OutboxReport(unsent, oldest_at, version)
