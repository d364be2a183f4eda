"""Fields shared by the resource schemas: cleaned text, whole numbers, times and days in range.

What JSON Schema can say (type, length, minimum) is refused with 400 per field. Dates outside
the years people plan with cannot be said in JSON Schema (a `date-time` has no minimum), so such
a date is well formed but refused by a rule: 422, like the services' own checks.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _

from app.api.errors import ApiError
from app.core.inputs import FIRST_DATE, INT_MAX, LAST_DATE, clean_text

# What people plan with (app/events/checks.py refuses outside 2000–2100 with its own message).
FIRST_TIME = datetime.combine(FIRST_DATE, datetime.min.time(), tzinfo=UTC)
LAST_TIME = datetime.combine(LAST_DATE, datetime.max.time(), tzinfo=UTC)


class Text(ma.fields.String):
    """Text through the input layer: control characters removed (line breaks kept if multi-line)."""

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs: Any) -> None:
        validators = [*kwargs.pop("validate", []), ma.validate.Length(max=max_length)]
        super().__init__(validate=validators, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return clean_text(text, multiline=self.multiline).strip()


class Whole(ma.fields.Integer):
    """A JSON integer: 3 and 3.0 are one number, "3" and true are not."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return super()._deserialize(int(value), attr, data, **kwargs)


def Id(**kwargs: Any) -> Whole:  # noqa: N802 - reads as a field type
    """A row id: 1 … 2³¹−1 (a larger number would overflow the column, not be missing)."""
    return Whole(validate=ma.validate.Range(min=1, max=INT_MAX), **kwargs)


def QueryId(**kwargs: Any) -> ma.fields.Integer:  # noqa: N802 - reads as a field type
    """A row id in the query string (where every value is text)."""
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT_MAX), **kwargs)


def _out_of_range(name: str | None) -> ApiError:
    return ApiError("rule_refused", _("Dates must be between the years 1900 and 2100."),
                    field=name)


class Moment(ma.fields.AwareDateTime):
    """An ISO 8601 date-time with its offset (no zone is guessed); 422 outside 1900–2100."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_TIME <= moment <= LAST_TIME:
            raise _out_of_range(self.data_key or attr)
        return moment


class Day(ma.fields.Date):
    """An ISO 8601 date; 422 outside 1900–2100."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_DATE <= day <= LAST_DATE:
            raise _out_of_range(self.data_key or attr)
        return day
