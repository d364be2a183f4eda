"""Settings read from the environment; see README.md for every variable."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def served_base_url() -> str:
    """The address the app is served at, from HOST and PORT (as `make run` serves it)."""
    host = os.environ.get("HOST", "").strip() or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # every interface: links must name one that others can reach
        host = socket.getfqdn()
    if ":" in host:
        host = f"[{host}]"
    port = os.environ.get("PORT", "").strip() or "5000"
    return f"http://{host}:{port}"


def load_secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        # O_EXCL: two workers starting together must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


class Config:
    """Production-like defaults; every value can come from the environment."""

    def __init__(self, instance_path: Path | None = None) -> None:
        instance = Path(os.environ.get("LINGHANG_INSTANCE", instance_path or DEFAULT_INSTANCE))
        instance.mkdir(parents=True, exist_ok=True)
        self.INSTANCE_PATH = str(instance)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'linghang.sqlite'}")
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.SECRET_KEY = load_secret_key(instance)
        self.BASE_URL = (os.environ.get("BASE_URL") or served_base_url()).rstrip("/")
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "linghang@localhost")
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
        self.MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "8"))
        # Reminders and the scheduler process (see README "Scheduler").
        self.SCHEDULER_INTERVAL_SECONDS = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "30"))
        self.SCHEDULER_STANDBY_POLL_SECONDS = float(os.environ.get("SCHEDULER_STANDBY_POLL_SECONDS", "2"))
        self.SCHEDULER_PLAN_EVERY_SECONDS = float(os.environ.get("SCHEDULER_PLAN_EVERY_SECONDS", "600"))
        self.REMINDER_OFFSETS = os.environ.get("REMINDER_OFFSETS", "1440,120")
        self.REMINDER_NUDGE_MINUTES = int(os.environ.get("REMINDER_NUDGE_MINUTES", "1440"))
        self.REMINDER_ANSWER_DEADLINE_MINUTES = int(os.environ.get("REMINDER_ANSWER_DEADLINE_MINUTES", "2880"))
        # Problems (催办, 回访) and attendee feedback through the answer link (app/problems/reminders.py).
        self.PROBLEM_REMIND_WORKING_DAYS = int(os.environ.get("PROBLEM_REMIND_WORKING_DAYS", "2"))
        self.PROBLEM_REMIND_HOUR = int(os.environ.get("PROBLEM_REMIND_HOUR", "9"))
        self.PROBLEM_FOLLOW_UP_REMIND_HOURS = int(os.environ.get("PROBLEM_FOLLOW_UP_REMIND_HOURS", "15"))
        self.INVITATION_FEEDBACK_DAYS = int(os.environ.get("INVITATION_FEEDBACK_DAYS", "30"))
        self.DISPLAY_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Asia/Shanghai")
        self.BABEL_DEFAULT_LOCALE = "zh_CN"
        self.BABEL_DEFAULT_TIMEZONE = self.DISPLAY_TIMEZONE
        # The catalogue lives under "zh": Babel reads zh_CN as zh_Hans_CN, whose fallback is zh.
        self.BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "app" / "translations")
        self.LANGUAGES = {"zh_CN": "中文", "en": "English"}
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.BASE_URL.startswith("https://")
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024
        self.WTF_CSRF_TIME_LIMIT = None
        self.PAGE_SIZE = 25
        self.WORKING_HOURS = os.environ.get("WORKING_HOURS", "09:00-12:00,14:00-17:30")
        # Calendar feeds: the window around today, and the per-process cache of rendered feeds.
        self.FEED_PAST_DAYS = int(os.environ.get("FEED_PAST_DAYS", "90"))
        self.FEED_FUTURE_DAYS = int(os.environ.get("FEED_FUTURE_DAYS", "365"))
        self.FEED_CACHE_BYTES = int(os.environ.get("FEED_CACHE_MB", "64")) * 1024 * 1024
        # Problem deadlines in working days per category, e.g. "tax=5,export=2" (app/problems/services.py).
        self.PROBLEM_DEADLINE_DAYS = os.environ.get("PROBLEM_DEADLINE_DAYS", "")


class TestConfig(Config):
    """Settings for the test suite: a given database, CSRF off unless a test turns it on."""

    __test__ = False  # not a pytest test class

    def __init__(self, database_url: str, instance_path: Path) -> None:
        super().__init__(instance_path)
        self.TESTING = True
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        self.WTF_CSRF_ENABLED = False
        self.BASE_URL = "http://linghang.test"
        self.SERVER_NAME = None
        # Hashing is the slowest part of a log-in; tests log in hundreds of times.
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
