"""Monthly themes (一月一主题) and activities of every kind."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.extensions import db
from app.orgs.models import Organisation, Person, Venue


class ActivityKind(enum.StrEnum):
    themed_day = "themed_day"
    salon = "salon"
    roundtable = "roundtable"
    afternoon_tea = "afternoon_tea"
    visit = "visit"


ACTIVITY_KIND_LABELS = {
    ActivityKind.themed_day: _l("Monthly themed joint activity"),
    ActivityKind.salon: _l("Alliance salon"),
    ActivityKind.roundtable: _l("Alliance roundtable"),
    ActivityKind.afternoon_tea: _l("Entrepreneurs' afternoon tea"),
    ActivityKind.visit: _l("Instructor visit"),
}


class VisitKind(enum.StrEnum):
    outreach = "outreach"
    reception = "reception"
    follow_up = "follow_up"


VISIT_KIND_LABELS = {
    VisitKind.outreach: _l("Outreach visit"),
    VisitKind.reception: _l("Reception visit"),
    VisitKind.follow_up: _l("Follow-up visit"),
}


class ActivityStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"
    completed = "completed"


ACTIVITY_STATUS_LABELS = {
    ActivityStatus.draft: _l("Draft"),
    ActivityStatus.published: _l("Published"),
    ActivityStatus.cancelled: _l("Cancelled"),
    ActivityStatus.completed: _l("Completed"),
}

theme_lead_department = Table(
    "theme_lead_department",
    db.metadata,
    Column("theme_id", ForeignKey("monthly_theme.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id"), primary_key=True),
)

activity_cohost = Table(
    "activity_cohost",
    db.metadata,
    Column("activity_id", ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id"), primary_key=True, index=True),
)


class MonthlyTheme(db.Model):
    """The theme of one month's joint activities, led by one or more departments."""

    __tablename__ = "monthly_theme"
    __table_args__ = (
        UniqueConstraint("year", "month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lead_departments: Mapped[list[Organisation]] = relationship(
        secondary=theme_lead_department, order_by=Organisation.name
    )

    def __repr__(self) -> str:
        return f"<MonthlyTheme {self.year}-{self.month:02d} {self.title}>"


class ActivitySeries(db.Model):
    """A repeating activity: an RFC 5545 rule whose occurrences are materialised as activities.

    `dtstart` is the first occurrence's start (UTC; the rule is expanded in the display zone),
    `exdates` the original local starts ("YYYY-MM-DDTHH:MM:SS") that are left out.
    """

    __tablename__ = "activity_series"
    __table_args__ = (CheckConstraint("duration_minutes > 0", name="duration_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rrule: Mapped[str] = mapped_column(String(500))
    dtstart: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    exdates: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The series this one was split from ("this and following").
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("activity_series.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ActivitySeries {self.id} {self.rrule}>"


# PostgreSQL's exclusion constraint: published activities that were not overridden never overlap
# in one venue. Migration 0800 creates it; it is not declared on the model because SQLite cannot
# have it and Alembic's autogenerate neither reflects nor compares exclusion constraints, so
# `flask db check` stays clean without it (tests/test_event_concurrency.py proves it exists).
VENUE_EXCLUSION = "ex_activity_venue_time"


class Activity(db.Model):
    """A joint activity, salon, roundtable, afternoon tea or instructor visit."""

    __tablename__ = "activity"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("sequence >= 0", name="sequence_non_negative"),
        # Conflict checks and calendar views look up overlapping time ranges.
        Index("ix_activity_venue_time", "venue_id", "starts_at", "ends_at"),
        Index("ix_activity_time", "starts_at", "ends_at"),
        # VENUE_EXCLUSION (no two published activities hold a venue at once) is created by
        # migration 0800 on PostgreSQL only; see there.
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind), index=True)
    visit_kind: Mapped[VisitKind | None] = mapped_column(enum_column(VisitKind))
    title: Mapped[str] = mapped_column(String(200))
    agenda: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("monthly_theme.id"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    alliance_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id"))
    # A visit takes place at the enterprise itself rather than at a venue.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    location_note: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None] = mapped_column(Integer)
    # Reminders (app/reminders): minutes before the start, e.g. "1440,120"; None = the host's default.
    reminder_offsets: Mapped[str | None] = mapped_column(String(200))
    # Invitees should answer by then; None = two days before the start.
    answer_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[ActivityStatus] = mapped_column(
        enum_column(ActivityStatus), default=ActivityStatus.draft, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(String(500))
    # RFC 5545 SEQUENCE: grows on every change attendees must see.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # The organiser used the venue although it was taken (the reason is in the audit log). Such an
    # activity is left out of PostgreSQL's no-double-booking constraint (VENUE_EXCLUSION).
    venue_override: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Grows on every UPDATE of the row (SQLAlchemy's version_id_col); edit forms carry it so that
    # a save based on what another organiser has since changed is refused, not applied.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by the mapper
    # An occurrence of a series, with its original start (UTC) as RFC 5545 RECURRENCE-ID.
    series_id: Mapped[int | None] = mapped_column(ForeignKey("activity_series.id"), index=True)
    recurrence_id: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    theme: Mapped[MonthlyTheme | None] = relationship()
    host: Mapped[Organisation] = relationship(foreign_keys=[host_id])
    alliance: Mapped[Organisation | None] = relationship(foreign_keys=[alliance_id])
    site: Mapped[Organisation | None] = relationship(foreign_keys=[site_id])
    venue: Mapped[Venue | None] = relationship()
    organiser: Mapped[Person | None] = relationship()
    series: Mapped[ActivitySeries | None] = relationship()
    cohosts: Mapped[list[Organisation]] = relationship(
        secondary=activity_cohost, order_by=Organisation.name
    )

    @property
    def kind_label(self) -> str:
        """The translated kind, with the visit sub-kind where there is one."""
        if self.kind == ActivityKind.visit and self.visit_kind:
            return str(VISIT_KIND_LABELS[self.visit_kind])
        return str(ACTIVITY_KIND_LABELS[self.kind])

    @property
    def status_label(self) -> str:
        """The translated status."""
        return str(ACTIVITY_STATUS_LABELS[self.status])

    @property
    def place(self) -> str:
        """Where it happens, in words."""
        parts: list[str] = []
        if self.venue is not None:
            parts.append(_("%(name)s (%(detail)s)", name=self.venue.name, detail=self.venue.address))
        elif self.site is not None:
            site = self.site
            parts.append(_("%(name)s (%(detail)s)", name=site.name, detail=site.address) if site.address else site.name)
        if self.location_note:
            parts.append(self.location_note)
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.kind} {self.title}>"
