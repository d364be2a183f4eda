"""Helpers shared by the WTForms forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.validators import ValidationError

from app.core.errors import ValidationFailed


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of check boxes; values are integers."""

    def pre_validate(self, form) -> None:
        known = {value for value, _label in self.choices or []}
        for value in self.data or []:
            if value not in known:
                raise ValidationError(_l("Not a valid choice."))


def show_failure(form: FlaskForm, failure: ValidationFailed) -> None:
    """Attach a service's refusal to the field it concerns (or the whole form)."""
    field = getattr(form, failure.field, None) if failure.field else None
    if field is not None:
        field.errors = [*field.errors, failure.message]
    else:
        form.form_errors.append(failure.message)


def strip_filter(value):
    """Trim text input; empty becomes None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value
