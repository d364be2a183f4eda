"""No role reaches past its remit: instructors and visits, recording problems, feedback from invitees only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.events.models import ActivityKind
from app.extensions import db
from app.orgs.models import InstructorAssignment, OrgKind
from app.problems.models import ActivityFeedback, ActivityPhoto, ActivityRecord, Problem
from tests import factories

PAST = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def county(app):
    """A committee hosting two visits, one at an enterprise assigned to our instructor, one elsewhere."""
    committee = factories.organisation(OrgKind.committee)
    mine, foreign = factories.organisation(name="指导企业"), factories.organisation(name="别家企业")
    instructor = factories.user("instructor", org=committee)
    colleague = factories.user("instructor", org=committee)
    db.session.add(InstructorAssignment(instructor=instructor.person, enterprise=mine))
    db.session.add(InstructorAssignment(instructor=colleague.person, enterprise=foreign))
    own_visit = factories.activity(ActivityKind.visit, host=committee, site=mine, starts_at=PAST, status="completed",
                                   title="走访指导企业")
    other_visit = factories.activity(ActivityKind.visit, host=committee, site=foreign, starts_at=PAST, status="completed",
                                     title="走访别家企业", organiser=colleague.person)
    salon = factories.activity(host=committee, starts_at=PAST, status="completed", title="县级沙龙")
    db.session.add(ActivityRecord(activity_id=other_visit.id, minutes="<p>别家企业的纪要</p>", updated_at=PAST))
    photo = ActivityPhoto(activity_id=other_visit.id, stored_name="secret.png", original_name="a.png", content_type="image/png", size=1)
    db.session.add(photo)
    db.session.commit()
    return {"instructor": instructor, "mine": mine, "foreign": foreign, "own_visit": own_visit,
            "other_visit": other_visit, "salon": salon, "photo": photo}


def test_an_instructor_sees_visits_only_at_enterprises_assigned_to_them(client, login_as, county):
    login_as(county["instructor"])
    other = county["other_visit"]
    for path in (f"/activities/{other.id}", f"/activities/{other.id}/record", f"/activities/{other.id}/record/print",
                 f"/photos/{county['photo'].id}", f"/activities/{other.id}.ics"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/activities/{county['own_visit'].id}").status_code == 200
    assert client.get(f"/activities/{county['salon'].id}").status_code == 200  # open activities stay visible
    listing = client.get("/calendar/agenda?start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    assert "走访别家企业" not in listing
    assert "别家企业的纪要" not in client.get(f"/activities/{other.id}/record").get_data(as_text=True)
    # Nothing written through the private visit either.
    before = count(ActivityRecord), count(Problem)
    assert client.post(f"/activities/{other.id}/record", data={"minutes": "改写"}).status_code == 404
    assert client.post(f"/problems/new?activity={other.id}", data={
        "enterprise": county["foreign"].id, "category": "tax", "description": "x"}).status_code == 404
    assert (count(ActivityRecord), count(Problem)) == before


def test_an_instructor_records_problems_only_for_their_enterprises_or_the_invitees(client, login_as, county):
    login_as(county["instructor"])
    salon = county["salon"]
    invited = factories.organisation(name="受邀企业")
    factories.invitation(salon, factories.person(invited))
    db.session.commit()
    page = client.get(f"/problems/new?activity={salon.id}").get_data(as_text=True)
    assert "受邀企业" in page and "指导企业" in page and "别家企业" not in page
    before = count(Problem)
    for path in (f"/problems/new?activity={salon.id}", "/problems/new"):
        response = client.post(path, data={"enterprise": county["foreign"].id, "category": "tax", "description": "越权"})
        assert response.status_code == 403, path
    assert count(Problem) == before
    response = client.post(f"/problems/new?activity={salon.id}", data={"enterprise": invited.id, "category": "tax", "description": "受邀企业的诉求"})
    assert response.status_code == 302
    response = client.post("/problems/new", data={"enterprise": county["mine"].id, "category": "talent", "description": "指导企业的诉求"})
    assert response.status_code == 302
    assert count(Problem) == before + 2


def test_only_invitees_give_feedback_or_raise_problems_through_it(client, login_as, county):
    salon = county["salon"]
    outsider = factories.organisation(name="未受邀企业")
    db.session.commit()
    login_as("contact", org=outsider)
    before = count(ActivityFeedback), count(Problem)
    assert client.get(f"/activities/{salon.id}/feedback").status_code == 403
    response = client.post(f"/activities/{salon.id}/feedback",
                           data={"rating": 1, "comment": "差评", "category": "tax", "description": "借机提出的诉求"})
    assert response.status_code == 403
    assert (count(ActivityFeedback), count(Problem)) == before


def test_an_invitee_still_gives_feedback(client, login_as, county):
    salon = county["salon"]
    guest = factories.organisation(name="受邀企业")
    factories.invitation(salon, factories.person(guest))
    db.session.commit()
    login_as("contact", org=guest)
    response = client.post(f"/activities/{salon.id}/feedback", data={"rating": 4, "comment": "有帮助"})
    assert response.status_code == 302
    assert count(ActivityFeedback) == 1


def test_the_feedback_service_refuses_an_organisation_that_was_not_invited(county):
    from app.core.errors import ValidationFailed
    from app.problems import services

    with pytest.raises(ValidationFailed):
        services.record_attendee_feedback(county["salon"], county["foreign"], None, 5, None, [], None, now=PAST)
    assert count(ActivityFeedback) == 0
