"""What an organiser enters for an activity, and the checks it must pass before it is saved.

The venue check runs under the venue's lock (app/events/locking.py), so that two organisers
booking one venue at once take turns: the second sees the first's booking and is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.clock import to_local
from app.core.errors import ValidationFailed
from app.core.i18n import format_range
from app.core.offsets import check_offsets
from app.events.conflicts import (
    MAX_DURATION,
    organisation_conflicts,
    registered_attendees,
    venue_capacity,
    venue_conflicts,
)
from app.events.locking import lock_venue
from app.events.models import Activity, ActivityKind, MonthlyTheme, VisitKind
from app.extensions import db
from app.orgs.models import Organisation, OrgKind, Person, Venue

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


class VenueTaken(ValidationFailed):
    """The venue is held by another activity; an organiser may override with a reason."""

    def __init__(self, message: str, conflicts: list[Activity]) -> None:
        super().__init__(message, "venue_id")
        self.conflicts = conflicts


def venue_taken(
    venue_id: int | None, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> VenueTaken:
    """The refusal naming the activities that hold the venue at this time."""
    taken = venue_conflicts(venue_id, starts_at, ends_at, exclude_id)
    names = "、".join(f"{a.title}（{format_range(a.starts_at, a.ends_at)}）" for a in taken[:3])
    return VenueTaken(_("The venue is already taken at this time by: %(activities)s.", activities=names), taken)


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


def busy_warnings(
    org_ids: list[int], starts_at: datetime, ends_at: datetime, exclude_id: int | None
) -> list[str]:
    """One warning per organisation already at (hosting, visited, invited to…) an overlapping activity."""
    busy = organisation_conflicts(org_ids, starts_at, ends_at, exclude_id)
    if not busy:
        return []
    orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(busy)))}
    return [
        _(
            "%(organisation)s is already at an overlapping activity: %(activities)s.",
            organisation=orgs[org_id].display_name,
            activities="、".join(a.title for a in activities[:3]),
        )
        for org_id, activities in busy.items()
    ]


def invitee_warnings(activity: Activity, org_ids: list[int] | None = None) -> list[str]:
    """Warnings (never refusals) for invitee organisations already at an overlapping activity:
    `org_ids` (e.g. those just invited), or every invitee who has not declined."""
    ids = registered_attendees(activity.id) if org_ids is None else sorted(set(org_ids))
    return busy_warnings(ids, activity.starts_at, activity.ends_at, activity.id)


def check_conflicts(
    data: ActivityInput, exclude_id: int | None, override_reason: str | None
) -> list[str]:
    """Refuse a taken venue (unless overridden with a reason); return warnings for the rest.

    The venue stays locked until the transaction ends, so nobody books it between this check
    and the insert or update that follows.
    """
    lock_venue(data.venue_id)
    taken = venue_conflicts(data.venue_id, data.starts_at, data.ends_at, exclude_id)
    if taken and not (override_reason and override_reason.strip()):
        raise venue_taken(data.venue_id, data.starts_at, data.ends_at, exclude_id)
    # On a change, the invitees of the activity must be free at the new time too.
    attending = attending_org_ids(data) + (registered_attendees(exclude_id) if exclude_id is not None else [])
    warnings = busy_warnings(attending, data.starts_at, data.ends_at, exclude_id)
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
