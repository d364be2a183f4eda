"""Account rules: creating accounts and checking credentials."""

from __future__ import annotations

from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import Role, User
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
def _dummy_hash() -> str:
    return generate_password_hash("not a real password")


def authenticate(email: str, password: str) -> User | None:
    """The active account with these credentials, or None."""
    person = find_person_by_email(email)
    if person is None:
        # Spend the same time as a real check so timing does not tell which e-mails exist.
        check_password_hash(_dummy_hash(), password)
        return None
    user = db.session.scalar(select(User).where(User.person_id == person.id))
    if user is None or not user.check_password(password) or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user
