"""The one attendee feedback page, reached two ways: by an enterprise contact's account
(/activities/<id>/feedback) or by the invitee's personal answer link (/rsvp/<token>/feedback);
and the rating of a resolved problem by the link in its 办结 mail (/problems/rate/<token>)."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import public, roles_required
from app.auth.models import Role
from app.core.clock import utcnow
from app.core.views import save_or_show
from app.events.models import Activity
from app.invitations.services import feedback_open, invitation_for_token, may_give_feedback
from app.orgs.models import Organisation, Person
from app.problems import notices, services
from app.problems.forms import FeedbackForm, RatingForm
from app.problems.models import ProblemCategory, Satisfaction
from app.problems.transitions import give_satisfaction
from app.problems.views.common import visible_activity_or_404


def _feedback_page(activity: Activity, enterprise: Organisation, person: Person | None, *, now: datetime, done: str, personal: bool = False):
    """Rate the activity, confirm what was resolved and raise a problem; then go to `done`."""
    existing = services.feedback_of(activity, enterprise)
    form = FeedbackForm(obj=existing)
    form.resolved.choices = [(p.id, p.description[:80]) for p in services.awaiting_confirmation(enterprise, activity)]
    if form.validate_on_submit():
        response = save_or_show(
            form,
            lambda: services.record_attendee_feedback(
                activity, enterprise, person, form.rating.data, form.comment.data, form.resolved.data or [],
                {"category": ProblemCategory(form.category.data), "description": form.description.data}, now=now,
            ),
            lambda _saved: done,
            _("Thank you for your feedback."),
        )
        if response is not None:
            return response
    status = 422 if request.method == "POST" else 200
    return make_response(
        render_template("problems/feedback.html", form=form, activity=activity, existing=existing, personal=personal), status
    )


@roles_required(Role.contact)
def activity_feedback(activity_id: int):
    """An enterprise contact rates the activity, confirms what was resolved and raises a problem."""
    activity = visible_activity_or_404(activity_id)
    person = current_user.person
    if person.organisation_id not in services.attending_enterprise_ids(activity):
        abort(403)
    return _feedback_page(
        activity, person.organisation, person, now=utcnow(),
        done=url_for("events.activity_detail", activity_id=activity.id),
    )


@public
def link_feedback(token: str):
    """After the activity: the invitee's enterprise gives its feedback by the answer link.

    The token authorises only its invitation's enterprise and activity, until
    INVITATION_FEEDBACK_DAYS after the end; unknown and expired links get the same 404.
    """
    now = utcnow()
    invitation = invitation_for_token(token, now, for_feedback=True)
    if invitation is None or not may_give_feedback(invitation):
        return render_template("invitations/link_not_found.html"), 404
    if not feedback_open(invitation.activity, now):
        flash(_("Feedback opens once the activity has taken place."), "info")
        return redirect(url_for("invitations.rsvp", token=token))
    response = _feedback_page(
        invitation.activity, invitation.organisation, invitation.person, now=now,
        done=url_for("problems.link_feedback", token=token), personal=True,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@public
def rating_link(token: str):
    """The enterprise rates how its problem was resolved, by the link in the 办结 mail (no account).

    Unknown and expired links get the same 404.
    """
    now = utcnow()
    link = notices.rating_link_for(token, now)
    if link is None:
        return render_template("invitations/link_not_found.html"), 404
    problem = link.problem
    form = RatingForm()
    response = None
    if form.validate_on_submit():
        response = save_or_show(
            form,
            lambda: give_satisfaction(problem, link.person, satisfaction=Satisfaction(form.satisfaction.data), comment=form.comment.data, now=now),
            lambda _saved: url_for("problems.rating_link", token=token),
            _("Thank you for your feedback."),
        )
    if response is None:
        status = 422 if request.method == "POST" else 200
        response = make_response(render_template("problems/rate.html", form=form, problem=problem), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
