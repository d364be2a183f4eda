"""Configuring a group robot: save (add or replace), remove, send a test message; all audited."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.core.errors import ValidationFailed
from app.core.sealing import seal
from app.extensions import db
from app.mail.channels import Result
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.services import enqueue_delivery, keep_headers_only
from app.orgs.models import Organisation, OrgKind
from app.robots.models import GroupRobot, Provider
from app.robots.posts import test_body
from app.robots.providers import InvalidWebhook, check_secret, parse_webhook
from app.robots.sender import post, rate_wait

# Whose groups can have a robot: alliances (activities, themes), departments (problems), the committee.
ROBOT_OWNERS = (OrgKind.alliance, OrgKind.department, OrgKind.committee)
TEST_KIND = "group.test"


def owners() -> list[Organisation]:
    """The organisations an administrator can give a robot."""
    return list(db.session.scalars(
        select(Organisation).where(Organisation.kind.in_(ROBOT_OWNERS), Organisation.active.is_(True))
        .order_by(Organisation.kind, Organisation.name)
    ))


def save_robot(organisation_id: int, provider: Provider, webhook_url: str, secret: str | None, *, now: datetime) -> GroupRobot:
    """Add the organisation's robot of this provider, or replace its webhook (and secret)."""
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind not in ROBOT_OWNERS:
        raise ValidationFailed(_("Not a valid choice."), "organisation_id")
    try:
        webhook = parse_webhook(provider, webhook_url)
        secret = check_secret(secret) if secret and provider == Provider.dingtalk else None
    except InvalidWebhook as error:
        raise ValidationFailed(str(error.args[0]), "secret" if "SEC" in str(error.args[0]) else "webhook_url") from None
    robot = db.session.scalar(select(GroupRobot).where(
        GroupRobot.organisation_id == organisation.id, GroupRobot.provider == provider).with_for_update())
    values = {"key_hint": webhook.key[-4:], "signed": secret is not None}
    if robot is None:
        robot = GroupRobot(organisation=organisation, provider=provider, created_at=now, key_sealed=b"", key_hint="")
        db.session.add(robot)
        old = {"key_hint": None, "signed": None}
        action = "create"
    else:
        old = {"key_hint": robot.key_hint, "signed": robot.signed}
        action = "replace"
    robot.key_sealed = seal(webhook.key)
    robot.secret_sealed = seal(secret) if secret else None
    robot.key_hint = webhook.key[-4:]
    robot.updated_at = now
    db.session.flush()
    changes = {"organisation_id": [None, organisation.id], "provider": [None, provider.value]} if action == "create" else {}
    changes.update({name: [old[name], value] for name, value in values.items()})
    record(robot, action, changes, now=now)
    return robot


def remove_robot(robot: GroupRobot, *, now: datetime) -> None:
    """Remove a robot; its posts not yet sent are withdrawn at send time (render finds no robot)."""
    record(robot, "delete", {"organisation_id": [robot.organisation_id, None], "provider": [robot.provider.value, None]}, now=now)
    db.session.delete(robot)
    db.session.flush()


def send_test(robot: GroupRobot, *, now: datetime) -> str | None:
    """Post a test message at once (kept in the outbox, counted in the limit); None or the reason it failed."""
    wait = rate_wait(robot.provider.value, robot.recipient, now)
    if wait is not None:
        return _("This robot has posted 20 messages in the last minute; try again in %(n)d seconds.", n=int(wait.total_seconds()) + 1)
    row = enqueue_delivery(channel=robot.provider.value, kind=TEST_KIND, recipient=robot.recipient, now=now,
                           body=test_body(robot), subject=f"{robot.organisation.display_name}: {_('Test message')}")
    outcome = post(robot, row.raw, now)
    row.attempts = 1
    row.status = OutboxStatus.sent if outcome.result is Result.sent else OutboxStatus.failed
    row.sent_at = now if outcome.result is Result.sent else None
    row.last_error = None if outcome.result is Result.sent else (outcome.error or "")[:2000]
    keep_headers_only(row)
    record(robot, "test", {}, note=row.last_error, now=now)
    db.session.flush()
    return row.last_error


def recent_posts(robot: GroupRobot, limit: int = 5) -> list[OutboxMessage]:
    """The robot's latest deliveries, for its card."""
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel == robot.provider.value, OutboxMessage.recipient == robot.recipient)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)
    ))
