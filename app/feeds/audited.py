"""What the audit log records of calendar feed links."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.audit.subjects import AuditedModel, choice, text
from app.feeds.models import FEED_KIND_LABELS, FeedToken

FEED_TOKEN = AuditedModel(
    FeedToken, _l("Calendar feed link"),
    {"name": text(_l("Name")), "kind": choice(_l("Kind"), FEED_KIND_LABELS)},
    title=lambda token: token.name,
    url=lambda _token: url_for("feeds.subscribe"),
    actions={"feed_token_created": _l("Feed link created"), "feed_token_revoked": _l("Feed link revoked")},
)

AUDITED = [FEED_TOKEN]
