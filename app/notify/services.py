"""Fan a notice out to the channels its recipient wants, in the caller's transaction (flushes only).

A notice has one key (`notice_key`) shared by its deliveries; each channel's delivery is queued
at most once per notice (its dedupe key is the notice key, plus ":<channel>" beyond e-mail), so
calling this twice for one notice queues nothing new. E-mail keeps the message the feature built;
an SMS is queued without a body and built at send time by the feature's SMS renderer
(`Notices.add_channel_renderer(Channel.sms, outbox kind, …)`), so it shows the current state and
its short link is made once, when it is first sent. Whether the channel is still wanted is checked
again at send time (`preference_withdrawn`), like every other send-time check.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from flask import current_app

from app.extensions import db
from app.mail.models import Channel, OutboxMessage
from app.mail.notices import notices
from app.mail.services import enqueue, enqueue_delivery
from app.notify.models import MANDATORY, NoticeKind
from app.notify.preferences import channels_for, unsubscribe_url, wants
from app.notify.sms_texts import SMS_KINDS
from app.orgs.models import Person


def sms_enabled() -> bool:
    """Is an SMS provider configured (SMS_PROVIDER other than none)?"""
    return (current_app.config.get("SMS_PROVIDER") or "none") != "none"


def new_notice_key(outbox_kind: str, subject_id: int) -> str:
    """A key for a notice that has no natural one (each call is a new notice)."""
    return f"{outbox_kind}:{subject_id}:{uuid.uuid4().hex[:16]}"


def reachable(person: Person) -> bool:
    """Can the person be told anything at all (an e-mail address or a valid mobile number)?"""
    return bool(person.email) or bool(person.mobile and sms_enabled())


def deliver(
    person: Person,
    kind: NoticeKind,
    *,
    outbox_kind: str,
    now: datetime,
    email: Callable[[], EmailMessage] | None,
    notice_key: str,
    email_dedupe_key: str | None = None,
    activity_id: int | None = None,
    invitation_id: int | None = None,
) -> list[OutboxMessage]:
    """Queue one notice to `person` through each channel they want; returns the rows queued.

    `email` builds the e-mail only when it is wanted (building may issue a link token).
    `email_dedupe_key` keeps the e-mail's existing dedupe key (None: no dedupe, as before).
    A mandatory notice that the preferences would send nowhere goes by e-mail, else SMS.
    """
    channels = channels_for(person, kind)
    can_sms = bool(person.mobile) and sms_enabled() and kind in SMS_KINDS and (
        Channel.sms.value, outbox_kind) in notices().channel_renderers
    if kind in MANDATORY and not (
        (Channel.email.value in channels and person.email) or (Channel.sms.value in channels and can_sms)
    ):
        channels = {Channel.email.value if person.email else Channel.sms.value}
    rows: list[OutboxMessage] = []
    common = {"notice_key": notice_key, "notice_kind": kind.value, "person_id": person.id}
    if Channel.email.value in channels and person.email and email is not None:
        message = email()
        unsubscribe = unsubscribe_url(person, kind)
        if unsubscribe and "List-Unsubscribe" not in message:
            # RFC 2369 / RFC 8058: mail clients show an "Unsubscribe" button that posts to it.
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        rows.append(
            enqueue(
                message, kind=outbox_kind, now=now, activity_id=activity_id, invitation_id=invitation_id,
                dedupe_key=email_dedupe_key, **common,
            )
        )
    if Channel.sms.value in channels and can_sms:
        rows.append(
            enqueue_delivery(
                channel=Channel.sms.value, kind=outbox_kind, recipient=person.mobile or "", now=now,
                activity_id=activity_id, invitation_id=invitation_id, dedupe_key=f"{notice_key}:sms", **common,
            )
        )
    return rows


def preference_withdrawn(row: OutboxMessage, now: datetime) -> bool:
    """Send-time check: a delivery whose recipient has since switched that channel off is withdrawn.

    Mandatory notices are never withdrawn here (their channels were settled when queued).
    """
    if row.person_id is None or not row.notice_kind:
        return False
    try:
        kind = NoticeKind(row.notice_kind)
    except ValueError:
        return False
    if kind in MANDATORY:
        return False
    person = db.session.get(Person, row.person_id)
    return person is not None and not wants(person, kind, row.channel)
