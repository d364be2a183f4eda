"""Monthly themes and the activity list and pages."""

from __future__ import annotations

import calendar
import contextlib
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.audit.services import history
from app.auth.access import any_role, roles_required
from app.auth.models import Role
from app.core.clock import local_day_bounds, local_to_utc, local_today, to_local, utcnow
from app.core.errors import ValidationFailed
from app.core.forms import show_failure
from app.core.offsets import format_offsets
from app.core.pagination import paginate
from app.core.views import form_page
from app.events.forms import ActivityForm, ReasonForm, RescheduleForm, SlotForm, ThemeForm
from app.events.models import (
    ACTIVITY_KIND_LABELS,
    ACTIVITY_STATUS_LABELS,
    Activity,
    ActivityKind,
    ActivitySeries,
    ActivityStatus,
    MonthlyTheme,
    VisitKind,
)
from app.events.queries import (
    FILTERS,
    filtered,
    in_range,
    visible_activities,
    visible_activity_or_404,
)
from app.events.series import (
    cancel_occurrence,
    create_series,
    describe,
    occurrences,
    publish_series,
    split_series,
)
from app.events.services import (
    ActivityInput,
    VenueTaken,
    attending_org_ids,
    cancel_activity,
    complete_activity,
    create_activity,
    input_of,
    publish_activity,
    reschedule_activity,
    save_theme,
    update_activity,
)
from app.events.slots import DEFAULT_WORKING_HOURS, find_slots, parse_working_hours
from app.extensions import db
from app.orgs.models import OrgKind, Venue
from app.orgs.services import organisations_of_kind

bp = Blueprint("events", __name__)

# How the activity's history names actions and fields.
ACTION_LABELS = {
    "create": _l("Activity created"),
    "update": _l("Changed"),
    "update_following": _l("Changed with the following occurrences"),
    "publish": _l("Published"),
    "reschedule": _l("Rescheduled"),
    "cancel": _l("Cancelled"),
    "complete": _l("Completed"),
}
FIELD_LABELS = {
    "kind": _l("Kind"), "visit_kind": _l("Kind of visit"), "title": _l("Title"), "starts_at": _l("Starts"),
    "ends_at": _l("Ends"), "theme_id": _l("Monthly theme"), "host_id": _l("Host"), "alliance_id": _l("Alliance"),
    "cohosts": _l("Co-hosting departments"), "venue_id": _l("Venue"), "site_id": _l("Enterprise site"),
    "location_note": _l("Location note"), "capacity": _l("Capacity"), "agenda": _l("Agenda"),
    "description": _l("Description"), "status": _l("Status"), "sequence": _l("Calendar revision"),
    "organiser_id": _l("Organiser"),
}


@bp.get("/themes")
@any_role
def themes():
    """The year's twelve monthly themes."""
    year = request.args.get("year", type=int) or local_today().year
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
    activity = visible_activity_or_404(current_user, activity_id)
    changes = history("activity", activity.id) if current_user.is_staff else []
    siblings = []
    if activity.series_id:
        siblings = db.session.scalars(
            filtered(visible_activities(current_user), MultiDict())
            .where(Activity.series_id == activity.series_id)
            .order_by(Activity.starts_at)
        ).all()
    return render_template(
        "events/activity_detail.html", activity=activity, changes=changes, siblings=siblings,
        action_labels=ACTION_LABELS, field_labels=FIELD_LABELS, now=utcnow(),
        rule_words=describe(activity.series.rrule) if activity.series else None,
    )



# -- activity forms and actions ---------------------------------------------------------------

staff = roles_required(Role.organiser)


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
    form.venue_id.choices = none + [
        (v.id, f"{v.name}（{v.capacity}）")
        for v in db.session.scalars(select(Venue).where(Venue.active.is_(True)).order_by(Venue.name))
    ]
    form.site_id.choices = none + [(o.id, o.name) for o in organisations_of_kind(OrgKind.enterprise)]


