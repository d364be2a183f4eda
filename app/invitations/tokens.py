"""Answer links and check-in codes of invitations.

Answer links: `/rsvp/<token>` with 256 random bits (`secrets.token_urlsafe(32)`), nothing derived
from ids. Only sha256(token) is stored, in `invitation_token` (one row per link handed out). The
token exists in clear only while its mail is built, so every mail that carries a link (invitation,
update, nudge, promotion) gets a fresh token; links from earlier mails keep working, because their
hashes stay in the table, until the activity ends (then every link answers the same 404 as an
unknown one). `Invitation.token_hash` holds the newest hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.models import Answer, Invitation, InvitationToken
from app.orgs.models import OrgKind

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def hash_token(token: str) -> str:
    """The stored form of an answer-link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(invitation: Invitation, now: datetime) -> str:
    """A new personal link token (256 random bits); only its hash is kept.

    Links sent earlier stay valid until the activity ends.
    """
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    invitation.token_hash = digest
    db.session.add(InvitationToken(invitation=invitation, token_hash=digest, created_at=now))
    db.session.flush()
    return token


FEEDBACK_DAYS = 30  # default of INVITATION_FEEDBACK_DAYS


def feedback_open(activity: Activity, now: datetime) -> bool:
    """Feedback opens once the activity is completed or over."""
    return activity.status == ActivityStatus.completed or activity.ends_at <= now


def may_give_feedback(invitation: Invitation) -> bool:
    """An enterprise's invitee who accepted or was checked in may rate the activity by its answer link."""
    return invitation.organisation.kind == OrgKind.enterprise and (
        invitation.answer == Answer.accepted or invitation.checked_in_at is not None
    )


def feedback_until(activity: Activity) -> datetime:
    """Until when an answer link opens the feedback page: INVITATION_FEEDBACK_DAYS after the end."""
    days = int(current_app.config.get("INVITATION_FEEDBACK_DAYS", FEEDBACK_DAYS))
    return activity.ends_at + timedelta(days=days)


def invitation_for_token(token: str, now: datetime, *, for_feedback: bool = False) -> Invitation | None:
    """The invitation of a link, or None when unknown or expired (the caller cannot tell which).

    The rule: a link answers until the activity ends. With for_feedback=True (the feedback page
    only, which authorises nothing but that invitation's enterprise and activity) it stays
    valid until `feedback_until` — INVITATION_FEEDBACK_DAYS (30) days after the end — unless
    the activity was cancelled.
    """
    if not token or len(token) > 100:
        return None
    invitation = db.session.scalar(
        select(Invitation)
        .join(InvitationToken, InvitationToken.invitation_id == Invitation.id)
        .where(InvitationToken.token_hash == hash_token(token))
    )
    if invitation is None:
        return None
    activity = invitation.activity
    if for_feedback:
        if activity.status == ActivityStatus.cancelled or feedback_until(activity) <= now:
            return None
        return invitation
    if activity.ends_at <= now:
        return None
    return invitation


def new_checkin_code() -> str:
    """A short unique check-in code from an unambiguous alphabet."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(Invitation.id).where(Invitation.checkin_code == code)) is None:
            return code
