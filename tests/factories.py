"""Small factories for test data; each flushes and returns the object."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from app.auth.models import Role, User
from app.events.models import Activity, ActivityKind, ActivityStatus, MonthlyTheme
from app.extensions import db
from app.orgs.models import AllianceMembership, Organisation, OrgKind, Person, Venue

PASSWORD = "correct horse battery"
_serial = itertools.count(1)

ROLE_ORG_KIND = {
    "admin": OrgKind.committee,
    "organiser": OrgKind.committee,
    "liaison": OrgKind.department,
    "contact": OrgKind.enterprise,
    "instructor": OrgKind.committee,
}


def organisation(kind: OrgKind | str = OrgKind.enterprise, name: str | None = None, **fields) -> Organisation:
    """An organisation of a kind."""
    kind = OrgKind(kind)
    org = Organisation(name=name or f"{kind.value}-{next(_serial)}", kind=kind, **fields)
    db.session.add(org)
    db.session.flush()
    return org


def member(alliance: Organisation, enterprise: Organisation, leader: bool = False) -> AllianceMembership:
    """Make an enterprise a member of an alliance."""
    membership = AllianceMembership(alliance=alliance, enterprise=enterprise, is_chain_leader=leader)
    db.session.add(membership)
    db.session.flush()
    return membership


def person(org: Organisation | None = None, name: str | None = None, email: str | None = None, **fields) -> Person:
    """A person of an organisation."""
    n = next(_serial)
    person = Person(
        name=name or f"人员{n}",
        email=email if email is not None else f"person{n}@example.com",
        organisation=org or organisation(),
        **fields,
    )
    db.session.add(person)
    db.session.flush()
    return person


def user(role: Role | str = Role.organiser, org: Organisation | None = None, **person_fields) -> User:
    """An account of a role, in an organisation of a fitting kind."""
    role = Role(role)
    org = org or organisation(ROLE_ORG_KIND[role.value])
    account = User(person=person(org, **person_fields), role=role, active=True)
    account.set_password(PASSWORD)
    db.session.add(account)
    db.session.flush()
    return account


def venue(name: str | None = None, capacity: int = 50, **fields) -> Venue:
    """A venue."""
    venue = Venue(name=name or f"会议室{next(_serial)}", address="工业园区1号", capacity=capacity, **fields)
    db.session.add(venue)
    db.session.flush()
    return venue


def theme(year: int = 2026, month: int = 3, title: str = "减税退税政策宣讲", **fields) -> MonthlyTheme:
    """A monthly theme."""
    theme = MonthlyTheme(year=year, month=month, title=title, **fields)
    db.session.add(theme)
    db.session.flush()
    return theme


def activity(
    kind: ActivityKind | str = ActivityKind.salon,
    starts_at: datetime | None = None,
    hours: float = 2,
    host: Organisation | None = None,
    status: ActivityStatus | str = ActivityStatus.published,
    **fields,
) -> Activity:
    """An activity, by default published and two hours long, a week from 2026-03-02 06:30 UTC."""
    starts_at = starts_at or datetime(2026, 3, 9, 6, 30, tzinfo=UTC)
    activity = Activity(
        kind=ActivityKind(kind),
        title=fields.pop("title", f"活动{next(_serial)}"),
        host=host or organisation(OrgKind.committee),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        status=ActivityStatus(status),
        **fields,
    )
    db.session.add(activity)
    db.session.flush()
    return activity


def invitation(activity: Activity, person_: Person | None = None, now: datetime | None = None, **fields):
    """An invitation of a person (a new enterprise contact by default); returns (invitation, token)."""
    from app.invitations.models import Invitation
    from app.invitations.services import issue_token, new_checkin_code

    person_ = person_ or person()
    now = now or datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    invite = Invitation(
        activity=activity,
        person=person_,
        organisation_id=person_.organisation_id,
        token_hash=f"placeholder-{next(_serial)}",
        checkin_code=new_checkin_code(),
        sent_at=now,
        **fields,
    )
    db.session.add(invite)
    db.session.flush()
    return invite, issue_token(invite, now)


def answered_invitation(activity: Activity, person: Person | None = None, answer: str = "accepted", **fields):
    """An invitation already answered (accepted by default), without a usable answer link."""
    import secrets

    from app.invitations.models import Answer, Invitation

    person = person or globals()["person"]()
    invitation = Invitation(
        activity=activity,
        person=person,
        organisation_id=person.organisation_id,
        answer=Answer(answer),
        seats=1 if answer == "accepted" else 0,
        token_hash=secrets.token_hex(32),
        checkin_code=secrets.token_hex(6),
        **fields,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation


def problem(enterprise: Organisation | None = None, category: str = "tax", status: str = "accepted", **fields):
    """A problem of an enterprise (by default 受理, raised 2026-03-09 08:00 Beijing time)."""
    from app.problems.models import Problem, ProblemCategory, ProblemStatus

    item = Problem(
        enterprise=enterprise or organisation(OrgKind.enterprise),
        category=ProblemCategory(category),
        description=fields.pop("description", f"问题{next(_serial)}"),
        status=ProblemStatus(status),
        raised_at=fields.pop("raised_at", datetime(2026, 3, 9, 0, 0, tzinfo=UTC)),
        **fields,
    )
    db.session.add(item)
    db.session.flush()
    return item
