"""Organisations of the county, their people, instructors' enterprises and venues."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.extensions import db


class OrgKind(enum.StrEnum):
    committee = "committee"
    alliance = "alliance"
    enterprise = "enterprise"
    department = "department"


ORG_KIND_LABELS = {
    OrgKind.committee: _l("Chain party committee"),
    OrgKind.alliance: _l("Party-building alliance"),
    OrgKind.enterprise: _l("Enterprise"),
    OrgKind.department: _l("Government department"),
}


class PartyBranch(enum.StrEnum):
    standalone = "standalone"
    joint = "joint"
    none = "none"


PARTY_BRANCH_LABELS = {
    PartyBranch.standalone: _l("Own branch (standalone)"),
    PartyBranch.joint: _l("Joint branch"),
    PartyBranch.none: _l("No party branch"),
}


class Organisation(db.Model):
    """A committee, an alliance, an enterprise or a government department."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind), index=True)
    party_branch: Mapped[PartyBranch] = mapped_column(
        enum_column(PartyBranch), default=PartyBranch.none
    )
    # For a joint branch: the branch that covers several enterprises.
    joint_branch_name: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Default reminder offsets of the activities it hosts, minutes before the start ("1440,120").
    reminder_offsets: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    people: Mapped[list[Person]] = relationship(back_populates="organisation")
    memberships: Mapped[list[AllianceMembership]] = relationship(
        back_populates="enterprise", foreign_keys="AllianceMembership.enterprise_id"
    )
    members: Mapped[list[AllianceMembership]] = relationship(
        back_populates="alliance", foreign_keys="AllianceMembership.alliance_id"
    )

    @property
    def kind_label(self) -> str:
        """The translated kind."""
        return str(ORG_KIND_LABELS[self.kind])

    @property
    def display_name(self) -> str:
        """The short name where there is one."""
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.kind} {self.name}>"


class AllianceMembership(db.Model):
    """An enterprise's membership in an alliance; chain leaders (链主) lead the chain."""

    __tablename__ = "alliance_membership"
    __table_args__ = (UniqueConstraint("alliance_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    is_chain_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_on: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    alliance: Mapped[Organisation] = relationship(foreign_keys=[alliance_id], back_populates="members")
    enterprise: Mapped[Organisation] = relationship(
        foreign_keys=[enterprise_id], back_populates="memberships"
    )


class Person(db.Model):
    """Someone who belongs to an organisation; may or may not have an account."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    # A mainland mobile number for SMS notices, stored as its 11 digits (app/core/inputs.py).
    mobile: Mapped[str | None] = mapped_column(String(11), index=True)
    title: Mapped[str | None] = mapped_column(String(60))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Invitations to the organisation reach its contacts.
    is_contact: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="people")

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.name}>"


class InstructorAssignment(db.Model):
    """A party-building instructor (党建工作指导员) looks after an enterprise."""

    __tablename__ = "instructor_assignment"
    __table_args__ = (UniqueConstraint("instructor_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instructor_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instructor: Mapped[Person] = relationship()
    enterprise: Mapped[Organisation] = relationship()


class Venue(db.Model):
    """A room or site where activities take place."""

    __tablename__ = "venue"
    __table_args__ = (CheckConstraint("capacity > 0", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    # How to get there, shown on invitations (no online maps on county intranets).
    directions: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[Organisation | None] = relationship()

    def __repr__(self) -> str:
        return f"<Venue {self.id} {self.name}>"