def _local_naive(value):
    return to_local(value).replace(tzinfo=None, second=0, microsecond=0)


def _prefill(form: ActivityForm) -> None:
    """A new activity's form from the query string (e.g. a slot picked in the finder)."""
    args = request.args
    for name in ("starts_at", "ends_at"):
        value = args.get(name)
        if value:
            with contextlib.suppress(ValueError):
                getattr(form, name).data = datetime.fromisoformat(value).replace(second=0, microsecond=0)
    for name in ("venue_id", "theme_id", "alliance_id", "site_id", "host_id"):
        if args.get(name, type=int):
            getattr(form, name).data = args.get(name, type=int)
    if args.get("kind") in ActivityKind.__members__:
        form.kind.data = args["kind"]
    known = {value for value, _label in form.cohost_ids.choices}
    if args.getlist("cohost_ids", type=int):
        form.cohost_ids.data = [i for i in args.getlist("cohost_ids", type=int) if i in known]
    if args.get("title"):
        form.title.data = args["title"][:200]


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


def _free_slots_near(data: ActivityInput, exclude_id: int | None) -> list:
    """Free slots from the day of the blocked time, to offer in the form."""
    day = to_local(data.starts_at).date()
    try:
        return find_slots(
            duration=data.ends_at - data.starts_at, date_from=day, date_to=day + timedelta(days=14),
            venue_id=data.venue_id, org_ids=attending_org_ids(data), limit=6, now=utcnow(),
            exclude_id=exclude_id,
        ).slots
    except ValidationFailed:
        return []


def _save_form(form: ActivityForm, activity: Activity | None):
    """Run the right service for the form; commit and redirect, or return the free slots offered."""
    now = utcnow()
    override = form.override_reason.data if form.override.data else None
    if form.override.data and not override:
        form.override_reason.errors = [_("Give the reason for using the venue anyway.")]
        return None, None
    data = _input(form, activity.organiser_id if activity else current_user.person_id)
    publish = request.form.get("action") == "publish"
    try:
        if activity is None and form.rrule.data:
            days = form.exception_dates()
            if days is None:
                raise ValidationFailed(_("Enter dates as 2026-10-01, separated by commas."), "exception_days")
            new_series, results = create_series(data, form.rrule.data, exception_days=days, now=now, override_reason=override)
            if publish:
                publish_series(new_series, now=now)
            warnings = [w for r in results for w in r.warnings]
            saved = results[0].activity
            flash(_("The series was saved with %(n)d occurrences.", n=len(results)), "success")
        elif activity is None:
            result = create_activity(data, now=now, override_reason=override)
            saved, warnings = result.activity, result.warnings
            if publish:
                publish_activity(saved, now=now)
            flash(_("The activity was saved."), "success")
        elif activity.series_id and form.scope.data == "following":
            _series, results = split_series(activity, data, rule_value=form.rrule.data, now=now, override_reason=override)
            saved = activity if activity in db.session else results[0].activity
            warnings = [w for r in results for w in r.warnings]
            flash(_("This and the following occurrences were changed."), "success")
        else:
            result = update_activity(activity, data, now=now, override_reason=override)
            saved, warnings = result.activity, result.warnings
            if publish and saved.status == ActivityStatus.draft:
                publish_activity(saved, now=now)
            flash(_("The activity was saved."), "success")
    except VenueTaken as failure:
        db.session.rollback()
        show_failure(form, failure)
        return None, _free_slots_near(data, activity.id if activity else None)
    except ValidationFailed as failure:
        db.session.rollback()
        show_failure(form, failure)
        return None, None
    db.session.commit()
    for warning in dict.fromkeys(warnings):
        flash(warning, "warning")
    return redirect(url_for("events.activity_detail", activity_id=saved.id)), None


