"""Feed tokens: create, find, revoke, rotate, record polls; who may subscribe to what."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import aliased

from app.audit.services import record
from app.auth.models import User
from app.core.errors import ValidationFailed
from app.extensions import db
from app.feeds.cache import TokenEntry
from app.feeds.content import FeedScope, feed_kind_for, scope_for
from app.feeds.models import FeedKind, FeedToken
from app.feeds.tracking import take_mark, watch
from app.orgs.models import Organisation, OrgKind, Person

# last_polled_at is written at most this often per token (see record_poll).
POLL_RECORD_INTERVAL = timedelta(minutes=15)
CLI_TOKEN_NAME = "CLI"


def hash_token(token: str) -> str:
    """The stored form of a token: sha256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A random token of 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def feed_path(token: str) -> str:
    """The feed's path for a token."""
    return f"/feeds/{token}.ics"


def public_feed_path() -> str:
    """The path of the public feed."""
    return "/feeds/public.ics"


def feed_url(path: str) -> str:
    """The https:// (or http://) address of a feed path."""
    return current_app.config["BASE_URL"].rstrip("/") + path


def webcal_url(url: str) -> str:
    """The same address as webcal:// for one-click subscription."""
    return "webcal://" + url.split("://", 1)[1]


def scope_of_token(token: FeedToken) -> FeedScope:
    """The feed a token opens."""
    return scope_for(token.kind, organisation=token.organisation, person=token.person)


def find_token(token: str) -> FeedToken | None:
    """The active token row for a plain token, or None (unknown or revoked)."""
    if not token or len(token) > 128:
        return None
    return db.session.scalar(
        select(FeedToken).where(FeedToken.token_hash == hash_token(token), FeedToken.revoked_at.is_(None))
    )


@lru_cache(maxsize=1)
def _poll_statement():
    """Built once per process: constructing it (aliases, subqueries) costs more than running it."""
    subject = aliased(Organisation)
    home = aliased(Organisation)
    return (
        select(
            FeedToken.id,
            FeedToken.kind,
            FeedToken.organisation_id,
            FeedToken.person_id,
            FeedToken.last_polled_at,
            subject.kind,
            Person.organisation_id,
            home.kind,
        )
        .outerjoin(subject, subject.id == FeedToken.organisation_id)
        .outerjoin(Person, Person.id == FeedToken.person_id)
        .outerjoin(home, home.id == Person.organisation_id)
        .where(FeedToken.token_hash == bindparam("token_hash"), FeedToken.revoked_at.is_(None))
    )


