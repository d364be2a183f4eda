"""Webhook endpoint forms: input checks only (the rules live in app/webhooks/services.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.core.forms import Form, MultiCheckboxField, strip_filter
from app.webhooks.models import EVENT_LABELS


class EventsField(MultiCheckboxField):
    """The events to subscribe to, as check boxes of their translated names."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("coerce", str)
        super().__init__(*args, **kwargs)
        self.choices = [(event.value, label) for event, label in EVENT_LABELS.items()]


class EndpointForm(Form):
    """Name, address and events of an endpoint."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)], filters=[strip_filter])
    url = StringField(
        _l("Address (URL)"), validators=[DataRequired(), Length(max=500)], filters=[strip_filter],
        description=_l("Where the events are posted, e.g. https://example.gov.cn/linghang/webhook"),
    )
    events = EventsField(_l("Events"))


class NewEndpointForm(EndpointForm):
    """A new endpoint: optionally with the receiver's own secret."""

    secret = StringField(
        _l("Secret (optional)"), validators=[Length(max=200)], filters=[strip_filter],
        description=_l("Leave empty to have one generated, or paste the receiver's own “whsec_…” secret."),
    )


class SecretForm(Form):
    """Replace the secret: pasted, or generated when left empty."""

    secret = StringField(_l("New secret (optional)"), validators=[Length(max=200)], filters=[strip_filter])


class ActionForm(Form):
    """Enable, disable, delete, resend: only the CSRF token."""
