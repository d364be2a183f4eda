"""What each feed contains, the keys it depends on, and its rendering (cached by app/feeds/cache.py).

A feed depends on a few *keys* (app/feeds/tracking.py): its subject's audiences ('o:<org>' and
the alliances it belongs to 'a:<alliance>', 'p:<person>', 'a:<alliance>' or 'public') and the
rows whose names its events show (hosts, sites, venues, themes, organisers, whole series). The
rendering records them with the mark taken before it read anything; the cached bytes are served
until a change to one of those keys commits after that mark. A change elsewhere in the county
(another enterprise's activity, an organisation the feed does not show) leaves it alone.

Rendering is a pure function of the database and the day (DTSTAMP is the row's last change, the
locale is fixed to the default, events are ordered), so any process builds the same bytes and the
same ETag. The cache is an in-process LRU (bounded by FEED_CACHE_BYTES) in each web process;
correctness never depends on it: a miss rebuilds, and without the triggers nothing is cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime as http_date
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import selectinload

from app.events.models import Activity, ActivityKind, ActivityStatus, activity_cohost
from app.extensions import db
from app.feeds.models import FeedKind
from app.feeds.tracking import Tracked
from app.ical.builder import calendar_zone, last_changed
from app.invitations.models import Invitation
from app.orgs.models import AllianceMembership, Organisation, OrgKind, Person
from app.problems.models import FollowUp, Problem

PUBLIC = "public"
CANCELLED_KEPT_DAYS = 30
REFRESH = timedelta(hours=1)
# How long after a change its Last-Modified is sent as is (see last_modified_header): longer
# than a transaction between stamping a change and committing it.
LAST_MODIFIED_SETTLE = timedelta(seconds=5)


@dataclass(frozen=True)
class FeedScope:
    """Whose feed: a kind ('organisation', 'person', 'department', 'alliance' or 'public') and a subject."""

    kind: str
    subject_id: int | None = None
    # Visits are private to the enterprise visited: a feed of an enterprise, or of one of its
    # people, never shows a visit at another enterprise.
    enterprise_id: int | None = None


def scope_for(kind: FeedKind | str, organisation: Organisation | None = None, person: Person | None = None) -> FeedScope:
    """Build the scope of a feed kind and its subject."""
    if kind == PUBLIC:
        return FeedScope(PUBLIC)
    if kind == FeedKind.person:
        home = person.organisation
        return FeedScope(
            FeedKind.person.value, person.id, home.id if home.kind == OrgKind.enterprise else None
        )
    return FeedScope(
        FeedKind(kind).value,
        organisation.id,
        organisation.id if organisation.kind == OrgKind.enterprise else None,
    )


def feed_kind_for(organisation: Organisation) -> FeedKind:
    """The feed kind that fits an organisation."""
    if organisation.kind == OrgKind.department:
        return FeedKind.department
    if organisation.kind == OrgKind.alliance:
        return FeedKind.alliance
    return FeedKind.organisation


# -- what is in a feed ---------------------------------------------------------

def department_problem_visits(department_id: int) -> Select:
    """Ids of follow-up visits (回访) linked to problems whose handling department is this one.

    Migration 0900 touches 'o:<department>' when a problem's department or a follow-up link changes.
    """
    return (
        select(FollowUp.activity_id)
        .join(Problem, Problem.id == FollowUp.problem_id)
        .where(Problem.department_id == department_id)
    )


# Uncorrelated IN (subquery) rather than EXISTS: both databases compute the small id list once
# instead of probing it per activity (a correlated EXISTS made the version query 50× slower).

def _invited_org(org_id: int) -> ColumnElement[bool]:
    return Activity.id.in_(select(Invitation.activity_id).where(Invitation.organisation_id == org_id))


def _hosted(org_id: int) -> ColumnElement[bool]:
    return or_(
        Activity.host_id == org_id,
        Activity.id.in_(
            select(activity_cohost.c.activity_id).where(activity_cohost.c.organisation_id == org_id)
        ),
    )


def subject_clause(scope: FeedScope) -> ColumnElement[bool]:
    """Which activities belong to the subject (before the status and window rules)."""
    not_visit = Activity.kind != ActivityKind.visit
    if scope.kind == PUBLIC:
        return not_visit
    subject = scope.subject_id
    if scope.kind == FeedKind.person:
        clause = or_(
            Activity.id.in_(select(Invitation.activity_id).where(Invitation.person_id == subject)),
            Activity.organiser_id == subject,
        )
        if scope.enterprise_id is not None:
            clause = and_(
                clause,
                or_(not_visit, Activity.site_id == scope.enterprise_id, Activity.organiser_id == subject),
            )
        return clause
    if scope.kind == FeedKind.alliance:
        return and_(Activity.alliance_id == subject, not_visit)
    if scope.kind == FeedKind.department:
        return or_(
            _hosted(subject),
            _invited_org(subject),
            Activity.id.in_(department_problem_visits(subject)),
        )
    # An organisation: invited, hosting or co-hosting, its alliances' open activities.
    alliances = select(AllianceMembership.alliance_id).where(AllianceMembership.enterprise_id == subject)
    clause = or_(
        _invited_org(subject),
        _hosted(subject),
        and_(not_visit, Activity.alliance_id.in_(alliances)),
    )
    if scope.enterprise_id is not None:
        # Its own visits, and never a visit at another enterprise (visits are private).
        clause = or_(clause, and_(Activity.kind == ActivityKind.visit, Activity.site_id == subject))
        clause = and_(clause, or_(not_visit, Activity.site_id == subject))
    return clause


@dataclass(frozen=True)
class Window:
    """The feed's time window, aligned to days in the display zone so it changes once a day."""

    day: str
    starts: datetime
    ends: datetime
    cancelled_since: datetime


