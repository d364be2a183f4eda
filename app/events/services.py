"""Rules for monthly themes and activities; they flush and never commit, and take `now`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import diff, record
from app.core.clock import to_local
from app.core.errors import ValidationFailed
from app.core.i18n import format_range
from app.core.offsets import check_offsets
from app.events.conflicts import (
    MAX_DURATION,
    organisation_conflicts,
    venue_capacity,
    venue_conflicts,
)
from app.events.models import (
    Activity,
    ActivityKind,
    ActivitySeries,
    ActivityStatus,
    MonthlyTheme,
    VisitKind,
)
from app.events.signals import (
    activity_cancelled,
    activity_completed,
    activity_published,
    activity_reminders_changed,
    activity_updated,
)
from app.extensions import db
from app.orgs.models import Organisation, OrgKind, Person, Venue


def save_theme(
    theme: MonthlyTheme | None,
    *,
    year: int,
    month: int,
    title: str,
    description: str | None,
    lead_department_ids: list[int],
) -> MonthlyTheme:
    """Create or update the theme of a month; one theme per year and month."""
    if not 2000 <= year <= 2100:
        raise ValidationFailed(_("The year must be between 2000 and 2100."), "year")
    if not 1 <= month <= 12:
        raise ValidationFailed(_("Not a valid choice."), "month")
    clash = select(MonthlyTheme.id).where(MonthlyTheme.year == year, MonthlyTheme.month == month)
    if theme is not None:
        clash = clash.where(MonthlyTheme.id != theme.id)
    if db.session.scalar(clash) is not None:
        raise ValidationFailed(_("This month already has a theme."), "month")
    departments = list(
        db.session.scalars(
            select(Organisation).where(
                Organisation.id.in_(lead_department_ids), Organisation.kind == OrgKind.department
            )
        )
    )
    if len(departments) != len(set(lead_department_ids)):
        raise ValidationFailed(_("Not a valid choice."), "lead_departments")
    values = {"year": year, "month": month, "title": title, "description": description}
    if theme is None:
        theme = MonthlyTheme(**values)
        db.session.add(theme)
        theme.lead_departments = departments
        db.session.flush()
        record(theme, "create", {**{k: [None, v] for k, v in values.items()}, "lead_departments": [None, [d.id for d in departments]]})
        return theme
    changes = diff(theme, values)
    old_ids = sorted(d.id for d in theme.lead_departments)
    if old_ids != sorted(d.id for d in departments):
        changes["lead_departments"] = [old_ids, sorted(d.id for d in departments)]
        theme.lead_departments = departments
    if changes:
        record(theme, "update", changes)
    db.session.flush()
    return theme


# -- activities ------------------------------------------------------------------------------

# The iCal SEQUENCE (RFC 5545 §3.8.7.4) rules, which feeds and invitations rely on:
# - A draft was never sent to anyone: it keeps SEQUENCE 0 whatever is edited, and publishing it
#   does not raise it either (the first version attendees receive is 0).
# - On a sent (published) activity, SEQUENCE grows by exactly one per save that changes what
#   attendees must see: time (starts_at/ends_at) or place (venue, enterprise site, location note).
# - Cancelling a published activity raises it by one (calendars then strike it through);
#   cancelling a draft does not.
# - Marking an activity completed does not: the calendar entry is unchanged.
# - Title, agenda, description, capacity, co-hosts, theme are corrected silently (no change).
# Every change, visible or not, sets `updated_at` (DTSTAMP / LAST-MODIFIED) and is audited.
ATTENDEE_VISIBLE = ("starts_at", "ends_at", "venue_id", "site_id", "location_note")
REMINDER_SETTINGS = ("reminder_offsets", "answer_deadline")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)


@dataclass
class ActivityInput:
    """What an organiser enters for an activity; times are aware (UTC or display zone)."""

    kind: ActivityKind
    title: str
    host_id: int
    starts_at: datetime
    ends_at: datetime
    visit_kind: VisitKind | None = None
    agenda: str | None = None
    description: str | None = None
    theme_id: int | None = None
    alliance_id: int | None = None
    venue_id: int | None = None
    site_id: int | None = None
    location_note: str | None = None
    capacity: int | None = None
    cohost_ids: list[int] = field(default_factory=list)
    organiser_id: int | None = None
    # Minutes before the start ("1440,120"; typed as "1d, 2h"), else the host's or the default.
    reminder_offsets: str | None = None
    answer_deadline: datetime | None = None

    def columns(self) -> dict[str, Any]:
        """The values that go straight into Activity columns."""
        values = asdict(self)
        values.pop("cohost_ids")
        return values


@dataclass
class SaveResult:
    """The saved activity and the warnings the organiser should read."""

    activity: Activity
    warnings: list[str] = field(default_factory=list)


class VenueTaken(ValidationFailed):
    """The venue is held by another activity; an organiser may override with a reason."""

    def __init__(self, message: str, conflicts: list[Activity]) -> None:
        super().__init__(message, "venue_id")
        self.conflicts = conflicts


def check_times(starts_at: datetime, ends_at: datetime, field_name: str = "starts_at") -> None:
    """Refuse naive, reversed, empty or out-of-range times."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationFailed(_("Enter a valid date and time."), field_name)
    if not (EARLIEST <= starts_at < LATEST and EARLIEST <= ends_at < LATEST):
        raise ValidationFailed(_("Dates must be between the years 2000 and 2100."), field_name)
    if ends_at <= starts_at:
        raise ValidationFailed(_("The end must be after the start."), "ends_at")
    if ends_at - starts_at > MAX_DURATION:
        raise ValidationFailed(_("An activity lasts at most seven days."), "ends_at")


