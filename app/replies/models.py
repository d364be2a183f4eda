"""One row per mail read from the reply mailbox: what it said and what Linghang did with it."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.events.models import Activity
from app.extensions import db
from app.invitations.models import Invitation


class ReplyOutcome(enum.StrEnum):
    applied = "applied"  # the answer was saved, as if given on the answer page
    counter = "counter"  # a proposed new time, kept for the organiser
    unchanged = "unchanged"  # the invitation already had this answer
    refused = "refused"  # the answer service refused it (activity started, cancelled …)
    unknown = "unknown"  # no invitation matches (UID, token)
    stale = "stale"  # SEQUENCE lower than the activity's
    forged = "forged"  # the ATTENDEE is not the invitee, or the token does not check out
    ignored = "ignored"  # no calendar answer in it (another method, NEEDS-ACTION, unreadable)


OUTCOME_LABELS = {
    ReplyOutcome.applied: _l("Applied"),
    ReplyOutcome.counter: _l("New time proposed"),
    ReplyOutcome.unchanged: _l("Already recorded"),
    ReplyOutcome.refused: _l("Refused"),
    ReplyOutcome.unknown: _l("No matching invitation"),
    ReplyOutcome.stale: _l("Outdated (older sequence)"),
    ReplyOutcome.forged: _l("Not from the invitee"),
    ReplyOutcome.ignored: _l("Not a calendar answer"),
}


class CalendarReply(db.Model):
    """A mail read from the reply mailbox; its Message-ID makes reading it twice a no-op."""

    __tablename__ = "calendar_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sender: Mapped[str | None] = mapped_column(String(254))
    method: Mapped[str | None] = mapped_column(String(20))
    uid: Mapped[str | None] = mapped_column(String(300))
    attendee: Mapped[str | None] = mapped_column(String(254))
    partstat: Mapped[str | None] = mapped_column(String(20))
    sequence: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[ReplyOutcome] = mapped_column(enum_column(ReplyOutcome))
    # Why it was not applied (for the log and the organiser), in English.
    detail: Mapped[str | None] = mapped_column(Text)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id", ondelete="SET NULL"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    # A COUNTER's proposal: the new start and end, and the invitee's comment.
    proposed_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)

    invitation: Mapped[Invitation | None] = relationship()
    activity: Mapped[Activity | None] = relationship()

    @property
    def outcome_label(self) -> str:
        """The translated outcome."""
        return str(OUTCOME_LABELS[self.outcome])
