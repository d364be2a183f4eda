"""Conflict checks run in the database: overlapping time ranges found through indexes.

Two activities overlap when one starts before the other ends and ends after it starts
(`starts_at < :end AND ends_at > :start`); cancelled activities never conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import Select, select, union_all

from app.events.models import Activity, ActivityStatus, activity_cohost
from app.extensions import db
from app.orgs.models import Organisation, Venue

# No activity lasts longer (services refuse it): an overlap search then reads a bounded range of
# the starts_at index instead of every activity that started before the searched end.
MAX_DURATION = timedelta(days=7)

# Each source returns a select of (activity_id, organisation_id) pairs meaning "this
# organisation attends that activity", limited to the given organisations. Features that add
# attendance (invitations) register their own source for an app with `add_attendance_source`.
# `window` is a select of candidate activity ids (those overlapping the searched time).
AttendanceSource = Callable[[list[int], Select], Select]


def _hosts(org_ids: list[int], window: Select) -> Select:
    return select(Activity.id.label("activity_id"), Activity.host_id.label("organisation_id")).where(
        Activity.host_id.in_(org_ids), Activity.id.in_(window)
    )


def _sites(org_ids: list[int], window: Select) -> Select:
    return select(Activity.id.label("activity_id"), Activity.site_id.label("organisation_id")).where(
        Activity.site_id.in_(org_ids), Activity.id.in_(window)
    )


def _cohosts(org_ids: list[int], window: Select) -> Select:
    return select(
        activity_cohost.c.activity_id.label("activity_id"),
        activity_cohost.c.organisation_id.label("organisation_id"),
    ).where(activity_cohost.c.organisation_id.in_(org_ids), activity_cohost.c.activity_id.in_(window))


BUILT_IN_SOURCES: tuple[AttendanceSource, ...] = (_hosts, _sites, _cohosts)
SOURCES_KEY = "linghang.attendance_sources"


def add_attendance_source(app: Flask, source: AttendanceSource) -> None:
    """Count another feature's attendance in this app's conflict checks (idempotent)."""
    sources = app.extensions.setdefault(SOURCES_KEY, list(BUILT_IN_SOURCES))
    if source not in sources:
        sources.append(source)


def attendance_sources() -> list[AttendanceSource]:
    """The attendance sources of the current app."""
    return current_app.extensions.get(SOURCES_KEY, list(BUILT_IN_SOURCES))


def registered_attendees(activity_id: int) -> list[int]:
    """The organisations attending an activity through the sources other features registered
    (invitees who have not declined): those the activity's own fields do not name."""
    registered = [source for source in attendance_sources() if source not in BUILT_IN_SOURCES]
    if not registered:
        return []
    everyone = select(Organisation.id)
    this = select(Activity.id).where(Activity.id == activity_id)
    rows = union_all(*(source(everyone, this) for source in registered)).subquery()
    return sorted(set(db.session.scalars(select(rows.c.organisation_id))))


def overlaps(starts_at: datetime, ends_at: datetime, exclude_id: int | None = None):
    """WHERE clause: non-cancelled activities overlapping [starts_at, ends_at)."""
    clause = (
        (Activity.starts_at < ends_at)
        & (Activity.starts_at > starts_at - MAX_DURATION)
        & (Activity.ends_at > starts_at)
        & (Activity.status != ActivityStatus.cancelled)
    )
    if exclude_id is not None:
        clause = clause & (Activity.id != exclude_id)
    return clause


def venue_conflicts(
    venue_id: int | None, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> list[Activity]:
    """Activities holding the venue at an overlapping time."""
    if venue_id is None:
        return []
    return list(
        db.session.scalars(
            select(Activity)
            .where(Activity.venue_id == venue_id, overlaps(starts_at, ends_at, exclude_id))
            .order_by(Activity.starts_at)
            .limit(20)
        )
    )


def attendance(org_ids: list[int], window: Select):
    """A subquery of (activity_id, organisation_id) for the organisations, from every source."""
    return union_all(*(source(org_ids, window) for source in attendance_sources())).subquery()


def organisation_conflicts(
    org_ids: Iterable[int], starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> dict[int, list[Activity]]:
    """For each organisation already at an overlapping activity: those activities."""
    ids = sorted({i for i in org_ids if i is not None})
    if not ids:
        return {}
    attending = attendance(ids, select(Activity.id).where(overlaps(starts_at, ends_at, exclude_id)))
    rows = db.session.execute(
        select(attending.c.organisation_id, Activity)
        .join(Activity, Activity.id == attending.c.activity_id)
        .order_by(Activity.starts_at)
        .limit(200)
    ).all()
    found: dict[int, list[Activity]] = {}
    for org_id, activity in rows:
        if activity not in found.setdefault(org_id, []):
            found[org_id].append(activity)
    return found


def busy_intervals(
    venue_id: int | None, org_ids: Iterable[int], starts_at: datetime, ends_at: datetime,
    exclude_id: int | None = None,
) -> list[tuple[datetime, datetime]]:
    """The time ranges in which the venue or any of the organisations is taken."""
    intervals: list[tuple[datetime, datetime]] = []
    if venue_id is not None:
        intervals += db.session.execute(
            select(Activity.starts_at, Activity.ends_at).where(
                Activity.venue_id == venue_id, overlaps(starts_at, ends_at, exclude_id)
            )
        ).all()
    ids = sorted({i for i in org_ids if i is not None})
    if ids:
        window = select(Activity.id).where(overlaps(starts_at, ends_at, exclude_id))
        attending = attendance(ids, window)
        intervals += db.session.execute(
            select(Activity.starts_at, Activity.ends_at).where(Activity.id.in_(select(attending.c.activity_id)))
        ).all()
    return sorted(intervals)


def venue_capacity(venue_id: int | None) -> int | None:
    """The venue's capacity."""
    if venue_id is None:
        return None
    return db.session.scalar(select(Venue.capacity).where(Venue.id == venue_id))
