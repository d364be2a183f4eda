"""The audit log page: who changed what, when (administrators and organisers)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.pagination import paginate
from app.core.permissions import roles_required
from app.core.roles import Role
from app.extensions import db

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@roles_required(Role.organiser)
def entries():
    """Audit entries, newest first, filterable by entity type and id."""
    entity_type = request.args.get("type", "")
    entity_id = request.args.get("id", type=int)
    statement = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if entity_type:
        statement = statement.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        statement = statement.where(AuditEntry.entity_id == entity_id)
    types = db.session.scalars(select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type)).all()
    return render_template(
        "audit/entries.html", page=paginate(statement), types=types, entity_type=entity_type, entity_id=entity_id
    )
