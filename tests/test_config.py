import pytest

from server.config import ConfigError, load_settings


def test_it_defaults_to_the_sqlite_file_and_keeps_a_generated_secret(tmp_path):
    env = {"WEIWANG_VAR_DIR": str(tmp_path)}
    first = load_settings(env)
    assert first.database_url == f"sqlite+aiosqlite:///{tmp_path / 'weiwang.db'}"
    assert len(first.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_settings(env).secret_key == first.secret_key


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WEIWANG_DATABASE_URL": "mysql://x"}, "WEIWANG_DATABASE_URL must start with"),
        ({"WEIWANG_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"WEIWANG_BASE_URL": "localhost:8000"}, "WEIWANG_BASE_URL must be an http(s) URL"),
        ({"WEIWANG_SESSION_DAYS": "many"}, "whole number"),
        ({"WEIWANG_SESSION_DAYS": "0"}, "between 1 and 365"),
    ],
)
def test_it_rejects_bad_values_with_a_clear_message(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({"WEIWANG_VAR_DIR": str(tmp_path), **env})


def test_it_accepts_postgresql_and_an_https_base_url(tmp_path):
    settings = load_settings({
        "WEIWANG_VAR_DIR": str(tmp_path),
        "WEIWANG_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1/x",
        "WEIWANG_BASE_URL": "https://weiwang.example.cn/",
        "WEIWANG_SECRET_KEY": "k" * 40,
    })
    assert not settings.is_sqlite
    assert settings.secure_cookies
    assert settings.rp_id == "weiwang.example.cn"
    assert settings.base_url == "https://weiwang.example.cn"
