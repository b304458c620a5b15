"""What a device is shown of other volunteers' work, and of its lists: the pure rules both stores apply.

A team on one street or one call list must not knock the same door or ring the same person twice, so each
phone holding a list learns what anyone has done there since the list began: when, and what kind of
outcome (not home, spoke, refused, moved...), never what was said (intentions, answers and notes stay on
the server). These views exist only as pulled entities; their version is their content.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sync.fold import ContactEvent, effective_contacts


def _since(at: datetime | None, since: datetime | None) -> bool:
    return at is not None and since is not None and at >= since


def activity(state, door_since: datetime | None, phone_since: datetime | None) -> dict | None:
    """The ``activity`` entity of one elector, from their derived state: the latest knock at their door if
    the user walks it, and the latest call if the user calls them, each only since the list began. None
    when there is nothing to show."""
    if state is None:
        return None
    door = phone = None
    if _since(state.last_door_at, door_since):
        door = {"at": state.last_door_at.isoformat(), "outcome": state.last_door_outcome}
    if _since(state.last_call_at, phone_since):
        phone = {"at": state.last_call_at.isoformat(), "outcome": state.last_call_outcome,
                 "call_back_at": state.call_back_at.isoformat() if state.call_back_at else None}
    if door is None and phone is None:
        return None
    return {"door": door, "phone": phone}


def latest_call(events: Iterable[ContactEvent], since: datetime | None) -> dict | None:
    """The latest effective phone contact among ``events`` (a member's), since the list began."""
    calls = [e for e in effective_contacts(events) if e.channel == "phone" and _since(e.occurred_at, since)]
    if not calls:
        return None
    last = calls[-1]
    return {"at": last.occurred_at.isoformat(), "outcome": last.meaning,
            "call_back_at": last.call_back_at.isoformat() if last.call_back_at and last.meaning == "call_back"
            else None}


def member(member_id: int, first_name: str, last_name: str, phone: str | None, reason: str | None,
           called: dict | None) -> dict:
    """The ``member`` entity: who to call, their number and why; nothing else of their membership."""
    return {"id": member_id, "first_name": first_name, "last_name": last_name, "phone": phone,
            "reason": reason, "called": called}


def list_items(items: Iterable[dict], entitled_versions: dict) -> list[dict]:
    """A list's items as a device sees them: only people it is entitled to hold (an elector who objected,
    or left the register, is neither sent nor counted), and every listed address."""
    kept = []
    for item in items:
        if item.get("elector_id") is not None and ("elector", item["elector_id"]) not in entitled_versions:
            continue
        if item.get("member_id") is not None and ("member", item["member_id"]) not in entitled_versions:
            continue
        kept.append(item)
    return kept

