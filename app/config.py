"""Settings read from the environment; see README.md for every variable."""

from __future__ import annotations

import json
import math
import os
import secrets
import socket
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

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


class ConfigError(ValueError):
    """A setting has a value the app cannot run with; the message names the variable."""


def env_number(name: str, default: str, kind: type = int) -> int | float:
    """Read a number from the environment, naming the variable when it is not one."""
    raw = os.environ.get(name, default).strip()
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, not {raw!r}") from None


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


def parse_sms_templates(raw: str) -> dict[str, str]:
    """SMS_TEMPLATES: a JSON object of notice kind → the provider's template code."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"SMS_TEMPLATES must be a JSON object such as {{\"invitation\": \"SMS_123\"}}, not {raw!r}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str | int) for k, v in value.items()):
        raise ConfigError(f"SMS_TEMPLATES must map notice kinds to template codes, not {raw!r}")
    return {key: str(code) for key, code in value.items()}


class Config:
    """Production-like defaults; every value can come from the environment."""

    def __init__(self, instance_path: Path | None = None) -> None:
        instance = Path(os.environ.get("LINGHANG_INSTANCE", instance_path or DEFAULT_INSTANCE))
        instance.mkdir(parents=True, exist_ok=True)
        self.INSTANCE_PATH = str(instance)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'linghang.sqlite'}")
        )
        # Seconds to wait for a connection, milliseconds a statement may run (0: no limit).
        self.DATABASE_CONNECT_TIMEOUT = env_number("DATABASE_CONNECT_TIMEOUT", "5")
        self.DATABASE_STATEMENT_TIMEOUT = env_number("DATABASE_STATEMENT_TIMEOUT", "30000")
        self.HEALTHZ_TIMEOUT = env_number("HEALTHZ_TIMEOUT", "2000")
        self.DATABASE_POOL_TIMEOUT = env_number("DATABASE_POOL_TIMEOUT", "10")
        self.SECRET_KEY = load_secret_key(instance)
        self.BASE_URL = (os.environ.get("BASE_URL") or served_base_url()).rstrip("/")
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
        self.MAIL_PORT = env_number("MAIL_PORT", "25")
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "linghang@localhost")
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
        self.MAIL_MAX_ATTEMPTS = env_number("MAIL_MAX_ATTEMPTS", "8")
        # Calendar answers (iTIP REPLY) come back to this mailbox, read over IMAP (app/replies).
        self.MAIL_REPLY_TO = os.environ.get("MAIL_REPLY_TO", "").strip() or None
        self.MAIL_REPLY_TOKENS = os.environ.get("MAIL_REPLY_TOKENS", "1") != "0"
        self.IMAP_HOST = os.environ.get("IMAP_HOST", "").strip() or None
        self.IMAP_SSL = os.environ.get("IMAP_SSL", "1") != "0"
        self.IMAP_PORT = env_number("IMAP_PORT", "993" if self.IMAP_SSL else "143")
        self.IMAP_USER = os.environ.get("IMAP_USER") or None
        self.IMAP_PASSWORD = os.environ.get("IMAP_PASSWORD") or None
        self.IMAP_FOLDER = os.environ.get("IMAP_FOLDER", "INBOX")
        self.IMAP_PROCESSED_FOLDER = os.environ.get("IMAP_PROCESSED_FOLDER", "Linghang-processed")
        # Seconds a webhook receiver has to answer one delivery (app/webhooks/sender.py).
        self.WEBHOOK_TIMEOUT = env_number("WEBHOOK_TIMEOUT", "10", float)
        # Reminders and the scheduler process (see README "Scheduler").
        self.SCHEDULER_INTERVAL_SECONDS = env_number("SCHEDULER_INTERVAL_SECONDS", "30", float)
        self.SCHEDULER_STANDBY_POLL_SECONDS = env_number("SCHEDULER_STANDBY_POLL_SECONDS", "2", float)
        self.SCHEDULER_PLAN_EVERY_SECONDS = env_number("SCHEDULER_PLAN_EVERY_SECONDS", "600", float)
        self.REMINDER_OFFSETS = os.environ.get("REMINDER_OFFSETS", "1440,120")
        self.REMINDER_NUDGE_MINUTES = env_number("REMINDER_NUDGE_MINUTES", "1440")
        self.REMINDER_ANSWER_DEADLINE_MINUTES = env_number("REMINDER_ANSWER_DEADLINE_MINUTES", "2880")
        # Problems (催办, 回访) and attendee feedback through the answer link (app/problems/reminders.py).
        self.PROBLEM_REMIND_WORKING_DAYS = env_number("PROBLEM_REMIND_WORKING_DAYS", "2")
        self.PROBLEM_REMIND_HOUR = env_number("PROBLEM_REMIND_HOUR", "9")
        self.PROBLEM_FOLLOW_UP_REMIND_HOURS = env_number("PROBLEM_FOLLOW_UP_REMIND_HOURS", "15")
        self.INVITATION_FEEDBACK_DAYS = env_number("INVITATION_FEEDBACK_DAYS", "30")
        # The rating link mailed when a problem is resolved (app/problems/notices.py).
        self.PROBLEM_RATING_LINK_DAYS = env_number("PROBLEM_RATING_LINK_DAYS", "30")
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
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_DAYS = env_number("REMEMBER_COOKIE_DAYS", "30")
        self.REMEMBER_COOKIE_DURATION = timedelta(days=self.REMEMBER_COOKIE_DAYS)
        # Log-in throttling (app/auth/throttle.py): Flask-Limiter's storage and the two limits.
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "linghang")
        self.LOGIN_ACCOUNT_LIMIT = os.environ.get("LOGIN_ACCOUNT_LIMIT", "10 per 15 minutes")
        self.LOGIN_ADDRESS_LIMIT = os.environ.get("LOGIN_ADDRESS_LIMIT", "60 per minute")
        # Unknown short-link codes (/r/<code>) an address may open before it must wait.
        self.SHORTLINK_MISS_LIMIT = os.environ.get("SHORTLINK_MISS_LIMIT", "20 per minute;200 per day")
        # Requests per API key (app/api/auth.py), counted in RATELIMIT_STORAGE_URI.
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "60 per minute")
        self.PHOTOS_PER_ACTIVITY = env_number("PHOTOS_PER_ACTIVITY", "60")
        # How many reverse proxies (nginx …) stand in front of the app and set X-Forwarded-For.
        self.PROXY_COUNT = env_number("PROXY_COUNT", "0")
        self.MAX_UPLOAD_MB = env_number("MAX_UPLOAD_MB", "10")
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_MB * 1024 * 1024
        self.WTF_CSRF_TIME_LIMIT = None
        self.PAGE_SIZE = 25
        self.WORKING_HOURS = os.environ.get("WORKING_HOURS", "09:00-12:00,14:00-17:30")
        # Check-in at the door opens this many minutes before an activity starts (app/invitations/checkin.py).
        self.CHECKIN_OPENS_MINUTES_BEFORE = env_number("CHECKIN_OPENS_MINUTES_BEFORE", "120")
        # SMS notices (app/notify): provider, keys, sign, template codes per notice kind, cap.
        self.SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "none").strip().lower() or "none"
        self.SMS_ACCESS_KEY_ID = os.environ.get("SMS_ACCESS_KEY_ID") or None
        self.SMS_ACCESS_KEY_SECRET = os.environ.get("SMS_ACCESS_KEY_SECRET") or None
        self.SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "")
        self.SMS_SDK_APP_ID = os.environ.get("SMS_SDK_APP_ID", "")
        self.SMS_REGION = os.environ.get("SMS_REGION") or None
        self.SMS_ENDPOINT = os.environ.get("SMS_ENDPOINT") or None
        self.SMS_TEMPLATES = parse_sms_templates(os.environ.get("SMS_TEMPLATES", ""))
        self.SMS_DAILY_CAP = env_number("SMS_DAILY_CAP", "10")
        # Calendar feeds: the window around today, and the per-process cache of rendered feeds.
        self.FEED_PAST_DAYS = env_number("FEED_PAST_DAYS", "90")
        self.FEED_FUTURE_DAYS = env_number("FEED_FUTURE_DAYS", "365")
        self.FEED_CACHE_MB = env_number("FEED_CACHE_MB", "64")
        self.FEED_CACHE_BYTES = self.FEED_CACHE_MB * 1024 * 1024
        # How old the last look at the feed change log may be when a cached feed is served (a
        # change made by another process reaches polls within this); 0: look on every poll.
        self.FEED_FRESHNESS_SECONDS = env_number("FEED_FRESHNESS_SECONDS", "1", float)
        # Problem deadlines in working days per category, e.g. "tax=5,export=2" (app/problems/services.py).
        self.PROBLEM_DEADLINE_DAYS = os.environ.get("PROBLEM_DEADLINE_DAYS", "")
        # Group robots (app/robots): where their webhooks are posted (tests point these at a local
        # server), how long a post may take, and the key that seals stored webhooks (SECRET_KEY if unset).
        self.WECOM_WEBHOOK_BASE = os.environ.get("WECOM_WEBHOOK_BASE", "https://qyapi.weixin.qq.com").rstrip("/")
        self.DINGTALK_WEBHOOK_BASE = os.environ.get("DINGTALK_WEBHOOK_BASE", "https://oapi.dingtalk.com").rstrip("/")
        self.ROBOT_TIMEOUT_SECONDS = env_number("ROBOT_TIMEOUT_SECONDS", "10", float)
        self.SECRETS_KEY = os.environ.get("SECRETS_KEY") or None


# Each numeric setting's allowed range (inclusive); check_config refuses anything outside.
NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "DATABASE_CONNECT_TIMEOUT": (1, 600),
    "DATABASE_STATEMENT_TIMEOUT": (0, 3_600_000),
    "HEALTHZ_TIMEOUT": (100, 60_000),
    "DATABASE_POOL_TIMEOUT": (1, 600),
    "MAIL_PORT": (1, 65535),
    "MAIL_MAX_ATTEMPTS": (1, 100),
    "IMAP_PORT": (1, 65535),
    "WEBHOOK_TIMEOUT": (0.1, 120),
    "SCHEDULER_INTERVAL_SECONDS": (0.1, 86400),
    "SCHEDULER_STANDBY_POLL_SECONDS": (0.1, 3600),
    "SCHEDULER_PLAN_EVERY_SECONDS": (1, 86400 * 7),
    "REMINDER_NUDGE_MINUTES": (1, 60 * 24 * 60),
    "REMINDER_ANSWER_DEADLINE_MINUTES": (1, 60 * 24 * 60),
    "PROBLEM_REMIND_WORKING_DAYS": (0, 60),
    "PROBLEM_REMIND_HOUR": (0, 23),
    "PROBLEM_FOLLOW_UP_REMIND_HOURS": (0, 23),
    "INVITATION_FEEDBACK_DAYS": (0, 366),
    "PROBLEM_RATING_LINK_DAYS": (1, 366),
    "REMEMBER_COOKIE_DAYS": (1, 365),
    "PHOTOS_PER_ACTIVITY": (1, 10_000),
    "PROXY_COUNT": (0, 5),
    "MAX_UPLOAD_MB": (1, 1024),
    "FEED_PAST_DAYS": (0, 3660),
    "FEED_FUTURE_DAYS": (1, 3660),
    "FEED_CACHE_MB": (0, 4096),
    "FEED_FRESHNESS_SECONDS": (0, 60),
    "CHECKIN_OPENS_MINUTES_BEFORE": (0, 7 * 24 * 60),
    "ROBOT_TIMEOUT_SECONDS": (1, 120),
    "SMS_DAILY_CAP": (0, 1000),
}
SMS_PROVIDERS = ("aliyun", "tencent", "none")
RATE_LIMIT_STORAGE_SCHEMES = ("memory", "redis", "rediss", "redis+sentinel", "redis+cluster", "valkey")


def _check_url(name: str, value: object) -> None:
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in str(value)):
        raise ConfigError(f"{name} must be an http(s) URL such as https://linghang.example.cn, not {value!r}")


def _check_number(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, not {value!r}")


def _check_sms(settings: Mapping[str, object]) -> None:
    provider = settings.get("SMS_PROVIDER", "none")
    if provider not in SMS_PROVIDERS:
        raise ConfigError(f"SMS_PROVIDER must be one of {', '.join(SMS_PROVIDERS)}, not {provider!r}")
    if settings.get("SMS_ENDPOINT"):
        _check_url("SMS_ENDPOINT", settings["SMS_ENDPOINT"])
    if provider != "none" and not (settings.get("SMS_ACCESS_KEY_ID") and settings.get("SMS_ACCESS_KEY_SECRET")):
        raise ConfigError(f"SMS_PROVIDER={provider} needs SMS_ACCESS_KEY_ID and SMS_ACCESS_KEY_SECRET")
    if provider == "tencent" and not settings.get("SMS_SDK_APP_ID"):
        raise ConfigError("SMS_PROVIDER=tencent needs SMS_SDK_APP_ID (the SMS application's SdkAppId)")


def check_config(settings: Mapping[str, object]) -> None:
    """Stop the app at start-up on a setting it cannot run with, naming the variable."""
    for name, (low, high) in NUMBER_RANGES.items():
        if name in settings:
            _check_number(name, settings[name], low, high)
    _check_url("BASE_URL", settings["BASE_URL"])
    for name in ("WECOM_WEBHOOK_BASE", "DINGTALK_WEBHOOK_BASE"):
        if name in settings:
            _check_url(name, settings[name])
    zone = str(settings["DISPLAY_TIMEZONE"])
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"DISPLAY_TIMEZONE must be a time zone such as Asia/Shanghai, not {zone!r}") from None
    for name in ("LOGIN_ACCOUNT_LIMIT", "LOGIN_ADDRESS_LIMIT", "SHORTLINK_MISS_LIMIT", "API_RATE_LIMIT"):
        try:
            if not parse_many(str(settings[name])):
                raise ValueError(name)
        except ValueError:
            raise ConfigError(f"{name} must be a rate such as '10 per 15 minutes', not {settings[name]!r}") from None
    storage = str(settings["RATELIMIT_STORAGE_URI"])
    if urlsplit(storage).scheme not in RATE_LIMIT_STORAGE_SCHEMES:
        raise ConfigError(f"RATELIMIT_STORAGE_URI must be memory:// or a redis:// URL, not {storage!r}")
    reply_to = settings.get("MAIL_REPLY_TO")
    if reply_to and "@" not in str(reply_to):
        raise ConfigError(f"MAIL_REPLY_TO must be an e-mail address such as replies@linghang.example.cn, not {reply_to!r}")
    _check_sms(settings)
    if not str(settings["SQLALCHEMY_DATABASE_URI"]).startswith(("sqlite:", "postgresql")):
        raise ConfigError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")


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
        # Tests log in hundreds of times from one address; tests/test_login_throttle.py lowers it.
        self.LOGIN_ADDRESS_LIMIT = "100000 per minute"
        # Likewise for unknown short links; tests/test_shortlinks.py lowers it.
        self.SHORTLINK_MISS_LIMIT = "100000 per minute"
        # Concurrency tests start up to 100 threads on a 15-connection pool of a busy machine.
        self.DATABASE_POOL_TIMEOUT = 120
