"""Admin forms for API keys: input checks only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.core.forms import Form, MultiCheckboxField, strip_filter


class NewKeyForm(Form):
    """Name a key, choose its organisation and its scopes."""

    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=80)], filters=[strip_filter],
        description=_l("Which system uses it, e.g. “12345 hotline” or “WeCom mini-program”."),
    )
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    scopes = MultiCheckboxField(_l("Scopes"), coerce=str, validators=[DataRequired()])


class KeyActionForm(Form):
    """Revoke: only the CSRF token."""
