"""The form for a year's holiday arrangement: one line per festival, as the State Council's notice reads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.core.forms import Form, strip_filter
from app.workcal.calendar import YearCalendar
from app.workcal.models import FESTIVAL_LABELS, Festival
from app.workcal.services import FIRST_YEAR, LAST_YEAR, ArrangementInput, FestivalInput


class YearForm(Form):
    """Pick a year to enter or edit."""

    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=FIRST_YEAR, max=LAST_YEAR)])


class ArrangementForm(Form):
    """Days off and make-up working days per festival, and the notice they come from."""

    notice = StringField(_l("Notice"), filters=[strip_filter], validators=[Optional(), Length(max=120)])

    def line(self, festival: Festival) -> tuple:
        """(first day off, last day off, make-up days) fields of one festival."""
        return tuple(self[f"{festival.value}_{part}"] for part in ("first", "last", "makeup"))

    def fill(self, calendar: YearCalendar) -> None:
        """Show a year's current calendar in the form, one line per festival as a notice has it."""
        self.notice.data = calendar.notice
        periods = {festival: calendar.periods(festival) for festival in Festival}
        for festival, (first_day, last_day, makeup_days) in periods.items():
            first, last, makeup = self.line(festival)
            if not _within_another(festival, periods):
                first.data, last.data = first_day, last_day
            makeup.data = ", ".join(day.isoformat() for day in makeup_days)

    def to_input(self, year: int) -> ArrangementInput:
        """The typed values for the service."""
        lines = []
        for festival in Festival:
            first, last, makeup = self.line(festival)
            lines.append(FestivalInput(festival, first.data, last.data, makeup.data))
        return ArrangementInput(year=year, notice=self.notice.data, festivals=lines)


def _within_another(festival: Festival, periods: dict) -> bool:
    """True when a festival's days lie inside another's (中秋 within 国庆 in 2025: one line, "中秋节、国庆节")."""
    first, last, _makeup = periods[festival]
    return first is not None and any(
        other != festival and other_first is not None and other_first <= first and last <= other_last
        and (other_first, other_last) != (first, last)
        for other, (other_first, other_last, _days) in periods.items()
    )


for _festival in Festival:
    setattr(ArrangementForm, f"{_festival.value}_first", DateField(FESTIVAL_LABELS[_festival], validators=[Optional()]))
    setattr(ArrangementForm, f"{_festival.value}_last", DateField(_l("Last day off"), validators=[Optional()]))
    setattr(
        ArrangementForm, f"{_festival.value}_makeup",
        StringField(_l("Make-up working days"), filters=[strip_filter], validators=[Optional(), Length(max=200)]),
    )
