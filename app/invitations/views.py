"""Answer pages (personal links, no account) and the organiser's invitation and check-in pages."""

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

from app.auth.access import any_role, public, roles_required
from app.auth.models import Role
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.forms import show_failure
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations import services, signals
from app.invitations.forms import (
    AnswerForm,
    CheckinCodeForm,
    InviteForm,
    RecordAnswerForm,
    WalkInForm,
)
from app.invitations.models import Answer, AnswerChannel, Invitation, SavedList
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.services import retry_now
from app.orgs.models import InstructorAssignment, Organisation, OrgKind, Person

bp = Blueprint("invitations", __name__)
bp.record_once(lambda state: signals.connect())
staff = roles_required(Role.organiser)


@bp.app_template_global()
def invitation_summary(activity_id: int) -> services.AttendanceSummary:
    """Counts for the block on the activity page."""
    return services.attendance_summary(activity_id)


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
        if later is not None and may_give_feedback(later):
            return redirect(url_for("invitations.feedback", token=token), 303)
        return _not_found()
    return answer_page(
        invitation,
        channel=AnswerChannel.link,
        self_url=url_for("invitations.rsvp", token=token),
        now=now,
        feedback_open=may_give_feedback(invitation) and feedback_opened(invitation.activity, now),
        token=token,
    )


def may_give_feedback(invitation: Invitation) -> bool:
    """An enterprise's invitee who accepted or was checked in may rate the activity."""
    return invitation.organisation.kind == OrgKind.enterprise and (
        invitation.answer == Answer.accepted or invitation.checked_in_at is not None
    )


def feedback_opened(activity: Activity, now) -> bool:
    """Feedback opens once the activity is completed or over."""
    return activity.status == ActivityStatus.completed or activity.ends_at <= now


# The feedback page of an answer link is the ledger's (app/problems/views/feedback.py serves this
# URL); this rule only builds it, for the links above and in the answer page.
bp.add_url_rule("/rsvp/<token>/feedback", endpoint="feedback", build_only=True)


# -- the organiser's page -----------------------------------------------------------

def _activity_or_404(activity_id: int) -> Activity:
    return db.get_or_404(Activity, activity_id)


def _invite_form() -> InviteForm:
    form = InviteForm()
    form.organisations.choices = [
        (o.id, f"{o.name}（{o.kind_label}）")
        for o in db.session.scalars(
            select(Organisation)
            .where(Organisation.active.is_(True), Organisation.kind.in_([OrgKind.enterprise, OrgKind.department]))
            .order_by(Organisation.kind, Organisation.name)
        )
    ]
    form.people.choices = [
        (p.id, f"{p.name}（{p.organisation.display_name}）")
        for p in db.session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.name))
    ]
    form.alliances.choices = [
        (o.id, o.name)
        for o in db.session.scalars(
            select(Organisation)
            .where(Organisation.active.is_(True), Organisation.kind == OrgKind.alliance)
            .order_by(Organisation.name)
        )
    ]
    form.instructors.choices = [
        (p.id, p.name)
        for p in db.session.scalars(
            select(Person)
            .where(Person.id.in_(select(InstructorAssignment.instructor_id)), Person.active.is_(True))
            .order_by(Person.name)
        )
    ]
    form.saved_lists.choices = [
        (s.id, s.name) for s in db.session.scalars(select(SavedList).order_by(SavedList.name))
    ]
    return form


def _manage_page(activity: Activity, invite_form: InviteForm | None = None, record_form=None, status: int = 200):
    invitations = list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.activity_id == activity.id)
            .order_by(Invitation.organisation_id, Invitation.id)
        )
    )
    failed = list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.activity_id == activity.id, OutboxMessage.status.in_(
                [OutboxStatus.failed, OutboxStatus.retrying]))
            .order_by(OutboxMessage.id)
        )
    )
    return render_template(
        "invitations/manage.html",
        activity=activity,
        invitations=invitations,
        pending=[i for i in invitations if i.answer == Answer.pending and not i.is_walk_in],
        summary=services.attendance_summary(activity.id),
        form=invite_form or _invite_form(),
        record_form=record_form or RecordAnswerForm(formdata=None),
        failed=failed,
        capacity=services.capacity_of(activity),
    ), status


@bp.get("/activities/<int:activity_id>/invitations")
@staff
def manage(activity_id: int):
    """Invitees, answers, non-responders and mail problems of one activity."""
    return _manage_page(_activity_or_404(activity_id))


