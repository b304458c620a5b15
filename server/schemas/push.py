"""Web push's request and response shapes: the server's public key, and a browser's PushSubscription as its
toJSON() gives it (docs/push.md)."""
from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, validate, validates

from server.schemas import Schema, StrictSchema, Text

ENDPOINT_MAX = 2000
B64URL = r"^[A-Za-z0-9_-]+={0,2}$"


def b64url_bytes(value: str) -> bytes | None:
    """base64url (padded or not) as bytes; None if it is not base64url."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


class PushKeySchema(Schema):
    public_key = fields.String(required=True, metadata={
        "description": "The VAPID public key (base64url, an uncompressed P-256 point): pass it to "
                       "pushManager.subscribe() as applicationServerKey"})


class SubscriptionKeysSchema(StrictSchema):
    p256dh = Text(required=True, validate=[validate.Length(min=86, max=88), validate.Regexp(B64URL)], metadata={
        "description": "The browser's P-256 public key, base64url (65 bytes)"})
    auth = Text(required=True, validate=[validate.Length(min=22, max=24), validate.Regexp(B64URL)], metadata={
        "description": "The browser's authentication secret, base64url (16 bytes)"})

    @validates("p256dh")
    def _point(self, value: str, **_kw) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        raw = b64url_bytes(value)
        if raw is None or len(raw) != 65 or raw[0] != 4:
            raise ValidationError("Not an uncompressed P-256 public key (65 bytes, base64url).")
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError as exc:
            raise ValidationError("Not a point on the P-256 curve.") from exc

    @validates("auth")
    def _secret(self, value: str, **_kw) -> None:
        raw = b64url_bytes(value)
        if raw is None or len(raw) != 16:
            raise ValidationError("Not a 16-byte secret (base64url).")


class PushSubscriptionSchema(StrictSchema):
    """What ``PushSubscription.toJSON()`` gives, as the browser gives it."""

    endpoint = Text(required=True, validate=validate.Length(min=12, max=ENDPOINT_MAX), metadata={
        "description": "The push service's URL for this browser (https). Never shown back or logged.",
        "format": "uri", "pattern": r"^https://"})
    keys = fields.Nested(SubscriptionKeysSchema, required=True)
    expirationTime = fields.Float(allow_none=True, load_default=None, metadata={  # the browser's name for it
        "description": "Ignored: the browser's own expiry, usually null"})

    @validates("endpoint")
    def _endpoint(self, value: str, **_kw) -> None:
        if not value.isascii() or any(c.isspace() for c in value):
            raise ValidationError("Not a URL.")
        try:
            url = urlsplit(value)
            url.port  # raises on a port that is not a number
        except ValueError as exc:
            raise ValidationError("Not a URL.") from exc
        if url.scheme != "https" or not url.hostname or url.username or url.password:
            raise ValidationError("Must be an https URL of a push service.")


class UnsubscribeSchema(StrictSchema):
    endpoint = Text(required=True, validate=validate.Length(min=1, max=ENDPOINT_MAX), metadata={
        "description": "The endpoint of the subscription to remove (one of your own)"})


class PushSubscriptionOutSchema(Schema):
    """A stored subscription, without its endpoint or keys."""

    id = fields.Integer(required=True)
    device_id = fields.UUID(allow_none=True, metadata={"description": "The device (login) it belongs to"})
    service = fields.String(required=True, metadata={"description": "The push service's host"})
    created_at = fields.AwareDateTime(required=True)
    last_success_at = fields.AwareDateTime(allow_none=True)
