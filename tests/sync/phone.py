"""A test client that behaves like the app: numbers its mutations, pushes, pulls page by page, keeps a cursor."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sync import PROTOCOL_VERSION, SCHEMA_VERSION


def apply_changes(local: dict, changes: list[dict]) -> None:
    """Apply a pulled page to a phone's local store, keyed by (entity, id)."""
    for change in changes:
        key = (change["entity"], change["id"])
        if change["op"] == "delete":
            local.pop(key, None)
        else:
            local[key] = change["data"]


class Phone:
    def __init__(self, harness, device, storage_id: uuid.UUID | None = None, clock_error: timedelta = timedelta(0)):
        self.h = harness
        self.device = device
        self.storage_id = storage_id or uuid.uuid4()
        self.clock_error = clock_error  # how far this phone's clock is from the truth
        self.seq = 0
        self.cursor: str | None = None
        self.local: dict[tuple[str, int], dict] = {}

    def now(self) -> datetime:
        return self.h.clock() + self.clock_error

    def mutation(self, type_: str, data: dict, *, at: datetime | None = None, base_version: int | None = None,
                 id_: uuid.UUID | None = None) -> dict:
        self.seq += 1
        return {"id": str(id_ or uuid.uuid4()), "seq": self.seq, "type": type_,
                "occurred_at": (at or self.now()).isoformat(), "base_version": base_version, "data": data}

    def contact(self, elector: int, campaign: int, outcome: str = "SPOKE", intention: str | None = None,
                channel: str = "door", **kwargs) -> dict:
        data = {"campaign_id": campaign, "elector_id": elector, "channel": channel, "outcome": outcome,
                "intention": intention, "strength": kwargs.pop("strength", None),
                "survey_answers": kwargs.pop("survey_answers", {}), "notes": kwargs.pop("notes", None)}
        return self.mutation("contact", data, **kwargs)

    def body(self, mutations: list[dict]) -> dict:
        return {"device_id": str(self.device.device_id), "storage_id": str(self.storage_id),
                "protocol_version": PROTOCOL_VERSION, "schema_version": SCHEMA_VERSION,
                "device_time": self.now().isoformat(), "mutations": mutations}

    def push(self, mutations: list[dict]) -> list[str]:
        response = self.h.engine.push(self.device, self.body(mutations))
        return [r["status"] for r in response["results"]]

    def pull(self, limit: int | None = None) -> dict:
        response = self.h.engine.pull(self.device, storage_id=self.storage_id, cursor=self.cursor, limit=limit)
        if response["reset_required"] or response["wipe"]:
            return response
        apply_changes(self.local, response["changes"])  # stored with the cursor, as the app does
        self.cursor = response["cursor"]
        return response

    def sync_down(self, limit: int | None = None) -> int:
        """Pull until there is nothing more; return the number of pages."""
        pages = 0
        while True:
            response = self.pull(limit)
            pages += 1
            assert not response["reset_required"] and not response["wipe"], response
            if not response["has_more"]:
                return pages

    def electors(self) -> set[int]:
        return {i for (entity, i) in self.local if entity == "elector"}
