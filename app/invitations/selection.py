"""Choosing invitees: organisations, people, alliances, chain leaders, departments, instructors'
enterprises and saved lists, and inviting everyone a selection reaches (once each)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.core.errors import ValidationFailed
from app.events.checks import invitee_warnings
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.mailing import check_open, queue_mail
from app.invitations.models import Answer, Invitation, SavedList, SavedListEntry
from app.invitations.signals import invitations_sent
from app.invitations.tokens import issue_token, new_checkin_code
from app.orgs.models import (
    AllianceMembership,
    InstructorAssignment,
    Organisation,
    OrgKind,
    Person,
)


@dataclass
class Selection:
    """Whom to invite; every part is optional and the union is taken."""

    organisation_ids: list[int] = field(default_factory=list)
    person_ids: list[int] = field(default_factory=list)
    alliance_ids: list[int] = field(default_factory=list)
    chain_leaders: bool = False
    all_departments: bool = False
    instructor_ids: list[int] = field(default_factory=list)
    saved_list_ids: list[int] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.organisation_ids or self.person_ids or self.alliance_ids or self.chain_leaders
            or self.all_departments or self.instructor_ids or self.saved_list_ids
        )


def org_ids_of(selection: Selection) -> set[int]:
    """The organisations a selection names, directly or through its groups and saved lists."""
    ids = set(selection.organisation_ids)
    if selection.alliance_ids:
        ids |= set(
            db.session.scalars(
                select(AllianceMembership.enterprise_id).where(
                    AllianceMembership.alliance_id.in_(selection.alliance_ids)
                )
            )
        )
    if selection.chain_leaders:
        ids |= set(
            db.session.scalars(
                select(AllianceMembership.enterprise_id).where(AllianceMembership.is_chain_leader.is_(True))
            )
        )
    if selection.all_departments:
        ids |= set(db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.department)))
    if selection.instructor_ids:
        ids |= set(
            db.session.scalars(
                select(InstructorAssignment.enterprise_id).where(
                    InstructorAssignment.instructor_id.in_(selection.instructor_ids)
                )
            )
        )
    if selection.saved_list_ids:
        ids |= {
            i
            for i in db.session.scalars(
                select(SavedListEntry.organisation_id).where(
                    SavedListEntry.saved_list_id.in_(selection.saved_list_ids)
                )
            )
            if i is not None
        }
    return ids


def resolve_invitees(selection: Selection) -> list[Person]:
    """The active people a selection reaches: organisations' active contacts and single people."""
    org_ids = org_ids_of(selection)
    person_ids = set(selection.person_ids)
    if selection.saved_list_ids:
        person_ids |= {
            i
            for i in db.session.scalars(
                select(SavedListEntry.person_id).where(SavedListEntry.saved_list_id.in_(selection.saved_list_ids))
            )
            if i is not None
        }
    people: dict[int, Person] = {}
    if org_ids:
        for person in db.session.scalars(
            select(Person)
            .join(Organisation, Organisation.id == Person.organisation_id)
            .where(
                Person.organisation_id.in_(org_ids),
                Person.is_contact.is_(True),
                Person.active.is_(True),
                Organisation.active.is_(True),
            )
        ):
            people[person.id] = person
    if person_ids:
        for person in db.session.scalars(
            select(Person).where(Person.id.in_(person_ids), Person.active.is_(True))
        ):
            people[person.id] = person
    return sorted(people.values(), key=lambda p: (p.organisation_id, p.id))


def new_invitation(activity: Activity, person: Person, now: datetime, *, whole_series: bool = False) -> Invitation:
    """A pending invitation row (its token hash is replaced when a link is issued)."""
    invitation = Invitation(
        activity=activity,
        person=person,
        organisation_id=person.organisation_id,
        answer=Answer.pending,
        seats=0,
        token_hash=secrets.token_hex(32),  # replaced by issue_token
        checkin_code=new_checkin_code(),
        whole_series=whole_series,
        created_at=now,
        updated_at=now,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation


@dataclass
class InviteReport:
    created: list[Invitation] = field(default_factory=list)
    already: int = 0
    without_email: int = 0
    mailed: int = 0
    # Invited organisations already at an overlapping activity (told, never refused).
    warnings: list[str] = field(default_factory=list)


def invite(activity: Activity, selection: Selection, *, now: datetime) -> InviteReport:
    """Invite everyone a selection reaches (once each); mail them if the activity is published."""
    check_open(activity, now)
    if selection.is_empty():
        raise ValidationFailed(_("Choose at least one organisation, person or group to invite."))
    people = resolve_invitees(selection)
    if not people:
        raise ValidationFailed(_("The selection reaches nobody: no active contacts were found."))
    existing = set(
        db.session.scalars(select(Invitation.person_id).where(Invitation.activity_id == activity.id))
    )
    report = InviteReport()
    for person in people:
        if person.id in existing:
            report.already += 1
            continue
        invitation = new_invitation(activity, person, now)
        existing.add(person.id)
        report.created.append(invitation)
        token = issue_token(invitation, now)
        if not person.email:
            report.without_email += 1
        elif activity.status == ActivityStatus.published:
            queue_mail(invitation, "invitation", now, token=token)
            invitation.sent_at = now
            report.mailed += 1
    if report.created:
        invitations_sent.send(tuple(report.created), now=now)
        record(
            activity,
            "invite",
            {"invited": [None, [i.person_id for i in report.created]]},
            note=_("%(n)s invited", n=len(report.created)),
            now=now,
        )
    db.session.flush()
    report.warnings = invitee_warnings(activity, [i.organisation_id for i in report.created])
    return report


def save_list(name: str, selection: Selection, field: str = "list_name") -> SavedList:
    """Keep the organisations and people of a selection under a name (the form's `field`) for later."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Please enter a name for the list."), field)
    if db.session.scalar(select(SavedList.id).where(SavedList.name == name)) is not None:
        raise ValidationFailed(_("A list with this name already exists."), field)
    org_ids = org_ids_of(selection)
    saved = SavedList(name=name[:120])
    saved.entries = [SavedListEntry(organisation_id=i) for i in sorted(org_ids)] + [
        SavedListEntry(person_id=i) for i in sorted(set(selection.person_ids))
    ]
    if not saved.entries:
        raise ValidationFailed(_("Choose at least one organisation, person or group to invite."))
    db.session.add(saved)
    db.session.flush()
    record(saved, "create", {"name": [None, saved.name]})
    return saved
