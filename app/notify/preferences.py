"""Who wants which notice through which channel: the person's choice, else their organisation's,
else the default; and the signed unsubscribe links that need no log-in. Services flush, never commit.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import case, false, select, true

from app.core.errors import ValidationFailed
from app.extensions import db
from app.mail.models import Channel
from app.notify.models import (
    DEFAULT_CHANNELS,
    MANDATORY,
    NOTICE_KIND_LABELS,
    PERSONAL_CHANNELS,
    NoticeKind,
    NoticePreference,
    OwnerType,
)
from app.orgs.models import Person

UNSUBSCRIBE_SALT = "linghang-unsubscribe"


def _choices(owner_type: OwnerType, owner_id: int) -> dict[tuple[str, str], bool]:
    rows = db.session.execute(
        select(NoticePreference.kind, NoticePreference.channel, NoticePreference.enabled).where(
            NoticePreference.owner_type == owner_type.value, NoticePreference.owner_id == owner_id
        )
    )
    return {(kind, channel): enabled for kind, channel, enabled in rows}


def organisation_channels(organisation_id: int, kind: NoticeKind) -> set[str]:
    """The channels an organisation's people get a notice kind through unless they chose otherwise."""
    chosen = _choices(OwnerType.organisation, organisation_id)
    return {
        channel.value
        for channel in PERSONAL_CHANNELS
        if chosen.get((kind.value, channel.value), channel.value in DEFAULT_CHANNELS[kind])
    }


def channels_for(person: Person, kind: NoticeKind) -> set[str]:
    """The channels through which `person` wants notices of `kind`."""
    own = _choices(OwnerType.person, person.id)
    inherited = organisation_channels(person.organisation_id, kind)
    return {
        channel.value
        for channel in PERSONAL_CHANNELS
        if own.get((kind.value, channel.value), channel.value in inherited)
    }


def wants(person: Person, kind: NoticeKind, channel: str) -> bool:
    """Does `person` (still) want notices of `kind` through `channel`? Other channels: always."""
    if channel not in {c.value for c in PERSONAL_CHANNELS}:
        return True
    return channel in channels_for(person, kind)


def _choice_subquery(owner_type: OwnerType, owner_id, kind, channel: str):
    return (
        select(NoticePreference.enabled)
        .where(
            NoticePreference.owner_type == owner_type.value,
            NoticePreference.owner_id == owner_id,
            NoticePreference.kind == kind,
            NoticePreference.channel == channel,
        )
        .limit(1)
        .scalar_subquery()
    )


def sql_wants(person_id, organisation_id, kind, channel: str, default):
    """The same choice as `wants`, as a SQL condition (for set-based queuing of reminders).

    `kind` is a SQL expression giving the notice kind, `default` one saying whether the kind
    goes out through `channel` by default.
    """
    own = _choice_subquery(OwnerType.person, person_id, kind, channel)
    inherited = _choice_subquery(OwnerType.organisation, organisation_id, kind, channel)
    return case((own.is_not(None), own == true()), (inherited.is_not(None), inherited == true()), else_=default)


def sql_default(kind, channel: str):
    """SQL: True when notices of the kind given by `kind` go out through `channel` by default."""
    wanted = [k.value for k, channels in DEFAULT_CHANNELS.items() if channel in channels]
    return kind.in_(wanted) if wanted else false()


def set_channels(owner_type: OwnerType, owner_id: int, kind: NoticeKind, channels: set[str]) -> None:
    """Record an owner's channels for one notice kind (one row per personal channel)."""
    if kind in MANDATORY and not channels:
        raise ValidationFailed(
            _("%(kind)s cannot be switched off on every channel.", kind=str(NOTICE_KIND_LABELS[kind])), "channels"
        )
    existing = {
        row.channel: row
        for row in db.session.scalars(
            select(NoticePreference).where(
                NoticePreference.owner_type == owner_type.value,
                NoticePreference.owner_id == owner_id,
                NoticePreference.kind == kind.value,
            )
        )
    }
    for channel in PERSONAL_CHANNELS:
        enabled = channel.value in channels
        row = existing.get(channel.value)
        if row is None:
            db.session.add(
                NoticePreference(
                    owner_type=owner_type.value, owner_id=owner_id, kind=kind.value, channel=channel.value, enabled=enabled
                )
            )
        else:
            row.enabled = enabled
    db.session.flush()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(person: Person, kind: NoticeKind, channel: str = Channel.email.value) -> str | None:
    """A signed token that switches one optional notice kind off for a person (None: mandatory)."""
    if kind in MANDATORY:
        return None
    return _serializer().dumps([person.id, kind.value, channel])


def unsubscribe_url(person: Person, kind: NoticeKind, channel: str = Channel.email.value) -> str | None:
    """The absolute unsubscribe link for a notice (None for a mandatory notice)."""
    token = unsubscribe_token(person, kind, channel)
    if token is None:
        return None
    return f"{current_app.config['BASE_URL']}/notices/unsubscribe/{token}"


def read_unsubscribe_token(token: str) -> tuple[Person, NoticeKind, str] | None:
    """The person, notice kind and channel of a valid token; None when forged, malformed or stale."""
    if not token or len(token) > 300:
        return None
    try:
        person_id, kind, channel = _serializer().loads(token)
        notice_kind = NoticeKind(kind)
    except (BadSignature, ValueError, TypeError):
        return None
    if notice_kind in MANDATORY or channel not in {c.value for c in PERSONAL_CHANNELS}:
        return None
    person = db.session.get(Person, person_id) if isinstance(person_id, int) else None
    return (person, notice_kind, channel) if person is not None else None


def unsubscribe(person: Person, kind: NoticeKind, channel: str) -> None:
    """Switch one optional notice kind off on one channel for a person."""
    remaining = channels_for(person, kind) - {channel}
    set_channels(OwnerType.person, person.id, kind, remaining)
