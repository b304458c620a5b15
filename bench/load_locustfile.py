"""Phones on polling day, for locust: the load of bench/load_bench.py, which builds the world and starts the server.

Each simulated phone (a locust user) is one volunteer's app:

1. on start: logs in (``POST /api/v1/auth/login``), checks ``GET /api/v1/sync/hello`` once, and downloads its walk
   list (``GET /api/v1/sync/pull`` from no cursor until ``has_more`` is false);
2. arrives with part of a burst already in its outbox (doors knocked before it came online), so the phones'
   pushes are spread out from the start rather than all waiting for their first burst;
3. then, over and over, knocks on a door of its list at a human pace (locust's ``wait_time``, compressed), making
   one ``contact`` mutation per elector at the address, with a client-made id and the next ``seq``;
4. once the outbox holds its burst (5 to 30 mutations, drawn afresh each time) it starts a sync cycle beside the
   canvassing, as the PWA does (one at a time; the volunteer does not wait for it): push what the outbox held when
   the cycle began, then pull from its cursor until ``has_more`` is false (the teammates' knocks arrive as
   ``activity``). When the server is slow the outbox grows meanwhile, and the next cycle's push carries more;
5. about one push in ten is a **replay**: the phone behaves as if the answer was lost on the way back, waits a
   moment (the protocol's backoff) and sends the very same batch again (same ids, same content).

Several phones share each walk list, and pick their doors at random from it, so their pushes contend on the
same electors (and record clashing intentions now and then, which the server answers ``conflict``, by design).

Run by bench/load_bench.py as ``locust -f bench/load_locustfile.py --headless ...`` in a process of its own. It
reads the world from the JSON file named by ``LOAD_BENCH_WORLD`` and, when locust quits, writes to
``LOAD_BENCH_OUT``: every request's latency, every error, and each phone's mutations with the answer it took
for each (the bench re-sends what was still unanswered at the stop, as the app would at its next sync, and then
checks by SQL that every record sent is stored exactly once).
"""
from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import gevent
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

WORLD = json.loads(open(os.environ["LOAD_BENCH_WORLD"]).read())
OUT = os.environ.get("LOAD_BENCH_OUT")
DOOR_MIN, DOOR_MAX = (float(x) for x in os.environ.get("LOAD_BENCH_DOOR_SECONDS", "1,3").split(","))
BURST_MIN, BURST_MAX = (int(x) for x in os.environ.get("LOAD_BENCH_BURST", "5,30").split(","))
# Of all pushes, this share are replays: a replay follows a push with probability share / (1 - share).
REPLAY_SHARE = float(os.environ.get("LOAD_BENCH_REPLAY_SHARE", "0.1"))
SEED = int(os.environ.get("LOAD_BENCH_SEED", "1"))

# What the server may answer to a mutation of this load (docs/sync-protocol.md 7.6): a first push is applied, or a
# conflict (two volunteers' intentions clash: stored, and a review item made, by design); a replay is a duplicate.
# "duplicate" on a first push is allowed too (a push cut off by the stop, answered later). Anything else (rejected,
# forbidden, held, suppressed, id_reused) is an error of this run.
ACCEPTED = {"applied", "conflict", "duplicate"}

LOGIN, HELLO, DOWNLOAD = "POST /auth/login", "GET /sync/hello", "GET /sync/pull (download)"
PUSH, REPLAY, PULL = "POST /sync/push", "POST /sync/push (replay)", "GET /sync/pull (after push)"

_accounts = itertools.count()
PHONES: list[dict] = []        # each phone's state, written out at the end
SAMPLES: list[list] = []       # [name, milliseconds, ok, start time]
ERRORS: Counter = Counter()    # "endpoint: what went wrong" -> count
RESULTS: Counter = Counter()   # "endpoint: status" -> count of per-mutation results
WINDOW: dict = {}


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length, exception=None, start_time=None, **_):
    SAMPLES.append([name, response_time, exception is None, start_time or time.time()])


@events.test_start.add_listener
def _on_start(environment, **_):
    WINDOW["start"] = time.time()


@events.test_stop.add_listener
def _on_stop(environment, **_):
    WINDOW["stop"] = time.time()