def _org_of_kind(org_id: int | None, kinds: tuple[OrgKind, ...], field_name: str) -> Organisation | None:
    if org_id is None:
        return None
    org = db.session.get(Organisation, org_id)
    if org is None or (kinds and org.kind not in kinds):
        raise ValidationFailed(_("Not a valid choice."), field_name)
    return org


def validate_activity(data: ActivityInput) -> list[Organisation]:
    """Check an activity's input against the rules and the database; return the co-hosts."""
    if not data.title or not data.title.strip():
        raise ValidationFailed(_("This field is required."), "title")
    data.kind = ActivityKind(data.kind)
    if data.kind == ActivityKind.visit:
        if data.visit_kind is None:
            raise ValidationFailed(_("Choose the kind of visit."), "visit_kind")
        data.visit_kind = VisitKind(data.visit_kind)
    else:
        data.visit_kind = None
    check_times(data.starts_at, data.ends_at)
    data.reminder_offsets = check_offsets(data.reminder_offsets)
    if data.answer_deadline is not None and data.answer_deadline >= data.starts_at:
        raise ValidationFailed(_("The answer deadline must be before the start."), "answer_deadline")
    if data.capacity is not None and data.capacity <= 0:
        raise ValidationFailed(_("The capacity must be a positive number."), "capacity")
    if data.venue_id is not None and data.site_id is not None:
        raise ValidationFailed(_("Choose a venue or an enterprise site, not both."), "site_id")
    if data.kind == ActivityKind.visit and data.site_id is None and data.venue_id is None:
        raise ValidationFailed(_("A visit needs the enterprise it goes to."), "site_id")
    if data.venue_id is not None and db.session.get(Venue, data.venue_id) is None:
        raise ValidationFailed(_("This venue does not exist."), "venue_id")
    if data.theme_id is not None and db.session.get(MonthlyTheme, data.theme_id) is None:
        raise ValidationFailed(_("This theme does not exist."), "theme_id")
    if data.theme_id is None and data.kind == ActivityKind.themed_day:
        # A monthly themed activity belongs to its month's theme.
        local = to_local(data.starts_at)
        data.theme_id = db.session.scalar(
            select(MonthlyTheme.id).where(MonthlyTheme.year == local.year, MonthlyTheme.month == local.month)
        )
    if _org_of_kind(data.host_id, (), "host_id") is None:
        raise ValidationFailed(_("This field is required."), "host_id")
    _org_of_kind(data.alliance_id, (OrgKind.alliance,), "alliance_id")
    _org_of_kind(data.site_id, (OrgKind.enterprise,), "site_id")
    if data.organiser_id is not None and db.session.get(Person, data.organiser_id) is None:
        raise ValidationFailed(_("Not a valid choice."), "organiser_id")
    ids = sorted(set(data.cohost_ids))
    cohosts = list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)))) if ids else []
    if len(cohosts) != len(ids):
        raise ValidationFailed(_("Not a valid choice."), "cohost_ids")
    return cohosts


def attending_org_ids(data: ActivityInput) -> list[int]:
    """The organisations that must be present: co-hosts, the visited enterprise, a non-committee host."""
    ids = set(data.cohost_ids)
    if data.site_id:
        ids.add(data.site_id)
    host = db.session.get(Organisation, data.host_id)
    if host is not None and host.kind != OrgKind.committee:
        ids.add(host.id)
    return sorted(ids)


