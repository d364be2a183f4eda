"""What the audit log records of each kind of record: its audited fields, their labels and how to show them.

Each feature declares its audited models (its `audited.py`) and create_app registers them; the
audit log then writes only the declared fields and shows them by their translated labels, with
names for ids, labels for enum values and local dates and times.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _

from app.core.i18n import format_day, format_dt, join_list
from app.extensions import db

NOTHING = "—"
EXTENSION = "audit_subjects"


@dataclass(frozen=True)
class AuditedField:
    """One audited field: its label and how a stored value reads."""

    label: Any  # a lazy translated string
    show: Callable[[Any], str] = str


@dataclass(frozen=True)
class AuditedModel:
    """One kind of audited record: its label, how it is named and linked, its fields and actions."""

    model: type
    label: Any
    fields: Mapping[str, AuditedField]
    title: Callable[[Any], str]
    url: Callable[[Any], str | None] = lambda _entity: None
    actions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def entity_type(self) -> str:
        """The table name the entries carry."""
        return self.model.__tablename__  # type: ignore[attr-defined]


def register_audited(app: Flask, models: Iterable[AuditedModel]) -> None:
    """Declare audited models (create_app's wiring step)."""
    registry = app.extensions.setdefault(EXTENSION, {})
    for audited in models:
        registry[audited.entity_type] = audited


def audited_model(entity_type: str) -> AuditedModel | None:
    """The declaration of an entity type, None when it was never declared."""
    return current_app.extensions.get(EXTENSION, {}).get(entity_type)


def declared_types() -> set[str]:
    """Every declared entity type."""
    return set(current_app.extensions.get(EXTENSION, {}))


# -- how values read ----------------------------------------------------------

def text(label: Any) -> AuditedField:
    """A text or number shown as it is."""
    return AuditedField(label, lambda value: str(value))


def choice(label: Any, labels: Mapping[Any, Any]) -> AuditedField:
    """An enum value shown as its translated label."""
    by_value = {(key.value if isinstance(key, enum.Enum) else key): name for key, name in labels.items()}
    return AuditedField(label, lambda value: str(by_value.get(value, value)))


def name_of(entity: Any) -> str:
    """How a record is named in the log: its display name, name or title."""
    for attribute in ("display_name", "name", "title"):
        value = getattr(entity, attribute, None)
        if isinstance(value, str) and value:
            return value
    return f"#{entity.id}"


def _named(model: type, value: Any) -> str:
    if not value:  # 0: "none" in a select
        return NOTHING
    entity = db.session.get(model, value) if isinstance(value, int) else None
    return name_of(entity) if entity is not None else f"#{value}"


def reference(label: Any, model: type) -> AuditedField:
    """The id of a record, shown as that record's name."""
    return AuditedField(label, lambda value: _named(model, value))


def references(label: Any, model: type) -> AuditedField:
    """A list of ids, shown as the records' names."""
    return AuditedField(label, lambda values: join_list([_named(model, v) for v in _as_list(values)]) or NOTHING)


def moment(label: Any) -> AuditedField:
    """A date and time (stored ISO 8601), shown in the display zone."""
    return AuditedField(label, lambda value: format_dt(datetime.fromisoformat(value)) if _iso(value) else str(value))


def day(label: Any) -> AuditedField:
    """A date (stored ISO 8601)."""
    return AuditedField(label, lambda value: format_day(date.fromisoformat(value[:10])) if _iso(value) else str(value))


def flag(label: Any) -> AuditedField:
    """Yes or no."""
    return AuditedField(label, lambda value: _("yes") if value else _("no"))


def secret(label: Any) -> AuditedField:
    """A value never shown (a password): only that it changed."""
    return AuditedField(label, lambda _value: "***")


def items(label: Any) -> AuditedField:
    """A list of plain values."""
    return AuditedField(label, lambda values: join_list([str(v) for v in _as_list(values)]) or NOTHING)


def _as_list(values: Any) -> list[Any]:
    return list(values) if isinstance(values, list | tuple) else [values]


def _iso(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-"
