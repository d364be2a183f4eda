"""Row locks that serialise changes to one activity's seats and to one invitation.

Order: the activity first, then the invitation, everywhere, so two transactions never wait on
each other crosswise. Both re-read the row (`populate_existing`), so the caller checks the state
as it is after the lock, not as it was loaded.
"""

from __future__ import annotations

from sqlalchemy import select, update

from app.events.models import Activity
from app.extensions import db
from app.invitations.models import Invitation


def _lock_row(model, row_id: int):
    """SELECT … FOR UPDATE on PostgreSQL; on SQLite a no-op write takes the database's write lock.

    Either way the row is read again (`populate_existing`) after the lock is held.
    """
    statement = select(model).where(model.id == row_id)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    else:
        table = model.__table__
        db.session.execute(update(table).where(table.c.id == row_id).values(id=table.c.id))
    return db.session.execute(statement.execution_options(populate_existing=True)).scalar_one()


def lock_activity(activity: Activity) -> Activity:
    """Serialise answers and check-ins of one activity (its row locked and re-read)."""
    return _lock_row(Activity, activity.id)


def lock_invitation(invitation: Invitation) -> Invitation:
    """Serialise changes to one invitation (its row locked and re-read)."""
    return _lock_row(Invitation, invitation.id)
