"""Posting to a group robot: the rate limit, the request, and what the provider's answer means.

The limit (20 posts a minute per robot, both providers) is kept by counting, before each post,
the robot's deliveries sent in the last 60 seconds in the outbox itself: the count is the same
for every scheduler process and every pass, so the 21st post waits (`Outcome.defer`, no attempt
counted) until the oldest of the 20 is a minute old. Should two processes still race past it,
the provider's own "too fast" answer (WeCom 45009, DingTalk 130101) retries after a minute.

On PostgreSQL the robot's row is locked (FOR UPDATE) from the count until the outcome commits,
so two dispatchers posting to one robot take turns and the second counts the first's post: the
limit holds across processes, not only in one pass. SQLite runs one scheduler (see README).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import requests
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.core.sealing import unseal
from app.extensions import db
from app.mail.channels import Outcome
from app.mail.messages import MAIL_LOCALE
from app.mail.models import OutboxMessage, OutboxStatus
from app.robots.models import GroupRobot
from app.robots.posts import robot_of
from app.robots.providers import PER_MINUTE, outcome_of, post_url

WINDOW = timedelta(seconds=60)


def rate_wait(channel: str, recipient: str, now: datetime) -> timedelta | None:
    """How long the robot must wait before its next post (None: it may post now)."""
    recent = (
        (OutboxMessage.channel == channel) & (OutboxMessage.recipient == recipient)
        & (OutboxMessage.status == OutboxStatus.sent) & (OutboxMessage.sent_at > now - WINDOW)
    )
    if db.session.scalar(select(func.count(OutboxMessage.id)).where(recent)) < PER_MINUTE:
        return None
    # The next post may go once fewer than 20 remain in the window: when the 20th newest leaves it.
    twentieth = db.session.scalar(
        select(OutboxMessage.sent_at).where(recent).order_by(OutboxMessage.sent_at.desc())
        .offset(PER_MINUTE - 1).limit(1)
    )
    return max(twentieth + WINDOW - now, timedelta(seconds=1))


def post(robot: GroupRobot, body: bytes, now: datetime, session: requests.Session | None = None) -> Outcome:
    """Send one request body to the robot's webhook and map the answer; never raises."""
    key = unseal(robot.key_sealed)
    secret = unseal(robot.secret_sealed) if robot.secret_sealed else None
    with force_locale(MAIL_LOCALE):
        if key is None or (robot.secret_sealed and secret is None):
            return Outcome.give_up(_("The stored webhook can no longer be read (SECRETS_KEY or SECRET_KEY changed): paste it again."))
        try:
            response = (session or requests).post(
                post_url(robot.provider, key, secret, now), data=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=current_app.config.get("ROBOT_TIMEOUT_SECONDS", 10),
            )
        except requests.RequestException as error:
            # The key travels in the URL: name the error's kind, never the URL itself.
            return Outcome.retry(_("The provider could not be reached (%(error)s).", error=type(error).__name__))
        if response.status_code != 200:
            return Outcome.retry(_("The provider answered HTTP %(status)d.", status=response.status_code))
        try:
            answer = response.json()
        except ValueError:
            return Outcome.retry(_("The provider's answer was not JSON."))
        if not isinstance(answer, dict):
            return Outcome.retry(_("The provider's answer was not JSON."))
        outcome = outcome_of(robot.provider, answer)
        # Lazy strings inside were formatted under the mail locale above.
        return outcome


class RobotSender:
    """Posts one channel's rows (WeCom or DingTalk) during one dispatcher pass."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def send(self, row: OutboxMessage, now: datetime) -> Outcome:
        """Post the row's body to its robot, unless the robot's minute is full."""
        robot = robot_of(row.recipient, lock=True)
        if robot is None:
            with force_locale(MAIL_LOCALE):
                return Outcome.give_up(_("The group robot was removed."))
        wait = rate_wait(row.channel, row.recipient, now)
        if wait is not None:
            with force_locale(MAIL_LOCALE):
                return Outcome.defer(wait, _("20 posts a minute: waiting for the robot's turn."))
        return post(robot, row.raw, now, self.session)

    def close(self) -> None:
        """Close the pass's connections."""
        self.session.close()