def find_poll_target(token: str) -> TokenEntry | None:
    """The active token's scope, in one indexed query, with its keys and mark; None if unknown/revoked.

    The entry stays valid (app/feeds/cache.py) until its row ('t:<id>'), its subject ('O:<org>')
    or, for a person, the person or their organisation changes: a revocation invalidates it in
    every process at the next poll.
    """
    if not token or len(token) > 128:
        return None
    # A plain connection rather than the ORM session: this runs on every poll and reads one row.
    # On PostgreSQL in autocommit, which saves the BEGIN and ROLLBACK round trips of a
    # one-statement read (the statement is its own snapshot).
    connection = db.engine.connect()
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT")
    changes = watch()
    generation = changes.generation
    with connection:
        mark = take_mark(connection)
        row = connection.execute(_poll_statement(), {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    token_id, kind, org_id, person_id, polled, org_kind, home_id, home_kind = row
    if kind == FeedKind.person:
        scope = FeedScope(kind.value, person_id, home_id if home_kind == OrgKind.enterprise else None)
        keys = (f"t:{token_id}", f"P:{person_id}", f"O:{home_id}")
    else:
        scope = FeedScope(FeedKind(kind).value, org_id, org_id if org_kind == OrgKind.enterprise else None)
        keys = (f"t:{token_id}", f"O:{org_id}")
    return TokenEntry(token_id, scope, polled, changes.track(keys, mark, generation))


def record_poll(token: FeedToken | TokenEntry, now: datetime) -> bool:
    """Note a poll cheaply: one conditional UPDATE at most every POLL_RECORD_INTERVAL per token.

    The token row is already loaded; when its last_polled_at is recent nothing is written at
    all. Otherwise `UPDATE … WHERE last_polled_at IS NULL OR last_polled_at < now - 15 min` so
    concurrent polls in several processes write once. Returns True when it wrote.
    """
    cutoff = now - POLL_RECORD_INTERVAL
    if token.last_polled_at is not None and token.last_polled_at >= cutoff:
        return False
    result = db.session.execute(
        update(FeedToken)
        .where(
            FeedToken.id == token.id,
            or_(FeedToken.last_polled_at.is_(None), FeedToken.last_polled_at < cutoff),
        )
        .values(last_polled_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


# -- who may subscribe to what ------------------------------------------------

def may_subscribe_organisation(user: User, organisation: Organisation) -> bool:
    """Organisers: any organisation; everyone else: only their own (enterprise, department…)."""
    return user.is_staff or organisation.id == user.organisation_id


def may_subscribe_person(user: User, person: Person) -> bool:
    """Organisers: anyone; everyone else: only themselves."""
    return user.is_staff or person.id == user.person_id


def may_manage(user: User, token: FeedToken) -> bool:
    """Who may see, revoke or rotate a token: organisers, or the subject's own people."""
    if user.is_staff:
        return True
    if token.kind == FeedKind.person:
        return token.person_id == user.person_id
    return token.organisation_id == user.organisation_id


def tokens_for(user: User) -> list[FeedToken]:
    """The tokens an account may manage, newest first (organisers: every token)."""
    statement = select(FeedToken).order_by(FeedToken.revoked_at.is_not(None), FeedToken.created_at.desc(), FeedToken.id.desc())
    if not user.is_staff:
        statement = statement.where(
            or_(
                (FeedToken.kind == FeedKind.person) & (FeedToken.person_id == user.person_id),
                (FeedToken.kind != FeedKind.person) & (FeedToken.organisation_id == user.organisation_id),
            )
        )
    return list(db.session.scalars(statement.limit(500)))


# -- tokens ----------------------------------------------------------------------

def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the subscription a name, e.g. the calendar or phone it is for."), "name")
    if len(name) > 80:
        raise ValidationFailed(_("The name is too long (80 characters at most)."), "name")
    return name


def _add_token(
    name: str,
    *,
    organisation: Organisation | None,
    person: Person | None,
    token: str,
    now: datetime,
    created_by: User | None,
) -> FeedToken:
    kind = FeedKind.person if person is not None else feed_kind_for(organisation)
    row = FeedToken(
        name=name,
        kind=kind,
        organisation_id=organisation.id if person is None else None,
        person_id=person.id if person is not None else None,
        token_hash=hash_token(token),
        created_at=now,
        created_by_id=created_by.id if created_by is not None else None,
    )
    db.session.add(row)
    db.session.flush()
    record(row, "feed_token_created", {"name": name, "kind": kind}, now=now,
           actor_id=created_by.id if created_by is not None else None)
    return row


def create_token(
    user: User,
    name: str | None,
    *,
    organisation: Organisation | None = None,
    person: Person | None = None,
    now: datetime,
) -> tuple[FeedToken, str]:
    """Create a named token for an organisation or a person; returns the row and the plain token."""
    name = _clean_name(name)
    if (organisation is None) == (person is None):
        raise ValidationFailed(_("Choose whose calendar to subscribe to."), "subject")
    if person is not None and not may_subscribe_person(user, person):
        raise ValidationFailed(_("You may only subscribe to your own calendar."), "subject")
    if organisation is not None and not may_subscribe_organisation(user, organisation):
        raise ValidationFailed(_("You may only subscribe to your own organisation's calendar."), "subject")
    token = new_token()
    row = _add_token(name, organisation=organisation, person=person, token=token, now=now, created_by=user)
    return row, token


def revoke_token(user: User | None, token: FeedToken, now: datetime) -> None:
    """Revoke a token: its URL answers 404 from now on."""
    if token.revoked_at is not None:
        raise ValidationFailed(_("This subscription link is already revoked."))
    token.revoked_at = now
    db.session.flush()
    record(token, "feed_token_revoked", {"name": token.name}, now=now,
           actor_id=user.id if user is not None else None)


def rotate_token(user: User, token: FeedToken, now: datetime) -> tuple[FeedToken, str]:
    """Replace a token by a new one with the same name and subject; the old one is revoked."""
    revoke_token(user, token, now)
    plain = new_token()
    row = _add_token(
        token.name, organisation=token.organisation if token.person is None else None,
        person=token.person, token=plain, now=now, created_by=user,
    )
    return row, plain


def cli_token(*, organisation: Organisation | None = None, person: Person | None = None, now: datetime) -> str:
    """A working token for `flask feeds url`, the same one on every run until it is revoked.

    Only hashes are stored, so the CLI cannot read an existing token back. Instead it derives
    its token as HMAC-SHA256(SECRET_KEY, "feeds-cli:<kind>:<subject>:<n>"): the first n whose
    token is not revoked. If that token exists it is reused; otherwise it is created, named
    "CLI". Revoking it (on the Subscribe page) makes the next run issue the next one. Whoever
    holds SECRET_KEY can derive these tokens — they can forge sessions anyway.
    """
    subject = f"person:{person.id}" if person is not None else f"org:{organisation.id}"
    secret = current_app.config["SECRET_KEY"].encode("utf-8")
    for generation in range(10_000):
        digest = hmac.new(secret, f"feeds-cli:{subject}:{generation}".encode(), hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        existing = db.session.scalar(select(FeedToken).where(FeedToken.token_hash == hash_token(token)))
        if existing is None:
            _add_token(CLI_TOKEN_NAME, organisation=organisation, person=person, token=token, now=now, created_by=None)
            return token
        if existing.revoked_at is None:
            return token
    raise RuntimeError("too many revoked CLI tokens")


