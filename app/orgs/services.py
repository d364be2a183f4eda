"""Rules for organisations, people and venues; they flush and never commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from werkzeug.exceptions import Forbidden

from app.audit.services import diff, record
from app.core.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import (
    AllianceMembership,
    InstructorAssignment,
    Organisation,
    OrgKind,
    PartyBranch,
    Person,
    Venue,
)

# Features that know more about a person (auth: their account's rank) refuse changes here,
# registered from create_app, so that orgs needs no import of them.
PERSON_GUARDS_KEY = "linghang.person_guards"
PersonGuard = Callable[[Any, Person, "bool | None"], None]


def add_person_guard(app: Flask, guard: PersonGuard) -> None:
    """Let another feature refuse a change to a person (it raises to refuse)."""
    guards = app.extensions.setdefault(PERSON_GUARDS_KEY, [])
    if guard not in guards:
        guards.append(guard)


def check_person_change(actor: Any, person: Person, *, active: bool | None = None) -> None:
    """Run every registered guard on `actor` changing `person` (or setting it active/inactive)."""
    guards = current_app.extensions.get(PERSON_GUARDS_KEY)
    if guards is None:  # fail closed: an app wired without auth's guard must not skip it
        raise RuntimeError("no person guard is registered (auth.access.configure_login)")
    for guard in guards:
        guard(actor, person, active)


def may_change_person(actor: Any, person: Person) -> bool:
    """Whether the guards let `actor` edit `person` at all (pages hide what would answer 403)."""
    try:
        check_person_change(actor, person)
    except Forbidden:
        return False
    return True


def _name_taken(model, name: str, own_id: int | None) -> bool:
    statement = select(model.id).where(func.lower(model.name) == name.lower())
    if own_id is not None:
        statement = statement.where(model.id != own_id)
    return db.session.scalar(statement.limit(1)) is not None


def alliances() -> list[Organisation]:
    """Active alliances by name."""
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.kind == OrgKind.alliance, Organisation.active.is_(True))
            .order_by(Organisation.name)
        )
    )


def organisations_of_kind(*kinds: OrgKind, active_only: bool = True) -> list[Organisation]:
    """Organisations of the given kinds by name."""
    statement = select(Organisation).where(Organisation.kind.in_(kinds)).order_by(Organisation.name)
    if active_only:
        statement = statement.where(Organisation.active.is_(True))
    return list(db.session.scalars(statement))


def save_organisation(
    organisation: Organisation | None,
    *,
    name: str,
    kind: OrgKind,
    party_branch: PartyBranch = PartyBranch.none,
    alliance_ids: list[int] | None = None,
    chain_leader_ids: list[int] | None = None,
    **fields: Any,
) -> Organisation:
    """Create or update an organisation and its alliance memberships."""
    own_id = organisation.id if organisation else None
    if _name_taken(Organisation, name, own_id):
        raise ValidationFailed(_("An organisation with this name already exists."), "name")
    alliance_ids = sorted(set(alliance_ids or []) | set(chain_leader_ids or []))
    if kind != OrgKind.enterprise and alliance_ids:
        raise ValidationFailed(_("Only enterprises are members of alliances."), "alliances")
    known = {a.id for a in alliances()}
    if not set(alliance_ids) <= known:
        raise ValidationFailed(_("Not a valid choice."), "alliances")
    if party_branch != PartyBranch.joint:
        fields["joint_branch_name"] = None
    values = {"name": name, "kind": kind, "party_branch": party_branch, **fields}
    if organisation is None:
        organisation = Organisation(**values)
        db.session.add(organisation)
        db.session.flush()
        record(organisation, "create", {key: [None, value] for key, value in values.items()})
    else:
        changes = diff(organisation, values)
        if changes:
            record(organisation, "update", changes)
    _sync_memberships(organisation, alliance_ids, set(chain_leader_ids or []))
    db.session.flush()
    return organisation


def _sync_memberships(enterprise: Organisation, alliance_ids: list[int], leaders: set[int]) -> None:
    current = {m.alliance_id: m for m in enterprise.memberships}
    for alliance_id, membership in current.items():
        if alliance_id not in alliance_ids:
            db.session.delete(membership)
    for alliance_id in alliance_ids:
        membership = current.get(alliance_id)
        if membership is None:
            membership = AllianceMembership(alliance_id=alliance_id, enterprise=enterprise)
            db.session.add(membership)
        membership.is_chain_leader = alliance_id in leaders
    if {m.alliance_id for m in current.values()} != set(alliance_ids):
        record(enterprise, "memberships", {"alliances": [sorted(current), alliance_ids]})


def set_active(entity: Organisation | Person | Venue, active: bool) -> None:
    """Deactivate (hide from choices, keep history) or reactivate a record."""
    if entity.active != active:
        entity.active = active
        record(entity, "activate" if active else "deactivate")
        db.session.flush()


def save_person(
    person: Person | None,
    *,
    name: str,
    organisation_id: int,
    email: str | None,
    assigned_enterprise_ids: list[int] | None = None,
    **fields: Any,
) -> Person:
    """Create or update a person; instructors get their enterprises."""
    email = email.lower() if email else None
    if email:
        statement = select(Person.id).where(func.lower(Person.email) == email)
        if person is not None:
            statement = statement.where(Person.id != person.id)
        if db.session.scalar(statement.limit(1)) is not None:
            raise ValidationFailed(_("Another person already uses this e-mail."), "email")
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise ValidationFailed(_("Not a valid choice."), "organisation_id")
    values = {"name": name, "organisation_id": organisation_id, "email": email, **fields}
    if person is None:
        person = Person(**values)
        db.session.add(person)
        db.session.flush()
        record(person, "create", {key: [None, value] for key, value in values.items()})
    else:
        changes = diff(person, values)
        if changes:
            record(person, "update", changes)
    if assigned_enterprise_ids is not None:
        _sync_assignments(person, set(assigned_enterprise_ids))
    db.session.flush()
    return person


def _sync_assignments(instructor: Person, enterprise_ids: set[int]) -> None:
    current = set(
        db.session.scalars(
            select(InstructorAssignment.enterprise_id).where(
                InstructorAssignment.instructor_id == instructor.id
            )
        )
    )
    if current == enterprise_ids:
        return
    db.session.execute(
        delete(InstructorAssignment).where(
            InstructorAssignment.instructor_id == instructor.id,
            InstructorAssignment.enterprise_id.in_(current - enterprise_ids),
        )
    )
    for enterprise_id in sorted(enterprise_ids - current):
        db.session.add(InstructorAssignment(instructor_id=instructor.id, enterprise_id=enterprise_id))
    record(instructor, "assignments", {"enterprises": [sorted(current), sorted(enterprise_ids)]})


def assigned_enterprise_ids(instructor: Person) -> list[int]:
    """The enterprises an instructor looks after."""
    return list(
        db.session.scalars(
            select(InstructorAssignment.enterprise_id).where(
                InstructorAssignment.instructor_id == instructor.id
            )
        )
    )


def save_venue(venue: Venue | None, *, name: str, **fields: Any) -> Venue:
    """Create or update a venue."""
    if _name_taken(Venue, name, venue.id if venue else None):
        raise ValidationFailed(_("A venue with this name already exists."), "name")
    values = {"name": name, **fields}
    if venue is None:
        venue = Venue(**values)
        db.session.add(venue)
        db.session.flush()
        record(venue, "create", {key: [None, value] for key, value in values.items()})
    else:
        changes = diff(venue, values)
        if changes:
            record(venue, "update", changes)
    db.session.flush()
    return venue
