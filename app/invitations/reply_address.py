"""Where an invitee's calendar sends its answer: the reply mailbox, with a token per invitation.

With `MAIL_REPLY_TO` set, invitation mails carry it as Reply-To and as the ORGANIZER of their
calendar part, so "Accept" in Outlook, Gmail, Apple Calendar or Thunderbird mails an iTIP REPLY
there (app/replies reads it). With `MAIL_REPLY_TOKENS` on (the default) the address is the
invitation's own plus-address, ``replies+i42-<token>@county.cn``: calendars copy the ORGANIZER
into their REPLY, so the reply names the exact invitation, and a reply naming an invitation with
a token that does not check out is refused. The token is HMAC-SHA256(SECRET_KEY, invitation id),
cut to 80 bits: stable across every mail of the invitation (updates keep the same ORGANIZER) and
never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from email.utils import parseaddr

from flask import current_app

from app.invitations.models import Invitation

TOKEN_RE = re.compile(r"\bi(\d{1,12})-([0-9a-f]{20})\b")


def reply_mailbox() -> str | None:
    """The bare address of the reply mailbox (MAIL_REPLY_TO), or None when replies are not read."""
    configured = current_app.config.get("MAIL_REPLY_TO")
    return parseaddr(configured)[1] or None if configured else None


def _digest(invitation_id: int) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"calendar-reply:{invitation_id}".encode(), hashlib.sha256).hexdigest()[:20]


def reply_token(invitation_id: int) -> str:
    """The invitation's token: i<id>-<20 hex digits of the HMAC>."""
    return f"i{invitation_id}-{_digest(invitation_id)}"


def reply_address(invitation: Invitation) -> str | None:
    """The address an invitee's calendar answers to, or None without a reply mailbox."""
    mailbox = reply_mailbox()
    if mailbox is None:
        return None
    if not current_app.config.get("MAIL_REPLY_TOKENS", True) or "@" not in mailbox:
        return mailbox
    local, domain = mailbox.rsplit("@", 1)
    return f"{local}+{reply_token(invitation.id)}@{domain}"


def invitation_id_in(text: str) -> tuple[int | None, bool]:
    """(invitation id, token valid) of the first reply token in an address; (None, False) if none."""
    match = TOKEN_RE.search(text.lower())
    if match is None:
        return None, False
    invitation_id = int(match.group(1))
    return invitation_id, hmac.compare_digest(match.group(2), _digest(invitation_id))
