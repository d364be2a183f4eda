"""The holiday calendar page: which years are official or provisional; entering the State Council's notice."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.auth.access import roles_required
from app.core.clock import local_today, utcnow
from app.core.unit_of_work import flash_after_commit
from app.core.views import form_page
from app.workcal import services
from app.workcal.forms import ArrangementForm, YearForm
from app.workcal.models import FESTIVAL_LABELS, Festival

bp = Blueprint("workcal", __name__)
administrators = roles_required()


@bp.get("/holidays")
@administrators
def years():
    """List the years with their status, and open a year to enter its arrangement."""
    picker = YearForm(request.args)
    if request.args and picker.validate():
        return redirect(url_for("workcal.arrangement", year=picker.year.data))
    return render_template(
        "workcal/years.html", calendars=services.years_overview(local_today()), picker=picker, labels=FESTIVAL_LABELS
    )


@bp.route("/holidays/<year:year>", methods=["GET", "POST"])
@administrators
def arrangement(year: int):
    """Enter or edit the State Council's arrangement of a year (prefilled with what is known)."""
    if not services.FIRST_YEAR <= year <= services.LAST_YEAR:
        abort(404)
    calendar = services.year_calendar(year)
    form = ArrangementForm()
    if request.method == "GET":
        form.fill(calendar)
    return form_page(
        form,
        save=lambda: services.save_arrangement(form.to_input(year), now=utcnow()),
        done=lambda _saved: url_for("workcal.years"),
        message=_("The holiday arrangement for %(year)d was saved.", year=year),
        template="workcal/arrangement.html",
        year=year,
        calendar=calendar,
        festivals=list(Festival),
    )


@bp.post("/holidays/<year:year>/delete")
@administrators
def delete(year: int):
    """Remove an entered arrangement: the year goes back to the built-in calendar."""
    if services.delete_arrangement(year, now=utcnow()):
        flash_after_commit(_("The holiday arrangement for %(year)d was removed.", year=year), "success")
    return redirect(url_for("workcal.years"))
