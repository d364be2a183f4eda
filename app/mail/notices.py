"""What each feature registers about the notices it sends, held per application.

`create_app` makes one `Notices` (in `app.extensions["linghang.notices"]`) and each feature's
`register(app)` fills it: the builders of reminder mails by reminder kind, the "still wanted"
SQL condition of each reminder subject type, the outbox kinds and how their mail is built
(when queued, or at send time by a renderer), the send-time checks that may withdraw a queued
mail, and panels shown on the outbox page. Nothing registers itself at import time; once every
feature is registered, `missing_kinds` tells which reminder or outbox kind has no builder, and
`create_app` refuses to start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import Flask, current_app

from app.mail.channels import EmailSender
from app.mail.models import Channel

EXTENSION_KEY = "linghang.notices"

# (outbox row, now) → the mail built from the current state, or None to withdraw it.
Renderer = Callable[[Any, datetime], EmailMessage | None]
# (reminder, now) → the reminder mail, or None when its subject is gone.
ReminderBuilder = Callable[[Any, datetime], EmailMessage | None]
# now (or None: skip the time test) → a SQL condition on Reminder, true while still wanted.
SubjectCheck = Callable[[datetime | None], Any]
# (outbox row, now) → the body of a non-e-mail delivery built from the current state, or None
# to withdraw it.
ChannelRenderer = Callable[[Any, datetime], bytes | None]
# (outbox row, now) → True when the queued mail must be withdrawn before it is sent. Run before
# every attempt with the dispatcher's clock, so a retry is checked again at its own time.
SendTimeCheck = Callable[[Any, datetime], bool]


class MissingNoticeBuilder(RuntimeError):
    """A reminder or outbox kind has nothing to build its mail: the app must not start."""


@dataclass
class Notices:
    """The per-application registry of notice builders and checks."""

    reminder_builders: dict[str, ReminderBuilder] = field(default_factory=dict)
    subject_checks: dict[str, SubjectCheck] = field(default_factory=dict)
    # Outbox kinds whose mail is complete when queued, with the function that builds it.
    prebuilt: dict[str, Callable[..., EmailMessage]] = field(default_factory=dict)
    # Outbox kinds queued without a body (raw == b""): built at send time.
    renderers: dict[str, Renderer] = field(default_factory=dict)
    # (channel, outbox kind) → what builds a non-e-mail delivery queued without a body.
    channel_renderers: dict[tuple[str, str], ChannelRenderer] = field(default_factory=dict)
    # Channel → what makes the sender of one dispatcher pass (app/mail/channels.py).
    senders: dict[str, Callable[[], Any]] = field(default_factory=dict)
    send_time_checks: list[SendTimeCheck] = field(default_factory=list)
    outbox_panels: list[Callable[[], str]] = field(default_factory=list)
    # Outbox kind → its translated name on the outbox page ("invitation.update" → 活动变更通知).
    kind_labels: dict[str, Any] = field(default_factory=dict)
    # Reason key → translated reason, for errors stored as "[key] provider code: message".
    error_labels: dict[str, Any] = field(default_factory=dict)

    def add_reminder_builder(self, kind: str, builder: ReminderBuilder) -> None:
        """Register the builder of one reminder kind."""
        self.reminder_builders[kind] = builder

    def add_subject_check(self, subject_type: str, check: SubjectCheck) -> None:
        """Register the "still wanted" SQL condition of a reminder subject type."""
        self.subject_checks[subject_type] = check

    def add_prebuilt(self, kind: str, builder: Callable[..., EmailMessage]) -> None:
        """Declare an outbox kind whose mail is built when it is queued."""
        self.prebuilt[kind] = builder

    def add_renderer(self, kind: str, renderer: Renderer) -> None:
        """Declare an outbox kind queued without a body, and what builds it at send time."""
        self.renderers[kind] = renderer

    def add_channel_renderer(self, channel: str, kind: str, renderer: ChannelRenderer) -> None:
        """Declare how a delivery of `kind` through a non-e-mail `channel` is built at send time."""
        self.channel_renderers[(channel, kind)] = renderer

    def add_sender(self, channel: str, factory: Callable[[], Any]) -> None:
        """Register what delivers a channel's rows (a new sender per dispatcher pass)."""
        self.senders[channel] = factory

    def add_kind_label(self, kind: str, label: Any) -> None:
        """Name an outbox kind for people (a lazy translated string)."""
        self.kind_labels[kind] = label

    def kind_label(self, kind: str) -> str:
        """The translated name of an outbox kind (the kind itself only when none was registered)."""
        return str(self.kind_labels.get(kind, kind))

    def add_error_label(self, key: str, label: Any) -> None:
        """Name a delivery failure reason for people (a lazy translated string)."""
        self.error_labels[key] = label

    def describe_error(self, error: str | None) -> str:
        """A stored delivery error with its "[key]" reason translated (the provider's words kept)."""
        if not error or not error.startswith("["):
            return error or ""
        key, _bracket, rest = error[1:].partition("] ")
        label = self.error_labels.get(key)
        return f"{label} ({rest})" if label is not None else error

    def unnamed_kinds(self) -> list[str]:
        """Outbox kinds with a builder but no name for the outbox page."""
        return sorted((set(self.prebuilt) | set(self.renderers)) - set(self.kind_labels))

    def add_send_time_check(self, check: SendTimeCheck) -> None:
        """Add a check run just before sending; True withdraws the mail."""
        if check not in self.send_time_checks:
            self.send_time_checks.append(check)

    def add_outbox_panel(self, panel: Callable[[], str]) -> None:
        """Add a block of HTML shown on the outbox page (e.g. the reminders waiting)."""
        if panel not in self.outbox_panels:
            self.outbox_panels.append(panel)

    def missing_kinds(self, reminder_kinds: Iterable[str], outbox_kinds: Iterable[str]) -> list[str]:
        """The reminder and outbox kinds that nothing builds, described for the start-up error."""
        missing = [f"reminder kind {kind!r}" for kind in reminder_kinds if kind not in self.reminder_builders]
        missing += [
            f"outbox kind {kind!r}"
            for kind in outbox_kinds
            if kind not in self.prebuilt and kind not in self.renderers
        ]
        return missing

    def check_complete(self, reminder_kinds: Iterable[str], outbox_kinds: Iterable[str]) -> None:
        """Raise MissingNoticeBuilder naming every kind without a builder."""
        missing = self.missing_kinds(reminder_kinds, outbox_kinds)
        if missing:
            raise MissingNoticeBuilder(
                "no builder registered for " + ", ".join(missing)
                + ": add it in the feature's register(app) step (see app/__init__.py)"
            )


def init_notices(app: Flask) -> Notices:
    """Give the app its own, empty registry (the features' register steps fill it)."""
    registry = Notices()
    # E-mail is the built-in channel; the other channels' features add their senders.
    registry.add_sender(Channel.email.value, EmailSender)
    app.extensions[EXTENSION_KEY] = registry
    return registry


def notices_of(app: Flask) -> Notices:
    """The registry of an app."""
    return app.extensions[EXTENSION_KEY]


def notices() -> Notices:
    """The registry of the current app."""
    return notices_of(current_app)
