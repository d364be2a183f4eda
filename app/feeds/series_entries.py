"""Series in feeds: where the feed's subject was invited to a whole series, the series is one
recurring entry (the same UID, RRULE, EXDATE and RECURRENCE-ID overrides as the invitation mail),
so a person who keeps the mail's entry and subscribes to the feed sees one entry, not two or
twenty. Every other activity, occurrences of series included, stays one VEVENT of its own: a
subject invited to one meeting of a series must not see the others as its own.
"""

from __future__ import annotations

from icalendar import Event
from sqlalchemy import ColumnElement, select

from app.events.models import Activity, ActivityStatus
from app.events.series import occurrences
from app.extensions import db
from app.feeds.models import FeedKind
from app.ical.builder import build_vevent
from app.ical.recurring import series_events
from app.invitations.models import Invitation


def _invited_by(kind: str, subject_id: int | None) -> ColumnElement[bool] | None:
    if subject_id is None or kind not in set(FeedKind) - {FeedKind.alliance}:
        return None
    if kind == FeedKind.person:
        return Invitation.person_id == subject_id
    return Invitation.organisation_id == subject_id


def series_invited_to(kind: str, subject_id: int | None, activities: list[Activity]) -> set[int]:
    """The series among these activities to which the subject was invited as a whole."""
    clause = _invited_by(kind, subject_id)
    series_ids = {a.series_id for a in activities if a.series_id is not None}
    if clause is None or not series_ids:
        return set()
    return set(
        db.session.scalars(
            select(Activity.series_id)
            .join(Invitation, Invitation.activity_id == Activity.id)
            .where(clause, Invitation.whole_series.is_(True), Activity.series_id.in_(series_ids))
            .distinct()
        )
    )


def feed_items(
    kind: str, subject_id: int | None, activities: list[Activity], base_url: str, shown: list[Activity],
) -> tuple[list[Activity | list[Event]], set[int]]:
    """A feed's entries in order: an activity of its own, or a whole series' VEVENTs.

    Returns them and the series shown as one entry; `shown` collects every activity whose data
    the entries carry (a series entry carries all its occurrences).
    """
    grouped = series_invited_to(kind, subject_id, activities)
    items: list[Activity | list[Event]] = []
    done: set[int] = set()
    for activity in activities:
        if activity.series_id not in grouped:
            items.append(activity)
            shown.append(activity)
        elif activity.series_id not in done:
            done.add(activity.series_id)
            rows = [a for a in occurrences(activity.series) if a.status != ActivityStatus.draft]
            items.append(series_events(activity.series, rows, base_url=base_url))
            shown += rows
    return items, grouped


def feed_events(kind: str, subject_id: int | None, activities: list[Activity], base_url: str) -> list[Event]:
    """The VEVENTs of a feed through icalendar: activities one by one, whole series as one entry."""
    items, _grouped = feed_items(kind, subject_id, activities, base_url, [])
    events: list[Event] = []
    for item in items:
        events += item if isinstance(item, list) else [build_vevent(item, base_url=base_url)]
    return events
