"""Audit entries as a person reads them: translated action and field names, named records, labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_pgettext

from app.audit.models import AuditEntry
from app.audit.subjects import NOTHING, AuditedModel, audited_model, declared_types
from app.extensions import db

# Actions many kinds of record share; a model's own `actions` name the others (and may rename these).
COMMON_ACTIONS = {
    "create": lazy_pgettext("audit action", "Created"),
    "update": lazy_pgettext("audit action", "Edited"),
    "delete": lazy_pgettext("audit action", "Deleted"),
    "activate": lazy_pgettext("audit action", "Reactivated"),
    "deactivate": lazy_pgettext("audit action", "Deactivated"),
}


@dataclass(frozen=True)
class ChangeLine:
    """One changed field: its label and its values before and after, as text."""

    label: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ReadableEntry:
    """One audit entry, ready for a page."""

    entry: AuditEntry
    action: str
    kind: str
    title: str
    url: str | None
    changes: list[ChangeLine]


def action_label(audited: AuditedModel | None, action: str) -> str:
    """The translated name of an action (the raw name only for an undeclared one)."""
    actions = {**COMMON_ACTIONS, **(audited.actions if audited else {})}
    return str(actions.get(action, action))


def type_labels() -> dict[str, str]:
    """Translated label of each declared entity type, for the filter."""
    labels = {name: audited_model(name) for name in declared_types()}
    return {name: str(audited.label) for name, audited in labels.items() if audited is not None}


def _shown(audited: AuditedModel | None, key: str, value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    described = audited.fields.get(key) if audited else None
    return described.show(value) if described else str(value)


def _change_lines(audited: AuditedModel | None, changes: dict[str, Any]) -> list[ChangeLine]:
    lines = []
    for key, change in (changes or {}).items():
        old, new = change if isinstance(change, list) and len(change) == 2 else (None, change)
        described = audited.fields.get(key) if audited else None
        label = str(described.label) if described else key
        lines.append(ChangeLine(label, _shown(audited, key, old), _shown(audited, key, new)))
    return lines


def readable(entry: AuditEntry) -> ReadableEntry:
    """The entry with its action, record and changes in words."""
    audited = audited_model(entry.entity_type)
    entity = db.session.get(audited.model, entry.entity_id) if audited else None
    kind = str(audited.label) if audited else entry.entity_type
    if audited is not None and entity is not None:
        title, url = audited.title(entity), audited.url(entity)
    else:  # deleted since, or of a kind no longer declared
        title, url = f"#{entry.entity_id}", None
    return ReadableEntry(
        entry, action_label(audited, entry.action), kind, title or NOTHING, url, _change_lines(audited, entry.changes)
    )

