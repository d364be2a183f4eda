"""Feed tokens: one random secret per subscription, stored only as its sha256."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.extensions import db
from app.orgs.models import Organisation, Person


class FeedKind(enum.StrEnum):
    organisation = "organisation"
    person = "person"
    department = "department"
    alliance = "alliance"


FEED_KIND_LABELS = {
    FeedKind.organisation: _l("Organisation"),
    FeedKind.person: _l("Person"),
    FeedKind.department: _l("Department"),
    FeedKind.alliance: _l("Alliance"),
}


class FeedToken(db.Model):
    """A named, revocable subscription to one feed; the URL carries the secret."""

    __tablename__ = "feed_token"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'person' AND person_id IS NOT NULL AND organisation_id IS NULL)"
            " OR (kind <> 'person' AND organisation_id IS NOT NULL AND person_id IS NULL)",
            name="one_subject",
        ),
        Index("ix_feed_token_subject", "kind", "organisation_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[FeedKind] = mapped_column(enum_column(FeedKind))
    # The subject: an organisation (enterprise, department, alliance, committee) or a person.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # sha256 (hex) of the token in the URL; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Updated at most every POLL_RECORD_INTERVAL, never on every request (see feeds.record_poll).
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship()
    person: Mapped[Person | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        """The translated kind."""
        return str(FEED_KIND_LABELS[self.kind])

    @property
    def subject_name(self) -> str:
        """Whose feed it is, in words."""
        if self.person is not None:
            return self.person.name
        return self.organisation.name if self.organisation is not None else ""

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<FeedToken {self.id} {self.kind} {self.name}>"


class FeedState(db.Model):
    """One row whose generation grows on every change that can alter a feed.

    Database triggers (migration 0600) bump it on insert/update/delete of activities, co-hosts,
    alliance memberships, organisations, people, venues and themes, and when an invitation is
    added, removed or moved to another activity/person/organisation (not when it is answered).
    Triggers see every writer (ORM, bulk UPDATE, SQL console). The epoch is random per row, so a
    recreated row never repeats an old (epoch, generation) pair. changed_at is the time of the
    last bump: feeds use it in Last-Modified, so that a change that touches no activity row (an
    invitation added, say) still answers If-Modified-Since with the new calendar.
    """

    __tablename__ = "feed_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    generation: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
