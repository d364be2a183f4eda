"""Invitees double-booked: an organisation that accepted (or was invited to) an overlapping
activity is warned about, never refused, at invite, publish and reschedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from app.events import services as scheduling
from app.events.models import ActivityKind, ActivityStatus
from app.extensions import db
from app.invitations import services as invitations
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.orgs.models import OrgKind
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
SALON = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 16:00 in Beijing
ROUNDTABLE = SALON + timedelta(minutes=30)


def world(answer: Answer = Answer.accepted):
    firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
    factories.person(firm, name="张经理", email="zhang@example.com")
    other = factories.organisation(OrgKind.enterprise, name="赣锋锂业")
    factories.person(other, name="李四", email="li@example.com")
    salon = factories.activity(title="锂电沙龙", starts_at=SALON,
                               status=ActivityStatus.published, venue=factories.venue(name="党群服务中心"))
    invitations.invite(salon, invitations.Selection(organisation_ids=[firm.id]), now=NOW)
    invitation = db.session.query(Invitation).filter_by(activity_id=salon.id).one()
    invitations.answer(invitation, reply=answer, seats=1 if answer == Answer.accepted else None, names=None,
                       note=None, channel=AnswerChannel.link, now=NOW)
    roundtable = factories.activity(title="出海圆桌会", kind=ActivityKind.roundtable, starts_at=ROUNDTABLE,
                                    status=ActivityStatus.draft,
                                    venue=factories.venue(name="县委党校"))
    db.session.commit()
    return firm, other, salon, roundtable


def test_inviting_a_booked_enterprise_warns_and_still_invites(app):
    firm, other, _salon, roundtable = world()
    report = invitations.invite(roundtable, invitations.Selection(organisation_ids=[firm.id, other.id]), now=NOW)
    assert len(report.created) == 2  # a warning, not a refusal
    assert len(report.warnings) == 1
    assert "华晨电子" in report.warnings[0] and "锂电沙龙" in report.warnings[0]


def test_publishing_and_rescheduling_warn_about_booked_invitees(app, client, login_as):
    firm, _other, salon, roundtable = world()
    invitations.invite(roundtable, invitations.Selection(organisation_ids=[firm.id]), now=NOW)
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        page = client.post(f"/activities/{roundtable.id}/publish", data={"version": roundtable.version},
                           follow_redirects=True).get_data(as_text=True)
    assert "华晨电子" in page and "锂电沙龙" in page and "alert-warning" in page
    db.session.expire_all()
    assert roundtable.status == ActivityStatus.published
    # Moved away from the salon: no warning; moved back onto it: the warning again.
    later = SALON + timedelta(hours=3)
    free = scheduling.reschedule_activity(roundtable, later, later + timedelta(hours=1), reason="错开", now=NOW)
    assert not any("华晨电子" in w for w in free.warnings)
    clash = scheduling.reschedule_activity(roundtable, ROUNDTABLE, ROUNDTABLE + timedelta(hours=1),
                                           reason="改回", now=NOW + timedelta(minutes=1))
    assert any("华晨电子" in w and "锂电沙龙" in w for w in clash.warnings)
    # Rescheduling the salon onto the roundtable warns from the other side too.
    moved = scheduling.reschedule_activity(salon, ROUNDTABLE + timedelta(minutes=15),
                                           ROUNDTABLE + timedelta(hours=1), reason="调整", now=NOW)
    assert any("华晨电子" in w and "出海圆桌会" in w for w in moved.warnings)


def test_an_enterprise_that_declined_is_not_booked(app):
    firm, _other, _salon, roundtable = world(answer=Answer.declined)
    report = invitations.invite(roundtable, invitations.Selection(organisation_ids=[firm.id]), now=NOW)
    assert report.created and report.warnings == []
