"""What the audit log records of API keys."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.api.models import SCOPE_LABELS, ApiKey
from app.audit.subjects import AuditedModel, items, reference, text
from app.orgs.models import Organisation

API_KEY = AuditedModel(
    ApiKey, _l("API key"),
    {
        "name": text(_l("Name")),
        "scopes": items(_l("Scopes")),
        "organisation_id": reference(_l("Organisation"), Organisation),
    },
    title=lambda key: f"{key.name} ({key.prefix}…)",
    url=lambda _key: url_for("api_keys.keys"),
    actions={"api_key_created": _l("API key created"), "api_key_revoked": _l("API key revoked")},
)

AUDITED = [API_KEY]
__all__ = ["AUDITED", "SCOPE_LABELS"]
