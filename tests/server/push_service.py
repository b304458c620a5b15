"""A real push service on this machine, and browsers to receive from it, for the web push stories.

The fake push service is an HTTPS server with a self-signed certificate. Each "browser" is a P-256 key pair
and an auth secret, as a real browser makes them: what the server sends must decrypt (aes128gcm) with that
browser's keys, and carry a VAPID token that verifies with the server's public key.

Test modules import the fixtures by name (``from tests.server.push_service import run, service``) and name
them as arguments, as they would a conftest's.
"""
from __future__ import annotations

import base64
import ipaddress
import json
import os
import ssl
import threading
import time as clock
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from server.extensions import db
from server.jobs.push import send_pending
from server.models import PushSubscription, Role
from server.services import push
from tests.factories import bearer, login

SUBJECT = "mailto:digital@example.org"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---------------------------------------------------------------------------------------- a push service

@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class PushService:
    """Answers 201 to every message unless told otherwise; remembers what it was sent."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    scripted: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def endpoint(self, name: str) -> str:
        return f"https://127.0.0.1:{self.port}/push/{name}"

    def answer(self, name: str, status: int, headers: dict | None = None, times: int = 1) -> None:
        self.scripted.setdefault(f"/push/{name}", []).extend([(status, headers or {})] * times)

    def to(self, name: str) -> list[Received]:
        return [r for r in self.received if r.path == f"/push/{name}"]


def _self_signed(tmp_path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "push.crt", tmp_path / "push.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.fixture
def service(tmp_path):
    state = PushService()
    cert_file, key_file = _self_signed(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                queue = state.scripted.get(self.path) or []
                status, headers = queue.pop(0) if queue else (201, {})
            if state.delay:
                clock.sleep(state.delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    state.cert_file = cert_file
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    """What a browser keeps for one push subscription: its ECDH key pair and auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict:
        """As PushSubscription.toJSON() gives it."""
        point = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}

    def read(self, message: Received) -> dict:
        assert message.headers["content-encoding"] == "aes128gcm"
        return json.loads(http_ece.decrypt(message.body, private_key=self.key, auth_secret=self.auth,
                                           version="aes128gcm"))


def configure_push(app) -> None:
    """A fresh VAPID key pair, and the fake push service allowed as a push service."""
    from server.cli.push import new_key_pair

    public, private = new_key_pair()
    app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private, VAPID_SUBJECT=SUBJECT,
                      PUSH_SERVICE_HOSTS="127.0.0.1", PUSH_QUIET_HOURS="21:00-09:00", PUSH_MAX_PER_DAY=5)


@pytest.fixture
def run(service):
    """The job, trusting the fake push service's certificate (and only in these tests)."""

    def run_job(now: datetime):
        session = push.http_session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise win over verify
        session.verify = service.cert_file
        return send_pending(now, session=session)

    return run_job


def subscribe(client, token: str, browser: Browser):
    return client.post("/api/v1/push/subscriptions", json=browser.subscription(), headers=bearer(token))


def phone(client, service, name: str, role: Role = Role.MEMBERSHIP_SECRETARY) -> Browser:
    """Log in on a new device and turn notices on there."""
    browser = Browser(service.endpoint(name))
    token = login(client, role, device_name=name)
    assert subscribe(client, token, browser).status_code == 201
    browser.token = token
    return browser


def subscription(endpoint: str) -> PushSubscription | None:
    db.session.expire_all()
    return db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))


def verify_vapid(authorization: str, public_key: str) -> dict:
    """Check the VAPID header (RFC 8292) as a push service does; return the token's claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    parts = dict(p.split("=", 1) for p in params.split(","))
    assert parts["k"] == public_key
    header, claims, signature = parts["t"].split(".")
    assert json.loads(unb64(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(parts["k"]))
    key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
               f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    return json.loads(unb64(claims))
