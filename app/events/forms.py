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
