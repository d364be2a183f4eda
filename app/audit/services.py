"""Recording changes in the audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_login import current_user

from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.extensions import db


def _plain(value: Any) -> Any:
    """Make a value JSON-friendly."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, db.Model):
        return getattr(value, "id", None)
    if isinstance(value, list | tuple | set):
        return sorted((_plain(v) for v in value), key=str)
    return value


def current_actor_id() -> int | None:
    """The logged-in account's id, or None for the CLI, the scheduler and anonymous links."""
    try:
        return current_user.id if current_user and current_user.is_authenticated else None
    except RuntimeError:  # outside a request
        return None


def record(
    entity: Any,
    action: str,
    changes: dict[str, Any] | None = None,
    note: str | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Add an audit entry for an entity (flushed with the change that caused it)."""
    if entity.id is None:
        db.session.flush()
    entry = AuditEntry(
        at=now or utcnow(),
        actor_id=actor_id if actor_id is not None else current_actor_id(),
        action=action,
        entity_type=entity.__tablename__,
        entity_id=entity.id,
        changes={key: _plain(value) for key, value in (changes or {}).items()},
        note=note,
    )
    db.session.add(entry)
    return entry


def diff(entity: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply values to an entity and return {field: [old, new]} for those that changed."""
    changed: dict[str, list[Any]] = {}
    for key, new in values.items():
        old = getattr(entity, key)
        if _plain(old) != _plain(new):
            changed[key] = [_plain(old), _plain(new)]
            setattr(entity, key, new)
    return changed


def history(entity_type: str, entity_id: int) -> list[AuditEntry]:
    """Audit entries of one entity, newest first."""
    return list(
        db.session.scalars(
            db.select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        )
    )
