"""What the audit log records of group robots (never the webhook: its last four characters)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.audit.subjects import AuditedModel, choice, flag, reference, text
from app.orgs.models import Organisation
from app.robots.models import PROVIDER_LABELS, GroupRobot

GROUP_ROBOT = AuditedModel(
    GroupRobot, _l("Group robot"),
    {
        "organisation_id": reference(_l("Organisation"), Organisation),
        "provider": choice(_l("Provider"), PROVIDER_LABELS),
        "key_hint": text(_l("Webhook (last 4 characters)")),
        "signed": flag(_l("Signed mode")),
    },
    title=lambda robot: f"{robot.organisation.display_name} · {robot.provider_label}",
    url=lambda _robot: url_for("robots.robots"),
    actions={"replace": _l("Webhook replaced"), "test": _l("Test message sent")},
)

AUDITED = [GROUP_ROBOT]