@bp.route("/activities/new", methods=["GET", "POST"])
@staff
def activity_new():
    """Create an activity or a series."""
    form = ActivityForm()
    _choices(form)
    if request.method == "GET":
        _prefill(form)
    slots = None  # a list (maybe empty) only when the venue is taken
    if form.validate_on_submit():
        done, slots = _save_form(form, None)
        if done:
            return done
    return render_template("events/activity_form.html", form=form, activity=None, slots=slots)


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@staff
def activity_edit(activity_id: int):
    """Edit an activity (one occurrence, or this and following of a series)."""
    activity = db.get_or_404(Activity, activity_id)
    form = ActivityForm(obj=activity)
    _choices(form)
    if request.method == "GET":
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
    slots = None  # a list (maybe empty) only when the venue is taken
    if form.validate_on_submit():
        done, slots = _save_form(form, activity)
        if done:
            return done
    return render_template("events/activity_form.html", form=form, activity=activity, slots=slots)


def _action(activity_id: int, run, message: str):
    activity = db.get_or_404(Activity, activity_id)
    try:
        run(activity, utcnow())
    except ValidationFailed as failure:
        db.session.rollback()
        flash(failure.message, "danger")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("events.activity_detail", activity_id=activity_id))


@bp.post("/activities/<int:activity_id>/publish")
@staff
def activity_publish(activity_id: int):
    """Publish a draft."""
    return _action(activity_id, lambda a, now: publish_activity(a, now=now), _("The activity was published."))


@bp.post("/activities/<int:activity_id>/complete")
@staff
def activity_complete(activity_id: int):
    """Mark an activity completed."""
    return _action(activity_id, lambda a, now: complete_activity(a, now=now), _("The activity was marked completed."))


@bp.post("/activities/<int:activity_id>/cancel")
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


@bp.route("/activities/<int:activity_id>/reschedule", methods=["GET", "POST"])
@staff
def activity_reschedule(activity_id: int):
    """Postpone or move an activity to a new time."""
    activity = db.get_or_404(Activity, activity_id)
    form = RescheduleForm()
    if request.method == "GET":
        form.starts_at.data = _local_naive(activity.starts_at)
        form.ends_at.data = _local_naive(activity.ends_at)
    slots = None
    if form.validate_on_submit():
        starts_at, ends_at = local_to_utc(form.starts_at.data), local_to_utc(form.ends_at.data)
        try:
            result = reschedule_activity(
                activity, starts_at, ends_at,
                reason=form.reason.data, now=utcnow(), override_reason=form.override_reason.data,
            )
        except VenueTaken as failure:
            db.session.rollback()
            show_failure(form, failure)
            wanted = input_of(activity)
            wanted.starts_at, wanted.ends_at = starts_at, ends_at
            slots = _free_slots_near(wanted, activity.id)
        except ValidationFailed as failure:
            db.session.rollback()
            show_failure(form, failure)
        else:
            db.session.commit()
            flash(_("The activity was rescheduled."), "success")
            for warning in result.warnings:
                flash(warning, "warning")
            return redirect(url_for("events.activity_detail", activity_id=activity.id))
    return render_template("events/reschedule.html", form=form, activity=activity, slots=slots)


@bp.post("/series/<int:series_id>/publish")
@staff
def series_publish(series_id: int):
    """Publish every draft occurrence of a series."""
    series = db.get_or_404(ActivitySeries, series_id)
    count = publish_series(series, now=utcnow())
    db.session.commit()
    flash(_("%(n)d occurrences were published.", n=count), "success")
    first = occurrences(series)
    return redirect(url_for("events.activity_detail", activity_id=first[0].id) if first else url_for("events.calendar_month"))


# -- slot finder ------------------------------------------------------------------------------

@bp.get("/activities/slots")
@staff
def slot_finder():
    """Propose the earliest free slots for a venue and organisations on China's working calendar."""
    form = SlotForm(request.args)
    form.venue_id.choices = [(0, "—")] + [
        (v.id, v.name) for v in db.session.scalars(select(Venue).where(Venue.active.is_(True)).order_by(Venue.name))
    ]
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
        except ValidationFailed as failure:
            show_failure(form, failure)
    return render_template("events/slots.html", form=form, search=search)


