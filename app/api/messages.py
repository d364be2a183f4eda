"""marshmallow's field messages in the client's language (they are English constants there)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

FIXED = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field may not be null."),
    "Unknown field.": _l("Unknown field."),
    "Invalid input type.": _l("The body must be a JSON object."),
    "Invalid type.": _l("Not a valid object."),
    "Invalid value.": _l("Not a valid value."),
    "Not a valid integer.": _l("Not a whole number."),
    "Not a valid number.": _l("Not a number."),
    "Number too large.": _l("This number is too large."),
    "Not a valid string.": _l("Not a text."),
    "Not a valid utf-8 string.": _l("Not a text."),
    "Not a valid boolean.": _l("Not true or false."),
    "Not a valid list.": _l("Not a list."),
    "Not a valid date.": _l("Not a date (YYYY-MM-DD)."),
    "Not a valid datetime.": _l("Not a date and time (ISO 8601 with its offset)."),
    "Not a valid aware datetime.": _l("Give the date and time with its offset, e.g. 2026-03-09T14:30:00+08:00."),
    "Not a valid mapping type.": _l("Not an object."),
    "Not a cursor of this list.": _l("Not a cursor of this list."),
    "Invalid JSON body.": _l("The body is not valid JSON."),
}
PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Must be one of: (?P<choices>.*)\.$"), lambda m: _("Must be one of: %(choices)s.", choices=m["choices"])),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.$"),
     lambda m: _("Must be between %(min)s and %(max)s.", min=m["min"], max=m["max"])),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+)\.$"),
     lambda m: _("Must be at least %(min)s.", min=m["min"])),
    (re.compile(r"Must be less than or equal to (?P<max>\S+)\.$"), lambda m: _("Must be at most %(max)s.", max=m["max"])),
    (re.compile(r"Longer than maximum length (?P<max>\d+)\.$"),
     lambda m: _("At most %(max)s characters or items.", max=m["max"])),
    (re.compile(r"Shorter than minimum length (?P<min>\d+)\.$"),
     lambda m: _("At least %(min)s characters or items.", min=m["min"])),
    (re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
     lambda m: _("Between %(min)s and %(max)s characters or items.", min=m["min"], max=m["max"])),
    (re.compile(r'^".*" cannot be formatted as a (date|datetime)\.$', re.S), lambda _m: _("Not a valid date.")),
]


def translated(message: str) -> str:
    """The message in the request's language (unknown ones as they are)."""
    if message in FIXED:
        return str(FIXED[message])
    for pattern, render in PATTERNS:
        match = pattern.match(message)
        if match:
            return render(match)
    return message
