"""Configuration read once from the environment, so every deployment is described by its env vars."""
from __future__ import annotations

import os
from datetime import timedelta


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; raised at start-up, never later."""


def normalise_database_url(url: str) -> str:
    """Turn the `postgres://` URLs that hosting platforms hand out into what SQLAlchemy expects."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; name it so SQLAlchemy does not look for psycopg2.
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _share(name: str, default: float) -> float:
    """A fraction from 0 to 1, such as 0.2 for a fifth."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number from 0 to 1, got {raw!r}") from exc
    if not 0 <= value <= 1:
        raise ConfigError(f"{name} must be a number from 0 to 1, got {raw!r}")
    return value


class Config:
    """Every setting Groundwork reads. Instantiate to read the environment as it is now."""

    # Settings that a production deployment must provide explicitly.
    REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT")

    def __init__(self) -> None:
        env = os.environ
        self.ENV = env.get("GROUNDWORK_ENV", "development")
        self.SECRET_KEY = env.get("SECRET_KEY")
        self.DATABASE_URL = env.get("DATABASE_URL")
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(self.DATABASE_URL) if self.DATABASE_URL else None
        # hide_parameters: a database error's message and traceback never carry the values bound to the
        # statement, which are electors' and members' personal data.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

        # Access tokens: one per device, hashed at rest.
        self.TOKEN_TTL = timedelta(days=_int("TOKEN_TTL_DAYS", 30))
        # Login throttling (server/services/login_throttle.py): at most N failures per window for one email;
        # one client address, across accounts, gets some free failures and then doubling delays, never a wall.
        self.LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
        self.LOGIN_FAILURE_WINDOW = timedelta(seconds=_int("LOGIN_FAILURE_WINDOW_SECONDS", 900))
        self.LOGIN_ADDRESS_FREE_FAILURES = _int("LOGIN_ADDRESS_FREE_FAILURES", 10)
        self.LOGIN_ADDRESS_MAX_DELAY = timedelta(seconds=_int("LOGIN_ADDRESS_MAX_DELAY_SECONDS", 60))

        # Web push (VAPID). Optional outside production: push is then disabled.
        self.VAPID_PRIVATE_KEY = env.get("VAPID_PRIVATE_KEY")
        self.VAPID_PUBLIC_KEY = env.get("VAPID_PUBLIC_KEY")
        self.VAPID_SUBJECT = env.get("VAPID_SUBJECT")

        # API paging.
        self.API_DEFAULT_PAGE_SIZE = _int("API_DEFAULT_PAGE_SIZE", 50)
        self.API_MAX_PAGE_SIZE = _int("API_MAX_PAGE_SIZE", 500)
        self.MAX_CONTENT_LENGTH = _int("MAX_REQUEST_BYTES", 5 * 1024 * 1024)

        # Trust X-Forwarded-For from this many proxies (0 when the app faces clients directly).
        self.PROXY_COUNT = _int("PROXY_COUNT", 0)

        # Sync protocol limits (docs/sync-protocol.md).
        self.SYNC_MAX_MUTATIONS = _int("SYNC_MAX_MUTATIONS", 500)
        self.SYNC_MAX_PUSH_BYTES = _int("SYNC_MAX_PUSH_BYTES", 2 * 1024 * 1024)
        self.SYNC_PAGE_SIZE = _int("SYNC_PAGE_SIZE", 500)
        self.SYNC_MAX_PAGE_SIZE = _int("SYNC_MAX_PAGE_SIZE", 2000)
        self.SYNC_RETENTION_DAYS = _int("SYNC_RETENTION_DAYS", 90)
        self.SYNC_CONFLICT_WINDOW_HOURS = _int("SYNC_CONFLICT_WINDOW_HOURS", 48)
        self.SYNC_RECONCILE_INLINE_MAX = _int("SYNC_RECONCILE_INLINE_MAX", 2000)
        # Canvassers and phone bankers may deliver records about a list this long after it ends.
        self.SYNC_ASSIGNMENT_GRACE_DAYS = _int("SYNC_ASSIGNMENT_GRACE_DAYS", 7)

        # Imports of canvass sheets and unsent-record files (docs/imports.md): the largest file accepted (the
        # upload route's body cap is this plus room for the multipart envelope), and entries per result list.
        self.IMPORT_MAX_BYTES = _int("IMPORT_MAX_BYTES", 50 * 1024 * 1024)
        self.IMPORT_UPLOAD_BYTES = self.IMPORT_MAX_BYTES + 64 * 1024
        self.IMPORT_LIST_LIMIT = _int("IMPORT_LIST_LIMIT", 500)

        # Register import: a full register that would mark removed more than this share of a constituency's
        # current electors is refused as the wrong file (another CLP's, or part of one) unless forced.
        self.REGISTER_MAX_REMOVAL_SHARE = _share("REGISTER_MAX_REMOVAL_SHARE", 0.2)

        self.SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", True)
        # werkzeug method string; tests use a cheap one, production keeps the scrypt default.
        self.PASSWORD_HASH_METHOD = env.get("PASSWORD_HASH_METHOD", "scrypt")
        self.MIN_PASSWORD_LENGTH = _int("MIN_PASSWORD_LENGTH", 10)

        # flask-smorest / OpenAPI.
        self.API_TITLE = "Groundwork"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = None  # we serve the document ourselves at /api/v1/openapi.json

    @property
    def is_production(self) -> bool:
        return self.ENV == "production"

    def as_mapping(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}

    def validate(self) -> None:
        """Fail fast with every missing production setting named at once."""
        if not self.is_production:
            return
        missing = [name for name in self.REQUIRED_IN_PRODUCTION if not getattr(self, name)]
        if missing:
            raise ConfigError(
                "Groundwork is running with GROUNDWORK_ENV=production but these settings are missing: "
                + ", ".join(missing)
                + ". Set them in the environment (see the configuration reference in README.md)."
            )
        if len(self.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production.")
