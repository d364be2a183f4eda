"""The ledger, on-site entry, transitions, follow-up visits, the activity record and feedback."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.auth.access import any_role, roles_required
from app.auth.models import Role
from app.core.clock import local_to_utc, local_today, utcnow
from app.core.errors import ValidationFailed
from app.core.forms import show_failure
from app.core.pagination import paginate
from app.events.models import Activity
from app.events.queries import visible_activity_or_404 as activity_for_user
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import organisations_of_kind
from app.problems import records, services
from app.problems.forms import (
    FeedbackForm,
    FollowUpForm,
    FollowUpOutcomeForm,
    PhotoForm,
    ProblemForm,
    RecordForm,
    StepForm,
)
from app.problems.models import (
    CATEGORY_LABELS,
    EXTENSION_LABELS,
    OPEN_STATUSES,
    OUTCOME_LABELS,
    STATUS_LABELS,
    ActivityFeedback,
    ActivityPhoto,
    ActivityRecord,
    FollowUp,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Satisfaction,
)
from app.problems.queries import LedgerFilter, problem_visibility, visible_problems
from app.stats import exports

bp = Blueprint("problems", __name__)
recorders = roles_required(Role.organiser, Role.instructor)


# -- helpers -------------------------------------------------------------------

def visible_activity_or_404(activity_id: int) -> Activity:
    """The activity if the logged-in account may see it, else 404."""
    return activity_for_user(current_user, activity_id)


def visible_problem_or_404(problem_id: int) -> Problem:
    problem = db.session.scalar(visible_problems(current_user).where(Problem.id == problem_id))
    if problem is None:
        abort(404)
    return problem


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _date_arg(name: str):
    from datetime import date

    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def read_filters(user) -> LedgerFilter:
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


def filter_choices(user) -> dict:
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


# -- ledger ----------------------------------------------------------------------

@bp.get("/problems")
@any_role
def ledger():
    """The ledger (台账) this account may see, with filters."""
    filters = read_filters(current_user)
    statement = (
        visible_problems(current_user, filters)
        .options(joinedload(Problem.enterprise), joinedload(Problem.department))
        .order_by(Problem.raised_at.desc(), Problem.id.desc())
    )
    return render_template(
        "problems/ledger.html", page=paginate(statement), filters=filters, today=local_today(),
        args=request.args.to_dict(), **filter_choices(current_user),
    )


@bp.get("/problems/export.<fmt>")
@any_role
def export(fmt: str):
    """The filtered ledger as CSV (UTF-8 with BOM) or XLSX, streamed."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = read_filters(current_user)
    scope = problem_visibility(current_user)
    today = local_today()
    stamp = today.strftime("%Y%m%d")
    if fmt == "csv":
        body = (chunk.encode("utf-8") for chunk in exports.csv_stream(exports.ledger_rows(filters, scope, today), exports.headers()))
        mimetype = "text/csv; charset=utf-8"
    else:
        body = exports.xlsx_stream([(_("Problem ledger"), exports.headers(), exports.ledger_rows(filters, scope, today))])
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=ledger-{stamp}.{fmt}"
    return response


def _department_choices(form_field, blank: bool = True) -> None:
    choices = [(d.id, d.display_name) for d in organisations_of_kind(OrgKind.department)]
    form_field.choices = ([(0, _("— later —"))] if blank else []) + choices


@bp.route("/problems/new", methods=["GET", "POST"])
@recorders
def problem_new():
    """On-site entry, made for a phone: enterprise, category, what was raised, department."""
    activity_id = request.args.get("activity", type=int)
    activity = visible_activity_or_404(activity_id) if activity_id else None
    form = ProblemForm()
    enterprises = services.enterprises_for_activity(activity, current_user)
    form.enterprise.choices = [(0, _("— choose —"))] + [(e.id, e.display_name) for e in enterprises]
    _department_choices(form.department)
    if form.validate_on_submit():
        try:
            problem = services.record_problem(
                enterprise_id=form.enterprise.data,
                category=ProblemCategory(form.category.data),
                description=form.description.data,
                now=utcnow(),
                recorder=current_user.person,
                activity=activity,
                department_id=form.department.data or None,
                resolved_on_site=form.resolved_on_site.data,
                resolution=form.resolution.data,
            )
        except ValidationFailed as failure:
            db.session.rollback()
            show_failure(form, failure)
        else:
            db.session.commit()
            flash(_("The problem was recorded (No. %(id)s).", id=problem.id), "success")
            if request.form.get("another"):
                return redirect(url_for("problems.problem_new", activity=activity.id if activity else None, saved=problem.id))
            return redirect(url_for("problems.problem_detail", problem_id=problem.id))
    status = 422 if request.method == "POST" else 200
    return render_template("problems/entry.html", form=form, activity=activity), status


@bp.get("/problems/<int:problem_id>")
@any_role
def problem_detail(problem_id: int):
    """A problem, its history and the steps this account may take."""
    problem = visible_problem_or_404(problem_id)
    return _detail(problem, StepForm())


def _detail(problem: Problem, form: StepForm, failed_action: str | None = None, status: int = 200):
    _department_choices(form.department, blank=False)
    follow_ups = list(db.session.scalars(select(FollowUp).where(FollowUp.problem_id == problem.id).order_by(FollowUp.id)))
    return render_template(
        "problems/detail.html", problem=problem, form=form, actions=services.available_actions(current_user, problem),
        failed_action=failed_action, today=local_today(), follow_ups=follow_ups,
        follow_up_form=FollowUpForm(), outcome_form=FollowUpOutcomeForm(),
        default_deadline=services.default_deadline(problem.category, local_today()),
    ), status


def _run(action: str, problem: Problem, form: StepForm, now: datetime):
    actor = current_user.person
    if action == "assign":
        return services.assign(problem, actor, department_id=form.department.data, deadline=form.deadline.data, note=form.note.data, now=now)
    if action == "reassign":
        return services.reassign(problem, actor, department_id=form.department.data, deadline=form.deadline.data, reason=form.reason.data, now=now)
    if action == "start":
        return services.start(problem, actor, note=form.note.data, now=now)
    if action == "resolve":
        return services.resolve(
            problem, actor, resolution=form.resolution.data, now=now, loan_amount_wan=form.loan_amount_wan.data,
            days_before=form.days_before.data, days_after=form.days_after.data,
        )
    if action == "return":
        return services.return_problem(problem, actor, reason=form.reason.data, now=now)
    if action == "close":
        return services.close(problem, actor, note=form.note.data, now=now)
    if action == "reopen":
        return services.reopen(problem, actor, reason=form.reason.data, now=now)
    if action == "withdraw":
        return services.withdraw(problem, actor, reason=form.reason.data, now=now)
    if action == "request_extension":
        return services.request_extension(problem, actor, until=form.until.data, reason=form.reason.data, now=now)
    if action == "decide_extension":
        return services.decide_extension(problem, actor, approve=form.approve.data == "1", note=form.note.data, now=now)
    if action == "satisfaction":
        value = form.satisfaction.data
        return services.give_satisfaction(
            problem, actor, satisfaction=Satisfaction(value) if value in Satisfaction.__members__ else None,
            comment=form.comment.data, now=now,
        )
    abort(404)


@bp.post("/problems/<int:problem_id>/<action>")
@any_role
def problem_step(problem_id: int, action: str):
    """Take one step (交办, 办理, 办结, 销号 …): one transaction, or the form again with the reason."""
    if action not in services.TRANSITIONS or action == "follow_up":
        abort(404)
    problem = visible_problem_or_404(problem_id)
    if not services.allowed(current_user, action, problem):
        abort(403)
    form = StepForm()
    _department_choices(form.department, blank=False)
    if form.validate_on_submit():
        try:
            _run(action, problem, form, utcnow())
        except ValidationFailed as failure:
            db.session.rollback()
            show_failure(form, failure)
        else:
            db.session.commit()
            flash(_("Saved: %(status)s.", status=problem.status_label), "success")
            return redirect(url_for("problems.problem_detail", problem_id=problem.id))
    db.session.expire_all()
    return _detail(db.session.get(Problem, problem_id), form, failed_action=action, status=422)


@bp.post("/problems/<int:problem_id>/follow-up")
@roles_required(Role.organiser, Role.instructor)
def follow_up_new(problem_id: int):
    """Plan a follow-up visit (回访) at the enterprise."""
    problem = visible_problem_or_404(problem_id)
    if not services.allowed(current_user, "follow_up", problem):
        abort(403)
    form = FollowUpForm()
    if form.validate_on_submit():
        try:
            follow_up = services.schedule_follow_up(
                problem, current_user.person, host_id=current_user.organisation_id,
                starts_at=local_to_utc(form.starts_at.data), ends_at=local_to_utc(form.ends_at.data), now=utcnow(),
            )
        except ValidationFailed as failure:
            db.session.rollback()
            flash(failure.message, "danger")
        else:
            db.session.commit()
            flash(_("The follow-up visit was planned."), "success")
            return redirect(url_for("events.activity_detail", activity_id=follow_up.activity_id))
    else:
        flash(_("Give the start and end of the visit."), "danger")
    return redirect(url_for("problems.problem_detail", problem_id=problem.id))


@bp.post("/follow-ups/<int:follow_up_id>/outcome")
@roles_required(Role.organiser, Role.instructor)
def follow_up_outcome(follow_up_id: int):
    """Record what the follow-up visit found."""
    follow_up = db.get_or_404(FollowUp, follow_up_id)
    problem = visible_problem_or_404(follow_up.problem_id)
    form = FollowUpOutcomeForm()
    try:
        if not form.validate_on_submit():
            raise ValidationFailed(_("Say what the visit found."), "outcome")
        services.record_follow_up(follow_up, current_user.person, outcome=form.outcome.data, now=utcnow())
    except ValidationFailed as failure:
        db.session.rollback()
        flash(failure.message, "danger")
    else:
        db.session.commit()
        flash(_("The visit's outcome was recorded."), "success")
    return redirect(url_for("problems.problem_detail", problem_id=problem.id))


# -- activity record ---------------------------------------------------------------

def _may_edit_record(activity: Activity) -> bool:
    return current_user.is_staff or (current_user.role == Role.instructor and activity.organiser_id == current_user.person_id)


@bp.route("/activities/<int:activity_id>/record", methods=["GET", "POST"])
@any_role
def activity_record(activity_id: int):
    """The activity record (活动纪实): minutes, decisions, attendance, photos, problems raised."""
    activity = visible_activity_or_404(activity_id)
    entry = db.session.scalar(select(ActivityRecord).where(ActivityRecord.activity_id == activity.id))
    editable = _may_edit_record(activity)
    form = RecordForm(obj=entry)
    status = 200
    if request.method == "POST":
        if not editable:
            abort(403)
        if form.validate_on_submit():
            try:
                records.save_record(
                    activity, minutes=form.minutes.data, decisions=form.decisions.data,
                    expected=form.expected.data, present=form.present.data, now=utcnow(),
                )
            except ValidationFailed as failure:
                db.session.rollback()
                show_failure(form, failure)
            else:
                db.session.commit()
                flash(_("The activity record was saved."), "success")
                return redirect(url_for("problems.activity_record", activity_id=activity.id))
        status = 422
    return render_template("problems/record.html", **_record_context(activity, entry), form=form, photo_form=PhotoForm(), editable=editable), status


def _record_context(activity: Activity, entry: ActivityRecord | None) -> dict:
    scope = problem_visibility(current_user)
    statement = select(Problem).where(Problem.activity_id == activity.id).order_by(Problem.id)
    if scope is not None:
        statement = statement.where(scope)
    photos = list(db.session.scalars(select(ActivityPhoto).where(ActivityPhoto.activity_id == activity.id).order_by(ActivityPhoto.id)))
    return {"activity": activity, "entry": entry, "problems": list(db.session.scalars(statement)), "photos": photos}


@bp.get("/activities/<int:activity_id>/record/print")
@any_role
def activity_record_print(activity_id: int):
    """The activity record on an A4 page, in Chinese."""
    activity = visible_activity_or_404(activity_id)
    entry = db.session.scalar(select(ActivityRecord).where(ActivityRecord.activity_id == activity.id))
    return render_template("problems/record_print.html", **_record_context(activity, entry))


@bp.post("/activities/<int:activity_id>/photos")
@any_role
def photo_upload(activity_id: int):
    """Upload a photo of the activity (JPEG, PNG or WebP, size-limited)."""
    activity = visible_activity_or_404(activity_id)
    if not _may_edit_record(activity):
        abort(403)
    upload = request.files.get("photo")
    try:
        data = upload.read(records.PHOTO_LIMIT + 1) if upload else b""
        records.add_photo(activity, data, upload.filename if upload else None, current_user.person, utcnow())
    except ValidationFailed as failure:
        db.session.rollback()
        flash(failure.message, "danger")
        return redirect(url_for("problems.activity_record", activity_id=activity.id)), 303
    db.session.commit()
    flash(_("The photo was added."), "success")
    return redirect(url_for("problems.activity_record", activity_id=activity.id))


@bp.get("/photos/<int:photo_id>")
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


# -- attendee feedback ----------------------------------------------------------------

