"""Settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.config import Config, load_secret_key, normalise_database_url


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(tmp_path)
    second = load_secret_key(tmp_path)
    assert first == second
    assert len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert load_secret_key(tmp_path) == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_defaults_and_environment(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "BASE_URL", "DISPLAY_TIMEZONE", "MAIL_PORT", "LINGHANG_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    config = Config(tmp_path)
    assert f"sqlite:///{tmp_path / 'linghang.sqlite'}" == config.SQLALCHEMY_DATABASE_URI
    assert config.DISPLAY_TIMEZONE == "Asia/Shanghai"
    assert config.BABEL_DEFAULT_LOCALE == "zh_CN"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/linghang")
    monkeypatch.setenv("BASE_URL", "https://linghang.example.cn/")
    monkeypatch.setenv("MAIL_PORT", "2525")
    config = Config(tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db/linghang"
    assert config.BASE_URL == "https://linghang.example.cn"
    assert config.SESSION_COOKIE_SECURE is True
    assert config.MAIL_PORT == 2525


def test_normalise_database_url_leaves_other_urls():
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalise_database_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"


def test_base_url_follows_the_served_host_and_port(tmp_path, monkeypatch):
    for name in ("BASE_URL", "HOST", "PORT", "LINGHANG_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    assert Config(tmp_path).BASE_URL == "http://127.0.0.1:5000"
    monkeypatch.setenv("PORT", "5101")
    assert Config(tmp_path).BASE_URL == "http://127.0.0.1:5101"
    monkeypatch.setenv("HOST", "10.1.2.3")
    assert Config(tmp_path).BASE_URL == "http://10.1.2.3:5101"
    monkeypatch.setenv("BASE_URL", "https://linghang.example.cn/")
    assert Config(tmp_path).BASE_URL == "https://linghang.example.cn"


def test_make_run_passes_port_to_the_app():
    """`PORT=5101 make run` prints the address and the app's BASE_URL (links in mails) on 5101."""
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("BASE_URL", "HOST", "PORT")}
    env["PORT"] = "5101"
    printed = subprocess.run(
        ["make", "-n", "run"], cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "http://127.0.0.1:5101/" in printed
    assert "--port 5101" in printed
    shown = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", "-", "show"], cwd=root, env=env, capture_output=True, text=True,
        check=True, input=f"include Makefile\nshow:\n\t@{sys.executable} -c 'from app.config import Config; print(Config().BASE_URL)'\n",
    ).stdout
    assert shown.strip() == "http://127.0.0.1:5101"
