"""Forms for monthly themes, activities, the slot finder."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.core.forms import Form, MultiCheckboxField, strip_filter
from app.core.inputs import parse_date
from app.events.models import ACTIVITY_KIND_LABELS, VISIT_KIND_LABELS
from app.events.series import WEEKDAYS
from app.events.series_words import (
    HOLIDAY_LABELS,
    ORDINAL_LABELS,
    REPEAT_LABELS,
    WEEKDAY_CODES,
    HolidayPolicy,
    Repeat,
    SeriesWords,
)

TEXT = [strip_filter]


def version_number(value):
    """A version from a hidden field; anything but a plain number counts as absent."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 9:
        return int(value)
    return value if isinstance(value, int) else None


def at_most_400(value):
    """Keep a hidden fingerprint to a sane length (it only names what changed)."""
    return value[:400] if isinstance(value, str) else value


class OpenedVersion:
    """Hidden fields: the activity's version when the form was opened, and what it showed."""

    version = HiddenField(filters=[version_number])
    seen = HiddenField(filters=[at_most_400])


def in_years(form, field) -> None:
    """Dates between 2000 and 2100 (also keeps time-zone arithmetic away from year 1)."""
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_l("Dates must be between the years 2000 and 2100."))


class ThemeForm(Form):
    """One month's theme and its lead departments."""

    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    month = SelectField(
        _l("Month"), coerce=int, choices=[(m, str(m)) for m in range(1, 13)], validators=[DataRequired()]
    )
    title = StringField(_l("Theme"), filters=TEXT, validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(
        _l("Description"), filters=TEXT, validators=[Optional(), Length(max=5000)]
    )
    lead_departments = MultiCheckboxField(_l("Lead departments"), coerce=int)


class ActivityForm(OpenedVersion, Form):
    """An activity of any kind; times are entered in the display zone."""

    kind = SelectField(
        _l("Kind"), choices=lambda: [(k.value, str(v)) for k, v in ACTIVITY_KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    visit_kind = SelectField(
        _l("Kind of visit"),
        choices=lambda: [("", "—")] + [(k.value, str(v)) for k, v in VISIT_KIND_LABELS.items()],
        validators=[Optional()],
    )
    title = StringField(_l("Title"), filters=TEXT, validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(), in_years])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(), in_years])
    theme_id = SelectField(_l("Monthly theme"), coerce=int, default=0)
    host_id = SelectField(_l("Host"), coerce=int, validators=[DataRequired()])
    alliance_id = SelectField(_l("Alliance"), coerce=int, default=0)
    cohost_ids = MultiCheckboxField(_l("Co-hosting departments"), coerce=int)
    venue_id = SelectField(_l("Venue"), coerce=int, default=0)
    site_id = SelectField(_l("Enterprise site"), coerce=int, default=0)
    location_note = StringField(_l("Location note"), filters=TEXT, validators=[Optional(), Length(max=200)])
    capacity = IntegerField(_l("Capacity"), validators=[Optional(), NumberRange(min=1, max=10000)])
    agenda = TextAreaField(_l("Agenda"), filters=TEXT, validators=[Optional(), Length(max=5000)])
    description = TextAreaField(_l("Description"), filters=TEXT, validators=[Optional(), Length(max=5000)])
    reminder_offsets = StringField(
        _l("Reminders before the start"), filters=TEXT, validators=[Optional(), Length(max=200)],
    )
    answer_deadline = DateTimeLocalField(_l("Answer by"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    rrule = StringField(
        _l("Repeat (RFC 5545 rule)"), filters=TEXT, validators=[Optional(), Length(max=500)],
    )
    exception_days = StringField(
        _l("Except on (dates)"), filters=TEXT, validators=[Optional(), Length(max=2000)],
    )
    # The series editor in words (a new series); "" keeps the raw rule above.
    repeat = SelectField(
        _l("Repeat"), default="",
        choices=lambda: [("", _l("Does not repeat (or the rule below)"))] + [(k.value, str(v)) for k, v in REPEAT_LABELS.items()],
    )
    repeat_interval = IntegerField(_l("Every how many weeks"), default=1, validators=[Optional(), NumberRange(min=1, max=52)])
    repeat_days = MultiCheckboxField(_l("On"), choices=lambda: [(code, str(WEEKDAYS[code])) for code in WEEKDAY_CODES])
    repeat_ordinal = SelectField(
        _l("Which"), coerce=int, default=1, choices=lambda: [(n, str(label)) for n, label in ORDINAL_LABELS.items()],
    )
    repeat_weekday = SelectField(_l("Weekday"), default="MO", choices=lambda: [(c, str(WEEKDAYS[c])) for c in WEEKDAY_CODES])
    repeat_month_day = IntegerField(_l("Day of the month"), validators=[Optional(), NumberRange(min=1, max=31)])
    repeat_end = SelectField(
        _l("The series ends"), default="until", choices=[("until", _l("On a date")), ("count", _l("After a number of times"))],
    )
    repeat_until = DateField(_l("Last day"), validators=[Optional(), in_years])
    repeat_count = IntegerField(_l("Number of times"), validators=[Optional(), NumberRange(min=1, max=500)])
    holidays = SelectField(
        _l("On holidays of the working calendar"), default=HolidayPolicy.keep.value,
        choices=lambda: [(k.value, str(v)) for k, v in HOLIDAY_LABELS.items()],
    )
    scope = SelectField(
        _l("Apply to"),
        choices=[("this", _l("This occurrence only")), ("following", _l("This and following occurrences"))],
        default="this",
    )
    override = BooleanField(_l("Use the venue anyway"))
    override_reason = StringField(_l("Reason for using the venue anyway"), filters=TEXT, validators=[Optional(), Length(max=300)])

    def exception_dates(self) -> list[date] | None:
        """The exception dates, or None when one cannot be read."""
        days = []
        for part in (self.exception_days.data or "").replace("，", ",").replace(" ", ",").split(","):
            if part.strip():
                day = parse_date(part)
                if day is None:
                    return None
                days.append(day)
        return days

    def series_words(self) -> SeriesWords | None:
        """The repeat rule in words, or None when the words editor was not used."""
        if self.repeat.data not in {r.value for r in Repeat}:
            return None
        counted = self.repeat_end.data == "count"
        return SeriesWords(
            repeat=Repeat(self.repeat.data),
            interval=self.repeat_interval.data or 1,
            weekdays=list(self.repeat_days.data or []),
            ordinal=self.repeat_ordinal.data or 1,
            weekday=self.repeat_weekday.data or "MO",
            month_day=self.repeat_month_day.data,
            until=None if counted else self.repeat_until.data,
            count=self.repeat_count.data if counted else None,
        )


class ReasonForm(Form):
    """A reason, for cancelling."""

    reason = StringField(_l("Reason"), filters=TEXT, validators=[DataRequired(), Length(max=500)])


class RescheduleForm(OpenedVersion, Form):
    """A new time and why."""

    starts_at = DateTimeLocalField(_l("New start"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(), in_years])
    ends_at = DateTimeLocalField(_l("New end"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(), in_years])
    reason = StringField(_l("Reason"), filters=TEXT, validators=[Optional(), Length(max=500)])
    override_reason = StringField(_l("Reason for using the venue anyway"), filters=TEXT, validators=[Optional(), Length(max=300)])


class SlotForm(Form):
    """What the slot finder looks for (GET, no CSRF)."""

    class Meta:
        csrf = False

    duration = IntegerField(_l("Duration (minutes)"), default=120, validators=[InputRequired(), NumberRange(min=1, max=24 * 60)])
    date_from = DateField(_l("From"), validators=[InputRequired(), in_years])
    date_to = DateField(_l("To"), validators=[InputRequired(), in_years])
    venue_id = SelectField(_l("Venue"), coerce=int, default=0)
    org_ids = MultiCheckboxField(_l("Organisations that must attend"), coerce=int)
    working_hours = StringField(_l("Working hours"), filters=TEXT, validators=[Optional(), Length(max=100)])
