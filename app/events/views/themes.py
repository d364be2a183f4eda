"""Monthly themes and the year plan of joint activities."""

from __future__ import annotations

from datetime import date

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.auth.access import any_role, roles_required
from app.auth.models import Role
from app.core.clock import local_day_bounds, local_today, to_local
from app.core.inputs import arg_month, arg_year
from app.core.views import form_page
from app.events.forms import ThemeForm
from app.events.models import Activity, ActivityKind, ActivityStatus, MonthlyTheme
from app.events.queries import in_range
from app.events.themes import save_theme
from app.events.views.blueprint import bp
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import organisations_of_kind


@bp.get("/themes")
@any_role
def themes():
    """The year's twelve monthly themes."""
    year = arg_year() or local_today().year
    if not 2000 <= year <= 2100:
        abort(404)
    themes, activities, visits = _year_plan(year)
    return render_template("events/themes.html", year=year, by_month=themes, activities=activities, visits=visits)


def _theme_form(theme: MonthlyTheme | None) -> ThemeForm:
    form = ThemeForm(obj=theme)
    form.lead_departments.choices = [(d.id, d.name) for d in organisations_of_kind(OrgKind.department)]
    if request.method == "GET":
        if theme is not None:
            form.lead_departments.data = [d.id for d in theme.lead_departments]
        else:
            form.year.data = arg_year() or local_today().year
            form.month.data = arg_month() or local_today().month
    return form


def _save(theme: MonthlyTheme | None, form: ThemeForm) -> MonthlyTheme:
    return save_theme(
        theme,
        year=form.year.data,
        month=form.month.data,
        title=form.title.data,
        description=form.description.data,
        lead_department_ids=form.lead_departments.data,
    )


@bp.route("/themes/new", methods=["GET", "POST"])
@roles_required(Role.organiser)
def theme_new():
    """Create a monthly theme."""
    form = _theme_form(None)
    return form_page(
        form,
        save=lambda: _save(None, form),
        done=lambda theme: url_for("events.themes", year=theme.year),
        message=_("The theme was saved."),
        template="events/theme_form.html",
        theme=None,
    )


@bp.route("/themes/<id:theme_id>/edit", methods=["GET", "POST"])
@roles_required(Role.organiser)
def theme_edit(theme_id: int):
    """Edit a monthly theme."""
    theme = db.get_or_404(MonthlyTheme, theme_id)
    form = _theme_form(theme)
    return form_page(
        form,
        save=lambda: _save(theme, form),
        done=lambda saved: url_for("events.themes", year=saved.year),
        message=_("The theme was saved."),
        template="events/theme_form.html",
        theme=theme,
    )


def _year_plan(year: int):
    themes = {t.month: t for t in db.session.scalars(select(MonthlyTheme).where(MonthlyTheme.year == year))}
    starts, _end = local_day_bounds(date(year, 1, 1))
    _start, ends = local_day_bounds(date(year, 12, 31))
    by_month: dict[int, list[Activity]] = {m: [] for m in range(1, 13)}
    visits = dict.fromkeys(range(1, 13), 0)
    for a in in_range(current_user, starts, ends, MultiDict()):
        month = to_local(a.starts_at).month
        # Visits to single enterprises are counted, not listed, in the plan of joint activities.
        if a.kind == ActivityKind.visit:
            visits[month] += a.status != ActivityStatus.cancelled
        else:
            by_month[month].append(a)
    return themes, by_month, visits


@bp.get("/themes/plan/<year:year>/print")
@any_role
def year_plan_print(year: int):
    """The year plan on A4, in the reader's language, for printing."""
    if not 2000 <= year <= 2100:
        abort(404)
    themes, by_month, visits = _year_plan(year)
    return render_template("events/year_plan_print.html", year=year, themes=themes, by_month=by_month, visits=visits)
