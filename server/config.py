"""Configuration read once from the environment, so every deployment is described by its env vars."""
from __future__ import annotations

import base64
import os
import re
from datetime import time, timedelta


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


# Retention periods in days (docs/retention.md), applied nightly by server/jobs/retention.py.
RETENTION_KEYS = ("RETENTION_CONTACT_CONTENT_DAYS", "RETENTION_DEVICE_DAYS", "RETENTION_LOGIN_ATTEMPT_DAYS",
                  "RETENTION_EXPORT_DAYS", "RETENTION_AUDIT_DAYS")
RETENTION_MAX_DAYS = 36500  # a century: anything longer is a typo, and would overflow date arithmetic


def check_retention(periods: dict[str, int]) -> None:
    """Every period is a whole number of days from 1 to RETENTION_MAX_DAYS, and the audit log, which records
    what the others removed and who accessed what, is kept at least as long as any of them."""
    for name in RETENTION_KEYS:
        if not 1 <= periods[name] <= RETENTION_MAX_DAYS:
            raise ConfigError(f"{name} must be a whole number of days from 1 to {RETENTION_MAX_DAYS}, "
                              f"got {periods[name]}")
    audit = periods["RETENTION_AUDIT_DAYS"]
    longer = [f"{name}={periods[name]}" for name in RETENTION_KEYS if periods[name] > audit]
    if longer:
        raise ConfigError(f"RETENTION_AUDIT_DAYS ({audit}) must be the longest retention period, but "
                          + ", ".join(longer) + " is longer: the audit log must outlive what it records.")


# Web push (docs/push.md): the hosts of the browsers' push services that subscriptions may name. The server
# posts to a subscription's endpoint, so an endpoint anywhere else (an internal address) is refused.
PUSH_SERVICE_HOSTS_DEFAULT = ("fcm.googleapis.com,updates.push.services.mozilla.com,push.services.mozilla.com,"
                              "push.apple.com,notify.windows.com")


