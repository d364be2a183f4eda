"""Account rules: creating accounts and checking credentials."""

from __future__ import annotations

from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import Role, User, password_hash_method
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation, OrgKind, Person

# Which kind of organisation each role belongs to (None: any).
ROLE_ORG_KINDS: dict[Role, tuple[OrgKind, ...] | None] = {
    Role.admin: None,
    Role.organiser: (OrgKind.committee, OrgKind.alliance),
    Role.liaison: (OrgKind.department,),
    Role.contact: (OrgKind.enterprise,),
    Role.instructor: None,
}

MIN_PASSWORD_LENGTH = 8


def normalise_email(email: str) -> str:
    """Check an e-mail address and return it in lower case."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValidationFailed(_("Invalid e-mail address."), "email") from error


def find_person_by_email(email: str) -> Person | None:
    """The person with this e-mail, case-insensitively."""
    return db.session.scalar(select(Person).where(func.lower(Person.email) == email.strip().lower()))


def check_role_fits(role: Role, organisation: Organisation) -> None:
    """Refuse e.g. an enterprise contact account for a government department."""
    kinds = ROLE_ORG_KINDS[role]
    if kinds is not None and organisation.kind not in kinds:
        raise ValidationFailed(_("This role does not fit an organisation of this kind."))


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )


def create_account(
    *, email: str, name: str, organisation: Organisation, role: Role, password: str
) -> User:
    """Create a person (or reuse the one with this e-mail) and give them an account."""
    check_role_fits(role, organisation)
    check_password_strength(password)
    email = normalise_email(email)
    if not name.strip() or len(name.strip()) > 60:
        raise ValidationFailed(_("Give a name of at most %(n)d characters.", n=60), "name")
    person = find_person_by_email(email)
    if person is None:
        person = Person(name=name.strip(), email=email, organisation=organisation)
        db.session.add(person)
    elif person.organisation_id != organisation.id:
        raise ValidationFailed(_("This e-mail belongs to a person of another organisation."))
    db.session.flush()
    if db.session.scalar(select(User).where(User.person_id == person.id)) is not None:
        raise ValidationFailed(_("This person already has an account."))
    user = User(person=person, role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not a real password", method=method)


def authenticate(email: str, password: str) -> User | None:
    """The active account with these credentials, or None."""
    person = find_person_by_email(email)
    user = db.session.scalar(select(User).where(User.person_id == person.id)) if person else None
    # Hash whether or not there is an account, so timing does not tell which e-mails are on file.
    stored_hash = user.password_hash if user is not None else _dummy_hash(password_hash_method())
    if not check_password_hash(stored_hash, password) or user is None or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user


# Who outranks whom: nobody may deactivate or demote an account above their own role.
ROLE_RANK = {Role.admin: 2, Role.organiser: 1}


def check_may_manage(actor: User, person: Person) -> None:
    """Refuse (403) changing a person whose account ranks above the actor's role."""
    account = db.session.scalar(select(User).where(User.person_id == person.id))
    if account is not None and ROLE_RANK.get(account.role, 0) > ROLE_RANK.get(actor.role, 0):
        raise Forbidden()


def guard_person_change(actor: User, person: Person, active: bool | None) -> None:
    """orgs' person guard: no change above the actor's rank, no deactivating the last admin."""
    check_may_manage(actor, person)
    if active is not None:
        check_admin_remains(person, active=active)


def check_admin_remains(person: Person, *, role: Role | None = None, active: bool = True) -> None:
    """Refuse a change that would leave no active administrator (a demotion or deactivation)."""
    account = db.session.scalar(select(User).where(User.person_id == person.id))
    if account is None or account.role != Role.admin or (role in (None, Role.admin) and active):
        return
    others = db.session.scalar(
        select(func.count())
        .select_from(User)
        .join(User.person)
        .where(User.role == Role.admin, User.active.is_(True), Person.active.is_(True), User.id != account.id)
    )
    if not others:
        raise ValidationFailed(_("This is the last active administrator: appoint another one first."))
