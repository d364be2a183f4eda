"""Recording changes in the audit log."""

from __future__ import annotations

import enum
import logging
from datetime import date, datetime
from typing import Any

from flask_login import current_user

from app.audit.models import AuditEntry
from app.audit.subjects import audited_model
from app.core.clock import utcnow
from app.extensions import db

logger = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """Make a value JSON-friendly."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, db.Model):
        return getattr(value, "id", None)
    if isinstance(value, set | frozenset):  # no order of its own
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, list | tuple):  # keeps its order: an [old, new] pair must not be swapped
        return [_plain(v) for v in value]
    return value


def _declared(entity_type: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The changes of the fields declared audited for this kind of record (see app/audit/subjects.py)."""
    audited = audited_model(entity_type)
    if audited is None:
        raise LookupError(f"{entity_type} is not declared audited (register it in create_app)")
    undeclared = sorted(set(changes) - set(audited.fields))
    if undeclared:
        logger.warning("audit: %s fields not declared, not recorded: %s", entity_type, undeclared)
    return {key: _pair(value) for key, value in changes.items() if key in audited.fields}


def _pair(value: Any) -> list[Any]:
    """[old, new] as written; a lone value is what the record now has (nothing before)."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return [_plain(value[0]), _plain(value[1])]
    return [None, _plain(value)]


def current_actor_id() -> int | None:
    """The logged-in account's id, or None for the CLI, the scheduler and anonymous links."""
    try:
        return current_user.id if current_user and current_user.is_authenticated else None
    except RuntimeError:  # outside a request
        return None


def current_api_key_id() -> int | None:
    """The API key of this request (app/api/principal.py), None for the pages, CLI and scheduler."""
    try:
        return getattr(current_user, "api_key_id", None) if current_user else None
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
    """Add an audit entry for an entity (flushed with the change that caused it).

    `changes` is {field: (old, new)}; only the fields its model declares audited are written.
    """
    if entity.id is None:
        db.session.flush()
    entry = AuditEntry(
        at=now or utcnow(),
        actor_id=actor_id if actor_id is not None else current_actor_id(),
        api_key_id=current_api_key_id(),
        action=action,
        entity_type=entity.__tablename__,
        entity_id=entity.id,
        changes=_declared(entity.__tablename__, changes or {}),
        note=note,
    )
    db.session.add(entry)
    return entry


def created(entity: Any) -> dict[str, list[Any]]:
    """{field: [None, value]} of every declared field the new entity has a value in."""
    audited = audited_model(entity.__tablename__)
    names = audited.fields if audited is not None else {}
    values = {name: getattr(entity, name, None) for name in names}
    return {name: [None, value] for name, value in values.items() if value not in (None, "", [])}


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
