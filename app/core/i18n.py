"""Locale and time-zone selection, and date formats in Chinese conventions."""

from __future__ import annotations

from datetime import date, datetime

from babel.lists import format_list
from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

# Chinese conventions: 2026年3月5日 周四 14:30
PATTERNS = {
    "zh": {
        "datetime": "y年M月d日 EEE HH:mm",
        "date": "y年M月d日 EEE",
        "short_date": "M月d日",
        "time": "HH:mm",
        "month": "y年M月",
    },
    "en": {
        "datetime": "EEE d MMM y HH:mm",
        "date": "EEE d MMM y",
        "short_date": "d MMM",
        "time": "HH:mm",
        "month": "MMMM y",
    },
}


def select_locale() -> str:
    """The language chosen in this session, else the account's, else Chinese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, scheduler: the county's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith("/api/") and request.accept_languages:  # what an API client asks for
        return request.accept_languages.best_match(list(languages), current_app.config["BABEL_DEFAULT_LOCALE"])
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Every page shows times in the county's display time zone."""
    return current_app.config["DISPLAY_TIMEZONE"]


def _pattern(kind: str) -> str:
    language = get_locale().language if get_locale() else "zh"
    return PATTERNS.get(language, PATTERNS["en"])[kind]


def join_list(names: list[str]) -> str:
    """Join names as the language does: 甲、乙和丙 / A, B, and C."""
    names = [str(name) for name in names]
    if len(names) < 2:
        return "".join(names)
    return format_list(names, locale=get_locale() or "zh_CN")


def format_dt(value: datetime | None, kind: str = "datetime") -> str:
    """Format an aware datetime in the display zone, e.g. 2026年3月5日 周四 14:30."""
    if value is None:
        return ""
    return format_datetime(value, _pattern(kind))


def format_day(value: date | None, kind: str = "date") -> str:
    """Format a date, e.g. 2026年3月5日 周四."""
    if value is None:
        return ""
    return format_date(value, _pattern(kind))


def format_range(start: datetime, end: datetime) -> str:
    """Format a time range, repeating the date only when it spans days."""
    from app.core.clock import to_local

    if to_local(start).date() == to_local(end).date():
        return f"{format_dt(start)}–{format_dt(end, 'time')}"
    return f"{format_dt(start)} – {format_dt(end)}"
