"""A small TCP proxy on loopback that misbehaves on purpose, for bench/fault_bench.py.

It forwards bytes between clients and one upstream address (gunicorn, or PostgreSQL) on an asyncio loop of
its own thread, and can, on request from any thread:

- ``cut(outage)``: abort every connection now (a reset to both sides) and, for ``outage`` seconds, reset every
  new connection as soon as it is accepted: the network is gone, then comes back;
- ``stall(connections, hold)``: the next ``connections`` connections have their bytes held for ``hold``
  seconds, alternately in one direction or the other: a request delivered to the server long after its sender
  gave up (and may already have sent it again), or an answer that arrives after the client's timeout;
- at random (``drop_share`` of connections), cut a connection part-way through its request, or just as the
  server's answer starts (the server has done the work; the client never learns it: a lost acknowledgement);
- at random (``delay_share`` of the chunks), delay bytes by up to ``max_delay`` seconds.

It knows nothing of HTTP beyond reading the first line of what a client sends (for the report, and so that a
fault can wait until a push is in flight: the request delivered, no answer yet).
"""
from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass(eq=False)
class Connection:
    opened: float
    first_line: str = ""
    upstream_port: int | None = None   # the proxy's local port towards the upstream (the server sees it)
    request_bytes: int = 0
    response_started: bool = False
    plan: str = "pass"                 # pass, cut-request, cut-answer, hold-request, hold-answer
    writers: list = field(default_factory=list)

    def abort(self) -> None:
        for writer in self.writers:
            _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), not a polite FIN: the peer sees the connection broken."""
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class FaultyProxy:
    def __init__(self, upstream: tuple[str, int], *, name: str = "proxy", drop_share: float = 0.0,
                 delay_share: float = 0.0, max_delay: float = 0.0, seed: int = 1):
        self.upstream = upstream
        self.name = name
        self.drop_share, self.delay_share, self.max_delay = drop_share, delay_share, max_delay
        self.rng = random.Random(seed)
        self.live: set[Connection] = set()
        self.stats: Counter = Counter()
        self.refuse_until = 0.0
        self.stall_left = 0
        self.stall_hold = 0.0
        self._stall_turn = 0
        self.loop = asyncio.new_event_loop()
        self.port: int | None = None
        self._server = None
        self._thread = threading.Thread(target=self._run, name=f"{name}-loop", daemon=True)
        self._ready = threading.Event()

    # -- control, from any thread ----------------------------------------------------------------------------

    def start(self) -> int:
        self._thread.start()
        self._ready.wait(10)
        return self.port

    def close(self) -> None:
        if not self.loop.is_running():
            return

        async def shut():
            if self._server is not None:
                self._server.close()
            for conn in list(self.live):
                conn.abort()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def cut(self, outage: float = 0.0) -> int:
        """Reset every connection now; reset new ones for ``outage`` seconds. Returns how many were cut."""
        async def go():
            self.refuse_until = time.monotonic() + outage
            cut = list(self.live)
            for conn in cut:
                conn.abort()
            self.stats["cut by a fault"] += len(cut)
            return len(cut)

        return asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)

    def stall(self, connections: int, hold: float) -> None:
        """Hold the bytes of the next ``connections`` connections for ``hold`` seconds, alternately the request
        (it reaches the server only then: the proxy connects upstream after the hold, so no server worker waits
        meanwhile) and the answer."""
        def go():
            self.stall_left = connections
            self.stall_hold = hold
        self.loop.call_soon_threadsafe(go)

    def in_flight(self, prefix: str = "") -> list[Connection]:
        """Connections whose request (starting with ``prefix``) reached the upstream and has no answer yet."""
        return [c for c in list(self.live) if c.first_line.startswith(prefix) and c.request_bytes
                and not c.response_started and c.upstream_port is not None]

    # -- the loop ---------------------------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def begin():
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self.loop.run_until_complete(begin())
        self.loop.run_forever()

    def _choose_plan(self, now: float) -> str:
        if self.stall_left > 0:
            self.stall_left -= 1
            self._stall_turn += 1
            return "hold-request" if self._stall_turn % 2 else "hold-answer"
        if self.drop_share and self.rng.random() < self.drop_share:
            return self.rng.choice(["cut-request", "cut-answer"])
        return "pass"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        now = time.monotonic()
        self.stats["connections"] += 1
        if now < self.refuse_until:
            self.stats["reset on arrival (outage)"] += 1
            _reset(writer)
            return
        conn = Connection(opened=now, plan=self._choose_plan(now), writers=[writer])
        if conn.plan != "pass":
            self.stats[conn.plan] += 1
        hold = self.stall_hold
        self.live.add(conn)
        try:
            first = b""
            if conn.plan == "hold-request":
                # Delivered late: the request is read now and reaches the server only after the hold.
                first = await reader.read(65536)
                if first:
                    conn.first_line = first.split(b"\r\n", 1)[0][:80].decode("latin-1")
                await asyncio.sleep(hold)
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                self.stats["upstream refused"] += 1
                _reset(writer)
                return
            conn.writers.append(up_writer)
            conn.upstream_port = up_writer.get_extra_info("sockname")[1]
            if first:
                up_writer.write(first)
                conn.request_bytes += len(first)
            await asyncio.gather(self._pump(conn, reader, up_writer, True, hold),
                                 self._pump(conn, up_reader, writer, False, hold))
        except (ConnectionError, OSError):
            conn.abort()
        finally:
            self.live.discard(conn)
            for w in conn.writers:
                try:
                    w.close()
                except Exception:
                    pass

    async def _pump(self, conn: Connection, src: asyncio.StreamReader, dst: asyncio.StreamWriter, upward: bool,
                    hold: float) -> None:
        cut_at = None
        held = False
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                if upward:
                    if not conn.first_line:
                        conn.first_line = data.split(b"\r\n", 1)[0][:80].decode("latin-1")
                        if conn.plan == "cut-request":
                            # Somewhere in the request line, the headers or the body: never all of it.
                            cut_at = self.rng.randint(1, max(1, _request_length(data) - 1))
                    if cut_at is not None and conn.request_bytes + len(data) >= cut_at:
                        dst.write(data[:max(0, cut_at - conn.request_bytes)])
                        await asyncio.sleep(0.01)
                        conn.abort()
                        return
                    conn.request_bytes += len(data)
                else:
                    if not conn.response_started:
                        conn.response_started = True
                        if conn.plan == "cut-answer":
                            conn.abort()  # the server did the work; the answer never reaches the client
                            return
                if not held and not upward and conn.plan == "hold-answer":
                    held = True
                    await asyncio.sleep(hold)
                if self.delay_share and self.rng.random() < self.delay_share:
                    await asyncio.sleep(self.rng.uniform(0, self.max_delay))
                dst.write(data)
                await dst.drain()
            try:
                if dst.can_write_eof():
                    dst.write_eof()
            except OSError:
                pass
        except (ConnectionError, OSError, asyncio.CancelledError):
            conn.abort()


def _request_length(first_chunk: bytes) -> int:
    """The whole request's length in bytes (headers and body), from its first chunk, or that chunk's length."""
    head, sep, _ = first_chunk.partition(b"\r\n\r\n")
    if not sep:
        return len(first_chunk)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                pass
    return len(head) + 4 + length
