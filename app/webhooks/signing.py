"""Signing deliveries the Standard Webhooks way (https://www.standardwebhooks.com).

Headers: `webhook-id` (the delivery's id, the same on every attempt), `webhook-timestamp` (Unix
seconds of this attempt) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`
where the key is the base64-decoded part of the secret after "whsec_". The reference library
`standardwebhooks` signs; a receiver verifies with the same few lines (README, "Webhooks").
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime

from flask_babel import gettext as _
from standardwebhooks.webhooks import Webhook

from app.core.errors import ValidationFailed

PREFIX = "whsec_"
# Key sizes the convention allows (bytes, before base64).
MIN_KEY, MAX_KEY = 24, 64


def generate_secret() -> str:
    """A new secret: "whsec_" and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def checked_secret(value: str | None) -> str:
    """A pasted secret if it is "whsec_" + base64 of 24 to 64 bytes, else a refusal on the field."""
    value = (value or "").strip()
    raw = value.removeprefix(PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not value.startswith(PREFIX) or not MIN_KEY <= len(key) <= MAX_KEY:
        raise ValidationFailed(
            _("A secret is “whsec_” followed by 24 to 64 bytes in base64; leave the field empty to get one."),
            "secret",
        )
    return value


def signature_headers(secret: str, delivery_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt made at `at`."""
    signature = Webhook(secret).sign(delivery_id, at.astimezone(UTC), body.decode("utf-8"))
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