@events.quitting.add_listener
def _on_quit(environment, **_):
    if not OUT:
        return
    with open(OUT, "w") as f:
        json.dump({"window": WINDOW, "samples": SAMPLES, "errors": dict(ERRORS), "results": dict(RESULTS),
                   "phones": PHONES, "user_count": len(PHONES)}, f)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Phone(FastHttpUser):
    """One volunteer's phone. ``wait_time`` is the walk from one door to the next."""

    wait_time = between(DOOR_MIN, DOOR_MAX)
    network_timeout = 120.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        index = next(_accounts)
        if index >= len(WORLD["accounts"]):
            raise StopUser()
        account = WORLD["accounts"][index]
        self.rng = random.Random(SEED * 100_003 + index)
        self.doors = WORLD["lists"][account["list"]]["doors"]
        self.campaign_id = WORLD["campaign_id"]
        self.state = {"email": account["email"], "list": account["list"], "device_id": None, "token": None,
                      "storage_id": str(uuid.uuid4()), "seq": 0, "mutations": {}, "answers": {}}
        PHONES.append(self.state)
        self.outbox: list[dict] = []
        self.cursor: str | None = None
        self.burst = self.rng.randint(BURST_MIN, BURST_MAX)
        self.syncing = None
        with self.client.post("/api/v1/auth/login", name=LOGIN, catch_response=True,
                              json={"email": account["email"], "password": WORLD["password"],
                                    "device_name": f"load phone {index}"}) as response:
            if response.status_code != 201:
                self._fail(response, LOGIN, f"HTTP {response.status_code}")
                raise StopUser()
            body = response.json()
        self.state["token"], self.state["device_id"] = body["token"], body["device"]["id"]
        self.headers = {"Authorization": f"Bearer {body['token']}"}
        with self.client.get("/api/v1/sync/hello", name=HELLO, catch_response=True) as response:
            if response.status_code != 200:
                self._fail(response, HELLO, f"HTTP {response.status_code}")
        self._pull(DOWNLOAD)
        # The phone was out of signal before it came online (or had been canvassing since its last sync): its
        # outbox already holds part of a burst, so the phones' pushes are spread out from the start.
        already, now = self.rng.randint(0, self.burst - 1), datetime.now(timezone.utc)
        while len(self.outbox) < already:
            self._door(now - timedelta(seconds=self.rng.uniform(60, 1800)))

    # -- the app's actions ------------------------------------------------------------------------------------

    @task
    def knock(self) -> None:
        """One door: a contact about each elector living there; a sync cycle once the burst is reached."""
        self._door(datetime.now(timezone.utc))
        if len(self.outbox) >= self.burst and self.syncing is None:
            # As in the PWA, the sync runs beside the canvassing (one cycle at a time): the volunteer walks on to
            # the next door whether or not the server has answered, and a slow server sees larger batches.
            self.syncing = gevent.spawn(self._sync_beside)

    def _sync_beside(self) -> None:
        try:
            self.sync()
        except Exception as exc:  # a greenlet of our own: locust would not see it
            ERRORS[f"sync cycle: {type(exc).__name__}: {exc}"[:200]] += 1
        finally:
            self.burst = self.rng.randint(BURST_MIN, BURST_MAX)
            self.syncing = None

    def _door(self, at: datetime) -> None:
        _, electors = self.rng.choice(self.doors)
        home = self.rng.random() < 0.6
        for elector_id in electors:
            spoke = home and self.rng.random() < 0.8
            self.state["seq"] += 1
            mutation = {
                "id": str(uuid.uuid4()), "seq": self.state["seq"], "type": "contact",
                "occurred_at": at.isoformat(), "base_version": None,
                "data": {"campaign_id": self.campaign_id, "elector_id": elector_id, "channel": "door",
                         "outcome": "SPOKE" if spoke else "NH",
                         "intention": self.rng.choice(WORLD["intentions"]) if spoke else None}}
            self.state["mutations"][mutation["id"]] = mutation
            self.outbox.append(mutation)

    def sync(self) -> None:
        """Push what the outbox held when the cycle began (at most 500 at a time), then pull until has_more is
        false (docs/sync-protocol.md 5 and 13): doors knocked meanwhile wait for the next cycle, as in the PWA."""
        through = self.state["seq"]
        while self.outbox and self.outbox[0]["seq"] <= through:
            batch = [m for m in self.outbox[:500] if m["seq"] <= through]
            answers = self._push(batch, PUSH)
            if answers is None:
                return  # a failed push leaves the outbox as it was; the next cycle sends it again
            if self.rng.random() < REPLAY_SHARE / (1 - REPLAY_SHARE):
                # The answer was lost on the way back: the app still holds the batch, and sends it again after
                # the protocol's backoff (7.10). The server must answer each mutation "duplicate".
                gevent.sleep(self.rng.uniform(1.0, 2.0))
                answers = self._push(batch, REPLAY)
                if answers is None:
                    return
            for mutation_id, status in answers.items():
                self.state["answers"].setdefault(mutation_id, status)
            done = set(answers)
            self.outbox = [m for m in self.outbox if m["id"] not in done]
        self._pull(PULL)

    # -- requests ---------------------------------------------------------------------------------------------

    def _push(self, batch: list[dict], name: str) -> dict | None:
        body = {"device_id": self.state["device_id"], "storage_id": self.state["storage_id"],
                "protocol_version": 1, "schema_version": 1, "device_time": _now(), "mutations": batch,
                "outbox": {"unsent": len(self.outbox) - len(batch), "oldest_at": None if len(self.outbox) == len(batch)
                           else self.outbox[len(batch)]["occurred_at"], "app_version": "load-bench"}}
        with self.client.post("/api/v1/sync/push", name=name, json=body, headers=self.headers,
                              catch_response=True) as response:
            if response.status_code != 200:
                self._fail(response, name, f"HTTP {response.status_code}")
                return None
            results = response.json().get("results", [])
            if [r["id"] for r in results] != [m["id"] for m in batch]:
                self._fail(response, name, "results do not match the batch")
                return None
            wrong = []
            for result in results:
                RESULTS[f"{name}: {result['status']}"] += 1
                if result["status"] not in ACCEPTED or (name == REPLAY and result["status"] != "duplicate"):
                    wrong.append(result["status"])
            if wrong:
                for status in wrong:
                    ERRORS[f"{name}: result {status}"] += 1
                response.failure(f"results {dict(Counter(wrong))}")
            return {r["id"]: r["status"] for r in results}

    def _pull(self, name: str) -> None:
        for _ in range(100):
            params = {"storage_id": self.state["storage_id"], "limit": 500}
            if self.cursor:
                params["cursor"] = self.cursor
            with self.client.get("/api/v1/sync/pull", name=name, params=params, headers=self.headers,
                                 catch_response=True) as response:
                if response.status_code != 200:
                    self._fail(response, name, f"HTTP {response.status_code}")
                    return
                page = response.json()
                if page["wipe"] or page["reset_required"]:
                    self._fail(response, name, f"wipe {page['wipe']}, reset {page.get('reason')}")
                    self.cursor = None
                    return
                self.cursor = page["cursor"]
                if not page["has_more"]:
                    return

    @staticmethod
    def _fail(response, name: str, what: str) -> None:
        ERRORS[f"{name}: {what}"] += 1
        response.failure(what)
