"""The channel choices per notice kind, as a form of check boxes (one per kind and channel)."""

from __future__ import annotations

from wtforms import BooleanField

from app.core.forms import Form
from app.mail.models import CHANNEL_LABELS, Channel
from app.notify.models import NOTICE_KIND_LABELS, PERSONAL_CHANNELS, NoticeKind
from app.notify.sms_texts import SMS_KINDS


def field_name(kind: NoticeKind, channel: str) -> str:
    """The check box of one kind on one channel."""
    return f"{kind.value}__{channel}"


def offered(kind: NoticeKind) -> list[Channel]:
    """The channels a kind can go through (SMS only where a template exists)."""
    return [c for c in PERSONAL_CHANNELS if c is not Channel.sms or kind in SMS_KINDS]


def preferences_form(current: dict[NoticeKind, set[str]], kinds: list[NoticeKind]) -> Form:
    """A form with one check box per offered (kind, channel), preset from `current` on GET."""

    class PreferencesForm(Form):
        pass

    for kind in kinds:
        for channel in offered(kind):
            label = f"{NOTICE_KIND_LABELS[kind]} · {CHANNEL_LABELS[channel]}"
            setattr(PreferencesForm, field_name(kind, channel.value), BooleanField(label))
    form = PreferencesForm()
    if not form.is_submitted():
        for kind in kinds:
            for channel in offered(kind):
                form[field_name(kind, channel.value)].data = channel.value in current[kind]
    return form


def chosen(form: Form, kind: NoticeKind) -> set[str]:
    """The channels ticked for a kind."""
    return {c.value for c in offered(kind) if form[field_name(kind, c.value)].data}


class ConfirmForm(Form):
    """A button (and its CSRF token) that confirms an action."""
