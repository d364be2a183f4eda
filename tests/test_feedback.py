"""The one attendee feedback page: by an enterprise contact's account and by the answer link.

After the activity an attending enterprise rates it, confirms what was resolved for it and may
raise a new problem; the link authorises only its invitation's enterprise and activity.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.core.errors import ValidationFailed
from app.extensions import db
from app.invitations import services as invitations
from app.orgs.models import OrgKind
from app.problems import services
from app.problems.models import ActivityFeedback, Problem, ProblemStatus, Satisfaction
from tests import factories

# -- by the contact's account ---------------------------------------------------------

def test_attendee_feedback(app, client, login_as):
    enterprise = factories.organisation(OrgKind.enterprise)
    activity = factories.activity(status="completed")
    factories.invitation(activity, factories.person(enterprise))
    resolved = factories.problem(enterprise, status="resolved", resolved_on=date(2026, 3, 9))
    db.session.commit()
    login_as("contact", org=enterprise)
    assert client.post(f"/activities/{activity.id}/feedback", data={"comment": "x"}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(ActivityFeedback)) == 0
    response = client.post(
        f"/activities/{activity.id}/feedback",
        data={"rating": 5, "comment": "很有帮助", "resolved": [resolved.id], "category": "labour", "description": "招工难"},
    )
    assert response.status_code == 302
    feedback = db.session.scalar(select(ActivityFeedback))
    assert feedback.rating == 5 and feedback.enterprise_id == enterprise.id
    assert db.session.get(Problem, resolved.id).satisfaction == Satisfaction.satisfied
    raised = db.session.scalar(select(Problem).where(Problem.description == "招工难"))
    assert raised.status == ProblemStatus.accepted and raised.activity_id == activity.id and raised.enterprise_id == enterprise.id


def test_feedback_service_refuses_other_enterprises_problems(app):
    a, b = factories.organisation(), factories.organisation()
    activity = factories.activity(status="completed")
    factories.invitation(activity, factories.person(a))
    other = factories.problem(b, status="resolved")
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.record_attendee_feedback(activity, a, None, 4, None, [other.id], None, now=datetime(2026, 3, 10, tzinfo=UTC))


# -- by the answer link -----------------------------------------------------------------

def _attended():
    enterprise = factories.organisation(OrgKind.enterprise, name="赣锋锂业")
    contact = factories.person(enterprise, name="李四", is_contact=True)
    activity = factories.activity(title="出口合规沙龙")
    invitation, token = factories.invitation(activity, contact, answer="accepted", seats=1)
    resolved = factories.problem(enterprise, category="export", status="resolved", description="报关单填报疑问")
    other = factories.organisation(OrgKind.enterprise, name="宁德时代")
    foreign = factories.problem(other, category="tax", status="resolved", description="别家的问题")
    db.session.commit()
    return activity, invitation, token, resolved, foreign


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_feedback_link_rule_answer_until_the_end_feedback_for_30_days(app, monkeypatch):
    activity, invitation, token, _r, _f = _attended()
    end = activity.ends_at
    assert invitations.invitation_for_token(token, end) is None  # answering: until the end
    assert invitations.invitation_for_token(token, end, for_feedback=True) is invitation
    assert invitations.invitation_for_token(token, end + timedelta(days=30) - timedelta(seconds=1), for_feedback=True) is invitation
    assert invitations.invitation_for_token(token, end + timedelta(days=30), for_feedback=True) is None
    monkeypatch.setitem(app.config, "INVITATION_FEEDBACK_DAYS", 7)
    assert invitations.invitation_for_token(token, end + timedelta(days=8), for_feedback=True) is None
    activity.status = "cancelled"
    assert invitations.invitation_for_token(token, end + timedelta(days=1), for_feedback=True) is None


def test_after_the_activity_the_link_rates_confirms_and_raises_a_problem(app, client):
    activity, invitation, token, resolved, foreign = _attended()
    with time_machine.travel(activity.ends_at - timedelta(minutes=10), tick=False):
        early = client.get(f"/rsvp/{token}/feedback")
        assert early.status_code == 302 and early.headers["Location"].endswith(f"/rsvp/{token}")
    with time_machine.travel(activity.ends_at + timedelta(days=2), tick=False):
        answer_page = client.get(f"/rsvp/{token}")
        assert answer_page.status_code == 303 and answer_page.headers["Location"].endswith(f"/rsvp/{token}/feedback")
        page = client.get(f"/rsvp/{token}/feedback")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        assert "报关单填报疑问" in html and "别家的问题" not in html
        problems_before = _count(Problem)
        # Bad input: nothing written.
        bad = client.post(f"/rsvp/{token}/feedback", data={"rating": "9", "category": "other"})
        assert bad.status_code == 422 and _count(ActivityFeedback) == 0 and _count(Problem) == problems_before
        # Another enterprise's problem cannot be confirmed through this link.
        forged = client.post(f"/rsvp/{token}/feedback", data={"rating": "5", "resolved": str(foreign.id), "category": "other"})
        assert forged.status_code == 422 and _count(ActivityFeedback) == 0
        db.session.expire_all()
        assert foreign.satisfaction is None
        sent = client.post(f"/rsvp/{token}/feedback", data={
            "rating": "4", "comment": "很有帮助", "resolved": str(resolved.id),
            "category": "financing", "description": "希望对接科技贷款",
        })
        assert sent.status_code == 302
    db.session.expire_all()
    feedback = db.session.scalar(select(ActivityFeedback))
    assert (feedback.activity_id, feedback.enterprise_id, feedback.rating, feedback.person_id) == (
        activity.id, invitation.organisation_id, 4, invitation.person_id)
    assert db.session.get(Problem, resolved.id).satisfaction == Satisfaction.satisfied
    raised = db.session.scalar(select(Problem).where(Problem.description == "希望对接科技贷款"))
    assert raised.status == ProblemStatus.accepted
    assert (raised.enterprise_id, raised.activity_id, raised.raised_by_id) == (invitation.organisation_id, activity.id, invitation.person_id)


def test_expired_cancelled_declined_and_unknown_links_give_no_feedback_page(app, client):
    activity, invitation, token, _r, _f = _attended()
    with time_machine.travel(activity.ends_at + timedelta(days=31), tick=False):
        assert client.get(f"/rsvp/{token}/feedback").status_code == 404
        assert client.get(f"/rsvp/{token}").status_code == 404
        assert client.get("/rsvp/" + "A" * 43 + "/feedback").status_code == 404
    invitation.answer = "declined"
    db.session.commit()
    with time_machine.travel(activity.ends_at + timedelta(days=1), tick=False):
        assert client.get(f"/rsvp/{token}/feedback").status_code == 404
        assert client.get(f"/rsvp/{token}").status_code == 404


def test_a_completed_activity_s_answer_page_links_to_feedback(app, client):
    activity, _invitation, token, _r, _f = _attended()
    activity.status = "completed"
    db.session.commit()
    with time_machine.travel(activity.ends_at - timedelta(minutes=30), tick=False):
        page = client.get(f"/rsvp/{token}").get_data(as_text=True)
    assert f"/rsvp/{token}/feedback" in page
