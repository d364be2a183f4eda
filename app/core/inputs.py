"""The one input layer: path ids, query arguments and text are bounded and cleaned here.

Every view reads its query string through the `arg_*` helpers, every route's integer path
segments go through the bounded converters, and every form goes through `app.core.forms.Form`,
which applies `clean_text` and the range checks below to its fields. Malformed input is refused
with a translated message (a 400 page, never a 500); empty input means "not given".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from app.core.errors import ValidationFailed

# Integer columns are 32-bit signed on PostgreSQL.
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
# Dates people plan with; outside this range they are typing errors (and overflow near date.max).
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2100, 12, 31)
# Numeric(14, 2): twelve digits before the decimal point.
MONEY_LIMIT = Decimal("1e12")
PAGE_LIMIT = 100_000
QUERY_TEXT_LENGTH = 100

# C0 controls, DEL, C1 controls, and lone surrogates (which cannot be stored as UTF-8).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# What a line break looks like in text pasted from Word, mail or the web.
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_BREAK_RUNS = re.compile("(?:\r\n|[\r\n\x0b\x0c\x85\u2028\u2029])+")
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Text without control characters: breaks become LF (multi-line) or a space; TAB kept only in multi-line."""
    if multiline:
        value = _BREAKS.sub("\n", value)
    else:
        value = _BREAK_RUNS.sub(" ", value).replace("\t", " ")
    keep = "\t\n" if multiline else ""
    return _CONTROLS.sub(lambda match: match.group() if match.group() in keep else "", value)


def has_nul(value: str) -> bool:
    """True when the text holds a NUL character (refused rather than silently dropped)."""
    return "\x00" in value


def refuse(name: str, message: str | None = None):
    """Refuse a query argument with a translated message (a 400 page)."""
    raise ValidationFailed(message or _("The value of “%(name)s” is not valid.", name=name), name)


def parse_int(raw: str, low: int = INT_MIN, high: int = INT_MAX) -> int | None:
    """A decimal integer within [low, high], or None."""
    raw = raw.strip()
    if not _INTEGER.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_date(raw: str) -> date | None:
    """An ISO date within 1900–2100, or None."""
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if FIRST_DATE <= value <= LAST_DATE else None


def _raw(name: str, args) -> str:
    return (args if args is not None else request.args).get(name, "") or ""


def arg_int(name: str, *, low: int = INT_MIN, high: int = INT_MAX, args=None) -> int | None:
    """An integer query argument within [low, high]; empty gives None, anything else a 400."""
    raw = _raw(name, args)
    if not raw.strip():
        return None
    value = parse_int(raw, low, high)
    if value is None:
        refuse(name)
    return value


def arg_id(name: str, args=None) -> int | None:
    """A row id in the query string (1 … 2³¹−1)."""
    return arg_int(name, low=1, args=args)


def arg_ids(name: str, args=None) -> list[int]:
    """Every row id given under one name (?cohost_ids=1&cohost_ids=2)."""
    values = []
    for raw in (args if args is not None else request.args).getlist(name):
        value = parse_int(raw, 1)
        if value is None:
            refuse(name)
        values.append(value)
    return values


def arg_year(name: str = "year", args=None) -> int | None:
    """A year within 1900–2100."""
    return arg_int(name, low=FIRST_DATE.year, high=LAST_DATE.year, args=args)


def arg_month(name: str = "month", args=None) -> int | None:
    """A month number, 1–12."""
    return arg_int(name, low=1, high=12, args=args)


def arg_date(name: str, args=None) -> date | None:
    """An ISO date within 1900–2100; empty gives None, anything else a 400."""
    raw = _raw(name, args)
    if not raw.strip():
        return None
    value = parse_date(raw)
    if value is None:
        refuse(name, _("“%(name)s” must be a date between 1900 and 2100.", name=name))
    return value


def arg_datetime(name: str, args=None) -> datetime | None:
    """An ISO date and time (as the slot finder links them) within 1900–2100; empty gives None."""
    raw = _raw(name, args).strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or not FIRST_DATE <= value.date() <= LAST_DATE:
        refuse(name, _("“%(name)s” must be a date between 1900 and 2100.", name=name))
    return value


def arg_choice(name: str, choices: type[enum.Enum] | Iterable[str], args=None) -> str | None:
    """One of the allowed values (an enum's member names or a list); empty gives None."""
    raw = _raw(name, args).strip()
    if not raw:
        return None
    allowed = choices.__members__ if isinstance(choices, type) and issubclass(choices, enum.Enum) else set(choices)
    if raw not in allowed:
        refuse(name)
    return raw


def arg_text(name: str, max_length: int = QUERY_TEXT_LENGTH, args=None) -> str | None:
    """Search text: one line, control characters removed, trimmed and cut to max_length."""
    value = clean_text(_raw(name, args)).strip()[:max_length]
    return value or None


def arg_page(name: str = "page", args=None) -> int:
    """A page number; anything unusable is page 1, past the end an empty page."""
    return parse_int(_raw(name, args), 1, PAGE_LIMIT) or 1


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id, 1 … 2³¹−1; anything else does not match (404)."""

    def __init__(self, url_map, min: int = 1, max: int = INT_MAX) -> None:  # noqa: A002 (werkzeug's names)
        super().__init__(url_map, min=min, max=max)


class BoundedIntConverter(IntegerConverter):
    """`<int:name>` bounded to the 32-bit column type, so a huge number is a 404, not an overflow."""

    def __init__(self, url_map, min: int = 0, max: int = INT_MAX, **options) -> None:  # noqa: A002
        super().__init__(url_map, min=min, max=max, **options)


class YearConverter(IntegerConverter):
    """`<year:name>`: a year within 1900–2100."""

    def __init__(self, url_map) -> None:
        super().__init__(url_map, min=FIRST_DATE.year, max=LAST_DATE.year)


def register_converters(app: Flask) -> None:
    """Install the bounded path converters (before any blueprint adds its rules)."""
    app.url_map.converters.update(id=IdConverter, int=BoundedIntConverter, year=YearConverter)


# A mainland China mobile number: 11 digits, 1 then 3–9; "+86", "86" or "0086" in front and
# spaces or dashes between groups are accepted and dropped.
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_SEPARATORS = re.compile(r"[\s\-()]")


def normalise_mobile(raw: str | None) -> str | None:
    """The 11-digit mainland mobile number written in `raw`, or None when it is not one."""
    if not raw:
        return None
    digits = _MOBILE_SEPARATORS.sub("", raw)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.fullmatch(digits) else None