@bp.post("/activities/<int:activity_id>/invitations")
@staff
def invite(activity_id: int):
    """Invite the chosen organisations, people and groups."""
    activity = _activity_or_404(activity_id)
    form = _invite_form()
    if not form.validate():
        return _manage_page(activity, form, status=400)
    selection = services.Selection(
        organisation_ids=form.organisations.data or [],
        person_ids=form.people.data or [],
        alliance_ids=form.alliances.data or [],
        chain_leaders=form.chain_leaders.data,
        all_departments=form.all_departments.data,
        instructor_ids=form.instructors.data or [],
        saved_list_ids=form.saved_lists.data or [],
    )
    try:
        if form.save_as.data:
            services.save_list(form.save_as.data, selection)
        report = services.invite(activity, selection, now=utcnow())
    except ValidationFailed as failure:
        db.session.rollback()
        if failure.field == "list_name":
            failure.field = "save_as"
        show_failure(form, failure)
        return _manage_page(activity, form, status=400)
    db.session.commit()
    flash(
        _(
            "%(created)s invited, %(mailed)s e-mails queued; %(already)s were already invited; %(nomail)s have no e-mail address.",
            created=len(report.created), mailed=report.mailed, already=report.already, nomail=report.without_email,
        ),
        "success",
    )
    return redirect(url_for("invitations.manage", activity_id=activity.id))


def _invitation_or_404(activity_id: int, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.activity_id != activity_id:
        abort(404)
    return invitation


@bp.post("/activities/<int:activity_id>/invitations/<int:invitation_id>/answer")
@staff
def record_answer(activity_id: int, invitation_id: int):
    """Record an answer given by phone or letter."""
    invitation = _invitation_or_404(activity_id, invitation_id)
    form = RecordAnswerForm()
    if form.validate():
        try:
            services.answer(
                invitation,
                reply=Answer(form.answer.data),
                seats=form.seats.data,
                names=form.names.data,
                note=form.note.data,
                channel=AnswerChannel(form.channel.data),
                now=utcnow(),
            )
        except ValidationFailed as failure:
            db.session.rollback()
            flash(failure.message, "danger")
        else:
            db.session.commit()
            flash(_("The answer of %(name)s was recorded.", name=invitation.person.name), "success")
    else:
        flash(_("Please check the answer: %(errors)s", errors="; ".join(
            str(e) for errors in form.errors.values() for e in errors)), "danger")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


@bp.post("/activities/<int:activity_id>/invitations/<int:invitation_id>/nudge")
@staff
def nudge(activity_id: int, invitation_id: int):
    """Remind one non-responder by mail."""
    invitation = _invitation_or_404(activity_id, invitation_id)
    try:
        sent = services.nudge(invitation, utcnow())
    except ValidationFailed as failure:
        db.session.rollback()
        flash(failure.message, "danger")
        return redirect(url_for("invitations.manage", activity_id=activity_id))
    db.session.commit()
    if sent:
        flash(_("A reminder was sent to %(name)s.", name=invitation.person.name), "success")
    else:
        flash(_("No reminder was sent: %(name)s was reminded a moment ago, has answered or has no e-mail address.",
                name=invitation.person.name), "info")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


@bp.post("/activities/<int:activity_id>/invitations/nudge")
@staff
def nudge_all(activity_id: int):
    """Remind every non-responder by mail (one mail each)."""
    activity = _activity_or_404(activity_id)
    try:
        count = services.nudge_all(activity, utcnow())
    except ValidationFailed as failure:
        db.session.rollback()
        flash(failure.message, "danger")
        return redirect(url_for("invitations.manage", activity_id=activity_id))
    db.session.commit()
    flash(_("%(n)s reminders were sent.", n=count), "success")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


@bp.post("/activities/<int:activity_id>/invitations/promote")
@staff
def promote(activity_id: int):
    """Give free seats (e.g. after the capacity grew) to the waiting list, earliest first."""
    activity = _activity_or_404(activity_id)
    promoted = services.refresh_waitlist(activity, utcnow())
    db.session.commit()
    flash(_("%(n)s waiting answers were confirmed.", n=len(promoted)), "success")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


@bp.post("/activities/<int:activity_id>/outbox/<int:message_id>/retry")
@staff
def retry_mail(activity_id: int, message_id: int):
    """Send a given-up mail again."""
    row = db.session.get(OutboxMessage, message_id)
    if row is None or row.activity_id != activity_id:
        abort(404)
    retry_now(row, utcnow())
    db.session.commit()
    flash(_("The e-mail will be sent again."), "info")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


# -- check-in ---------------------------------------------------------------------

def _walk_in_form() -> WalkInForm:
    form = WalkInForm(prefix="walkin")
    form.organisation.choices = [
        (o.id, o.name)
        for o in db.session.scalars(
            select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.kind, Organisation.name)
        )
    ]
    return form


