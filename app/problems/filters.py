"""The ledger's filter bar: reading it from the query string and the options it offers.

The dashboard (app/stats) shows the same bar and reads it with the same functions.
"""

from __future__ import annotations

from datetime import date

from flask import abort, request
from sqlalchemy import select

from app.auth.models import Role, User
from app.core.clock import local_today
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import organisations_of_kind
from app.problems.models import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    Problem,
    ProblemCategory,
    ProblemStatus,
)
from app.problems.queries import LedgerFilter, problem_visibility

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and int(value) <= MAX_ID else None


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def read_filters(user: User) -> LedgerFilter:
    """The filters from the query string; a contact asking for another enterprise gets 404."""
    enterprise_id = _int_arg("enterprise")
    if user.role == Role.contact:
        if enterprise_id is not None and enterprise_id != user.organisation_id:
            abort(404)
        enterprise_id = user.organisation_id
    category = request.args.get("category")
    status = request.args.get("status")
    return LedgerFilter(
        start=_date_arg("start"),
        end=_date_arg("end"),
        alliance_id=_int_arg("alliance"),
        department_id=_int_arg("department"),
        theme_id=_int_arg("theme"),
        enterprise_id=enterprise_id,
        activity_id=_int_arg("activity"),
        category=ProblemCategory(category) if category in ProblemCategory.__members__ else None,
        status=ProblemStatus(status) if status in ProblemStatus.__members__ else None,
        overdue_on=local_today() if request.args.get("overdue") else None,
        q=(request.args.get("q") or "").strip()[:100] or None,
    )


def filter_choices(user: User) -> dict:
    """Options of the filter bar (enterprises only for accounts that see several)."""
    choices = {
        "alliances": organisations_of_kind(OrgKind.alliance),
        "departments": organisations_of_kind(OrgKind.department),
        "categories": CATEGORY_LABELS,
        "statuses": STATUS_LABELS,
    }
    if user.role != Role.contact:
        clause = problem_visibility(user)
        ids = select(Problem.enterprise_id).distinct()
        if clause is not None:
            ids = ids.where(clause)
        choices["enterprises"] = list(
            db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name))
        )
    return choices
