"""The organiser's check-in pages (made for a phone): by code, by ticking a name, walk-ins.

Routes of the invitations blueprint (see views.py); each runs in the request's unit of work.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.unit_of_work import flash_after_commit
from app.core.views import save_or_show
from app.events.models import Activity
from app.extensions import db
from app.invitations import services
from app.invitations.forms import CheckinCodeForm, WalkInForm
from app.invitations.manage_views import activity_or_404, invitation_or_404, staff
from app.invitations.models import Answer, Invitation
from app.invitations.views import bp
from app.orgs.models import Organisation, Person


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
        summary=services.attendance_summary(activity.id, utcnow()),
        code_form=code_form or CheckinCodeForm(formdata=None),
        walk_in_form=walk_in_form or _walk_in_form(),
    ), status


@bp.get("/activities/<int:activity_id>/checkin")
@staff
def checkin(activity_id: int):
    """The organiser's check-in page (made for a phone)."""
    return _checkin_page(activity_or_404(activity_id))


@bp.post("/activities/<int:activity_id>/checkin")
@staff
def checkin_code(activity_id: int):
    """Check in by the code (typed, or filled in by a QR scanner)."""
    activity = activity_or_404(activity_id)
    form = CheckinCodeForm()
    if form.validate():
        saved = save_or_show(
            form,
            lambda: services.check_in_code(activity, form.code.data, utcnow()),
            lambda _invitation: url_for("invitations.checkin", activity_id=activity_id),
            lambda invitation: _("Checked in: %(name)s (%(n)s people).", name=invitation.person.name,
                                 n=invitation.checked_in_count),
        )
        if saved is not None:
            return saved
    return _checkin_page(activity, code_form=form, status=400)


@bp.post("/activities/<int:activity_id>/checkin/<int:invitation_id>")
@staff
def checkin_tick(activity_id: int, invitation_id: int):
    """Check in by ticking a name."""
    invitation = invitation_or_404(activity_id, invitation_id)
    services.check_in(invitation, now=utcnow(), count=request.form.get("count", type=int))
    flash_after_commit(_("Checked in: %(name)s (%(n)s people).", name=invitation.person.name,
                         n=invitation.checked_in_count), "success")
    return redirect(url_for("invitations.checkin", activity_id=activity_id))


@bp.post("/activities/<int:activity_id>/checkin/walk-in")
@staff
def walk_in(activity_id: int):
    """Add someone who came without an invitation."""
    activity = activity_or_404(activity_id)
    form = _walk_in_form()
    if form.validate():
        saved = save_or_show(
            form,
            lambda: services.add_walk_in(
                activity,
                organisation_id=form.organisation.data,
                name=form.name.data,
                phone=form.phone.data,
                count=form.count.data,
                now=utcnow(),
            ),
            lambda _invitation: url_for("invitations.checkin", activity_id=activity_id),
            _("Walk-in added: %(name)s.", name=form.name.data),
        )
        if saved is not None:
            return saved
    return _checkin_page(activity, walk_in_form=form, status=400)
