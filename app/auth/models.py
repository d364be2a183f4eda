"""User accounts: a person who can log in, with one role."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.core.clock import utcnow
from app.core.roles import ROLE_LABELS, Role
from app.core.types import UTCDateTime, enum_column
from app.extensions import db
from app.orgs.models import Person

__all__ = ["ROLE_LABELS", "Role", "User", "password_hash_method"]


def password_hash_method() -> str:
    """werkzeug's hash method: scrypt, unless the settings choose another (the tests' faster one)."""
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"


class User(UserMixin, db.Model):
    """A log-in account tied to one person."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session and remember-me cookie; raising it ends them all (app/auth/sessions.py).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    person: Mapped[Person] = relationship(lazy="joined", backref=backref("account", uselist=False))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses log-in to inactive accounts
        return self.active and self.person.active

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session and remember-me cookie: account and session version."""
        return f"{self.id}:{self.session_version}"

    @property
    def email(self) -> str | None:
        """The person's e-mail, which is the log-in name."""
        return self.person.email

    @property
    def name(self) -> str:
        """The person's name."""
        return self.person.name

    @property
    def organisation_id(self) -> int:
        """The organisation the account acts for."""
        return self.person.organisation_id

    @property
    def role_label(self) -> str:
        """The translated role."""
        return str(ROLE_LABELS[self.role])

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password."""
        self.password_hash = generate_password_hash(password, method=password_hash_method())

    def check_password(self, password: str) -> bool:
        """Compare a password with the stored hash."""
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: Role) -> bool:
        """True when the account has exactly one of the roles."""
        return self.role in roles

    @property
    def is_staff(self) -> bool:
        """Admins and organisers run activities across the county."""
        return self.role in (Role.admin, Role.organiser)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
