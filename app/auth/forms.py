"""Log-in and account forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from app.auth.models import ROLE_LABELS, Role
from app.core.forms import Form


class LoginForm(Form):
    """E-mail and password."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in"))


def role_choices() -> list[tuple[str, str]]:
    """Roles for a select box."""
    return [(role.value, str(ROLE_LABELS[role])) for role in Role]


class AccountForm(Form):
    """Create an account for a person: role and first password."""

    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])


class AccountEditForm(Form):
    """Change an account's role, status or password."""

    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    active = BooleanField(_l("Active"))
    password = PasswordField(
        _l("New password (leave empty to keep)"), validators=[Optional(), Length(min=8, max=200)]
    )


class PasswordChangeForm(Form):
    """Change one's own password."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )
