"""The activity list and page, the activity forms and the actions on an activity.

Each view is form → service → redirect: the request's unit of work commits (or rolls back a
refusal), `form_page`/`save_or_show` show a refusal on the form, app/main/errors.py elsewhere.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.audit.display import readable
from app.audit.services import history
from app.auth.access import any_role, roles_required
from app.auth.models import Role
from app.core.clock import local_to_utc, local_today, to_local, utcnow
from app.core.errors import ValidationFailed
from app.core.forms import show_failure
from app.core.inputs import arg_choice, arg_datetime, arg_id, arg_ids, arg_text
from app.core.offsets import format_offsets
from app.core.pagination import paginate
from app.core.unit_of_work import flash_after_commit
from app.core.views import save_or_show
from app.events.checks import ActivityInput, invitee_warnings
from app.events.editing import (
    ActivityEdit,
    Saved,
    free_slots_if_taken,
    reschedule,
    rescheduled_input,
    save_activity,
)
from app.events.forms import ActivityForm, ReasonForm, RescheduleForm, SlotForm
from app.events.locking import lock_activity
from app.events.models import Activity, ActivityKind, ActivitySeries, MonthlyTheme, VisitKind
from app.events.queries import filtered, visible_activities, visible_activity_or_404
from app.events.series import cancel_occurrence, describe, occurrences, publish_series
from app.events.series_words import HolidayPolicy
from app.events.services import SaveResult, cancel_activity, complete_activity, publish_activity
from app.events.slots import DEFAULT_WORKING_HOURS, find_slots, parse_working_hours
from app.events.staleness import fingerprint
from app.events.views.blueprint import bp
from app.extensions import db
from app.orgs.models import OrgKind, Venue
from app.orgs.services import organisations_of_kind

staff = roles_required(Role.organiser)


@bp.get("/activities")
@any_role
def activities():
    """The activities this account may see, newest first."""
    statement = visible_activities(current_user).order_by(Activity.starts_at.desc())
    return render_template("events/activities.html", page=paginate(statement))


@bp.get("/activities/<id:activity_id>")
@any_role
def activity_detail(activity_id: int):
    """Everything about one activity."""
    activity = visible_activity_or_404(current_user, activity_id)
    changes = [readable(entry) for entry in history("activity", activity.id)] if current_user.is_staff else []
    siblings = []
    if activity.series_id:
        siblings = db.session.scalars(
            filtered(visible_activities(current_user), MultiDict())
            .where(Activity.series_id == activity.series_id)
            .order_by(Activity.starts_at)
        ).all()
    return render_template(
        "events/activity_detail.html", activity=activity, changes=changes, siblings=siblings,
        now=utcnow(),
        rule_words=describe(activity.series.rrule) if activity.series else None,
    )


# -- activity forms ------------------------------------------------------------------------------

def _choices(form: ActivityForm) -> None:
    none = [(0, "—")]
    form.theme_id.choices = none + [
        (t.id, f"{t.year}-{t.month:02d} {t.title}")
        for t in db.session.scalars(select(MonthlyTheme).order_by(MonthlyTheme.year.desc(), MonthlyTheme.month))
    ]
    # The committee first: it hosts most activities and is the default.
    hosts = [o for kind in (OrgKind.committee, OrgKind.alliance, OrgKind.department) for o in organisations_of_kind(kind)]
    form.host_id.choices = [(o.id, o.name) for o in hosts]
    form.alliance_id.choices = none + [(o.id, o.name) for o in organisations_of_kind(OrgKind.alliance)]
    form.cohost_ids.choices = [(o.id, o.display_name) for o in organisations_of_kind(OrgKind.department, OrgKind.alliance)]
    form.venue_id.choices = none + _venue_choices(with_capacity=True)
    form.site_id.choices = none + [(o.id, o.name) for o in organisations_of_kind(OrgKind.enterprise)]


def _venue_choices(*, with_capacity: bool) -> list[tuple[int, str]]:
    venues = db.session.scalars(select(Venue).where(Venue.active.is_(True)).order_by(Venue.name))
    return [(v.id, _("%(name)s (%(detail)s)", name=v.name, detail=v.capacity) if with_capacity else v.name) for v in venues]


def _local_naive(value):
    return to_local(value).replace(tzinfo=None, second=0, microsecond=0)


def _prefill(form: ActivityForm) -> None:
    """A new activity's form from the query string (e.g. a slot picked in the finder)."""
    args = request.args
    for name in ("starts_at", "ends_at"):
        value = arg_datetime(name)
        if value:
            getattr(form, name).data = value.replace(second=0, microsecond=0)
    for name in ("venue_id", "theme_id", "alliance_id", "site_id", "host_id"):
        if arg_id(name):
            getattr(form, name).data = arg_id(name)
    if arg_choice("kind", ActivityKind):
        form.kind.data = args["kind"]
    known = {value for value, _label in form.cohost_ids.choices}
    if arg_ids("cohost_ids"):
        form.cohost_ids.data = [i for i in arg_ids("cohost_ids") if i in known]
    if arg_text("title", 200):
        form.title.data = arg_text("title", 200)


def _fill(form: ActivityForm, activity: Activity) -> None:
    """An existing activity's form, with the version it is opened on."""
    form.kind.data = activity.kind.value
    form.visit_kind.data = activity.visit_kind.value if activity.visit_kind else ""
    form.starts_at.data = _local_naive(activity.starts_at)
    form.ends_at.data = _local_naive(activity.ends_at)
    form.cohost_ids.data = [o.id for o in activity.cohosts]
    form.reminder_offsets.data = format_offsets(activity.reminder_offsets)
    form.answer_deadline.data = _local_naive(activity.answer_deadline) if activity.answer_deadline else None
    for name in ("theme_id", "alliance_id", "venue_id", "site_id"):
        getattr(form, name).data = getattr(activity, name) or 0
    form.rrule.data = None
    form.version.data, form.seen.data = activity.version, fingerprint(activity)


def _input(form: ActivityForm, organiser_id: int | None) -> ActivityInput:
    return ActivityInput(
        kind=ActivityKind(form.kind.data),
        visit_kind=VisitKind(form.visit_kind.data) if form.visit_kind.data else None,
        title=form.title.data,
        host_id=form.host_id.data,
        starts_at=local_to_utc(form.starts_at.data),
        ends_at=local_to_utc(form.ends_at.data),
        agenda=form.agenda.data,
        description=form.description.data,
        theme_id=form.theme_id.data or None,
        alliance_id=form.alliance_id.data or None,
        venue_id=form.venue_id.data or None,
        site_id=form.site_id.data or None,
        location_note=form.location_note.data,
        capacity=form.capacity.data,
        cohost_ids=list(form.cohost_ids.data or []),
        reminder_offsets=form.reminder_offsets.data,
        answer_deadline=local_to_utc(form.answer_deadline.data) if form.answer_deadline.data else None,
        organiser_id=organiser_id,
    )


def _edit(form: ActivityForm, activity: Activity | None) -> ActivityEdit:
    return ActivityEdit(
        data=_input(form, activity.organiser_id if activity else current_user.person_id),
        publish=request.form.get("action") == "publish",
        rule=form.rrule.data,
        exception_days=form.exception_dates(),
        words=form.series_words(),
        holidays=HolidayPolicy(form.holidays.data),  # a choice the form has validated
        scope=form.scope.data,
        override=bool(form.override.data),
        override_reason=form.override_reason.data,
        version=form.version.data,
        seen=form.seen.data,
    )


def _shown(saved: Saved | SaveResult) -> str:
    """Announce the warnings (after the commit) and go to the activity's page."""
    for warning in saved.warnings:
        flash_after_commit(warning, "warning")
    return url_for("events.activity_detail", activity_id=saved.activity.id)


def _activity_form(form: ActivityForm, activity: Activity | None):
    """Save a submitted activity form and redirect, or show it (with free slots if the venue is taken)."""
    slots = None  # a list (maybe empty) only when the venue is taken
    if form.validate_on_submit():
        edit = _edit(form, activity)
        done = save_or_show(
            form, lambda: save_activity(activity, edit, now=utcnow()), _shown, lambda saved: saved.message
        )
        if done is not None:
            return done
        if form.venue_id.errors:
            slots = free_slots_if_taken(edit.data, activity.id if activity else None, utcnow())
    return render_template("events/activity_form.html", form=form, activity=activity, slots=slots)


@bp.route("/activities/new", methods=["GET", "POST"])
@staff
def activity_new():
    """Create an activity or a series."""
    form = ActivityForm()
    _choices(form)
    if request.method == "GET":
        _prefill(form)
    return _activity_form(form, None)


@bp.route("/activities/<id:activity_id>/edit", methods=["GET", "POST"])
@staff
def activity_edit(activity_id: int):
    """Edit an activity (one occurrence, or this and following of a series)."""
    activity = db.get_or_404(Activity, activity_id)
    form = ActivityForm(obj=activity)
    _choices(form)
    if request.method == "GET":
        _fill(form, activity)
    return _activity_form(form, activity)


@bp.route("/activities/<id:activity_id>/reschedule", methods=["GET", "POST"])
@staff
def activity_reschedule(activity_id: int):
    """Postpone or move an activity to a new time."""
    activity = db.get_or_404(Activity, activity_id)
    form = RescheduleForm()
    if request.method == "GET":
        form.starts_at.data = _local_naive(activity.starts_at)
        form.ends_at.data = _local_naive(activity.ends_at)
        form.version.data, form.seen.data = activity.version, fingerprint(activity)
    slots = None
    if form.validate_on_submit():
        starts_at, ends_at = local_to_utc(form.starts_at.data), local_to_utc(form.ends_at.data)
        done = save_or_show(
            form,
            lambda: reschedule(
                activity, starts_at, ends_at, reason=form.reason.data, override_reason=form.override_reason.data,
                version=form.version.data, seen=form.seen.data, now=utcnow(),
            ),
            _shown,
            _("The activity was rescheduled."),
        )
        if done is not None:
            return done
        slots = free_slots_if_taken(rescheduled_input(activity, starts_at, ends_at), activity.id, utcnow())
    return render_template("events/reschedule.html", form=form, activity=activity, slots=slots)


# -- actions on an activity ----------------------------------------------------------------------

def _action(activity_id: int, run, message: str):
    """Run a transition on the activity as the page showed it; a refusal goes back with the reason."""
    activity = db.get_or_404(Activity, activity_id)
    activity = lock_activity(activity, request.form.get("version", type=int))
    run(activity, utcnow())
    flash_after_commit(message, "success")
    return redirect(url_for("events.activity_detail", activity_id=activity_id))


@bp.post("/activities/<id:activity_id>/publish")
@staff
def activity_publish(activity_id: int):
    """Publish a draft."""
    def publish(activity: Activity, now) -> None:
        publish_activity(activity, now=now)
        for warning in invitee_warnings(activity):  # told, not refused
            flash_after_commit(warning, "warning")

    return _action(activity_id, publish, _("The activity was published."))


@bp.post("/activities/<id:activity_id>/complete")
@staff
def activity_complete(activity_id: int):
    """Mark an activity completed."""
    return _action(activity_id, lambda a, now: complete_activity(a, now=now), _("The activity was marked completed."))


@bp.post("/activities/<id:activity_id>/cancel")
@staff
def activity_cancel(activity_id: int):
    """Cancel an activity (or one occurrence of a series) with a reason."""
    form = ReasonForm()
    reason = form.reason.data if form.validate() else ""

    def run(activity, now):
        if activity.series_id:
            cancel_occurrence(activity, reason=reason, now=now)
        else:
            cancel_activity(activity, reason=reason, now=now)

    return _action(activity_id, run, _("The activity was cancelled."))


@bp.post("/series/<id:series_id>/publish")
@staff
def series_publish(series_id: int):
    """Publish every draft occurrence of a series."""
    series = db.get_or_404(ActivitySeries, series_id)
    count = publish_series(series, now=utcnow())
    flash_after_commit(_("%(n)d occurrences were published.", n=count), "success")
    first = occurrences(series)
    return redirect(url_for("events.activity_detail", activity_id=first[0].id) if first else url_for("events.calendar_month"))


# -- slot finder ---------------------------------------------------------------------------------

@bp.get("/activities/slots")
@staff
def slot_finder():
    """Propose the earliest free slots for a venue and organisations on China's working calendar."""
    form = SlotForm(request.args)
    form.venue_id.choices = [(0, "—")] + _venue_choices(with_capacity=False)
    form.org_ids.choices = [
        (o.id, o.display_name) for o in organisations_of_kind(OrgKind.department, OrgKind.alliance, OrgKind.enterprise)
    ]
    today = local_today()
    if not request.args:
        form.date_from.data, form.date_to.data = today, today + timedelta(days=30)
        form.working_hours.data = current_app.config.get("WORKING_HOURS", DEFAULT_WORKING_HOURS)
    search = None
    if request.args and form.validate():
        try:
            search = find_slots(
                duration=timedelta(minutes=form.duration.data), date_from=form.date_from.data,
                date_to=form.date_to.data, venue_id=form.venue_id.data or None, org_ids=form.org_ids.data,
                working_hours=parse_working_hours(form.working_hours.data), now=utcnow(), limit=20,
            )
        except ValidationFailed as failure:  # a search (GET) that writes nothing: show why on the form
            show_failure(form, failure)
    return render_template("events/slots.html", form=form, search=search)
