"""An invitation of one person (usually an organisation's contact) to one activity."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.events.models import Activity
from app.extensions import db
from app.orgs.models import Organisation, Person


class Answer(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    tentative = "tentative"


ANSWER_LABELS = {
    Answer.pending: _l("Not answered"),
    Answer.accepted: lazy_pgettext("invitation answer", "Accepted"),
    Answer.declined: _l("Declined"),
    Answer.tentative: _l("Maybe"),
}


class AnswerChannel(enum.StrEnum):
    link = "link"
    account = "account"
    phone = "phone"
    letter = "letter"
    walk_in = "walk_in"
    # An iTIP REPLY from the invitee's calendar (Outlook, Gmail, Apple, Thunderbird), read by app/replies.
    calendar = "calendar"


class Invitation(db.Model):
    """One person invited to one activity, possibly on behalf of their organisation."""

    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("activity_id", "person_id"),
        CheckConstraint("seats >= 0", name="seats_non_negative"),
        Index("ix_invitation_activity_answer", "activity_id", "answer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    # The organisation the person was invited for (feeds and problem entry look invitees up by it).
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    answer: Mapped[Answer] = mapped_column(enum_column(Answer), default=Answer.pending)
    seats: Mapped[int] = mapped_column(Integer, default=0)
    attendee_names: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[AnswerChannel | None] = mapped_column(enum_column(AnswerChannel))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while an acceptance waits for a seat; the earliest is promoted first.
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # sha256 of the personal answer link's token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    checkin_code: Mapped[str] = mapped_column(String(16), unique=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_count: Mapped[int] = mapped_column(Integer, default=0)
    last_nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    # Invited to the whole series (one row per occurrence, one mail and one answer for them all):
    # its mails carry the series as one recurring calendar entry (app/ical/recurring.py).
    whole_series: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    activity: Mapped[Activity] = relationship()
    person: Mapped[Person] = relationship()
    organisation: Mapped[Organisation] = relationship()

    @property
    def answer_label(self) -> str:
        """The translated answer."""
        return str(ANSWER_LABELS[self.answer])

    def __repr__(self) -> str:
        return f"<Invitation {self.id} activity={self.activity_id} person={self.person_id} {self.answer}>"


class InvitationToken(db.Model):
    """The sha256 of one personal answer link handed out for an invitation.

    Each mail that carries a link gets a fresh token; earlier links keep working until the
    activity ends, so a contact may use any mail they received.
    """

    __tablename__ = "invitation_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invitation: Mapped[Invitation] = relationship()


class SavedList(db.Model):
    """A named selection of organisations and people that organisers invite again and again."""

    __tablename__ = "saved_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[SavedListEntry]] = relationship(cascade="all, delete-orphan")


class SavedListEntry(db.Model):
    """One organisation or one person on a saved list."""

    __tablename__ = "saved_list_entry"
    __table_args__ = (
        CheckConstraint(
            "(organisation_id IS NULL) <> (person_id IS NULL)", name="organisation_or_person"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_list_id: Mapped[int] = mapped_column(ForeignKey("saved_list.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
