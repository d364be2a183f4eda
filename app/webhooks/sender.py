"""The outbox's "webhook" channel: POST the signed body and read what the receiver's answer means.

2xx: delivered. 5xx, 408, 429, a time-out or a refused connection: tried again later (the
dispatcher's backoff, or the receiver's Retry-After). 410 Gone: the receiver wants no more, so
the endpoint is disabled and the delivery given up. Any other answer (4xx, a redirect, which is
not followed): given up with the status as the reason, shown in the delivery log.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from app.audit.services import record
from app.extensions import db
from app.mail.channels import Outcome
from app.webhooks.models import WebhookEndpoint, endpoint_id_of
from app.webhooks.signing import signature_headers

USER_AGENT = "Linghang-Webhooks/1"
RETRIED = {408, 425, 429}
LONGEST_RETRY_AFTER = timedelta(hours=6)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other: the registered URL is where deliveries go."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def delivery_id(row: Any) -> str:
    """The delivery's `webhook-id`: its outbox Message-ID without brackets, the same on every attempt."""
    return row.message_id.strip("<>")


def _retry_after(value: str | None) -> timedelta | None:
    if value and value.strip().isdigit():
        return min(timedelta(seconds=int(value.strip())), LONGEST_RETRY_AFTER)
    return None


def _reason(status: int, reason: str, body: bytes) -> str:
    text = body[:300].decode("utf-8", "replace").strip()
    return f"HTTP {status} {reason}".strip() + (f": {text}" if text else "")


class WebhookSender:
    """Posts one dispatcher pass's webhook deliveries, each to its endpoint's URL."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(_NoRedirects())

    def send(self, row: Any, now: datetime) -> Outcome:
        """Deliver one row to its endpoint; never raises."""
        endpoint_id = endpoint_id_of(row.recipient)
        endpoint = db.session.get(WebhookEndpoint, endpoint_id) if endpoint_id is not None else None
        if endpoint is None:
            return Outcome.give_up("the webhook endpoint was deleted")
        if not endpoint.active:
            return Outcome.give_up("the webhook endpoint is disabled")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            **signature_headers(endpoint.secret, delivery_id(row), now, row.raw),
        }
        request = urllib.request.Request(endpoint.url, data=row.raw, headers=headers, method="POST")
        try:
            with self.opener.open(request, timeout=current_app.config["WEBHOOK_TIMEOUT"]) as response:
                response.read(1024)
                status, reason, body, retry_after = response.status, response.reason, b"", None
        except urllib.error.HTTPError as error:
            status, reason, body = error.code, error.reason, error.read(300) if error.fp else b""
            retry_after = error.headers.get("Retry-After") if error.headers else None
        except (urllib.error.URLError, OSError, ValueError) as error:
            # Refused, unreachable, timed out, or a reset connection: the receiver may be back later.
            return Outcome.retry(f"{type(error).__name__}: {getattr(error, 'reason', error)}")
        return self._outcome(endpoint, status, str(reason or ""), body, retry_after, now)

    def _outcome(
        self, endpoint: WebhookEndpoint, status: int, reason: str, body: bytes, retry_after: str | None, now: datetime
    ) -> Outcome:
        if 200 <= status < 300:
            return Outcome.sent()
        error = _reason(status, reason, body)
        if status >= 500 or status in RETRIED:
            return Outcome.retry(error, _retry_after(retry_after))
        if status == 410:
            disable(endpoint, error, now)
        return Outcome.give_up(error)

    def close(self) -> None:
        """Nothing stays open between deliveries."""


def disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    """Stop deliveries to an endpoint whose receiver said it is gone (flushes)."""
    if endpoint.active:
        endpoint.active = False
        endpoint.disabled_reason = reason[:1000]
        endpoint.updated_at = now
        record(endpoint, "disable", {"active": [True, False]}, note=reason[:500], now=now)
        db.session.flush()
