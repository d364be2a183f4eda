"""What the audit log records of accounts."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.audit.subjects import AuditedModel, choice, flag, secret
from app.auth.models import ROLE_LABELS, User

ACCOUNT = AuditedModel(
    User, _l("Account"),
    {
        "role": choice(_l("Role"), ROLE_LABELS),
        "active": flag(_l("Active")),
        "password": secret(_l("Password")),
    },
    title=lambda user: f"{user.name} <{user.email}>",
    url=lambda user: url_for("auth.account_edit", user_id=user.id),
    actions={"password": _l("Own password changed")},
)

AUDITED = [ACCOUNT]
