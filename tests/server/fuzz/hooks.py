"""Schemathesis hooks for the operations that end a session (logout, device revoke): each case is sent with
the token of a device logged in for it alone, so one case's logout never blinds the next.

Loaded by the CLI through SCHEMATHESIS_HOOKS; GROUNDWORK_FUZZ_BASE, _EMAIL and _PASSWORD say where and who.
"""
from __future__ import annotations

import json
import os
import urllib.request

import schemathesis


@schemathesis.auth(refresh_interval=None)
class FreshDevice:
    def get(self, case, ctx):
        body = json.dumps({"email": os.environ["GROUNDWORK_FUZZ_EMAIL"], "password": os.environ["GROUNDWORK_FUZZ_PASSWORD"],
                           "device_name": "fuzzed session"}).encode()
        request = urllib.request.Request(os.environ["GROUNDWORK_FUZZ_BASE"] + "/api/v1/auth/login", data=body,
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["token"]

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
