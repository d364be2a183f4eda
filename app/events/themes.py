"""Monthly themes (一月一主题): one per year and month, led by one or more departments."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import diff, record
from app.core.errors import ValidationFailed
from app.events.models import MonthlyTheme
from app.extensions import db
from app.orgs.models import Organisation, OrgKind


def save_theme(
    theme: MonthlyTheme | None,
    *,
    year: int,
    month: int,
    title: str,
    description: str | None,
    lead_department_ids: list[int],
) -> MonthlyTheme:
    """Create or update the theme of a month; one theme per year and month."""
    if not 2000 <= year <= 2100:
        raise ValidationFailed(_("The year must be between 2000 and 2100."), "year")
    if not 1 <= month <= 12:
        raise ValidationFailed(_("Not a valid choice."), "month")
    clash = select(MonthlyTheme.id).where(MonthlyTheme.year == year, MonthlyTheme.month == month)
    if theme is not None:
        clash = clash.where(MonthlyTheme.id != theme.id)
    if db.session.scalar(clash) is not None:
        raise ValidationFailed(_("This month already has a theme."), "month")
    departments = list(
        db.session.scalars(
            select(Organisation).where(
                Organisation.id.in_(lead_department_ids), Organisation.kind == OrgKind.department
            )
        )
    )
    if len(departments) != len(set(lead_department_ids)):
        raise ValidationFailed(_("Not a valid choice."), "lead_departments")
    values = {"year": year, "month": month, "title": title, "description": description}
    if theme is None:
        theme = MonthlyTheme(**values)
        db.session.add(theme)
        theme.lead_departments = departments
        db.session.flush()
        record(theme, "create", {**{k: [None, v] for k, v in values.items()}, "lead_departments": [None, [d.id for d in departments]]})
        return theme
    changes = diff(theme, values)
    old_ids = sorted(d.id for d in theme.lead_departments)
    if old_ids != sorted(d.id for d in departments):
        changes["lead_departments"] = [old_ids, sorted(d.id for d in departments)]
        theme.lead_departments = departments
    if changes:
        record(theme, "update", changes)
    db.session.flush()
    return theme
