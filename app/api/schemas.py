"""Fields shared by the resource schemas: cleaned text, bounded ids, aware times in range."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from app.core.inputs import INT_MAX, clean_text

# What people plan with (app/events/checks.py refuses outside 2000–2100 with a message).
FIRST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LAST_TIME = datetime(2100, 12, 31, tzinfo=UTC)


class Text(ma.fields.String):
    """Text through the input layer: control characters removed (line breaks kept if multi-line)."""

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs: Any) -> None:
        validators = [*kwargs.pop("validate", []), ma.validate.Length(max=max_length)]
        super().__init__(validate=validators, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return clean_text(text, multiline=self.multiline).strip()


def Id(**kwargs: Any) -> ma.fields.Integer:  # noqa: N802 - reads as a field type
    """A row id: 1 … 2³¹−1 (a larger number would overflow the column, not be missing)."""
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT_MAX), **kwargs)


def Moment(**kwargs: Any) -> ma.fields.AwareDateTime:  # noqa: N802 - reads as a field type
    """An ISO 8601 date-time with its offset (no guessing of a zone), within 1900–2100."""
    return ma.fields.AwareDateTime(validate=ma.validate.Range(min=FIRST_TIME, max=LAST_TIME), **kwargs)