# -- calendar views ---------------------------------------------------------------------------

def _filter_options() -> dict:
    return {
        "kinds": ACTIVITY_KIND_LABELS,
        "statuses": ACTIVITY_STATUS_LABELS,
        "alliances": organisations_of_kind(OrgKind.alliance),
        "themes": db.session.scalars(select(MonthlyTheme).order_by(MonthlyTheme.year.desc(), MonthlyTheme.month)).all(),
        # Departments and alliances; an enterprise's activities are filtered from a link (?organisation=id).
        "organisations": organisations_of_kind(OrgKind.department, OrgKind.alliance)
        if current_user.is_staff or current_user.role == Role.liaison else [],
        "filter_args": {k: v for k, v in request.args.items() if k in FILTERS and v},
    }


def _by_day(activities: list[Activity]) -> dict:
    days: dict = {}
    for a in activities:
        first, last = to_local(a.starts_at).date(), to_local(a.ends_at - timedelta(seconds=1)).date()
        day = first
        while day <= last:
            days.setdefault(day, []).append(a)
            day += timedelta(days=1)
    return days


def _day_arg(name: str, default: date) -> date:
    try:
        value = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default
    if not 2000 <= value.year <= 2100:
        abort(404)
    return value


@bp.get("/calendar")
@any_role
def calendar_month():
    """A month grid of the activities this account may see."""
    today = local_today()
    year = request.args.get("year", type=int) or today.year
    month = request.args.get("month", type=int) or today.month
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        abort(404)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    starts, _end = local_day_bounds(weeks[0][0])
    _start, ends = local_day_bounds(weeks[-1][-1])
    activities = in_range(current_user, starts, ends, request.args)
    previous = date(year, month, 1) - timedelta(days=1)
    following = date(year, month, 28) + timedelta(days=7)
    return render_template(
        "events/calendar_month.html", year=year, month=month, weeks=weeks, days=_by_day(activities),
        today=today, previous=previous, following=following, view="month", **_filter_options(),
    )


@bp.get("/calendar/week")
@any_role
def calendar_week():
    """One week, day by day."""
    day = _day_arg("day", local_today())
    monday = day - timedelta(days=day.weekday())
    starts, _end = local_day_bounds(monday)
    _start, ends = local_day_bounds(monday + timedelta(days=6))
    activities = in_range(current_user, starts, ends, request.args)
    week = [monday + timedelta(days=i) for i in range(7)]
    return render_template(
        "events/calendar_week.html", week=week, days=_by_day(activities), today=local_today(),
        previous=monday - timedelta(days=7), following=monday + timedelta(days=7), view="week",
        **_filter_options(),
    )


@bp.get("/calendar/agenda")
@any_role
def calendar_agenda():
    """A list of the coming activities (60 days from a date)."""
    day = _day_arg("day", local_today())
    starts, _end = local_day_bounds(day)
    _start, ends = local_day_bounds(day + timedelta(days=59))
    activities = in_range(current_user, starts, ends, request.args)
    return render_template(
        "events/calendar_agenda.html", start=day, days=_by_day(activities), today=local_today(),
        previous=day - timedelta(days=60), following=day + timedelta(days=60), view="agenda",
        **_filter_options(),
    )


# -- year plan --------------------------------------------------------------------------------

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


@bp.get("/themes/plan/<int:year>/print")
@any_role
def year_plan_print(year: int):
    """The year plan on A4, in Chinese, for printing."""
    if not 2000 <= year <= 2100:
        abort(404)
    themes, by_month, visits = _year_plan(year)
    with force_locale("zh_CN"):
        return render_template("events/year_plan_print.html", year=year, themes=themes, by_month=by_month, visits=visits)
