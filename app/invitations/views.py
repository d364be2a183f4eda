"""Answer pages: the personal link (no account), feedback after the activity, one's own invitations."""

from __future__ import annotations

import segno
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from app.auth.access import any_role, public
from app.core.clock import utcnow
from app.core.views import save_or_show
from app.events.models import Activity, ActivityStatus
from app.events.series import describe
from app.extensions import db
from app.invitations import services
from app.invitations.forms import AnswerForm
from app.invitations.models import Answer, AnswerChannel, Invitation

# The routes of the organiser's pages join this blueprint from manage_views and checkin_views;
# app/invitations/routes.py gathers the three modules for create_app.
bp = Blueprint("invitations", __name__)


@bp.app_template_global()
def invitation_summary(activity_id: int) -> services.AttendanceSummary:
    """Counts for the block on the activity page."""
    return services.attendance_summary(activity_id, utcnow())


def qr_svg(code: str) -> Markup:
    """The check-in code as an inline SVG QR code."""
    return Markup(segno.make(code, error="m").svg_inline(scale=6, border=2, title=code))


# -- answering from the personal link ---------------------------------------------

def _not_found():
    # One page and one status for unknown and expired links: nothing tells them apart.
    return render_template("invitations/link_not_found.html"), 404


@bp.route("/rsvp/<token>", methods=["GET", "POST"])
@public
def rsvp(token: str):
    """The invitee's answer page."""
    now = utcnow()
    invitation = services.invitation_for_token(token, now)
    if invitation is None:
        # After the end the same link leads to the feedback page for a while (see the rule there).
        later = services.invitation_for_token(token, now, for_feedback=True)
        if later is not None and services.may_give_feedback(later):
            return redirect(url_for("invitations.feedback", token=token), 303)
        return _not_found()
    return answer_page(
        invitation,
        channel=AnswerChannel.link,
        self_url=url_for("invitations.rsvp", token=token),
        now=now,
        feedback_open=services.may_give_feedback(invitation) and services.feedback_open(invitation.activity, now),
        token=token,
    )


# The feedback page of an answer link is the ledger's (app/problems/views/feedback.py serves this
# URL); this rule only builds it, for the links above and in the answer page.
bp.add_url_rule("/rsvp/<token>/feedback", endpoint="feedback", build_only=True)


# -- answering with an account ---------------------------------------------------------

def answer_page(invitation: Invitation, *, channel: AnswerChannel, self_url: str, now, **context):
    """Show an invitation with its answer form; save a posted answer and come back to self_url."""
    activity = invitation.activity
    is_open = activity.status not in services.CLOSED and now < activity.starts_at
    form = AnswerForm()
    if request.method == "GET" and invitation.answer != Answer.pending:
        form.answer.data = invitation.answer.value
        form.seats.data = invitation.seats or None
        form.names.data = invitation.attendee_names
        form.note.data = invitation.note
    if request.method == "POST":
        if not is_open:
            flash(_("The activity has already started; answers can no longer be changed."), "warning")
            return redirect(self_url)
        if form.validate():
            saved = save_or_show(
                form,
                lambda: services.answer_series(
                    invitation,
                    reply=Answer(form.answer.data),
                    seats=form.seats.data,
                    names=form.names.data,
                    note=form.note.data,
                    channel=channel,
                    now=now,
                ),
                lambda _invitation: self_url,
                _("Thank you, your answer was saved."),
            )
            if saved is not None:
                return saved
        db.session.refresh(invitation)
    if not form.seats.data and request.method == "GET":
        form.seats.data = 1
    show_qr = (
        invitation.answer == Answer.accepted
        and invitation.waitlisted_at is None
        and activity.status != ActivityStatus.cancelled
    )
    response = make_response(render_template(
        "invitations/rsvp.html",
        invitation=invitation,
        activity=activity,
        form=form,
        is_open=is_open,
        qr=qr_svg(invitation.checkin_code) if show_qr else None,
        max_seats=services.MAX_SEATS,
        series_words=describe(activity.series.rrule) if invitation.whole_series and activity.series else None,
        **context,
    ))
    # A personal page: not kept by shared caches, and the link does not leak as a Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/my/invitations")
@any_role
def my_invitations():
    """The logged-in person's invitations: upcoming ones first, then the past."""
    now = utcnow()
    invitations = db.session.scalars(
        select(Invitation)
        .join(Invitation.activity)
        .where(Invitation.person_id == current_user.person_id, Activity.status != ActivityStatus.draft)
        .order_by(Activity.starts_at)
    ).all()
    upcoming = [i for i in invitations if i.activity.ends_at >= now]
    past = [i for i in reversed(invitations) if i.activity.ends_at < now]
    return render_template("invitations/mine.html", upcoming=upcoming, past=past)


@bp.route("/my/invitations/<id:invitation_id>", methods=["GET", "POST"])
@any_role
def my_answer(invitation_id: int):
    """Answer one's own invitation while logged in (no link needed)."""
    invitation = db.session.get(Invitation, invitation_id)
    if (
        invitation is None
        or invitation.person_id != current_user.person_id
        or invitation.activity.status == ActivityStatus.draft
    ):
        abort(404)
    return answer_page(
        invitation,
        channel=AnswerChannel.account,
        self_url=url_for("invitations.my_answer", invitation_id=invitation_id),
        now=utcnow(),
    )
