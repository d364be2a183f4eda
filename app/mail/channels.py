"""Channels a notice is delivered through, and what a sender tells the dispatcher.

The dispatcher (app/mail/dispatch.py) claims due deliveries of every channel alike; for each
it asks the sender registered for the delivery's channel (`Notices.add_sender`) to deliver it
and acts on the `Outcome`: sent, retry later (backoff, or the provider's own wait), give up at
once (e.g. an invalid mobile number), or defer without counting an attempt (a rate limit
reached: the delivery waits for its turn and is not lost). One sender instance serves one
dispatcher pass, so a connection or a per-pass budget lives on it; `close()` ends the pass.
"""

from __future__ import annotations

import contextlib
import enum
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import current_app


class Result(enum.Enum):
    sent = "sent"
    retry = "retry"
    give_up = "give_up"
    defer = "defer"


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    result: Result
    error: str | None = None
    # retry: the provider's own wait instead of the backoff; defer: required, the wait.
    wait: timedelta | None = None

    @classmethod
    def sent(cls) -> Outcome:
        """Delivered."""
        return cls(Result.sent)

    @classmethod
    def retry(cls, error: str, wait: timedelta | None = None) -> Outcome:
        """Not delivered; try again later (counts as an attempt)."""
        return cls(Result.retry, error, wait)

    @classmethod
    def give_up(cls, error: str) -> Outcome:
        """Not deliverable: no further attempt, shown as given up with the reason."""
        return cls(Result.give_up, error)

    @classmethod
    def defer(cls, wait: timedelta, reason: str | None = None) -> Outcome:
        """Not attempted (a rate limit): wait and try again, without counting an attempt."""
        return cls(Result.defer, reason, wait)


class ChannelSender(Protocol):
    """Delivers claimed outbox rows of one channel during one dispatcher pass."""

    def send(self, row: Any, now: datetime) -> Outcome:
        """Deliver one row (its `raw` is final) and say how it went; must not raise."""

    def close(self) -> None:
        """End the pass (close connections)."""


class EmailSender:
    """One SMTP connection for a pass, opened at the first message and again after a drop."""

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = current_app.config
        connection = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15)
        if config.get("MAIL_USE_TLS"):
            connection.starttls()
        if config.get("MAIL_USERNAME"):
            connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        return connection

    def send(self, row: Any, now: datetime) -> Outcome:
        """Hand the message to the SMTP server; any SMTP or network failure is retried."""
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.sendmail(current_app.config["MAIL_DEFAULT_SENDER"], [row.recipient], row.raw)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self.smtp = None
            return Outcome.retry(f"{type(error).__name__}: {error}")
        except smtplib.SMTPException as error:
            return Outcome.retry(f"{type(error).__name__}: {error}")
        return Outcome.sent()

    def close(self) -> None:
        """Say goodbye to the SMTP server."""
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.smtp = None
