"""The organiser's invitation page of an activity: invite, record answers, nudge, promote, retry mail.

Routes of the invitations blueprint (see views.py); each runs in the request's unit of work,
and a refused action reaches app/main/errors.py as ValidationFailed or ConcurrentChange.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.access import roles_required
from app.auth.models import Role
from app.core.clock import utcnow
from app.core.unit_of_work import flash_after_commit
from app.core.views import save_or_show
from app.events.models import Activity
from app.extensions import db
from app.invitations import services
from app.invitations.forms import InviteForm, RecordAnswerForm
from app.invitations.models import Answer, AnswerChannel, Invitation, SavedList
from app.invitations.views import bp
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.services import retry_now
from app.orgs.models import InstructorAssignment, Organisation, OrgKind, Person

staff = roles_required(Role.organiser)


def activity_or_404(activity_id: int) -> Activity:
    """The activity of the URL, or 404."""
    return db.get_or_404(Activity, activity_id)


def invitation_or_404(activity_id: int, invitation_id: int) -> Invitation:
    """The invitation of the URL, which must belong to the URL's activity, or 404."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.activity_id != activity_id:
        abort(404)
    return invitation


def _invite_form() -> InviteForm:
    form = InviteForm()
    form.organisations.choices = [
        (o.id, _("%(name)s (%(detail)s)", name=o.name, detail=o.kind_label))
        for o in db.session.scalars(
            select(Organisation)
            .where(Organisation.active.is_(True), Organisation.kind.in_([OrgKind.enterprise, OrgKind.department]))
            .order_by(Organisation.kind, Organisation.name)
        )
    ]
    form.people.choices = [
        (p.id, _("%(name)s (%(detail)s)", name=p.name, detail=p.organisation.display_name))
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
        summary=services.attendance_summary(activity.id, utcnow()),
        form=invite_form or _invite_form(),
        record_form=record_form or RecordAnswerForm(formdata=None),
        failed=failed,
        capacity=services.capacity_of(activity),
    ), status


@bp.get("/activities/<id:activity_id>/invitations")
@staff
def manage(activity_id: int):
    """Invitees, answers, non-responders and mail problems of one activity."""
    return _manage_page(activity_or_404(activity_id))


@bp.post("/activities/<id:activity_id>/invitations")
@staff
def invite(activity_id: int):
    """Invite the chosen organisations, people and groups."""
    activity = activity_or_404(activity_id)
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

    def save() -> services.InviteReport:
        if form.save_as.data:
            services.save_list(form.save_as.data, selection, field="save_as")
        if activity.series_id is not None and form.whole_series.data:
            report = services.invite_series(activity, selection, now=utcnow())
        else:
            report = services.invite(activity, selection, now=utcnow())
        for warning in report.warnings:
            flash_after_commit(warning, "warning")
        return report

    saved = save_or_show(
        form,
        save,
        lambda _report: url_for("invitations.manage", activity_id=activity.id),
        lambda report: _(
            "%(created)s invited, %(mailed)s e-mails queued; %(already)s were already invited; %(nomail)s have no e-mail address.",
            created=len(report.created), mailed=report.mailed, already=report.already, nomail=report.without_email,
        ),
    )
    return saved if saved is not None else _manage_page(activity, form, status=400)


@bp.post("/activities/<id:activity_id>/invitations/<id:invitation_id>/answer")
@staff
def record_answer(activity_id: int, invitation_id: int):
    """Record an answer given by phone or letter."""
    invitation = invitation_or_404(activity_id, invitation_id)
    form = RecordAnswerForm()
    if form.validate():
        services.answer(
            invitation,
            reply=Answer(form.answer.data),
            seats=form.seats.data,
            names=form.names.data,
            note=form.note.data,
            channel=AnswerChannel(form.channel.data),
            now=utcnow(),
        )
        flash_after_commit(_("The answer of %(name)s was recorded.", name=invitation.person.name), "success")
    else:
        flash(_("Please check the answer: %(errors)s", errors="; ".join(
            str(e) for errors in form.errors.values() for e in errors)), "danger")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


@bp.post("/activities/<id:activity_id>/invitations/<id:invitation_id>/nudge")
@staff
def nudge(activity_id: int, invitation_id: int):
    """Remind one non-responder by mail."""
    invitation = invitation_or_404(activity_id, invitation_id)
    sent = services.nudge(invitation, utcnow())
    if sent:
        flash_after_commit(_("A reminder was sent to %(name)s.", name=invitation.person.name), "success")
    else:
        flash(_("No reminder was sent: %(name)s was reminded a moment ago, has answered or has no e-mail address.",
                name=invitation.person.name), "info")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


@bp.post("/activities/<id:activity_id>/invitations/nudge")
@staff
def nudge_all(activity_id: int):
    """Remind every non-responder by mail (one mail each), after a page that says how many."""
    activity = activity_or_404(activity_id)
    if request.form.get("confirmed") != "1":
        # A mass mailing: first say whom it reaches (works without JavaScript); nothing is sent yet.
        waiting = [i for i in services.non_responders(activity) if i.person.email]
        return render_template("invitations/confirm_nudge_all.html", activity=activity, waiting=waiting)
    count = services.nudge_all(activity, utcnow())
    flash_after_commit(_("%(n)s reminders were sent.", n=count), "success")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


@bp.post("/activities/<id:activity_id>/invitations/promote")
@staff
def promote(activity_id: int):
    """Give free seats (e.g. after the capacity grew) to the waiting list, earliest first."""
    activity = activity_or_404(activity_id)
    promoted = services.refresh_waitlist(activity, utcnow())
    flash_after_commit(_("%(n)s waiting answers were confirmed.", n=len(promoted)), "success")
    return redirect(url_for("invitations.manage", activity_id=activity_id))


@bp.post("/activities/<id:activity_id>/outbox/<id:message_id>/retry")
@staff
def retry_mail(activity_id: int, message_id: int):
    """Send a given-up mail again."""
    row = db.session.get(OutboxMessage, message_id)
    if row is None or row.activity_id != activity_id:
        abort(404)
    retry_now(row, utcnow())
    flash_after_commit(_("The e-mail will be sent again."), "info")
    return redirect(url_for("invitations.manage", activity_id=activity_id))
