"""Request-level access control: every API view is wrapped by exactly one of ``authorize`` or ``public``."""
from __future__ import annotations

from functools import wraps

from flask import Flask, g

from server.auth.policy import Permission, Principal, principal_for, scope_clause
from server.auth.tokens import device_for_request
from server.errors import AccessSuspended, Forbidden
from server.extensions import db

PUBLIC = "public"

__all__ = ["Permission", "Principal", "authorize", "public", "current_principal", "scope_clause",
           "assert_every_route_declares_access"]


def _document(wrapper, security: list, note: str) -> None:
    doc = getattr(wrapper, "_apidoc", {})
    manual = doc.setdefault("manual_doc", {})
    manual["security"] = security
    manual["description"] = (manual.get("description", "") + "\n\n" + note).strip()
    wrapper._apidoc = doc


def authorize(permission: Permission, *, delivery: bool = False):
    """Require a device token whose user's role grants ``permission``; sets ``g.principal`` and ``g.device``.

    Only sync passes ``delivery``: a device whose access was withdrawn may still hand over its outbox
    (held for review) and be told to wipe (see ``device_for_request``). While a CLP's access is suspended,
    its people get ``403 access_suspended`` for everything but their own account (``SELF``) and delivery.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            device = device_for_request(delivery=delivery)
            principal = principal_for(db.session, device.user, device.id)
            suspension = principal.suspension
            if suspension is not None and not (delivery or permission == Permission.SELF):
                # Its CLP's access is suspended: principal_for left only their own account and delivery.
                raise AccessSuspended(details={"since": suspension.since.isoformat(), "reason": suspension.reason})
            if not principal.can(permission):
                raise Forbidden(
                    f"Your role ({principal.role.value}) cannot do this.",
                    {"required_permission": permission.value},
                )
            g.principal = principal
            g.device = device
            return view(*args, **kwargs)

        wrapper._gw_access = permission
        _document(wrapper, [{"bearerAuth": []}], f"Requires permission `{permission.value}`.")
        return wrapper

    return decorator


def public(view):
    """Mark a view as open to anyone (health, login, the OpenAPI document)."""
    view._gw_access = PUBLIC
    _document(view, [], "No authentication.")
    return view


def current_principal() -> Principal:
    return g.principal


def assert_every_route_declares_access(app: Flask) -> None:
    """Refuse to start if any API route forgot to declare who may call it."""
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        and not hasattr(app.view_functions[rule.endpoint], "_gw_access")
    ]
    if missing:
        raise RuntimeError("API routes without @authorize or @public: " + ", ".join(sorted(missing)))
