"""Monthly themes and the activity list and pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.audit.services import history
from app.auth.access import any_role, roles_required
from app.auth.models import Role
from app.core.clock import local_today
from app.core.pagination import paginate
from app.core.views import form_page
from app.events.forms import ThemeForm
from app.events.models import Activity, MonthlyTheme
from app.events.queries import visibility_clause, visible_activities
from app.events.services import save_theme
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import organisations_of_kind

bp = Blueprint("events", __name__)


@bp.get("/themes")
@any_role
def themes():
    """The year's twelve monthly themes."""
    year = request.args.get("year", type=int) or local_today().year
    if not 2000 <= year <= 2100:
        abort(404)
    by_month = {
        t.month: t
        for t in db.session.scalars(select(MonthlyTheme).where(MonthlyTheme.year == year))
    }
    return render_template("events/themes.html", year=year, by_month=by_month)


def _theme_form(theme: MonthlyTheme | None) -> ThemeForm:
    form = ThemeForm(obj=theme)
    form.lead_departments.choices = [(d.id, d.name) for d in organisations_of_kind(OrgKind.department)]
    if request.method == "GET":
        if theme is not None:
            form.lead_departments.data = [d.id for d in theme.lead_departments]
        else:
            form.year.data = request.args.get("year", type=int) or local_today().year
            form.month.data = request.args.get("month", type=int) or local_today().month
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


@bp.route("/themes/<int:theme_id>/edit", methods=["GET", "POST"])
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


@bp.get("/activities")
@any_role
def activities():
    """The activities this account may see, newest first."""
    statement = visible_activities(current_user).order_by(Activity.starts_at.desc())
    return render_template("events/activities.html", page=paginate(statement))


@bp.get("/activities/<int:activity_id>")
@any_role
def activity_detail(activity_id: int):
    """Everything about one activity."""
    statement = select(Activity).where(Activity.id == activity_id)
    clause = visibility_clause(current_user)
    if clause is not None:
        statement = statement.where(clause)
    activity = db.session.scalar(statement)
    if activity is None:
        abort(404)
    changes = history("activity", activity.id) if current_user.is_staff else []
    return render_template("events/activity_detail.html", activity=activity, changes=changes)

