"""How long a department has for a problem, in working days on China's calendar."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, has_app_context

from app.core.clock import display_zone
from app.problems.models import ProblemCategory
from app.workcal.services import add_working_days

# Working days a department has, per category (PROBLEM_DEADLINE_DAYS overrides, e.g. "tax=5").
DEFAULT_DEADLINE_DAYS = {
    ProblemCategory.tax: 5,
    ProblemCategory.talent: 15,
    ProblemCategory.financing: 10,
    ProblemCategory.export: 5,
    ProblemCategory.it_integration: 15,
    ProblemCategory.land_permits: 20,
    ProblemCategory.labour: 10,
    ProblemCategory.dispute: 10,
    ProblemCategory.other: 10,
}


def deadline_days(category: ProblemCategory) -> int:
    """Working days allowed for a category, from the configuration or the defaults."""
    days = dict(DEFAULT_DEADLINE_DAYS)
    setting = current_app.config.get("PROBLEM_DEADLINE_DAYS", "") if has_app_context() else ""
    for part in (setting or "").split(","):
        key, _sep, value = part.partition("=")
        if key.strip() in ProblemCategory.__members__ and value.strip().isdigit():
            days[ProblemCategory(key.strip())] = int(value)
    return days[category]


def default_deadline(category: ProblemCategory, today: date) -> date:
    """Today plus the category's working days on China's calendar."""
    return add_working_days(today, deadline_days(category))


def local_date(now: datetime) -> date:
    """The display-zone day of an instant."""
    return now.astimezone(display_zone()).date()
