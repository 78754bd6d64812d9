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

    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=_secret_key(env, var_dir),
        base_url=base_url,
        var_dir=var_dir,
        session_days=_int(env, "WEIWANG_SESSION_DAYS", 30, 1, 365),
        invite_hours=_int(env, "WEIWANG_INVITE_HOURS", 72, 1, 24 * 30),
    )