def check_conflicts(
    data: ActivityInput, exclude_id: int | None, override_reason: str | None
) -> list[str]:
    """Refuse a taken venue (unless overridden with a reason); return warnings for the rest."""
    taken = venue_conflicts(data.venue_id, data.starts_at, data.ends_at, exclude_id)
    if taken and not (override_reason and override_reason.strip()):
        names = "、".join(f"{a.title}（{format_range(a.starts_at, a.ends_at)}）" for a in taken[:3])
        raise VenueTaken(
            _("The venue is already taken at this time by: %(activities)s.", activities=names), taken
        )
    warnings: list[str] = []
    busy = organisation_conflicts(attending_org_ids(data), data.starts_at, data.ends_at, exclude_id)
    if busy:
        orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(busy)))}
        for org_id, activities in busy.items():
            warnings.append(
                _(
                    "%(organisation)s is already at an overlapping activity: %(activities)s.",
                    organisation=orgs[org_id].display_name,
                    activities="、".join(a.title for a in activities[:3]),
                )
            )
    room = venue_capacity(data.venue_id)
    if data.capacity and room and data.capacity > room:
        warnings.append(
            _("The capacity (%(capacity)d) is above the venue's (%(room)d).", capacity=data.capacity, room=room)
        )
    if data.theme_id is not None:
        theme = db.session.get(MonthlyTheme, data.theme_id)
        local = to_local(data.starts_at)
        if theme is not None and (theme.year, theme.month) != (local.year, local.month):
            warnings.append(_("The monthly theme belongs to another month."))
    return warnings


def _plain_cohosts(orgs: list[Organisation]) -> list[int]:
    return sorted(o.id for o in orgs)


def create_activity(
    data: ActivityInput, *, now: datetime, override_reason: str | None = None,
    series: ActivitySeries | None = None, recurrence_id: datetime | None = None,
) -> SaveResult:
    """Create a draft activity after the checks; the venue override's reason goes to the audit log."""
    cohosts = validate_activity(data)
    warnings = check_conflicts(data, None, override_reason)
    note = _overridden(data, None, override_reason)  # before the new row can find itself
    activity = Activity(
        **data.columns(), status=ActivityStatus.draft, sequence=0, created_at=now, updated_at=now,
        series=series, recurrence_id=recurrence_id,
    )
    activity.cohosts = cohosts
    db.session.add(activity)
    db.session.flush()
    changes = {key: [None, value] for key, value in data.columns().items() if value is not None}
    changes["cohosts"] = [None, _plain_cohosts(cohosts)]
    record(activity, "create", changes, note=note, now=now)
    return SaveResult(activity, warnings)


def _overridden(data: ActivityInput, exclude_id: int | None, reason: str | None) -> str | None:
    if reason and venue_conflicts(data.venue_id, data.starts_at, data.ends_at, exclude_id):
        return _("Venue conflict overridden: %(reason)s", reason=reason.strip())
    return None


def _bump(activity: Activity, changes: dict[str, Any]) -> bool:
    """Raise SEQUENCE once when a sent (non-draft) activity changed visibly."""
    if activity.status != ActivityStatus.draft and any(key in changes for key in ATTENDEE_VISIBLE):
        activity.sequence += 1
        changes["sequence"] = [activity.sequence - 1, activity.sequence]
        return True
    return False


def update_activity(
    activity: Activity, data: ActivityInput, *, now: datetime, override_reason: str | None = None,
    action: str = "update", note: str | None = None,
) -> SaveResult:
    """Save changes; SEQUENCE grows only when time or place of a sent activity changed."""
    if activity.status in (ActivityStatus.cancelled, ActivityStatus.completed):
        raise ValidationFailed(_("A cancelled or completed activity can no longer be changed."))
    cohosts = validate_activity(data)
    warnings = check_conflicts(data, activity.id, override_reason)
    override_note = _overridden(data, activity.id, override_reason)
    values = data.columns()
    if activity.organiser_id is not None and values.get("organiser_id") is None:
        values.pop("organiser_id")
    changes = diff(activity, values)
    if _plain_cohosts(activity.cohosts) != _plain_cohosts(cohosts):
        changes["cohosts"] = [_plain_cohosts(activity.cohosts), _plain_cohosts(cohosts)]
        activity.cohosts = cohosts
    if not changes:
        return SaveResult(activity, warnings)
    visible = _bump(activity, changes)
    activity.updated_at = now
    db.session.flush()
    notes = [n for n in (note, override_note) if n]
    record(activity, action, changes, note="；".join(notes) or None, now=now)
    if visible:
        activity_updated.send(activity, now=now, changes=changes)
    elif activity.status == ActivityStatus.published and any(k in changes for k in REMINDER_SETTINGS):
        activity_reminders_changed.send(activity, now=now, changes=changes)
    return SaveResult(activity, warnings)


