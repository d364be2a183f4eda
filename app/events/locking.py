"""Row locks that make activity transitions and venue bookings hold under concurrency.

PostgreSQL: `SELECT … FOR UPDATE` on the row, reloaded with populate_existing so the state
checked after the lock is the committed one. SQLite: a no-op UPDATE of the row takes the
database's write lock first (the second writer waits for the first to commit), then the row
is re-read. What a lock cannot guarantee against a writer that bypasses the services, the
PostgreSQL exclusion constraint VENUE_EXCLUSION (migration 0800) does; `venue_clash_refused`
turns its violation into the usual refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app.core.errors import ConcurrentChange
from app.events.models import VENUE_EXCLUSION, Activity, ActivitySeries
from app.extensions import db
from app.orgs.models import Venue


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _lock_row(model, row_id: int):
    """Lock one row and return it reloaded from the database."""
    db.session.flush()  # what this transaction changed must not be overwritten by the reload
    statement = select(model).where(model.id == row_id).execution_options(populate_existing=True)
    if _on_postgresql():
        statement = statement.with_for_update()
    else:
        db.session.execute(text(f"UPDATE {model.__tablename__} SET id = id WHERE id = :id"), {"id": row_id})
    return db.session.execute(statement).scalar_one_or_none()


def changed_meanwhile() -> ConcurrentChange:
    """The refusal for the request that lost a race for an activity."""
    return ConcurrentChange(
        _("Someone else changed this activity in the meantime. Please reload the page and try again.")
    )


def locked_row(activity: Activity) -> Activity:
    """Lock an activity and reload it as committed; refuse if it was deleted meanwhile.

    An occurrence's series is locked first: every transaction takes series → activity → venue
    in that order, so two of them never wait for each other in a circle.
    """
    if activity.series_id is not None:
        _lock_row(ActivitySeries, activity.series_id)
    locked = _lock_row(Activity, activity.id)
    if locked is None:
        raise changed_meanwhile()
    return locked


def lock_activity(activity: Activity, seen_version: int | None = None) -> Activity:
    """Lock an activity; refuse (ConcurrentChange) if it changed since it was read.

    `seen_version` is the version a page showed (e.g. the detail page a button was pressed on);
    by default the one this request read.
    """
    db.session.flush()  # this transaction's own pending changes bump the version first
    if seen_version is None:
        seen_version = activity.version
    locked = locked_row(activity)
    if locked.version != seen_version:
        raise changed_meanwhile()
    return locked


def lock_series(series: ActivitySeries) -> ActivitySeries:
    """Lock a series row so that splits, exceptions and publishing of one series take turns."""
    locked = _lock_row(ActivitySeries, series.id)
    if locked is None:
        raise changed_meanwhile()
    return locked


def lock_venue(venue_id: int | None) -> None:
    """Serialise bookings of one venue: call before the conflict check, keep until commit."""
    if venue_id is not None:
        _lock_row(Venue, venue_id)


@contextmanager
def venue_clash_refused(refusal: Callable[[], Exception]) -> Iterator[None]:
    """Run writes so that PostgreSQL's no-double-booking constraint raises `refusal()`, not a 500.

    The writes run in a savepoint: when the constraint refuses them, only they are undone and
    the session stays usable to show the form again. SQLite has no such constraint.
    """
    if not _on_postgresql():
        yield
        return
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as error:
        if VENUE_EXCLUSION not in str(error.orig):
            raise
        raise refusal() from None
