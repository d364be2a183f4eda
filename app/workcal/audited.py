"""What the audit log records of the holiday arrangements an administrator enters."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.audit.subjects import NOTHING, AuditedField, AuditedModel, text
from app.core.i18n import format_day, join_list
from app.workcal.models import FESTIVAL_LABELS, Festival, HolidayArrangement


def _days(values: list[str] | None) -> str:
    """Stored as "2027-01-01 new_year" lines: shown as the day and its festival."""
    shown = []
    for value in values or []:
        day, _space, festival = str(value).partition(" ")
        label = FESTIVAL_LABELS.get(Festival(festival)) if festival in Festival.__members__ else festival
        shown.append(f"{format_day(date.fromisoformat(day), 'short_date')} {label}")
    return join_list(shown) or NOTHING


ARRANGEMENT = AuditedModel(
    HolidayArrangement, _l("Holiday arrangement"),
    {
        "notice": text(_l("Notice")),
        "holidays": AuditedField(_l("Days off"), _days),
        "makeup_days": AuditedField(_l("Make-up working days"), _days),
    },
    title=lambda arrangement: str(arrangement.year),
    url=lambda arrangement: url_for("workcal.arrangement", year=arrangement.year),
)

AUDITED = [ARRANGEMENT]