def feed_window(now: datetime) -> Window:
    """From FEED_PAST_DAYS ago to FEED_FUTURE_DAYS ahead (whole local days)."""
    zone = calendar_zone()
    return _window(
        now.astimezone(zone).date(),
        zone,
        int(current_app.config.get("FEED_PAST_DAYS", 90)),
        int(current_app.config.get("FEED_FUTURE_DAYS", 365)),
    )


@lru_cache(maxsize=32)
def _window(today: date, zone: ZoneInfo, past: int, future: int) -> Window:
    """The window of a local day (cached: it is asked for on every poll)."""

    def midnight(day) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

    return Window(
        day=today.isoformat(),
        starts=midnight(today - timedelta(days=past)),
        ends=midnight(today + timedelta(days=future + 1)),
        cancelled_since=midnight(today - timedelta(days=CANCELLED_KEPT_DAYS)),
    )


def feed_clause(scope: FeedScope, window: Window) -> ColumnElement[bool]:
    """The whole WHERE clause: subject, no drafts, the window, cancellations kept 30 days.

    A cancelled draft was never published, so it is in no feed. Cancelling a published activity
    raises its SEQUENCE and nothing else sets a draft's above 0 (app/events/services.py), so a
    cancelled row with SEQUENCE 0 is a cancelled draft.
    """
    return and_(
        subject_clause(scope),
        Activity.status != ActivityStatus.draft,
        or_(
            Activity.status != ActivityStatus.cancelled,
            and_(Activity.sequence > 0, Activity.updated_at >= window.cancelled_since),
        ),
        Activity.ends_at > window.starts,
        Activity.starts_at < window.ends,
    )


# -- version and rendering -----------------------------------------------------

@dataclass(frozen=True)
class FeedBody:
    """A rendered feed."""

    body: bytes
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class FeedEntry:
    """A rendered feed with what it depends on (keys, mark: see app/feeds/tracking.py)."""

    feed: FeedBody
    tracked: Tracked


def scope_keys(scope: FeedScope) -> list[str]:
    """The audience keys of a feed's subject (see app/feeds/tracking.py)."""
    if scope.kind == PUBLIC:
        return ["public"]
    subject = scope.subject_id
    if scope.kind == FeedKind.person:
        return [f"p:{subject}", f"P:{subject}"]
    if scope.kind == FeedKind.alliance:
        return [f"a:{subject}", f"O:{subject}"]
    alliances = db.session.scalars(
        select(AllianceMembership.alliance_id).where(AllianceMembership.enterprise_id == subject)
    )
    return [f"o:{subject}", f"O:{subject}", *(f"a:{a}" for a in alliances)]


