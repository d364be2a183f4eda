"""Forms for monthly themes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.core.forms import MultiCheckboxField, strip_filter

TEXT = [strip_filter]


class ThemeForm(FlaskForm):
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
