"""API keys: create (the key is shown once), find by the key itself, note use, revoke one by one."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from app.api.models import ApiKey, Scope
from app.audit.services import record
from app.auth.models import User
from app.core.errors import ValidationFailed
from app.core.inputs import clean_text
from app.extensions import db
from app.orgs.models import Organisation

KEY_PREFIX = "lh_"
# 32 random bytes (256 bits) in URL-safe base64: 43 characters after the prefix.
MAX_KEY_LENGTH = 80
# last_used_at is written at most this often per key, never on every request.
USE_RECORD_INTERVAL = timedelta(minutes=1)


def hash_key(key: str) -> str:
    """The stored form of a key: sha256, hex (the key is random, so no slow hash is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    organisation: Organisation, name: str, scopes: list[str], *, created_by: User | None, now: datetime
) -> tuple[ApiKey, str]:
    """A new key for an organisation; returns the row and the key, which is never shown again."""
    name = clean_text(name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the key a name."), "name")
    if len(name) > 80:
        raise ValidationFailed(_("The name is too long."), "name")
    known = {scope.value for scope in Scope}
    chosen = sorted(set(scopes))
    if not chosen:
        raise ValidationFailed(_("Choose at least one scope."), "scopes")
    if set(chosen) - known:
        raise ValidationFailed(_("Unknown scope."), "scopes")
    if not organisation.active:
        raise ValidationFailed(_("The organisation is inactive."), "organisation_id")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        organisation=organisation, name=name, scopes=chosen, prefix=key[:11], secret_hash=hash_key(key),
        created_by=created_by, created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    record(row, "api_key_created", {"name": name, "scopes": chosen, "organisation_id": organisation.id}, now=now)
    return row, key


def revoke_key(row: ApiKey, *, now: datetime) -> None:
    """Revoke a key: every request with it gets 401 from now on."""
    locked = db.session.scalars(
        select(ApiKey).where(ApiKey.id == row.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    if locked.revoked_at is not None:
        raise ValidationFailed(_("This key is already revoked."))
    locked.revoked_at = now
    db.session.flush()
    record(locked, "api_key_revoked", {}, now=now)


def find_key(key: str) -> ApiKey | None:
    """The key's row (revoked or not) for a presented key, or None when unknown."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return None
    return db.session.scalar(select(ApiKey).where(ApiKey.secret_hash == hash_key(key)))


def note_use(key_id: int, now: datetime) -> bool:
    """Record the last use cheaply: one conditional UPDATE, writing at most once a minute per key."""
    cutoff = now - USE_RECORD_INTERVAL
    result = db.session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < cutoff))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def keys_list() -> list[ApiKey]:
    """Every key, active ones first, newest first."""
    return list(
        db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc()))
    )