def content_keys(activities: Iterable[Activity], series_ids: Iterable[int] = ()) -> set[str]:
    """The rows whose names or stamps these events show; `series_ids`: series shown as one entry."""
    keys: set[str] = {f"s:{series_id}" for series_id in series_ids}
    for a in activities:
        keys.add(f"O:{a.host_id}")
        for prefix, value in (("O", a.site_id), ("V", a.venue_id), ("T", a.theme_id), ("P", a.organiser_id)):
            if value is not None:
                keys.add(f"{prefix}:{value}")
    return keys


def _day_start(now: datetime) -> datetime:
    zone = calendar_zone()
    return datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone).astimezone(UTC)


def last_modified_of(activities: list[Activity], now: datetime, changed_at: datetime | None = None) -> datetime:
    """The feed's last change, to the microsecond (`last_modified_header` makes the header of it).

    The newest change among the feed's activities and what they show, and at least the start of
    the window's day (also for an empty feed): the window moves at local midnight, so a client
    asking only If-Modified-Since refetches once a day. It depends on the feed's scope only, not
    on the token. `changed_at` (the newest change to the feed's keys) covers changes that touch
    no activity row.
    """
    stamps = [_day_start(now)] + ([changed_at] if changed_at is not None else [])
    for activity in activities:
        stamps.append(last_changed(activity))
        if activity.organiser is not None and activity.organiser.updated_at is not None:
            stamps.append(activity.organiser.updated_at)
    return max(stamps).astimezone(UTC)


def calendar_name(scope: FeedScope) -> str:
    """The calendar's display name (X-WR-CALNAME and NAME), in the default language."""
    if scope.kind == PUBLIC:
        return _("Linghang · open activities")
    if scope.kind == FeedKind.person:
        subject = db.session.get(Person, scope.subject_id)
    else:
        subject = db.session.get(Organisation, scope.subject_id)
    return _("Linghang · %(name)s", name=subject.name if subject else "")


def feed_activities(scope: FeedScope, now: datetime) -> list[Activity]:
    """The activities of a feed, in a stable order."""
    statement = (
        select(Activity)
        .where(feed_clause(scope, feed_window(now)))
        .order_by(Activity.starts_at, Activity.id)
        .options(
            selectinload(Activity.host),
            selectinload(Activity.venue),
            selectinload(Activity.site),
            selectinload(Activity.organiser),
            selectinload(Activity.theme),
        )
    )
    return list(db.session.scalars(statement))


def etag_of(body: bytes) -> str:
    """A strong ETag: the quoted sha256 of the bytes."""
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def last_modified_header(changed: datetime, now: datetime) -> datetime:
    """The whole-second Last-Modified to send for content last changed at `changed` (precise).

    HTTP dates have whole seconds, so two changes within one second would share a truncated
    value and an If-Modified-Since poll would miss the second one (RFC 9110 §8.8.2.2). The value
    sent is therefore the end of the change's second, which no later change can have. While
    that second is not LAST_MODIFIED_SETTLE in the past, the value sent is the settled time
    instead: a Last-Modified must not lie in the future (RFC 9110 §8.8.2.1), and a change is
    stamped when its transaction starts, so one committing just after this response could carry
    a stamp a moment before it. That value lies before the change, so the next poll fetches
    again. `not_modified_since` compares against the precise time.
    """
    changed = changed.astimezone(UTC)
    after = changed.replace(microsecond=0) + (timedelta(seconds=1) if changed.microsecond else timedelta(0))
    settled = (now - LAST_MODIFIED_SETTLE).astimezone(UTC).replace(microsecond=0)
    return min(after, settled)


def not_modified_since(changed: datetime, since: datetime) -> bool:
    """If-Modified-Since alone: unchanged when the precise last change is not after `since`."""
    return changed.astimezone(UTC) <= since.astimezone(UTC)


@lru_cache(maxsize=4096)
def http_last_modified(value: datetime) -> str:
    """An HTTP date."""
    return http_date(value.astimezone(UTC), usegmt=True)
