"""What the dashboard shows to whom, and for which period: shared by its page and the API."""

from __future__ import annotations

from datetime import date

from flask import request

from app.auth.models import Role, User
from app.core.clock import local_today
from app.core.inputs import arg_year
from app.problems.filters import read_filters
from app.problems.queries import LedgerFilter, problem_visibility


def dashboard_scope(user: User):
    """Contacts see their enterprise's figures only; others the county's."""
    return problem_visibility(user) if user.role == Role.contact else None


def dashboard_filters(user: User) -> LedgerFilter:
    """The ledger's filters from the query string; without a period, one year (`year`, this one by default)."""
    filters = read_filters(user)
    if filters.start is None and filters.end is None and not request.args.get("all"):
        year = arg_year() or local_today().year
        if 2000 <= year <= 2100:
            filters.start, filters.end = date(year, 1, 1), date(year, 12, 31)
    return filters
