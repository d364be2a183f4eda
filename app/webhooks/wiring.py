"""Connecting webhooks to the features whose changes they announce, and to the outbox.

The receivers run in the transaction of the change (they only flush): the activity services'
signals, the invitations' answer signal and the problem ledger's signals each queue one event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from app.events.models import Activity
from app.events.signals import activity_cancelled, activity_published, activity_updated
from app.invitations.models import Invitation
from app.invitations.signals import answer_changed
from app.mail.models import Channel
from app.mail.notices import notices_of
from app.problems.models import Problem, ProblemStatus, ProblemStep
from app.problems.signals import problem_recorded, problem_stepped
from app.webhooks.events import (
    activity_data,
    emit,
    invitation_data,
    kind_of,
    problem_data,
    step_data,
)
from app.webhooks.models import EVENT_LABELS, EventType
from app.webhooks.sender import WebhookSender


def on_activity_published(activity: Activity, now: datetime, **_kwargs: Any) -> None:
    """activity.published"""
    emit(EventType.activity_published, lambda: activity_data(activity), now=now, activity_id=activity.id)


def on_activity_updated(activity: Activity, now: datetime, changes: dict | None = None, **_kwargs: Any) -> None:
    """activity.changed, with the changed fields' old and new values."""
    emit(
        EventType.activity_changed, lambda: {**activity_data(activity), "changes": changes or {}},
        now=now, activity_id=activity.id,
    )


def on_activity_cancelled(activity: Activity, now: datetime, reason: str | None = None, **_kwargs: Any) -> None:
    """activity.cancelled, with the reason given."""
    emit(
        EventType.activity_cancelled, lambda: {**activity_data(activity), "reason": reason},
        now=now, activity_id=activity.id,
    )


def on_answer_changed(invitation: Invitation, now: datetime, **_kwargs: Any) -> None:
    """invitation.answered (also when a waiting acceptance gets its seat)."""
    emit(
        EventType.invitation_answered, lambda: invitation_data(invitation),
        now=now, activity_id=invitation.activity_id, invitation_id=invitation.id,
    )


def on_problem_recorded(problem: Problem, now: datetime, **_kwargs: Any) -> None:
    """problem.created"""
    emit(EventType.problem_created, lambda: problem_data(problem), now=now)


# Steps that also announce an event of their own, by the status they lead to.
STEP_EVENTS = {ProblemStatus.resolved: EventType.problem_resolved, ProblemStatus.closed: EventType.problem_closed}


def on_problem_stepped(problem: Problem, now: datetime, step: ProblemStep, **_kwargs: Any) -> None:
    """problem.stepped for every step; problem.resolved / problem.closed when it got there."""
    emit(EventType.problem_stepped, lambda: {**problem_data(problem), "step": step_data(step)}, now=now)
    reached = STEP_EVENTS.get(step.to_status) if step.to_status != step.from_status else None
    if reached is not None:
        emit(reached, lambda: {**problem_data(problem), "step": step_data(step)}, now=now)


def register(app: Flask) -> None:
    """Connect the receivers, register the webhook channel's sender and name its outbox kinds."""
    activity_published.connect(on_activity_published)
    activity_updated.connect(on_activity_updated)
    activity_cancelled.connect(on_activity_cancelled)
    answer_changed.connect(on_answer_changed)
    problem_recorded.connect(on_problem_recorded)
    problem_stepped.connect(on_problem_stepped)
    registry = notices_of(app)
    registry.add_sender(Channel.webhook.value, WebhookSender)
    for event in EventType:
        registry.add_kind_label(kind_of(event), EVENT_LABELS[event])
