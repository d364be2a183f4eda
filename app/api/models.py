"""API keys: an organisation's credential for /api/v1/, with scopes, stored only as a hash."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.clock import utcnow
from app.core.types import UTCDateTime
from app.extensions import db
from app.orgs.models import Organisation


class Scope(enum.StrEnum):
    """What a key may do; each scope allows exactly what it names."""

    activities_read = "activities:read"
    activities_write = "activities:write"
    problems_read = "problems:read"
    problems_write = "problems:write"
    stats_read = "stats:read"
    orgs_read = "orgs:read"
    feeds_write = "feeds:write"


SCOPE_LABELS = {
    Scope.activities_read: _l("Read activities, monthly themes and invitations"),
    Scope.activities_write: _l("Create, change, publish, reschedule and cancel activities; answer invitations"),
    Scope.problems_read: _l("Read problems of the ledger"),
    Scope.problems_write: _l("Create problems and take the ledger's steps"),
    Scope.stats_read: _l("Read the dashboard's figures"),
    Scope.orgs_read: _l("Read organisations, people and venues"),
    Scope.feeds_write: _l("Create and revoke calendar feed links"),
}


class ApiKey(db.Model):
    """A named key of one organisation; the secret is shown once and only its sha256 is kept."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # The scope values (Scope), sorted.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The first characters of the key ("lh_" and 8 more), to recognise it in lists and logs.
    prefix: Mapped[str] = mapped_column(String(16))
    # sha256 (hex) of the whole key: the key has 256 random bits, so no slow hash is needed.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Updated at most once a minute (see app/api/keys.py), not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    @property
    def scope_set(self) -> frozenset[str]:
        """The scopes as a set."""
        return frozenset(self.scopes or ())

    def __repr__(self) -> str:
        return f"<ApiKey {self.id} {self.prefix}>"
