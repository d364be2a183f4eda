"""Settings are checked at start-up: a bad value stops create_app with a message naming it."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import Config, ConfigError, check_config

BAD_ENVIRONMENT = [
    ("DISPLAY_TIMEZONE", "Asia/Shanghia", "DISPLAY_TIMEZONE must be a time zone"),
    ("DISPLAY_TIMEZONE", "../../etc/passwd", "DISPLAY_TIMEZONE"),
    ("BASE_URL", "linghang.example.cn", "BASE_URL must be an http(s) URL"),
    ("BASE_URL", "ftp://linghang.example.cn", "BASE_URL"),
    ("BASE_URL", "https://", "BASE_URL"),
    ("MAIL_PORT", "twenty-five", "MAIL_PORT must be a whole number"),
    ("MAIL_PORT", "70000", "MAIL_PORT must be between 1 and 65535"),
    ("REMEMBER_COOKIE_DAYS", "0", "REMEMBER_COOKIE_DAYS must be between 1 and 365"),
    ("DATABASE_CONNECT_TIMEOUT", "-1", "DATABASE_CONNECT_TIMEOUT"),
    ("DATABASE_STATEMENT_TIMEOUT", "1e400", "DATABASE_STATEMENT_TIMEOUT"),
    ("SCHEDULER_INTERVAL_SECONDS", "nan", "SCHEDULER_INTERVAL_SECONDS must be a number"),
    ("PHOTOS_PER_ACTIVITY", "0", "PHOTOS_PER_ACTIVITY"),
    ("LOGIN_ACCOUNT_LIMIT", "ten per hour", "LOGIN_ACCOUNT_LIMIT must be a rate"),
    ("RATELIMIT_STORAGE_URI", "mysql://x", "RATELIMIT_STORAGE_URI"),
    ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL"),
    ("MAIL_REPLY_TO", "replies", "MAIL_REPLY_TO must be an e-mail address"),
    ("IMAP_PORT", "0", "IMAP_PORT must be between 1 and 65535"),
]


@pytest.mark.parametrize("name, value, message", BAD_ENVIRONMENT, ids=lambda v: str(v)[:30])
def test_a_bad_setting_stops_create_app_naming_the_variable(tmp_path, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("SECRET_KEY", "test")
    with pytest.raises(ConfigError) as refused:
        create_app(Config(tmp_path))
    assert message in str(refused.value)


def test_good_settings_pass(tmp_path, monkeypatch):
    for name, value in [
        ("DISPLAY_TIMEZONE", "Asia/Urumqi"),
        ("BASE_URL", "https://linghang.example.cn/"),
        ("MAIL_PORT", "587"),
        ("DATABASE_STATEMENT_TIMEOUT", "0"),
        ("LOGIN_ACCOUNT_LIMIT", "5 per 10 minutes"),
        ("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/2"),
        ("MAIL_REPLY_TO", "领航 <replies@linghang.example.cn>"),
        ("IMAP_SSL", "0"),
    ]:
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SECRET_KEY", "test")
    config = Config(tmp_path)
    check_config(vars(config))
    assert config.DATABASE_STATEMENT_TIMEOUT == 0
    assert (config.IMAP_SSL, config.IMAP_PORT) == (False, 143)  # plain IMAP's port unless set


def test_values_set_in_code_are_checked_too(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "test")
    config = Config(tmp_path)
    config.HEALTHZ_TIMEOUT = "2000"
    with pytest.raises(ConfigError, match="HEALTHZ_TIMEOUT must be a number"):
        create_app(config)
