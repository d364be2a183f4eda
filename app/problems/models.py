"""Problems enterprises raise, their steps, outcomes, follow-up visits and activity records."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.events.models import Activity
from app.extensions import db
from app.orgs.models import Organisation, Person


class ProblemCategory(enum.StrEnum):
    tax = "tax"
    talent = "talent"
    financing = "financing"
    export = "export"
    it_integration = "it_integration"
    land_permits = "land_permits"
    labour = "labour"
    dispute = "dispute"
    other = "other"


CATEGORY_LABELS = {
    ProblemCategory.tax: _l("Taxes and fees"),
    ProblemCategory.talent: _l("Talent recognition"),
    ProblemCategory.financing: _l("Financing and loans"),
    ProblemCategory.export: _l("Export and customs"),
    ProblemCategory.it_integration: _l("IT–industry integration"),
    ProblemCategory.land_permits: _l("Land and permits"),
    ProblemCategory.labour: _l("Labour and hiring"),
    ProblemCategory.dispute: _l("Disputes"),
    ProblemCategory.other: _l("Other"),
}


class ProblemSource(enum.StrEnum):
    """Where a problem came in: raised in person, or passed on by another channel."""

    on_site = "on_site"
    hotline = "hotline"
    province_platform = "province_platform"
    other = "other"


SOURCE_LABELS = {
    ProblemSource.on_site: _l("On site"),
    ProblemSource.hotline: _l("12345 hotline"),
    ProblemSource.province_platform: _l("Provincial enterprise service platform"),
    ProblemSource.other: _l("Other channel"),
}


class ProblemStatus(enum.StrEnum):
    accepted = "accepted"
    assigned = "assigned"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
    returned = "returned"
    withdrawn = "withdrawn"


STATUS_LABELS = {
    ProblemStatus.accepted: lazy_pgettext("problem status", "Accepted"),
    ProblemStatus.assigned: _l("Assigned"),
    ProblemStatus.in_progress: _l("In progress"),
    ProblemStatus.resolved: _l("Resolved"),
    ProblemStatus.closed: _l("Closed out"),
    ProblemStatus.returned: _l("Returned"),
    ProblemStatus.withdrawn: lazy_pgettext("problem status", "Withdrawn"),
}

STATUS_COLOURS = {
    ProblemStatus.accepted: "secondary",
    ProblemStatus.assigned: "info",
    ProblemStatus.in_progress: "primary",
    ProblemStatus.resolved: "success",
    ProblemStatus.closed: "dark",
    ProblemStatus.returned: "warning",
    ProblemStatus.withdrawn: "light",
}

OPEN_STATUSES = (ProblemStatus.accepted, ProblemStatus.assigned, ProblemStatus.in_progress)
RESOLVED_STATUSES = (ProblemStatus.resolved, ProblemStatus.closed)


class Satisfaction(enum.StrEnum):
    satisfied = "satisfied"
    basically = "basically"
    unsatisfied = "unsatisfied"


SATISFACTION_LABELS = {
    Satisfaction.satisfied: _l("Satisfied"),
    Satisfaction.basically: _l("Basically satisfied"),
    Satisfaction.unsatisfied: _l("Not satisfied"),
}


class ExtensionState(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


EXTENSION_LABELS = {
    ExtensionState.pending: _l("Extension requested"),
    ExtensionState.approved: _l("Extension approved"),
    ExtensionState.refused: _l("Extension refused"),
}


class Problem(db.Model):
    """One difficulty an enterprise raised, carried from 受理 to 销号."""

    __tablename__ = "problem"
    __table_args__ = (
        CheckConstraint("loan_amount_wan IS NULL OR loan_amount_wan >= 0", name="loan_non_negative"),
        CheckConstraint("days_before IS NULL OR days_before >= 0", name="days_before_non_negative"),
        CheckConstraint("days_after IS NULL OR days_after >= 0", name="days_after_non_negative"),
        Index("ix_problem_raised", "raised_at"),
        Index("ix_problem_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id"), index=True)
    category: Mapped[ProblemCategory] = mapped_column(enum_column(ProblemCategory), index=True)
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[ProblemSource] = mapped_column(
        enum_column(ProblemSource), default=ProblemSource.on_site, server_default=ProblemSource.on_site.value
    )
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    status: Mapped[ProblemStatus] = mapped_column(
        enum_column(ProblemStatus), default=ProblemStatus.accepted, index=True
    )
    resolved_on_site: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[date | None] = mapped_column(Date)
    extension_state: Mapped[ExtensionState | None] = mapped_column(enum_column(ExtensionState))
    extension_until: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(String(500))
    satisfaction: Mapped[Satisfaction | None] = mapped_column(enum_column(Satisfaction))
    feedback: Mapped[str | None] = mapped_column(String(1000))
    loan_amount_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    days_before: Mapped[int | None] = mapped_column(Integer)
    days_after: Mapped[int | None] = mapped_column(Integer)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Local (display-zone) day it was resolved, compared with the deadline for 按期办结.
    resolved_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Organisation] = relationship(foreign_keys=[enterprise_id])
    department: Mapped[Organisation | None] = relationship(foreign_keys=[department_id])
    activity: Mapped[Activity | None] = relationship()
    raised_by: Mapped[Person | None] = relationship(foreign_keys=[raised_by_id])
    recorded_by: Mapped[Person | None] = relationship(foreign_keys=[recorded_by_id])
    steps: Mapped[list[ProblemStep]] = relationship(
        back_populates="problem", order_by="ProblemStep.id", cascade="all, delete-orphan"
    )

    @property
    def category_label(self) -> str:
        return str(CATEGORY_LABELS[self.category])

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS[self.source])

    @property
    def status_colour(self) -> str:
        return STATUS_COLOURS[self.status]

    @property
    def satisfaction_label(self) -> str:
        return str(SATISFACTION_LABELS[self.satisfaction]) if self.satisfaction else ""

    def is_overdue(self, today: date) -> bool:
        """Open past its deadline."""
        return self.status in OPEN_STATUSES and self.deadline is not None and self.deadline < today

    def __repr__(self) -> str:
        return f"<Problem {self.id} {self.status}>"


def _named_enum(enum_class: type[enum.Enum], name: str):
    """An enum column whose CHECK constraint has its own name (two columns of one enum)."""
    column_type = enum_column(enum_class)
    column_type.name = name
    return column_type


class ProblemStep(db.Model):
    """One step of a problem's history: who did what, when, from which status to which."""

    __tablename__ = "problem_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[ProblemStatus | None] = mapped_column(_named_enum(ProblemStatus, "from_status"))
    to_status: Mapped[ProblemStatus | None] = mapped_column(_named_enum(ProblemStatus, "to_status"))
    note: Mapped[str | None] = mapped_column(Text)

    problem: Mapped[Problem] = relationship(back_populates="steps")
    actor: Mapped[Person | None] = relationship()