def parse_quiet_hours(raw: str | None) -> tuple[time, time] | None:
    """``"21:00-09:00"`` as (start, end) local times; None for no quiet hours ("" or "off")."""
    text = (raw or "").strip().lower()
    if text in {"", "off", "none"}:
        return None
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)", text)
    if not match or match.group(1, 2) == match.group(3, 4):
        raise ConfigError(f"PUSH_QUIET_HOURS must be two different times like 21:00-09:00 (or off), got {raw!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    return time(h1, m1), time(h2, m2)


def vapid_public_key(private_key: str) -> str | None:
    """The applicationServerKey (base64url, uncompressed P-256 point) of a VAPID private key in a form
    pywebpush reads (base64url of the raw 32-byte key or of DER); None if it is not one."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    try:
        key = Vapid.from_string(private_key.strip()).public_key
    except Exception:  # bad base64, a wrong length, another curve: all mean "not a key"
        return None
    raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def check_vapid(public_key: str | None, private_key: str | None, subject: str | None) -> None:
    """If web push is configured at all, it is configured right: both keys, a matching pair, and a subject
    push services accept (a mailto: address, or an https: origin with no path)."""
    if not (public_key or private_key or subject):
        return
    if subject and not re.fullmatch(r"mailto:[^@\s]+@[\w-]+(\.[\w-]+)+|https://[\w-]+(\.[\w-]+)+", subject):
        raise ConfigError(f"VAPID_SUBJECT must be a mailto: address (mailto:digital@example.org) or an https: "
                          f"origin with no path (https://groundwork.example.org), got {subject!r}")
    if bool(public_key) != bool(private_key):
        raise ConfigError("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together (with both unset, "
                          "`flask push keys` makes a pair)")
    if public_key and private_key:
        derived = vapid_public_key(private_key)
        if derived is None:
            raise ConfigError("VAPID_PRIVATE_KEY is not a usable P-256 key (base64url, raw or DER). With both "
                              "keys unset, `flask push keys` makes a pair.")
        if derived != public_key.strip().rstrip("="):
            raise ConfigError(f"VAPID_PUBLIC_KEY is not the public half of VAPID_PRIVATE_KEY: that would be "
                              f"{derived}")


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
        # PostgreSQL's planner cost of a random page read, set on every connection (empty: the server's own).
        # The server default, 4, models spinning disks: with it, reading a push's 500 electors by id from a
        # table of 100,000 was planned as a scan of the whole table (12 ms) instead of the index (1 ms).
        # 1.1 is the usual setting for SSDs and for a database held in memory, which every deployment has.
        self.DATABASE_RANDOM_PAGE_COST = env.get("DATABASE_RANDOM_PAGE_COST", "1.1").strip()
        if self.DATABASE_RANDOM_PAGE_COST and not re.fullmatch(r"\d{1,3}(\.\d{1,3})?", self.DATABASE_RANDOM_PAGE_COST):
            raise ConfigError(f"DATABASE_RANDOM_PAGE_COST must be a number such as 1.1 (or empty for the "
                              f"server's own setting), got {self.DATABASE_RANDOM_PAGE_COST!r}")

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
        # Notices pushed to one person's devices per day (London time), and the hours they are held back.
        self.PUSH_MAX_PER_DAY = _int("PUSH_MAX_PER_DAY", 5)
        self.PUSH_QUIET_HOURS = env.get("PUSH_QUIET_HOURS", "21:00-09:00")
        parse_quiet_hours(self.PUSH_QUIET_HOURS)
        if self.PUSH_MAX_PER_DAY < 0:
            raise ConfigError(f"PUSH_MAX_PER_DAY must be 0 or more, got {self.PUSH_MAX_PER_DAY}")
        self.PUSH_SERVICE_HOSTS = env.get("PUSH_SERVICE_HOSTS", PUSH_SERVICE_HOSTS_DEFAULT)
        # How long before a list's session (a phone bank, a canvass meeting) its volunteers are reminded.
        self.SESSION_REMINDER_LEAD_MINUTES = _int("SESSION_REMINDER_LEAD_MINUTES", 120)
        if not 1 <= self.SESSION_REMINDER_LEAD_MINUTES <= 7 * 24 * 60:
            raise ConfigError(f"SESSION_REMINDER_LEAD_MINUTES must be a whole number of minutes from 1 to 10080 "
                              f"(a week), got {self.SESSION_REMINDER_LEAD_MINUTES}")

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
        # Sync health: a phone not seen for this many days that still holds unsent records is at risk.
        self.SYNC_HEALTH_STALE_DAYS = _int("SYNC_HEALTH_STALE_DAYS", 3)
        if not 1 <= self.SYNC_HEALTH_STALE_DAYS <= 365:
            raise ConfigError(f"SYNC_HEALTH_STALE_DAYS must be a whole number of days from 1 to 365, "
                              f"got {self.SYNC_HEALTH_STALE_DAYS}")
        # Monitoring (docs/monitoring.md): fewer electors reached than this, and no contact rate is shown.
        self.MONITORING_MIN_COUNT = _int("MONITORING_MIN_COUNT", 10)
        if not 1 <= self.MONITORING_MIN_COUNT <= 10_000:
            raise ConfigError(f"MONITORING_MIN_COUNT must be a whole number from 1 to 10000, "
                              f"got {self.MONITORING_MIN_COUNT}")

        # Imports of canvass sheets and unsent-record files (docs/imports.md): the largest file accepted (the
        # upload route's body cap is this plus room for the multipart envelope), and entries per result list.
        self.IMPORT_MAX_BYTES = _int("IMPORT_MAX_BYTES", 50 * 1024 * 1024)
        self.IMPORT_UPLOAD_BYTES = self.IMPORT_MAX_BYTES + 64 * 1024
        self.IMPORT_LIST_LIMIT = _int("IMPORT_LIST_LIMIT", 500)

        # Register import: a full register that would mark removed more than this share of a constituency's
        # current electors is refused as the wrong file (another CLP's, or part of one) unless forced.
        self.REGISTER_MAX_REMOVAL_SHARE = _share("REGISTER_MAX_REMOVAL_SHARE", 0.2)

        # Retention (docs/retention.md): days before personal data is removed by the nightly job. Notes and
        # free-text answers go a year after their campaign ends (counts stay); what the server knows of a
        # phone, 90 days after it was last heard from; login attempts after a day; uploaded import files
        # after 30 days; the audit log after six years (it must be the longest: checked below).
        self.RETENTION_CONTACT_CONTENT_DAYS = _int("RETENTION_CONTACT_CONTENT_DAYS", 365)
        self.RETENTION_DEVICE_DAYS = _int("RETENTION_DEVICE_DAYS", 90)
        self.RETENTION_LOGIN_ATTEMPT_DAYS = _int("RETENTION_LOGIN_ATTEMPT_DAYS", 1)
        self.RETENTION_EXPORT_DAYS = _int("RETENTION_EXPORT_DAYS", 30)
        self.RETENTION_AUDIT_DAYS = _int("RETENTION_AUDIT_DAYS", 2192)
        check_retention({name: getattr(self, name) for name in RETENTION_KEYS})

        self.SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", True)
        # The scheduler's lease (docs/jobs.md): held this long without a renewal (renewed every third of it);
        # a second scheduler takes over at most this long after the first one dies.
        self.SCHEDULER_LEASE_SECONDS = _int("SCHEDULER_LEASE_SECONDS", 30)
        if not 3 <= self.SCHEDULER_LEASE_SECONDS <= 600:
            raise ConfigError(f"SCHEDULER_LEASE_SECONDS must be a whole number of seconds from 3 to 600, "
                              f"got {self.SCHEDULER_LEASE_SECONDS}")
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
        """Fail fast with every missing production setting named at once, and on web push set up wrong."""
        if not self.is_production:
            return check_vapid(self.VAPID_PUBLIC_KEY, self.VAPID_PRIVATE_KEY, self.VAPID_SUBJECT)
        missing = [name for name in self.REQUIRED_IN_PRODUCTION if not getattr(self, name)]
        if missing:
            raise ConfigError(
                "Groundwork is running with GROUNDWORK_ENV=production but these settings are missing: "
                + ", ".join(missing)
                + ". Set them in the environment (see the configuration reference in README.md)."
            )
        if len(self.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production.")
        check_vapid(self.VAPID_PUBLIC_KEY, self.VAPID_PRIVATE_KEY, self.VAPID_SUBJECT)
