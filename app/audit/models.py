"""Audit log entries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import UTCDateTime
from app.extensions import db

if TYPE_CHECKING:  # resolved by name: auth and api depend on audit, not back
    from app.api.models import ApiKey
    from app.auth.models import User


class AuditEntry(db.Model):
    """One change: the actor, the action, the entity and the changed fields."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_entity", "entity_type", "entity_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    # {"field": [old, new]} for edits; free-form details for other actions.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(String(500))

    # A change made through the API: the key it was made with (no account stands behind a key).
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))

    actor: Mapped[User | None] = relationship("User")
    api_key: Mapped[ApiKey | None] = relationship("ApiKey")
