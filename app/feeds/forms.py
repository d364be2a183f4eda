"""Subscribe page forms: input checks only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.core.forms import Form, strip_filter


class NewTokenForm(Form):
    """Name a new subscription link and choose whose calendar it opens."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=80)],
        filters=[strip_filter],
        description=_l("Where you will use it, e.g. “Outlook in the office” or “my phone”."),
    )
    subject = SelectField(_l("Calendar"), validators=[DataRequired()])


class TokenActionForm(Form):
    """Revoke or rotate: only the CSRF token."""
