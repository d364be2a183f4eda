"""Wiring of the notices feature: `register(app)`, called by create_app's register_features.

It adds the SMS channel's sender, the send-time check of the recipients' preferences and the
translated reasons of SMS failures to the app's notice registry.
"""

from __future__ import annotations

from flask import Flask

from app.mail.models import Channel
from app.mail.notices import notices_of
from app.notify.services import preference_withdrawn
from app.notify.sms_sender import REASONS, SmsSender


def register(app: Flask) -> None:
    """Register the SMS sender, the preference check and the failure reasons."""
    registry = notices_of(app)
    registry.add_sender(Channel.sms.value, SmsSender)
    registry.add_send_time_check(preference_withdrawn)
    for key, label in REASONS.items():
        registry.add_error_label(key, label)
