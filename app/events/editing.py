"""Saving the activity form: a new activity or series, one occurrence, or this and the following.

The form carries the version of the activity it was opened on and a fingerprint of what the
editor saw (app/events/staleness.py). After the activity is locked, a save based on an older
version is refused with what changed since, and nothing of it is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from app.core.clock import to_local
from app.core.errors import ValidationFailed
from app.events.checks import ActivityInput, attending_org_ids
from app.events.conflicts import venue_conflicts
from app.events.locking import locked_row
from app.events.models import Activity, ActivityStatus
from app.events.series import publish_series, split_series
from app.events.series_words import (
    HolidayPolicy,
    SeriesWords,
    create_series_with_policy,
    rule_from_words,
)
from app.events.services import (
    SaveResult,
    create_activity,
    input_of,
    publish_activity,
    reschedule_activity,
    update_activity,
)
from app.events.slots import find_slots
from app.events.staleness import stale_edit
from app.extensions import db


@dataclass
class ActivityEdit:
    """What the activity form asks for: the values, and how to apply them."""

    data: ActivityInput
    publish: bool = False
    # A new series: the RFC 5545 rule and the days left out (None: a day could not be read).
    rule: str | None = None
    exception_days: list[date] | None = field(default_factory=list)
    # Or the rule in words (it wins over `rule`), and what occurrences on holidays do.
    words: SeriesWords | None = None
    holidays: HolidayPolicy = HolidayPolicy.keep
    # An occurrence: "this" one only, or "following" (this and the following ones).
    scope: str = "this"
    override: bool = False
    override_reason: str | None = None
    # The activity's version when the form was opened, and a fingerprint of what it showed.
    version: int | None = None
    seen: str | None = None


@dataclass
class Saved:
    """The activity to show next, the message announcing the save, warnings to read."""

    activity: Activity
    message: str
    warnings: list[str] = field(default_factory=list)


def _override_reason(edit: ActivityEdit) -> str | None:
    if not edit.override:
        return None
    if not edit.override_reason:
        raise ValidationFailed(_("Give the reason for using the venue anyway."), "override_reason")
    return edit.override_reason


def _warnings(results: list[SaveResult]) -> list[str]:
    return list(dict.fromkeys(w for r in results for w in r.warnings))


def lock_for_edit(activity: Activity, version: int | None, seen: str | None) -> Activity:
    """Lock the activity (its series first) and refuse a form opened on an older version."""
    expected = activity.version if version is None else version
    locked = locked_row(activity)
    if locked.version != expected:
        raise stale_edit(locked, seen)
    return locked


def save_activity(activity: Activity | None, edit: ActivityEdit, *, now: datetime) -> Saved:
    """Create an activity or series, or change one occurrence or this and the following ones."""
    override = _override_reason(edit)
    if activity is None and (edit.rule or edit.words):
        return _create_series(edit, override, now)
    if activity is None:
        result = create_activity(edit.data, now=now, override_reason=override)
        if edit.publish:
            publish_activity(result.activity, now=now)
        return Saved(result.activity, _("The activity was saved."), _warnings([result]))
    activity = lock_for_edit(activity, edit.version, edit.seen)
    if activity.series_id and edit.scope == "following":
        _series, results = split_series(activity, edit.data, rule_value=edit.rule, now=now, override_reason=override)
        shown = activity if activity in db.session else results[0].activity
        return Saved(shown, _("This and the following occurrences were changed."), _warnings(results))
    result = update_activity(activity, edit.data, now=now, override_reason=override)
    if edit.publish and result.activity.status == ActivityStatus.draft:
        publish_activity(result.activity, now=now)
    return Saved(result.activity, _("The activity was saved."), _warnings([result]))


def _create_series(edit: ActivityEdit, override: str | None, now: datetime) -> Saved:
    if edit.exception_days is None:
        raise ValidationFailed(_("Enter dates as 2026-10-01, separated by commas."), "exception_days")
    rule = edit.rule or ""
    if edit.words is not None:
        rule = rule_from_words(edit.words, to_local(edit.data.starts_at).date())
    series, results = create_series_with_policy(
        edit.data, rule, edit.holidays, exception_days=edit.exception_days, now=now, override_reason=override
    )
    if edit.publish:
        publish_series(series, now=now)
    message = _("The series was saved with %(n)d occurrences.", n=len(results))
    return Saved(results[0].activity, message, _warnings(results))


def reschedule(
    activity: Activity, starts_at: datetime, ends_at: datetime, *, reason: str | None,
    override_reason: str | None, version: int | None, seen: str | None, now: datetime,
) -> SaveResult:
    """Move an activity from the reschedule form, refusing a form opened on an older version."""
    activity = lock_for_edit(activity, version, seen)
    return reschedule_activity(
        activity, starts_at, ends_at, reason=reason, now=now, override_reason=override_reason
    )


def rescheduled_input(activity: Activity, starts_at: datetime, ends_at: datetime) -> ActivityInput:
    """The activity's values at another time."""
    wanted = input_of(activity)
    wanted.starts_at, wanted.ends_at = starts_at, ends_at
    return wanted


def free_slots_if_taken(data: ActivityInput, exclude_id: int | None, now: datetime) -> list | None:
    """When the wanted venue is taken: free slots from that day on to offer instead, else None."""
    if not venue_conflicts(data.venue_id, data.starts_at, data.ends_at, exclude_id):
        return None
    day = to_local(data.starts_at).date()
    try:
        return find_slots(
            duration=data.ends_at - data.starts_at, date_from=day, date_to=day + timedelta(days=14),
            venue_id=data.venue_id, org_ids=attending_org_ids(data), limit=6, now=now,
            exclude_id=exclude_id,
        ).slots
    except ValidationFailed:
        return []
