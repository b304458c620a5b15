"""The real HTTP server, started as the Procfile starts it: body limits hold whatever the framing, and the few
answers gunicorn makes itself (a request line or headers past its limits) are the ones documented.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from server.models import Role
from tests.factories import PASSWORD, make_world
from tests.server.live import gunicorn
from tests.server.live import request as _request


@pytest.fixture
def server(app, database_url, tmp_path):
    """gunicorn with the Procfile's web command, one worker, on the test database."""
    with gunicorn(database_url, tmp_path / "gunicorn.log") as port:
        yield port


def _stream(port, method, path, headers: dict, chunks, chunked: bool):
    """Send a body from another thread while this one reads the answer, as a client sending a large body
    would: a server may answer (413) before the body has been read, and then close the connection."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {}
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in {**headers, **framing}.items()) + "\r\n"

    def send():
        try:
            sock.sendall(head.encode())
            for chunk in chunks:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed before reading it all: that is allowed
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    sock.close()
    sender.join(30)
    return response.status, body


def _login(port) -> tuple[str, str]:
    status, body, _ = _request(port, "POST", "/api/v1/auth/login", json.dumps({
        "email": f"{Role.CANVASSER.value}@example.test", "password": PASSWORD, "device_name": "phone"}),
        {"Content-Type": "application/json"})
    assert status == 201, body
    answer = json.loads(body)
    return answer["token"], answer["device"]["id"]


def test_a_chunked_push_past_the_limit_is_refused_with_413_not_applied(server):
    make_world()
    token, device_id = _login(server)
    padding = "x" * (3 * 1024 * 1024)
    body = json.dumps({"device_id": device_id, "storage_id": device_id, "protocol_version": 1, "schema_version": 1,
                       "mutations": [], "padding": padding}).encode()
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    status, answer, headers = _request(server, "POST", "/api/v1/sync/push", chunks,
                                       {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                                       chunked=True)
    assert status == 413, answer[:300]
    assert json.loads(answer)["error"]["details"] == {"max_push_bytes": 2 * 1024 * 1024}
    assert headers["Cache-Control"] == "no-store"


def test_a_six_megabyte_body_is_refused_not_cut(server):
    make_world()
    big = json.dumps({"email": "x" * (6 * 1024 * 1024), "password": "p", "device_name": "d"}).encode()
    for chunked in (False, True):
        headers = {"Content-Type": "application/json"} if chunked else {
            "Content-Type": "application/json", "Content-Length": str(len(big))}
        status, answer = _stream(server, "POST", "/api/v1/auth/login", headers,
                                 (big[i:i + 65536] for i in range(0, len(big), 65536)), chunked)
        assert status == 413, (chunked, answer[:300])
        assert json.loads(answer)["error"]["details"] == {"max_bytes": 5 * 1024 * 1024}


def test_the_http_server_refuses_an_over_long_request_line_and_too_many_headers_itself(server):
    """Documented in README (Deployment): these never reach the app, so their body is gunicorn's, not JSON."""
    status, _, _ = _request(server, "GET", "/api/v1/health?" + "a" * 5000)
    assert status == 414
    statuses = (_request(server, "GET", "/api/v1/health", headers={f"X-Extra-{i}": "1" for i in range(80)})[0],
                _request(server, "GET", "/api/v1/health", headers={"X-Long": "a" * 9000})[0])
    assert statuses == (431, 431)