def _checkin_page(activity: Activity, code_form=None, walk_in_form=None, status: int = 200):
    invitations = list(
        db.session.scalars(
            select(Invitation)
            .join(Person, Person.id == Invitation.person_id)
            .where(
                Invitation.activity_id == activity.id,
                (Invitation.answer == Answer.accepted) | Invitation.checked_in_at.is_not(None),
            )
            .order_by(Invitation.checked_in_at.is_not(None), Person.name)
        )
    )
    return render_template(
        "invitations/checkin.html",
        activity=activity,
        invitations=invitations,
        summary=services.attendance_summary(activity.id),
        code_form=code_form or CheckinCodeForm(formdata=None),
        walk_in_form=walk_in_form or _walk_in_form(),
    ), status


@bp.get("/activities/<int:activity_id>/checkin")
@staff
def checkin(activity_id: int):
    """The organiser's check-in page (made for a phone)."""
    return _checkin_page(_activity_or_404(activity_id))


@bp.post("/activities/<int:activity_id>/checkin")
@staff
def checkin_code(activity_id: int):
    """Check in by the code (typed, or filled in by a QR scanner)."""
    activity = _activity_or_404(activity_id)
    form = CheckinCodeForm()
    if form.validate():
        try:
            invitation = services.check_in_code(activity, form.code.data, utcnow())
        except ValidationFailed as failure:
            db.session.rollback()
            show_failure(form, failure)
        else:
            db.session.commit()
            flash(_("Checked in: %(name)s (%(n)s people).", name=invitation.person.name,
                    n=invitation.checked_in_count), "success")
            return redirect(url_for("invitations.checkin", activity_id=activity_id))
    return _checkin_page(activity, code_form=form, status=400)


@bp.post("/activities/<int:activity_id>/checkin/<int:invitation_id>")
@staff
def checkin_tick(activity_id: int, invitation_id: int):
    """Check in by ticking a name."""
    invitation = _invitation_or_404(activity_id, invitation_id)
    try:
        services.check_in(invitation, now=utcnow(), count=request.form.get("count", type=int))
    except ValidationFailed as failure:
        db.session.rollback()
        flash(failure.message, "warning")
    else:
        db.session.commit()
        flash(_("Checked in: %(name)s (%(n)s people).", name=invitation.person.name,
                n=invitation.checked_in_count), "success")
    return redirect(url_for("invitations.checkin", activity_id=activity_id))


@bp.post("/activities/<int:activity_id>/checkin/walk-in")
@staff
def walk_in(activity_id: int):
    """Add someone who came without an invitation."""
    activity = _activity_or_404(activity_id)
    form = _walk_in_form()
    if form.validate():
        try:
            services.add_walk_in(
                activity,
                organisation_id=form.organisation.data,
                name=form.name.data,
                phone=form.phone.data,
                count=form.count.data,
                now=utcnow(),
            )
        except ValidationFailed as failure:
            db.session.rollback()
            show_failure(form, failure)
        else:
            db.session.commit()
            flash(_("Walk-in added: %(name)s.", name=form.name.data), "success")
            return redirect(url_for("invitations.checkin", activity_id=activity_id))
    return _checkin_page(activity, walk_in_form=form, status=400)


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
            try:
                services.answer(
                    invitation,
                    reply=Answer(form.answer.data),
                    seats=form.seats.data,
                    names=form.names.data,
                    note=form.note.data,
                    channel=channel,
                    now=now,
                )
            except ValidationFailed as failure:
                db.session.rollback()
                show_failure(form, failure)
            else:
                db.session.commit()
                flash(_("Thank you, your answer was saved."), "success")
                return redirect(self_url)
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


@bp.route("/my/invitations/<int:invitation_id>", methods=["GET", "POST"])
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
