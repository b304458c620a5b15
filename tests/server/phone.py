"""A phone running the app, talking HTTP to a test server: logs in, numbers its mutations, pushes and pulls.

Given the app, each request runs in its own app context (its own database session, as in production),
which the stories with concurrent threads need.
"""
from __future__ import annotations

import uuid
from contextlib import nullcontext
from datetime import datetime, timezone

from sync import PROTOCOL_VERSION, SCHEMA_VERSION
from tests.factories import bearer, login
from tests.sync.phone import apply_changes


class HttpPhone:
    def __init__(self, client, role_or_email, *, app=None):
        self.client = client
        self.app = app
        who = getattr(role_or_email, "value", role_or_email)
        name = f"{who}'s phone {uuid.uuid4().hex[:6]}"
        with self._context():
            self.token = login(client, role_or_email, device_name=name)
            devices = client.get("/api/v1/devices", headers=bearer(self.token)).get_json()
        self.device_id = next(d["id"] for d in devices if d["name"] == name)
        self.storage_id = str(uuid.uuid4())
        self.seq = 0
        self.cursor = None
        self.local: dict = {}

    def _context(self):
        return self.app.app_context() if self.app is not None else nullcontext()

    def _mutation(self, type_: str, data: dict, at=None, base_version=None) -> dict:
        self.seq += 1
        return {"id": str(uuid.uuid4()), "seq": self.seq, "type": type_,
                "occurred_at": (at or datetime.now(timezone.utc)).isoformat(), "base_version": base_version,
                "data": data}

    def contact(self, world, elector, outcome="SPOKE", intention=None, at=None, **data) -> dict:
        return self._mutation("contact", {"campaign_id": world.campaign.id, "elector_id": elector.id,
                                          "channel": "door", "outcome": outcome, "intention": intention, **data},
                              at=at)

    def update(self, elector, changes, base_version=None, at=None) -> dict:
        return self._mutation("elector_update", {"elector_id": elector.id, "changes": changes}, at=at,
                              base_version=base_version)

    def body(self, mutations, **overrides) -> dict:
        return {"device_id": self.device_id, "storage_id": self.storage_id, "protocol_version": PROTOCOL_VERSION,
                "schema_version": SCHEMA_VERSION, "device_time": datetime.now(timezone.utc).isoformat(),
                "mutations": mutations, **overrides}

    def push(self, mutations, client=None, **overrides):
        with self._context():
            return (client or self.client).post("/api/v1/sync/push", json=self.body(mutations, **overrides),
                                                headers=bearer(self.token))

    def pull(self, limit=None, client=None):
        """One pull; an ordinary page is stored with its cursor, as the app does in one transaction."""
        params = {"storage_id": self.storage_id}
        if self.cursor:
            params["cursor"] = self.cursor
        if limit:
            params["limit"] = limit
        with self._context():
            response = (client or self.client).get("/api/v1/sync/pull", query_string=params,
                                                   headers=bearer(self.token))
        body = response.get_json()
        if response.status_code == 200 and not body["wipe"] and not body["reset_required"]:
            apply_changes(self.local, body["changes"])
            self.cursor = body["cursor"]
        return response

    def surname(self, elector) -> str:
        return self.local[("elector", elector.id)]["surname"]
