"""Forms of invitations: choosing invitees, answering, recording an answer, check-in, walk-ins."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.core.forms import Form, MultiCheckboxField, strip_filter
from app.invitations.models import Answer, AnswerChannel

ANSWER_CHOICES = [
    (Answer.accepted.value, _l("Accept")),
    (Answer.declined.value, _l("Decline")),
    (Answer.tentative.value, _l("Maybe")),
]


class InviteForm(Form):
    # data-picker: app/static/pickers.js makes these searchable (Tom Select); without JavaScript
    # they stay plain multiple selects.
    organisations = SelectMultipleField(_l("Organisations"), coerce=int, validators=[Optional()], render_kw={"data-picker": ""})
    people = SelectMultipleField(_l("Single people"), coerce=int, validators=[Optional()], render_kw={"data-picker": ""})
    alliances = MultiCheckboxField(_l("Whole alliances"), coerce=int, validators=[Optional()])
    chain_leaders = BooleanField(_l("All chain-leader enterprises"))
    all_departments = BooleanField(_l("All government departments"))
    instructors = MultiCheckboxField(_l("Enterprises looked after by instructors"), coerce=int, validators=[Optional()])
    saved_lists = MultiCheckboxField(_l("Saved lists"), coerce=int, validators=[Optional()])
    save_as = StringField(_l("Also save this selection as a list named"), filters=[strip_filter],
                          validators=[Optional(), Length(max=120)])
    # Shown for an occurrence of a series; ticked when the page opens (one mail, one answer).
    whole_series = BooleanField(_l("Invite to every open occurrence of the series (one mail, one answer)"), default=True)


class AnswerForm(Form):
    answer = RadioField(_l("Your answer"), choices=ANSWER_CHOICES, validators=[InputRequired()])
    seats = IntegerField(_l("Number of people"), validators=[Optional()])
    names = StringField(_l("Who will come"), filters=[strip_filter], validators=[Optional(), Length(max=500)])
    note = TextAreaField(_l("Note"), filters=[strip_filter], validators=[Optional(), Length(max=2000)])


class RecordAnswerForm(AnswerForm):
    channel = SelectField(
        _l("Answer given by"),
        choices=[(AnswerChannel.phone.value, _l("Phone")), (AnswerChannel.letter.value, _l("Letter"))],
        validators=[InputRequired()],
    )


class CheckinCodeForm(Form):
    code = StringField(_l("Check-in code"), filters=[strip_filter], validators=[DataRequired(), Length(max=32)])


class WalkInForm(Form):
    organisation = SelectField(_l("Organisation"), coerce=int, validators=[InputRequired()])
    name = StringField(_l("Full name"), filters=[strip_filter], validators=[DataRequired(), Length(max=60)])
    phone = StringField(_l("Phone"), filters=[strip_filter], validators=[Optional(), Length(max=40)])
    count = IntegerField(_l("Number of people"), default=1, validators=[InputRequired()])
