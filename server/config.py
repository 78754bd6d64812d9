"""Settings from environment variables, checked once at start-up.

Every bad value raises ConfigError with a sentence a newcomer can act on,
instead of a stack trace from deep inside a driver.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
MIGRATIONS_DIR = ROOT / "migrations"

SUPPORTED_DATABASES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    base_url: str
    var_dir: Path
    session_days: int = 30
    invite_hours: int = 72
    # Shared state of several app processes (rate limits, anything kept between requests):
    # Redis when set, else each process keeps its own in memory (one process: the default).
    redis_url: str | None = None
    # Reverse proxies whose X-Forwarded-For names the real client (addresses or networks);
    # empty: the header is ignored and the connecting address is the client's.
    trusted_proxies: tuple[str, ...] = ()
    # Messages to residents (server/notify/gateway.py): "log" writes what would be sent to
    # var/sms.log; "http" posts to the provider at sms_url with sms_token.
    sms_backend: str = "log"
    sms_url: str = ""
    sms_token: str = ""
    # The provider's replies (回复TD退订) come to /notify/inbound?token=...
    sms_inbound_token: str = ""
    # Deliver the notification outbox from this process (every app process may; tests say no).
    notify_worker: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def rp_id(self) -> str:
        """WebAuthn relying-party id: the host name of the public URL."""
        return urlparse(self.base_url).hostname or "localhost"

    @property
    def origin(self) -> str:
        parsed = urlparse(self.base_url)
        return f"{parsed.scheme}://{parsed.netloc}"


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _networks(env: dict[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses or networks (127.0.0.1, 10.0.0.0/8, ::1)."""
    import ipaddress

    found = []
    for part in (env.get(name) or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigError(f"{name} must be IP addresses or networks separated by commas "
                              f"(like 127.0.0.1,10.0.0.0/8), got {part!r}") from None
    return tuple(found)


def _secret_key(env: dict[str, str], var_dir: Path) -> str:
    key = env.get("WEIWANG_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ConfigError("WEIWANG_SECRET_KEY must be at least 32 characters long")
        return key
    # First run without a key: make one and keep it, so sessions survive restarts.
    key_file = var_dir / "secret_key"
    if key_file.exists():
        key = key_file.read_text().strip()
        if len(key) >= 32:
            return key
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("WEIWANG_VAR_DIR") or ROOT / "var")

    database_url = env.get("WEIWANG_DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'weiwang.db'}"
    if not database_url.startswith(SUPPORTED_DATABASES):
        raise ConfigError(
            "WEIWANG_DATABASE_URL must start with one of "
            + ", ".join(SUPPORTED_DATABASES)
            + f"; got {database_url.split('://')[0]}://..."
        )

    base_url = (env.get("WEIWANG_BASE_URL") or "http://localhost:8000").rstrip("/")
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"WEIWANG_BASE_URL must be an http(s) URL like http://localhost:8000, got {base_url!r}")

    redis_url = env.get("WEIWANG_REDIS_URL") or None
    if redis_url and urlparse(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"WEIWANG_REDIS_URL must be a redis://host:port/db URL, got {redis_url!r}")

    sms_backend = env.get("WEIWANG_SMS_BACKEND") or "log"
    if sms_backend not in ("log", "http"):
        raise ConfigError(f"WEIWANG_SMS_BACKEND must be log or http, got {sms_backend!r}")
    sms_url = env.get("WEIWANG_SMS_URL") or ""
    if sms_backend == "http" and urlparse(sms_url).scheme not in ("http", "https"):
        raise ConfigError("WEIWANG_SMS_BACKEND=http needs WEIWANG_SMS_URL, the provider's http(s) URL")

    return Settings(
        sms_backend=sms_backend,
        sms_url=sms_url,
        sms_token=env.get("WEIWANG_SMS_TOKEN") or "",
        sms_inbound_token=env.get("WEIWANG_SMS_INBOUND_TOKEN") or "",
        notify_worker=(env.get("WEIWANG_NOTIFY_WORKER") or "1") not in ("0", "false", "no"),
        database_url=database_url,
        redis_url=redis_url,
        trusted_proxies=_networks(env, "WEIWANG_TRUSTED_PROXIES"),
        secret_key=_secret_key(env, var_dir),
        base_url=base_url,
        var_dir=var_dir,
        session_days=_int(env, "WEIWANG_SESSION_DAYS", 30, 1, 365),
        invite_hours=_int(env, "WEIWANG_INVITE_HOURS", 72, 1, 24 * 30),
    )