class FollowUp(db.Model):
    """A follow-up visit (回访) scheduled from a problem, and what it found."""

    __tablename__ = "problem_follow_up"
    __table_args__ = (UniqueConstraint("activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    outcome: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    problem: Mapped[Problem] = relationship()
    activity: Mapped[Activity] = relationship()


class OutcomeKind(enum.StrEnum):
    loan = "loan"
    mediation = "mediation"


OUTCOME_LABELS = {
    OutcomeKind.loan: _l("Loans facilitated"),
    OutcomeKind.mediation: _l("Disputes mediated"),
}


class Outcome(db.Model):
    """Results counted outside single problems: a bank's batch of loans after a matchmaking
    activity (amount and how many enterprises it reached), or disputes mediated (cases)."""

    __tablename__ = "outcome"
    __table_args__ = (
        CheckConstraint("amount_wan IS NULL OR amount_wan >= 0", name="amount_non_negative"),
        CheckConstraint("enterprise_count >= 0", name="enterprises_non_negative"),
        CheckConstraint("cases >= 0", name="cases_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutcomeKind] = mapped_column(enum_column(OutcomeKind), index=True)
    recorded_on: Mapped[date] = mapped_column(Date, index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id"))
    alliance_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    amount_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    enterprise_count: Mapped[int] = mapped_column(Integer, default=0)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity: Mapped[Activity | None] = relationship()


class ActivityRecord(db.Model):
    """The record of an activity (活动纪实): minutes, decisions and attendance."""

    __tablename__ = "activity_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), unique=True)
    minutes: Mapped[str | None] = mapped_column(Text)  # sanitised HTML
    decisions: Mapped[str | None] = mapped_column(Text)
    expected: Mapped[int | None] = mapped_column(Integer)
    present: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity: Mapped[Activity] = relationship()


class ActivityPhoto(db.Model):
    """A photo of an activity, stored under instance/uploads with a random name."""

    __tablename__ = "activity_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActivityFeedback(db.Model):
    """An attending enterprise's rating of an activity (1–5) and comment."""

    __tablename__ = "activity_feedback"
    __table_args__ = (
        UniqueConstraint("activity_id", "enterprise_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Organisation] = relationship()


class RatingLink(db.Model):
    """A link that lets a resolved problem's enterprise contact rate it without an account.

    Only sha256(token) is kept (as for answer links); the link expires at `expires_at`.
    """

    __tablename__ = "problem_rating_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    problem: Mapped[Problem] = relationship()
    person: Mapped[Person | None] = relationship()