@bp.route("/activities/<int:activity_id>/feedback", methods=["GET", "POST"])
@roles_required(Role.contact)
def activity_feedback(activity_id: int):
    """An enterprise contact rates the activity, confirms what was resolved and raises a problem."""
    activity = visible_activity_or_404(activity_id)
    enterprise = current_user.person.organisation
    existing = db.session.scalar(
        select(ActivityFeedback).where(ActivityFeedback.activity_id == activity.id, ActivityFeedback.enterprise_id == enterprise.id)
    )
    form = FeedbackForm(obj=existing)
    resolved = list(
        db.session.scalars(
            select(Problem).where(Problem.enterprise_id == enterprise.id, Problem.status == ProblemStatus.resolved, Problem.satisfaction.is_(None))
        )
    )
    form.resolved.choices = [(p.id, p.description[:80]) for p in resolved]
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                services.record_attendee_feedback(
                    activity, enterprise, current_user.person, form.rating.data, form.comment.data, form.resolved.data or [],
                    {"category": ProblemCategory(form.category.data), "description": form.description.data}, now=utcnow(),
                )
            except ValidationFailed as failure:
                db.session.rollback()
                show_failure(form, failure)
            else:
                db.session.commit()
                flash(_("Thank you for your feedback."), "success")
                return redirect(url_for("events.activity_detail", activity_id=activity.id))
    return render_template("problems/feedback.html", form=form, activity=activity, existing=existing), status


def carried_forward(activity: Activity, limit: int = 20) -> list[Problem]:
    """Unresolved problems from earlier activities of the same alliance or theme (for the template)."""
    from sqlalchemy import or_

    same = []
    if activity.alliance_id:
        same.append(Activity.alliance_id == activity.alliance_id)
    if activity.theme_id:
        same.append(Activity.theme_id == activity.theme_id)
    if not same:
        return []
    earlier = select(Activity.id).where(or_(*same), Activity.starts_at < activity.starts_at, Activity.id != activity.id)
    statement = (
        select(Problem).where(Problem.activity_id.in_(earlier), Problem.status.in_(OPEN_STATUSES))
        .order_by(Problem.raised_at).limit(limit)
    )
    scope = problem_visibility(current_user)
    if scope is not None:
        statement = statement.where(scope)
    return list(db.session.scalars(statement))


STEP_LABELS = {
    "record": _l("Recorded"), "resolve_on_site": _l("Resolved on site"), "assign": _l("Assigned"),
    "reassign": _l("Reassigned"), "start": _l("Started"), "resolve": _l("Resolved"), "return": _l("Returned"),
    "close": _l("Closed out"), "reopen": _l("Reopened"), "withdraw": _l("Withdrawn"),
    "request_extension": _l("Extension requested"), "approve_extension": _l("Extension approved"),
    "refuse_extension": _l("Extension refused"), "satisfaction": _l("Satisfaction given"),
    "schedule_follow_up": _l("Follow-up visit planned"), "follow_up_outcome": _l("Follow-up visit recorded"),
}


@bp.app_context_processor
def inject_helpers() -> dict:
    return {
        "carried_forward": carried_forward, "STEP_LABELS": STEP_LABELS, "STATUS_LABELS": STATUS_LABELS,
        "EXTENSION_LABELS": EXTENSION_LABELS, "PROBLEM_CATEGORY_LABELS": CATEGORY_LABELS,
    }


def max_upload_mb() -> int:
    return current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)


@bp.route("/outcomes", methods=["GET", "POST"])
@roles_required(Role.organiser)
def outcomes():
    """Loans reported by banks and disputes mediated, counted on the dashboard with the ledger."""
    from app.problems.forms import OutcomeForm
    from app.problems.models import Outcome, OutcomeKind

    form = OutcomeForm()
    form.alliance.choices = [(0, "—")] + [(a.id, a.display_name) for a in organisations_of_kind(OrgKind.alliance)]
    form.department.choices = [(0, "—")] + [(d.id, d.display_name) for d in organisations_of_kind(OrgKind.department)]
    status = 200
    if form.validate_on_submit():
        try:
            services.record_outcome(
                kind=OutcomeKind(form.kind.data), recorded_on=form.recorded_on.data, note=form.note.data, now=utcnow(),
                amount_wan=form.amount_wan.data, enterprise_count=form.enterprise_count.data, cases=form.cases.data,
                alliance_id=form.alliance.data, department_id=form.department.data,
            )
        except ValidationFailed as failure:
            db.session.rollback()
            show_failure(form, failure)
        else:
            db.session.commit()
            flash(_("The outcome was recorded."), "success")
            return redirect(url_for("problems.outcomes"))
    if request.method == "POST":
        status = 422
    items = list(db.session.scalars(select(Outcome).order_by(Outcome.recorded_on.desc(), Outcome.id.desc()).limit(200)))
    return render_template("problems/outcomes.html", form=form, items=items, labels=OUTCOME_LABELS), status