def deadline_for(data: ActivityInput, starts_at: datetime) -> datetime | None:
    """The answer deadline of an occurrence starting at `starts_at`: as long before it as in `data`."""
    if data.answer_deadline is None:
        return None
    return starts_at - (data.starts_at - data.answer_deadline)


def input_of(activity: Activity) -> ActivityInput:
    """The current values of an activity, to change a few of them."""
    return ActivityInput(
        kind=activity.kind, title=activity.title, host_id=activity.host_id,
        starts_at=activity.starts_at, ends_at=activity.ends_at, visit_kind=activity.visit_kind,
        agenda=activity.agenda, description=activity.description, theme_id=activity.theme_id,
        alliance_id=activity.alliance_id, venue_id=activity.venue_id, site_id=activity.site_id,
        location_note=activity.location_note, capacity=activity.capacity,
        cohost_ids=[o.id for o in activity.cohosts], organiser_id=activity.organiser_id,
        reminder_offsets=activity.reminder_offsets, answer_deadline=activity.answer_deadline,
    )


def reschedule_activity(
    activity: Activity, starts_at: datetime, ends_at: datetime, *, reason: str | None, now: datetime,
    override_reason: str | None = None,
) -> SaveResult:
    """Postpone or move an activity; the reason is shown on its page and kept in the audit log."""
    data = input_of(activity)
    data.answer_deadline = deadline_for(data, starts_at)  # moves with the activity
    data.starts_at, data.ends_at = starts_at, ends_at
    if (starts_at, ends_at) == (activity.starts_at, activity.ends_at):
        raise ValidationFailed(_("Choose a new time."), "starts_at")
    result = update_activity(
        activity, data, now=now, override_reason=override_reason, action="reschedule", note=reason
    )
    if reason:
        activity.status_reason = reason
    return result


def publish_activity(activity: Activity, *, now: datetime) -> Activity:
    """Draft → published. Drafts were never sent, so SEQUENCE stays as it is (0)."""
    if activity.status != ActivityStatus.draft:
        raise ValidationFailed(_("Only a draft can be published."))
    activity.status = ActivityStatus.published
    activity.updated_at = now
    db.session.flush()
    record(activity, "publish", {"status": ["draft", "published"]}, now=now)
    activity_published.send(activity, now=now)
    return activity


def cancel_activity(activity: Activity, *, reason: str, now: datetime) -> Activity:
    """Cancel with a reason; a sent activity's SEQUENCE grows so calendars strike it through."""
    if not reason or not reason.strip():
        raise ValidationFailed(_("Give the reason for cancelling."), "reason")
    if activity.status not in (ActivityStatus.draft, ActivityStatus.published):
        raise ValidationFailed(_("Only a draft or published activity can be cancelled."))
    old = activity.status
    changes: dict[str, Any] = {"status": [old.value, "cancelled"]}
    activity.status = ActivityStatus.cancelled
    activity.status_reason = reason.strip()
    if old == ActivityStatus.published:
        activity.sequence += 1
        changes["sequence"] = [activity.sequence - 1, activity.sequence]
    activity.updated_at = now
    db.session.flush()
    record(activity, "cancel", changes, note=activity.status_reason, now=now)
    activity_cancelled.send(activity, now=now, reason=activity.status_reason)
    return activity


def complete_activity(activity: Activity, *, now: datetime) -> Activity:
    """Published → completed once it has started. The calendar entry does not change (no SEQUENCE)."""
    if activity.status != ActivityStatus.published:
        raise ValidationFailed(_("Only a published activity can be marked completed."))
    if activity.starts_at > now:
        raise ValidationFailed(_("An activity can be marked completed only once it has started."))
    activity.status = ActivityStatus.completed
    activity.updated_at = now
    db.session.flush()
    record(activity, "complete", {"status": ["published", "completed"]}, now=now)
    activity_completed.send(activity, now=now)
    return activity
