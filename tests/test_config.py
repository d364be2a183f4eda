"""Settings from the environment."""

from __future__ import annotations

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
