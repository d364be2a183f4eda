"""Forms of the ledger, the activity record and attendee feedback (input checks only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from app.core.forms import Form, MultiCheckboxField, strip_filter
from app.problems.models import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    SATISFACTION_LABELS,
    SOURCE_LABELS,
    ProblemSource,
)

TEXT = [strip_filter]


def _categories():
    return [(k.value, str(label)) for k, label in CATEGORY_LABELS.items()]


class ProblemForm(Form):
    """On-site entry: what an enterprise raised, in a few taps."""

    enterprise = SelectField(_l("Enterprise"), coerce=int, validators=[InputRequired()])
    category = SelectField(_l("Category"), choices=_categories, validators=[DataRequired()])
    source = SelectField(
        _l("Source"), choices=lambda: [(k.value, str(label)) for k, label in SOURCE_LABELS.items()],
        default=ProblemSource.on_site.value, validators=[DataRequired()],
    )
    description = TextAreaField(_l("What the enterprise raised"), filters=TEXT, validators=[DataRequired(), Length(max=5000)])
    department = SelectField(_l("Department that takes it"), coerce=int, validators=[Optional()])
    resolved_on_site = BooleanField(_l("Resolved on site"))
    resolution = TextAreaField(_l("How it was solved on site"), filters=TEXT, validators=[Optional(), Length(max=5000)])


class StepForm(Form):
    """Every field a transition may need; the service says which are required."""

    department = SelectField(_l("Department"), coerce=int, validators=[Optional()])
    deadline = DateField(_l("Deadline"), validators=[Optional()])
    reason = TextAreaField(_l("Reason"), filters=TEXT, validators=[Optional(), Length(max=2000)])
    note = TextAreaField(_l("Note"), filters=TEXT, validators=[Optional(), Length(max=2000)])
    resolution = TextAreaField(_l("How it was resolved"), filters=TEXT, validators=[Optional(), Length(max=5000)])
    loan_amount_wan = DecimalField(_l("Loan (10,000 yuan)"), places=2, validators=[Optional(), NumberRange(min=0)])
    days_before = IntegerField(_l("Working days before"), validators=[Optional(), NumberRange(min=0, max=3650)])
    days_after = IntegerField(_l("Working days after"), validators=[Optional(), NumberRange(min=0, max=3650)])
    until = DateField(_l("New deadline"), validators=[Optional()])
    approve = SelectField(_l("Decision"), choices=[("1", _l("Approve")), ("0", _l("Refuse"))], default="1")
    satisfaction = RadioField(_l("Satisfaction"), choices=lambda: [(k.value, str(v)) for k, v in SATISFACTION_LABELS.items()], validators=[Optional()])
    comment = TextAreaField(_l("Comment"), filters=TEXT, validators=[Optional(), Length(max=1000)])
    # The latest step the page showed: a step refused because someone else moved the problem
    # since then is reported as a concurrent change.
    seen = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=0, max=2**31 - 1)])


class FollowUpForm(Form):
    """Plan a follow-up visit."""

    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


class FollowUpOutcomeForm(Form):
    outcome = TextAreaField(_l("What the visit found"), filters=TEXT, validators=[DataRequired(), Length(max=5000)])


class RecordForm(Form):
    """The activity record."""

    minutes = TextAreaField(_l("Minutes"), validators=[Optional(), Length(max=50000)])
    decisions = TextAreaField(_l("Decisions"), filters=TEXT, validators=[Optional(), Length(max=10000)])
    expected = IntegerField(_l("Expected"), validators=[Optional(), NumberRange(min=0, max=100000)])
    present = IntegerField(_l("Present"), validators=[Optional(), NumberRange(min=0, max=100000)])


class PhotoForm(Form):
    photo = FileField(_l("Photo"))


class FeedbackForm(Form):
    """An attending enterprise's feedback on an activity."""

    rating = RadioField(_l("Rating"), coerce=int, choices=[(n, str(n)) for n in range(5, 0, -1)], validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), filters=TEXT, validators=[Optional(), Length(max=1000)])
    resolved = MultiCheckboxField(_l("Resolved for us"), coerce=int)
    category = SelectField(_l("Category"), choices=_categories, default="other")
    description = TextAreaField(_l("A new problem (optional)"), filters=TEXT, validators=[Optional(), Length(max=5000)])


class OutcomeForm(Form):
    """Loans a bank reported after matchmaking, or disputes mediated, counted outside single problems."""

    kind = SelectField(_l("Kind"), choices=lambda: [(k.value, str(v)) for k, v in OUTCOME_LABELS.items()])
    recorded_on = DateField(_l("Date"), validators=[DataRequired()])
    amount_wan = DecimalField(_l("Loan (10,000 yuan)"), places=2, validators=[Optional(), NumberRange(min=0)])
    enterprise_count = IntegerField(_l("Enterprises reached"), validators=[Optional(), NumberRange(min=0, max=100000)])
    cases = IntegerField(_l("Cases"), validators=[Optional(), NumberRange(min=0, max=100000)])
    alliance = SelectField(_l("Alliance"), coerce=int, validators=[Optional()])
    department = SelectField(_l("Department"), coerce=int, validators=[Optional()])
    note = TextAreaField(_l("Source and note"), filters=TEXT, validators=[DataRequired(), Length(max=300)])


class RatingForm(Form):
    """The enterprise rates how its problem was resolved, from the link in the 办结 mail."""

    satisfaction = RadioField(_l("Are you satisfied with how it was resolved?"), choices=lambda: [(k.value, str(v)) for k, v in SATISFACTION_LABELS.items()], validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), filters=TEXT, validators=[Optional(), Length(max=1000)])
