"""Helpers shared by the WTForms forms."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    IntegerField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import ValidationError

from app.core.errors import ValidationFailed
from app.core.inputs import (
    FIRST_DATE,
    INT_MAX,
    INT_MIN,
    LAST_DATE,
    MONEY_LIMIT,
    clean_text,
    has_nul,
)


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


# -- the input layer for forms -------------------------------------------------

def _text_filter(multiline: bool):
    def clean(value):
        if not isinstance(value, str):
            return value
        if has_nul(value):
            raise ValueError(_l("This text contains a NUL character, which is not allowed."))
        return clean_text(value, multiline=multiline)

    return clean


_SINGLE_LINE, _MULTI_LINE = _text_filter(False), _text_filter(True)


def _date_in_range(form, field) -> None:
    value = field.data
    if isinstance(value, datetime):
        value = value.date()
    if value is not None and not FIRST_DATE <= value <= LAST_DATE:
        raise ValidationError(_l("Enter a date between 1900 and 2100."))


def _integer_in_range(form, field) -> None:
    if field.data is not None and not INT_MIN <= field.data <= INT_MAX:
        raise ValidationError(_l("This number is too large."))


def _amount_in_range(form, field) -> None:
    value = field.data
    if value is None:
        return
    if not value.is_finite():
        raise ValidationError(_l("Enter a number."))
    if abs(value) >= MONEY_LIMIT:
        raise ValidationError(_l("This amount is too large."))


def harden(field: Field) -> Field:
    """Add the shared filters and range checks to a bound field, by its type."""
    if isinstance(field, PasswordField):
        return field  # compared as typed; never stored or shown
    if isinstance(field, StringField):
        field.filters = (_MULTI_LINE if isinstance(field, TextAreaField) else _SINGLE_LINE, *field.filters)
    elif isinstance(field, DateField | DateTimeField):
        field.validators = [*field.validators, _date_in_range]
    elif isinstance(field, DecimalField):
        field.validators = [*field.validators, _amount_in_range]
    elif isinstance(field, IntegerField):
        field.validators = [*field.validators, _integer_in_range]
    return field


class Form(FlaskForm):
    """The base of every form: each field goes through the input layer (see `harden`)."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            return harden(super().bind_field(form, unbound_field, options))
