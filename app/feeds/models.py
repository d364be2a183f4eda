"""Feed tokens: one random secret per subscription, stored only as its sha256."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
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


class FeedChange(db.Model):
    """One key a committed change touched: what feeds read to know whether they changed.

    Row triggers (migration 0900) insert a row per key on insert/update/delete of activities,
    co-hosts, alliance memberships, organisations, people, venues, themes, series, problems'
    departments and follow-up links, invitations added, removed, moved or widened to a series (not
    answered), and feed tokens revoked. Keys name what a feed shows (app/feeds/tracking.py), so a
    change invalidates only the feeds that include it. Rows are only ever inserted, never updated:
    writers do not wait for each other. `xid` is the writing transaction's id on PostgreSQL (a
    reader compares it with the snapshot it rendered at); SQLite, one writer at a time, uses the
    id. `changed_at` feeds Last-Modified. Rows older than two days serve no one and are pruned.
    """

    __tablename__ = "feed_change"
    __table_args__ = (
        Index("ix_feed_change_key_xid", "key", "xid"),  # probes: these keys, newer than a mark
        Index("ix_feed_change_xid", "xid"),  # sweeps: everything newer than a mark
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    xid: Mapped[int | None] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
