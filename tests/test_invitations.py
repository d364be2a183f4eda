"""Invitations: choosing invitees, links, answers, seats and waitlist, nudges, check-in (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.errors import ValidationFailed
from app.events.models import ActivityStatus
from app.events.signals import activity_published, activity_updated
from app.extensions import db
from app.invitations import services
from app.invitations.models import Answer, AnswerChannel, Invitation, InvitationToken, SavedList
from app.mail.models import OutboxMessage
from app.orgs.models import InstructorAssignment, OrgKind, Person
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
START = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def outbox(kind: str | None = None) -> list[OutboxMessage]:
    statement = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        statement = statement.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(statement))


def accept(invitation, seats=1, now=NOW, channel=AnswerChannel.link):
    return services.answer(invitation, reply=Answer.accepted, seats=seats, names=None, note=None,
                           channel=channel, now=now)


# -- choosing invitees ------------------------------------------------------------

def test_organisation_invitation_reaches_its_active_contacts_once(app):
    activity = factories.activity()
    firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
    first = factories.person(firm, name="张三")
    second = factories.person(firm, name="李四")
    factories.person(firm, name="王五", is_contact=False)
    factories.person(firm, name="赵六", active=False)
    report = services.invite(
        activity, services.Selection(organisation_ids=[firm.id], person_ids=[first.id]), now=NOW
    )
    db.session.commit()
    assert {i.person_id for i in report.created} == {first.id, second.id}
    assert report.mailed == 2 and len(outbox("invitation.invitation")) == 2
    # Inviting again merges: nobody is invited twice.
    again = services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=NOW)
    assert again.created == [] and again.already == 2
    assert count(Invitation) == 2


def test_groups_alliance_chain_leaders_departments_instructor_and_saved_list(app):
    activity = factories.activity()
    alliance = factories.organisation(OrgKind.alliance)
    member = factories.organisation(OrgKind.enterprise)
    leader = factories.organisation(OrgKind.enterprise)
    factories.member(alliance, member)
    factories.member(factories.organisation(OrgKind.alliance), leader, leader=True)
    department = factories.organisation(OrgKind.department)
    looked_after = factories.organisation(OrgKind.enterprise)
    instructor = factories.person(factories.organisation(OrgKind.committee), is_contact=False)
    db.session.add(InstructorAssignment(instructor=instructor, enterprise=looked_after))
    people = {org.id: factories.person(org) for org in (member, leader, department, looked_after)}
    single = factories.person(factories.organisation(OrgKind.enterprise))

    def reached(**kwargs):
        return {p.id for p in services.resolve_invitees(services.Selection(**kwargs))}

    assert reached(alliance_ids=[alliance.id]) == {people[member.id].id}
    assert reached(chain_leaders=True) == {people[leader.id].id}
    assert reached(all_departments=True) == {people[department.id].id}
    assert reached(instructor_ids=[instructor.id]) == {people[looked_after.id].id}
    saved = services.save_list("重点企业", services.Selection(organisation_ids=[member.id], person_ids=[single.id]))
    assert reached(saved_list_ids=[saved.id]) == {people[member.id].id, single.id}
    with pytest.raises(ValidationFailed):
        services.save_list("重点企业", services.Selection(organisation_ids=[member.id]))
    report = services.invite(
        activity,
        services.Selection(alliance_ids=[alliance.id], chain_leaders=True, all_departments=True,
                           instructor_ids=[instructor.id], saved_list_ids=[saved.id]),
        now=NOW,
    )
    assert len(report.created) == 5


def test_empty_selection_is_refused_and_nothing_is_written(app):
    activity = factories.activity()
    with pytest.raises(ValidationFailed):
        services.invite(activity, services.Selection(), now=NOW)
    with pytest.raises(ValidationFailed):
        services.invite(activity, services.Selection(organisation_ids=[factories.organisation().id]), now=NOW)
    assert count(Invitation) == 0 and count(OutboxMessage) == 0


def test_a_rolled_back_invitation_leaves_no_mail_and_no_link(app):
    activity = factories.activity()
    person = factories.person()
    db.session.commit()
    services.invite(activity, services.Selection(person_ids=[person.id]), now=NOW)
    db.session.rollback()
    assert count(Invitation) == count(InvitationToken) == count(OutboxMessage) == 0


def test_draft_invitations_are_mailed_on_publication(app):
    activity = factories.activity(status=ActivityStatus.draft)
    person = factories.person()
    report = services.invite(activity, services.Selection(person_ids=[person.id]), now=NOW)
    assert report.mailed == 0 and count(OutboxMessage) == 0
    activity.status = ActivityStatus.published
    activity_published.send(activity, now=NOW)
    assert len(outbox("invitation.invitation")) == 1
    assert report.created[0].sent_at == NOW


# -- tokens --------------------------------------------------------------------------

def test_token_is_random_long_and_stored_only_hashed(app):
    activity = factories.activity()
    invitation, token = factories.invitation(activity)
    assert len(token) >= 43  # 32 random bytes
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert invitation.token_hash == digest
    stored = [row.token_hash for row in db.session.scalars(select(InvitationToken))]
    assert stored == [digest] and token not in stored
    assert services.invitation_for_token(token, NOW) is invitation
    assert services.invitation_for_token(token, activity.ends_at) is None  # expired
    assert services.invitation_for_token("x" * 43, NOW) is None


def test_a_resent_link_is_new_and_the_old_one_keeps_working(app):
    activity = factories.activity()
    invitation, first = factories.invitation(activity)
    services.nudge(invitation, NOW)
    second = services.issue_token(invitation, NOW)
    assert first != second
    assert services.invitation_for_token(first, NOW) is invitation
    assert services.invitation_for_token(second, NOW) is invitation


def test_unknown_and_expired_links_give_the_same_friendly_404(app, client):
    activity = factories.activity()
    _invitation, token = factories.invitation(activity)
    db.session.commit()
    with time_machine.travel(activity.ends_at + timedelta(minutes=1), tick=False):
        expired = client.get(f"/rsvp/{token}")
    with time_machine.travel(NOW, tick=False):
        unknown = client.get("/rsvp/" + "A" * 43)
        valid = client.get(f"/rsvp/{token}")
    assert expired.status_code == unknown.status_code == 404
    # Identical but for the page's own address and the CSRF token (in the language switcher).
    def masked(page: str, own: str) -> str:
        return re.sub(r'name="csrf_token" value="[^"]+"', "", page.replace(own, ""))

    assert masked(expired.get_data(as_text=True), token) == masked(unknown.get_data(as_text=True), "A" * 43)
    assert "链接无效" in unknown.get_data(as_text=True)
    assert valid.status_code == 200


# -- answering -----------------------------------------------------------------------

def test_answer_page_shows_the_activity_and_saves_an_acceptance(app, client):
    venue = factories.venue(directions="地铁2号线园区站A口")
    activity = factories.activity(agenda="一、政策解读\n二、交流", venue=venue)
    invitation, token = factories.invitation(activity)
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/rsvp/{token}")
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        page = response.get_data(as_text=True)
        assert "地铁2号线园区站A口" in page and "政策解读" in page and "接受" in page
        response = client.post(
            f"/rsvp/{token}", data={"answer": "accepted", "seats": "2", "names": "张三，李四", "note": "需要停车位"}
        )
        assert response.status_code == 302
        page = client.get(f"/rsvp/{token}").get_data(as_text=True)
    db.session.refresh(invitation)
    assert (invitation.answer, invitation.seats, invitation.channel) == (Answer.accepted, 2, AnswerChannel.link)
    assert invitation.attendee_names == "张三，李四" and invitation.answered_at == NOW
    assert invitation.checkin_code in page and "<svg" in page


@pytest.mark.parametrize("seats", ["0", "-1", "11", ""])
def test_bad_seat_counts_are_refused_and_nothing_is_written(app, client, seats):
    activity = factories.activity()
    invitation, token = factories.invitation(activity)
    db.session.commit()
    audits = count(AuditEntry)
    with time_machine.travel(NOW, tick=False):
        response = client.post(f"/rsvp/{token}", data={"answer": "accepted", "seats": seats})
    assert response.status_code == 200
    assert "人数须在 1 到 10 之间" in response.get_data(as_text=True)
    db.session.refresh(invitation)
    assert invitation.answer == Answer.pending and invitation.seats == 0
    assert count(AuditEntry) == audits


def test_answers_can_change_until_the_start_and_not_after(app, client):
    activity = factories.activity()
    invitation, token = factories.invitation(activity)
    accept(invitation, 2)
    services.answer(invitation, reply=Answer.tentative, seats=None, names=None, note="看情况",
                    channel=AnswerChannel.link, now=NOW + timedelta(hours=1))
    assert (invitation.answer, invitation.seats) == (Answer.tentative, 0)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        accept(invitation, 1, now=activity.starts_at)
    db.session.rollback()
    with time_machine.travel(activity.starts_at + timedelta(minutes=5), tick=False):
        page = client.get(f"/rsvp/{token}").get_data(as_text=True)
        assert "活动已经开始" in page and 'id="answer-form"' not in page
        client.post(f"/rsvp/{token}", data={"answer": "declined"})
    db.session.refresh(invitation)
    assert invitation.answer == Answer.tentative


def test_organiser_records_an_answer_given_by_phone(app, client, login_as):
    activity = factories.activity()
    invitation, _token = factories.invitation(activity)
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        response = client.post(
            f"/activities/{activity.id}/invitations/{invitation.id}/answer",
            data={"answer": "accepted", "seats": "3", "channel": "phone"},
        )
    assert response.status_code == 302
    db.session.refresh(invitation)
    assert (invitation.answer, invitation.seats, invitation.channel) == (Answer.accepted, 3, AnswerChannel.phone)
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/activities/{activity.id}/invitations").get_data(as_text=True)
    assert "电话" in page


# -- capacity and waitlist -------------------------------------------------------------

def test_full_activity_waitlists_and_a_decline_promotes_the_earliest_that_fits(app):
    activity = factories.activity(capacity=4)
    a, _ = factories.invitation(activity)
    b, _ = factories.invitation(activity)
    c, _ = factories.invitation(activity)
    d, _ = factories.invitation(activity)
    accept(a, 3)
    accept(b, 2, now=NOW + timedelta(minutes=1))  # 3 + 2 > 4
    accept(c, 1, now=NOW + timedelta(minutes=2))  # fits
    accept(d, 1, now=NOW + timedelta(minutes=3))  # full
    assert a.waitlisted_at is None and c.waitlisted_at is None
    assert b.waitlisted_at is not None and d.waitlisted_at is not None
    assert services.seats_taken(activity.id) == 4
    db.session.commit()
    # A confirmed guest cannot grow beyond the free seats.
    with pytest.raises(ValidationFailed):
        accept(c, 2, now=NOW + timedelta(minutes=4))
    db.session.rollback()
    # A reduces to 1: two seats free → b (2, earliest) is promoted, d still waits.
    accept(a, 1, now=NOW + timedelta(minutes=5))
    assert b.waitlisted_at is None and d.waitlisted_at is not None
    promotions = outbox("invitation.promotion")
    assert [m.invitation_id for m in promotions] == [b.id]
    # A declines: d moves up.
    services.answer(a, reply=Answer.declined, seats=None, names=None, note=None,
                    channel=AnswerChannel.link, now=NOW + timedelta(minutes=6))
    assert d.waitlisted_at is None
    assert services.seats_taken(activity.id) == 4
    summary = services.attendance_summary(activity.id, NOW)
    assert (summary.expected, summary.waitlisted, summary.declined) == (4, 0, 1)


def test_a_higher_capacity_promotes_the_waiting_list(app):
    activity = factories.activity(capacity=1)
    first, _ = factories.invitation(activity)
    second, _ = factories.invitation(activity)
    accept(first, 1)
    accept(second, 1, now=NOW + timedelta(minutes=1))
    assert second.waitlisted_at is not None
    activity.capacity = 2
    activity.sequence += 1
    activity_updated.send(activity, now=NOW + timedelta(hours=1), changes={"capacity": [1, 2]})
    assert second.waitlisted_at is None
    assert [m.invitation_id for m in outbox("invitation.promotion")] == [second.id]


def test_organiser_fills_free_seats_from_the_waiting_list(app, client, login_as):
    activity = factories.activity(capacity=1)
    first, _ = factories.invitation(activity)
    second, _ = factories.invitation(activity)
    accept(first, 1)
    accept(second, 1, now=NOW + timedelta(minutes=1))
    activity.capacity = 3  # changed without a signal (capacity is not attendee-visible)
    db.session.commit()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        login_as("organiser")
        page = client.get(f"/activities/{activity.id}/invitations").get_data(as_text=True)
        assert 'id="promote-form"' in page
        client.post(f"/activities/{activity.id}/invitations/promote")
    db.session.refresh(second)
    assert second.waitlisted_at is None
    assert [m.invitation_id for m in outbox("invitation.promotion")] == [second.id]


def test_waitlisted_guest_sees_it_on_the_answer_page(app, client):
    activity = factories.activity(capacity=1)
    first, _ = factories.invitation(activity)
    second, token = factories.invitation(activity)
    accept(first, 1)
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        client.post(f"/rsvp/{token}", data={"answer": "accepted", "seats": "1"})
        page = client.get(f"/rsvp/{token}").get_data(as_text=True)
    assert "候补" in page and 'id="checkin-qr"' not in page
    # The answer reads 候补, never 接受 · 1 人: a waitlisted acceptance has no seat yet.
    shown = page.split('id="answer-shown"')[1].split("</div>")[0]
    assert "候补" in shown and "接受" not in shown and "1 人" not in shown


# -- non-responders ----------------------------------------------------------------------

def test_nudges_one_mail_each_logged_and_not_twice_within_ten_minutes(app, client, login_as):
    activity = factories.activity()
    pending, _ = factories.invitation(activity)
    other, _ = factories.invitation(activity)
    answered, _ = factories.invitation(activity)
    accept(answered, 1)
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        page = client.get(f"/activities/{activity.id}/invitations").get_data(as_text=True)
        assert pending.person.name in page
        client.post(f"/activities/{activity.id}/invitations/{pending.id}/nudge")
        client.post(f"/activities/{activity.id}/invitations/{pending.id}/nudge")  # double click
    assert [m.invitation_id for m in outbox("invitation.nudge")] == [pending.id]
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        client.post(f"/activities/{activity.id}/invitations/nudge", data={"confirmed": "1"})
    assert sorted(m.invitation_id for m in outbox("invitation.nudge")) == sorted([pending.id, other.id])
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        client.post(f"/activities/{activity.id}/invitations/nudge", data={"confirmed": "1"})
    # Only the first is due again (the other was reminded 8 minutes ago).
    assert [m.invitation_id for m in outbox("invitation.nudge")][-1] == pending.id
    logged = db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "nudge")
    )
    assert logged == len(outbox("invitation.nudge")) == 3


# -- check-in ------------------------------------------------------------------------------

def test_check_in_by_code_tick_and_walk_in_and_the_counts(app, client, login_as):
    activity = factories.activity()
    first, _ = factories.invitation(activity)
    second, _ = factories.invitation(activity)
    third, _ = factories.invitation(activity)
    accept(first, 2)
    accept(second, 1)
    accept(third, 3)
    assert len(first.checkin_code) == 8 and set(first.checkin_code) <= set(services.CODE_ALPHABET)
    url = f"/activities/{activity.id}/checkin"
    moment = activity.starts_at - timedelta(minutes=10)
    with time_machine.travel(moment, tick=False):
        login_as("organiser")
        page = client.get(url).get_data(as_text=True)
        assert "应到" in page and "实到" in page
        response = client.post(url, data={"code": first.checkin_code.lower()})
        assert response.status_code == 302
        audits = count(AuditEntry)
        again = client.post(url, data={"code": first.checkin_code})
        assert again.status_code == 400 and "已经签到" in again.get_data(as_text=True)
        assert count(AuditEntry) == audits
        wrong = client.post(url, data={"code": "ZZZZZZZZ"})
        assert wrong.status_code == 400 and "签到码" in wrong.get_data(as_text=True)
        client.post(f"{url}/{second.id}", data={"count": "1"})
        client.post(
            f"{url}/walk-in",
            data={"walkin-organisation": str(first.organisation_id), "walkin-name": "临时来宾", "walkin-count": "1"},
        )
    db.session.expire_all()
    assert first.checked_in_count == 2 and second.checked_in_count == 1
    walk_in = db.session.scalar(select(Invitation).where(Invitation.is_walk_in.is_(True)))
    assert walk_in.channel == AnswerChannel.walk_in and walk_in.checked_in_count == 1
    assert db.session.get(Person, walk_in.person_id).organisation_id == first.organisation_id
    summary = services.attendance_summary(activity.id, activity.starts_at)
    assert (summary.expected, summary.present, summary.absent, summary.walk_ins) == (6, 4, 3, 1)
    assert summary.rate == pytest.approx(3 / 6)
    with time_machine.travel(moment, tick=False):
        early = client.get(url).get_data(as_text=True)
    # Before the start nobody is absent yet: no 缺席 and no rate.
    assert 'id="att-present">4<' in early and 'id="att-rate"' not in early and 'id="att-not-started"' in early
    with time_machine.travel(activity.starts_at + timedelta(minutes=10), tick=False):
        page = client.get(url).get_data(as_text=True)
    assert 'id="att-present">4<' in page and "50%" in page


def test_activity_page_shows_the_invitation_block_to_organisers_only(app, client, login_as):
    activity = factories.activity()
    invitation, _ = factories.invitation(activity)
    accept(invitation, 2)
    login_as("organiser")
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert 'id="invitation-block"' in page and f"/activities/{activity.id}/checkin" in page


@pytest.mark.parametrize("path", ["invitations", "checkin"])
def test_organiser_pages_are_closed_to_contacts(app, client, login_as, path):
    activity = factories.activity()
    login_as("contact")
    assert client.get(f"/activities/{activity.id}/{path}").status_code == 403
    assert 'id="invitation-block"' not in client.get(f"/activities/{activity.id}").get_data(as_text=True)


def test_invite_from_the_organiser_page(app, client, login_as):
    activity = factories.activity()
    firm = factories.organisation(OrgKind.enterprise)
    factories.person(firm)
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        response = client.post(
            f"/activities/{activity.id}/invitations", data={"organisations": [str(firm.id)], "save_as": "常用名单"}
        )
        assert response.status_code == 302
        empty = client.post(f"/activities/{activity.id}/invitations", data={})
    assert empty.status_code == 400 and "请至少选择" in empty.get_data(as_text=True)
    assert count(Invitation) == 1 and count(SavedList) == 1


def test_cancelled_activity_link_says_so_and_accepts_nothing(app, client):
    activity = factories.activity(status=ActivityStatus.cancelled, status_reason="场地检修")
    invitation, token = factories.invitation(activity)
    db.session.commit()
    audits = count(AuditEntry)
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/rsvp/{token}").get_data(as_text=True)
        assert "本活动已取消" in page and "场地检修" in page and 'id="answer-form"' not in page
        client.post(f"/rsvp/{token}", data={"answer": "accepted", "seats": "1"})
    db.session.refresh(invitation)
    assert invitation.answer == Answer.pending and count(AuditEntry) == audits
    with pytest.raises(ValidationFailed):
        services.check_in(invitation, now=NOW)
    with pytest.raises(ValidationFailed):
        services.invite(activity, services.Selection(person_ids=[factories.person().id]), now=NOW)
