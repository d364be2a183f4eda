"""The organiser's view of the outbox: queued, sent, retrying (with the last error), given up."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit.services import record
from app.auth.access import roles_required
from app.auth.models import Role
from app.core.clock import utcnow
from app.core.pagination import paginate
from app.core.unit_of_work import flash_after_commit
from app.extensions import db
from app.mail.models import (
    CHANNEL_LABELS,
    OUTBOX_STATUS_LABELS,
    Channel,
    OutboxMessage,
    OutboxStatus,
)
from app.mail.notices import notices
from app.mail.services import retry_now

bp = Blueprint("mail", __name__)

RETRYABLE = (OutboxStatus.failed, OutboxStatus.retrying)


@bp.get("/outbox")
@roles_required(Role.organiser)
def outbox():
    """Every outgoing delivery with its channel and state, newest first; filter by status and channel."""
    status = request.args.get("status") or None
    channel = request.args.get("channel") or None
    statement = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    by_status = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if channel is not None:
        if channel not in Channel.__members__:
            abort(404)
        statement = statement.where(OutboxMessage.channel == channel)
        by_status = by_status.where(OutboxMessage.channel == channel)
    if status is not None:
        if status not in OutboxStatus.__members__:
            abort(404)
        statement = statement.where(OutboxMessage.status == OutboxStatus(status))
    counts = dict(db.session.execute(by_status).all())
    channel_counts = dict(
        db.session.execute(select(OutboxMessage.channel, func.count()).group_by(OutboxMessage.channel)).all()
    )
    return render_template(
        "mail/outbox.html",
        panels=[panel() for panel in notices().outbox_panels],
        page=paginate(statement),
        status=status,
        channel=channel,
        counts=counts,
        channel_counts=channel_counts,
        channels=list(Channel),
        channel_labels=CHANNEL_LABELS,
        labels=OUTBOX_STATUS_LABELS,
        kind_label=notices().kind_label,
        describe_error=notices().describe_error,
        statuses=list(OutboxStatus),
        retryable=RETRYABLE,
    )


@bp.post("/outbox/<id:message_id>/retry")
@roles_required(Role.organiser)
def retry(message_id: int):
    """Queue a retrying or given-up message for delivery at once."""
    row = db.get_or_404(OutboxMessage, message_id)
    if row.status not in RETRYABLE:
        flash(_("Only messages that are retrying or were given up can be retried."), "warning")
    else:
        old = row.status.value
        retry_now(row, utcnow())
        record(row, "retry", {"status": [old, row.status.value]})
        flash_after_commit(_("The message will be sent again shortly."), "success")
    return redirect(
        url_for("mail.outbox", status=request.args.get("status") or None, channel=request.args.get("channel") or None)
    )
