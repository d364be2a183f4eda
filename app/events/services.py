"""The life of an activity: create, change, reschedule, publish, cancel, complete.

Services flush and never commit, and take `now`. Every transition locks the activity's row and
checks its state after the lock (app/events/locking.py): of two organisers acting at once, the
second gets ConcurrentChange instead of writing over the first. Writes that could put two
published activities in one venue run under `venue_clash_refused`, so PostgreSQL's exclusion
constraint answers with the usual venue refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from app.audit.services import diff, record
from app.core.errors import ValidationFailed
from app.events.checks import (
    ActivityInput,
    check_conflicts,
    validate_activity,
    venue_taken,
)
from app.events.conflicts import venue_conflicts
from app.events.locking import lock_activity, venue_clash_refused
from app.events.models import Activity, ActivitySeries, ActivityStatus
from app.events.signals import (
    activity_cancelled,
    activity_completed,
    activity_published,
    activity_reminders_changed,
    activity_updated,
)
from app.extensions import db
from app.orgs.models import Organisation

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


@dataclass
class SaveResult:
    """The saved activity and the warnings the organiser should read."""

    activity: Activity
    warnings: list[str] = field(default_factory=list)


def _refusal_for(activity: Activity):
    """What to raise when PostgreSQL refuses the activity's venue and time."""
    return lambda: venue_taken(activity.venue_id, activity.starts_at, activity.ends_at, activity.id)


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
        series=series, recurrence_id=recurrence_id, venue_override=note is not None,
    )
    activity.cohosts = cohosts
    db.session.add(activity)
    db.session.flush()
    changes = {key: [None, value] for key, value in data.columns().items() if value is not None}
    changes["cohosts"] = [None, _plain_cohosts(cohosts)]
    if activity.venue_override:
        changes["venue_override"] = [None, True]
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
    activity = lock_activity(activity)
    if activity.status in (ActivityStatus.cancelled, ActivityStatus.completed):
        raise ValidationFailed(_("A cancelled or completed activity can no longer be changed."))
    cohosts = validate_activity(data)
    warnings = check_conflicts(data, activity.id, override_reason)
    override_note = _overridden(data, activity.id, override_reason)
    values = {**data.columns(), "venue_override": override_note is not None}
    if activity.organiser_id is not None and values.get("organiser_id") is None:
        values.pop("organiser_id")
    with venue_clash_refused(_refusal_for(activity)):
        changes = _apply(activity, values, cohosts)
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


def _apply(activity: Activity, values: dict[str, Any], cohosts: list[Organisation]) -> dict[str, list[Any]]:
    """Set the new values and co-hosts; return {field: [old, new]} of what changed."""
    changes = diff(activity, values)
    if _plain_cohosts(activity.cohosts) != _plain_cohosts(cohosts):
        changes["cohosts"] = [_plain_cohosts(activity.cohosts), _plain_cohosts(cohosts)]
        activity.cohosts = cohosts
    return changes


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
    activity = lock_activity(activity)
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
    activity = lock_activity(activity)
    if activity.status != ActivityStatus.draft:
        raise ValidationFailed(_("Only a draft can be published."))
    with venue_clash_refused(_refusal_for(activity)):
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
    activity = lock_activity(activity)
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
    activity = lock_activity(activity)
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
