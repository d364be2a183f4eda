"""An activity's record (活动纪实) and photos, and the loans and mediation outcomes."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.access import any_role, roles_required
from app.auth.models import Role
from app.core.clock import utcnow
from app.core.unit_of_work import flash_after_commit
from app.core.views import save_or_show
from app.events.models import Activity
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import organisations_of_kind
from app.problems import records, services
from app.problems.forms import OutcomeForm, PhotoForm, RecordForm
from app.problems.models import (
    OUTCOME_LABELS,
    ActivityPhoto,
    ActivityRecord,
    Outcome,
    OutcomeKind,
    Problem,
)
from app.problems.queries import problem_visibility
from app.problems.views.common import visible_activity_or_404


def _may_edit_record(activity: Activity) -> bool:
    return current_user.is_staff or (current_user.role == Role.instructor and activity.organiser_id == current_user.person_id)


def _record_of(activity: Activity) -> ActivityRecord | None:
    return db.session.scalar(select(ActivityRecord).where(ActivityRecord.activity_id == activity.id))


@any_role
def activity_record(activity_id: int):
    """The activity record (活动纪实): minutes, decisions, attendance, photos, problems raised."""
    activity = visible_activity_or_404(activity_id)
    entry = _record_of(activity)
    editable = _may_edit_record(activity)
    form = RecordForm(obj=entry)
    status = 200
    if request.method == "POST":
        if not editable:
            abort(403)
        if form.validate_on_submit():
            response = save_or_show(
                form,
                lambda: records.save_record(
                    activity, minutes=form.minutes.data, decisions=form.decisions.data,
                    expected=form.expected.data, present=form.present.data, now=utcnow(),
                ),
                lambda _record: url_for("problems.activity_record", activity_id=activity.id),
                _("The activity record was saved."),
            )
            if response is not None:
                return response
        status = 422
    context = _record_context(activity, entry)
    return render_template("problems/record.html", **context, form=form, photo_form=PhotoForm(), editable=editable), status


def _record_context(activity: Activity, entry: ActivityRecord | None) -> dict:
    scope = problem_visibility(current_user)
    statement = select(Problem).where(Problem.activity_id == activity.id).order_by(Problem.id)
    if scope is not None:
        statement = statement.where(scope)
    photos = list(db.session.scalars(select(ActivityPhoto).where(ActivityPhoto.activity_id == activity.id).order_by(ActivityPhoto.id)))
    feedback, average_rating = records.ratings(activity)
    return {
        "activity": activity, "entry": entry, "problems": list(db.session.scalars(statement)), "photos": photos,
        "attendance": records.attendance(activity, entry), "attendees": records.attendees(activity),
        "ratings": feedback, "average_rating": average_rating,
    }


@any_role
def activity_record_print(activity_id: int):
    """The activity record on an A4 page, in Chinese."""
    activity = visible_activity_or_404(activity_id)
    return render_template("problems/record_print.html", **_record_context(activity, _record_of(activity)))


@any_role
def photo_upload(activity_id: int):
    """Upload a photo of the activity (JPEG, PNG or WebP, size-limited); a refusal goes back with the reason."""
    activity = visible_activity_or_404(activity_id)
    if not _may_edit_record(activity):
        abort(403)
    upload = request.files.get("photo")
    data = upload.read(records.PHOTO_LIMIT + 1) if upload else b""
    records.add_photo(activity, data, upload.filename if upload else None, current_user.person, utcnow())
    flash_after_commit(_("The photo was added."), "success")
    return redirect(url_for("problems.activity_record", activity_id=activity.id))


@any_role
def photo(photo_id: int):
    """A photo, only for accounts that may see its activity."""
    stored = db.get_or_404(ActivityPhoto, photo_id)
    visible_activity_or_404(stored.activity_id)
    path = records.upload_folder() / stored.stored_name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=stored.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Only for accounts that may see the activity: no shared cache, no copy left on disk.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@roles_required(Role.organiser)
def outcomes():
    """Loans reported by banks and disputes mediated, counted on the dashboard with the ledger."""
    form = OutcomeForm()
    form.alliance.choices = [(0, "—")] + [(a.id, a.display_name) for a in organisations_of_kind(OrgKind.alliance)]
    form.department.choices = [(0, "—")] + [(d.id, d.display_name) for d in organisations_of_kind(OrgKind.department)]
    if form.validate_on_submit():
        response = save_or_show(
            form,
            lambda: services.record_outcome(
                kind=OutcomeKind(form.kind.data), recorded_on=form.recorded_on.data, note=form.note.data, now=utcnow(),
                amount_wan=form.amount_wan.data, enterprise_count=form.enterprise_count.data, cases=form.cases.data,
                alliance_id=form.alliance.data, department_id=form.department.data,
            ),
            lambda _outcome: url_for("problems.outcomes"),
            _("The outcome was recorded."),
        )
        if response is not None:
            return response
    items = list(db.session.scalars(select(Outcome).order_by(Outcome.recorded_on.desc(), Outcome.id.desc()).limit(200)))
    status = 422 if request.method == "POST" else 200
    return render_template("problems/outcomes.html", form=form, items=items, labels=OUTCOME_LABELS), status
