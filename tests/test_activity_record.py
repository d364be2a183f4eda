"""The activity record counts 应到/实到 from the invitations and check-in and prints who came and
how the enterprises rated the activity; typed numbers count only where nobody was invited."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from app.extensions import db
from app.invitations.services import add_walk_in, check_in
from app.orgs.models import OrgKind
from app.problems.models import ActivityFeedback, ActivityRecord
from tests import factories

NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_print_counts_attendance_from_check_in_and_lists_attendees_and_ratings(app, client, login_as):
    activity = factories.activity(status="completed")
    came = factories.person(factories.organisation(OrgKind.enterprise, name="瑞一韵承"), name="张经理")
    absent = factories.person(factories.organisation(OrgKind.enterprise, name="立伟轻工"), name="李厂长")
    factories.person(name="没被邀请的人")
    invitation, _token = factories.invitation(activity, came, answer="accepted", seats=2)
    factories.invitation(activity, absent, answer="accepted", seats=1)
    factories.answered_invitation(activity, factories.person(name="婉拒者"), answer="declined")
    check_in(invitation, now=NOW, count=2)
    walk_in_org = factories.organisation(OrgKind.enterprise, name="散客公司")
    add_walk_in(activity, organisation_id=walk_in_org.id, name="王散客", phone=None, count=1, now=NOW)
    db.session.add(ActivityFeedback(activity_id=activity.id, enterprise_id=came.organisation_id, person_id=came.id, rating=4, comment="很有帮助"))
    db.session.add(ActivityRecord(activity=activity, expected=99, present=98))  # typed earlier: no longer counts
    db.session.commit()
    login_as("organiser")
    printed = _text(client.get(f"/activities/{activity.id}/record/print").get_data(as_text=True))
    assert "应到 3 · 实到 3" in printed  # 2 + 1 seats accepted; 2 checked in and a walk-in
    assert "应到 99" not in printed and "实到 98" not in printed
    assert "瑞一韵承 张经理 2" in printed and "散客公司 王散客 1" in printed and "李厂长" not in printed and "婉拒者" not in printed
    assert "瑞一韵承 4 很有帮助" in printed and "平均 4.0" in printed
    # Numbers typed on the page are not kept where check-in counts.
    assert client.post(f"/activities/{activity.id}/record", data={"minutes": "纪要", "expected": 50, "present": 40}).status_code == 302
    db.session.expire_all()
    entry = db.session.get(ActivityRecord, db.session.scalar(db.select(ActivityRecord.id)))
    assert (entry.expected, entry.present) == (None, None)


def test_without_invitations_the_typed_numbers_are_the_attendance(app, client, login_as):
    visit = factories.activity(kind="visit", visit_kind="outreach", status="completed")
    db.session.commit()
    login_as("organiser")
    form = client.get(f"/activities/{visit.id}/record").get_data(as_text=True)
    assert 'name="expected"' in form
    assert client.post(f"/activities/{visit.id}/record", data={"expected": 6, "present": 5}).status_code == 302
    printed = _text(client.get(f"/activities/{visit.id}/record/print").get_data(as_text=True))
    assert "应到 6 · 实到 5" in printed and "根据邀请和签到统计" not in printed
