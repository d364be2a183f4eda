"""Sessions that can be revoked: the account's session version is part of every cookie.

Flask-Login keeps `User.get_id()` ("<id>:<version>") in the signed session and in the
remember-me cookie. Raising the version (log-out, password change, deactivation, "log out
everywhere") makes every cookie issued before it useless, on every device.
"""

from __future__ import annotations

from sqlalchemy import event, update

from app.auth.models import User
from app.extensions import db
from app.orgs.models import Person


def session_user(session_id: str) -> User | None:
    """The active account a session or remember-me cookie names, if its version is still current."""
    account, _sep, version = session_id.partition(":")
    if not (account.isdigit() and version.isdigit()) or len(account) > 9 or len(version) > 9:
        return None  # not ours, or a number no integer column holds
    user = db.session.get(User, int(account))
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return user


def end_sessions(user: User) -> None:
    """End every session and remember-me cookie of the account (flushes; the request commits)."""
    # Incremented in SQL so that two requests ending sessions at once both count.
    user.session_version = User.session_version + 1
    db.session.flush()
    db.session.refresh(user, ["session_version"])


def _end_sessions_of_deactivated_person(person: Person, value: bool, old: object, _initiator) -> None:
    if value is False and old is not False and person.id is not None:
        # A reactivated person must log in again: nothing issued before the deactivation revives.
        db.session.execute(
            update(User).where(User.person_id == person.id).values(session_version=User.session_version + 1)
        )


def install_session_revocation() -> None:
    """Deactivating a person ends their account's sessions, whichever feature deactivates them."""
    if not event.contains(Person.active, "set", _end_sessions_of_deactivated_person):
        event.listen(Person.active, "set", _end_sessions_of_deactivated_person)
