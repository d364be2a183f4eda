"""The ledger's filter bar: reading it from the query string and the options it offers.

The dashboard (app/stats) shows the same bar and reads it with the same functions.
"""

from __future__ import annotations

from flask import abort, request
from sqlalchemy import select

from app.auth.models import Role, User
from app.core.clock import local_today
from app.core.inputs import arg_choice, arg_date, arg_id, arg_text
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import organisations_of_kind
from app.problems.models import (
    CATEGORY_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    Problem,
    ProblemCategory,
    ProblemSource,
    ProblemStatus,
)
from app.problems.queries import LedgerFilter, problem_visibility


def read_filters(user: User) -> LedgerFilter:
    """The filters from the query string; a contact asking for another enterprise gets 404."""
    enterprise_id = arg_id("enterprise")
    if user.role == Role.contact:
        if enterprise_id is not None and enterprise_id != user.organisation_id:
            abort(404)
        enterprise_id = user.organisation_id
    category = arg_choice("category", ProblemCategory)
    status = arg_choice("status", ProblemStatus)
    source = arg_choice("source", ProblemSource)
    return LedgerFilter(
        start=arg_date("start"),
        end=arg_date("end"),
        alliance_id=arg_id("alliance"),
        department_id=arg_id("department"),
        theme_id=arg_id("theme"),
        enterprise_id=enterprise_id,
        activity_id=arg_id("activity"),
        category=ProblemCategory(category) if category else None,
        status=ProblemStatus(status) if status else None,
        source=ProblemSource(source) if source else None,
        overdue_on=local_today() if request.args.get("overdue") else None,
        q=arg_text("q"),
    )


def filter_choices(user: User) -> dict:
    """Options of the filter bar (enterprises only for accounts that see several)."""
    choices = {
        "alliances": organisations_of_kind(OrgKind.alliance),
        "departments": organisations_of_kind(OrgKind.department),
        "categories": CATEGORY_LABELS,
        "statuses": STATUS_LABELS,
        "sources": SOURCE_LABELS,
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
