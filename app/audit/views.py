"""The audit log page: who changed what, when (administrators and organisers)."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from app.audit.display import readable, type_labels
from app.audit.models import AuditEntry
from app.core.inputs import arg_id, arg_text
from app.core.pagination import paginate
from app.core.permissions import roles_required
from app.core.roles import Role
from app.extensions import db

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@roles_required(Role.organiser)
def entries():
    """Audit entries, newest first, filterable by entity type and id."""
    entity_type = arg_text("type", max_length=40) or ""
    entity_id = arg_id("id")
    statement = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if entity_type:
        statement = statement.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        statement = statement.where(AuditEntry.entity_id == entity_id)
    recorded = db.session.scalars(select(AuditEntry.entity_type).distinct()).all()
    labels = type_labels()
    types = sorted(((t, labels.get(t, t)) for t in recorded), key=lambda pair: pair[1])
    page = paginate(statement)
    return render_template(
        "audit/entries.html", page=page, rows=[readable(e) for e in page.items], types=types,
        entity_type=entity_type, entity_id=entity_id,
    )
