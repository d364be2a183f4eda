"""A logged-in person answers their own invitations without the link, and only their own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.core.clock import utcnow
from app.extensions import db
from app.invitations.models import Answer, AnswerChannel, Invitation
from tests import factories


def test_contact_answers_from_the_account_and_sees_it_on_home(client, login_as):
    contact = login_as("contact")
    activity = factories.activity(title="塑料联盟沙龙", starts_at=utcnow() + timedelta(days=3), capacity=10)
    invitation, _token = factories.invitation(activity, contact.person)
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert "等待您的回复" in home and "塑料联盟沙龙" in home
    assert "塑料联盟沙龙" in client.get("/my/invitations").get_data(as_text=True)
    response = client.post(f"/my/invitations/{invitation.id}", data={"answer": "accepted", "seats": "2"})
    assert response.status_code == 302
    saved = db.session.get(Invitation, invitation.id)
    assert (saved.answer, saved.seats, saved.channel) == (Answer.accepted, 2, AnswerChannel.account)
    assert "等待您的回复" not in client.get("/").get_data(as_text=True)
    page = client.get(f"/my/invitations/{invitation.id}").get_data(as_text=True)
    assert saved.checkin_code in page  # the check-in code is shown to the account too


def test_another_persons_invitation_is_not_found(client, login_as):
    login_as("contact")
    activity = factories.activity(starts_at=utcnow() + timedelta(days=3))
    other, _token = factories.invitation(activity)
    db.session.commit()
    assert client.get(f"/my/invitations/{other.id}").status_code == 404
    assert client.post(f"/my/invitations/{other.id}", data={"answer": "declined"}).status_code == 404
    assert db.session.get(Invitation, other.id).answer == Answer.pending


def test_bad_answers_from_the_account_write_nothing(client, login_as):
    contact = login_as("contact")
    activity = factories.activity(starts_at=utcnow() + timedelta(days=3))
    invitation, _token = factories.invitation(activity, contact.person)
    db.session.commit()
    for data in ({"answer": "accepted", "seats": "0"}, {"answer": "accepted", "seats": "999"}, {"answer": "perhaps"}):
        response = client.post(f"/my/invitations/{invitation.id}", data=data)
        assert response.status_code == 200
    assert db.session.get(Invitation, invitation.id).answer == Answer.pending
    started = factories.activity(starts_at=utcnow() - timedelta(minutes=5))
    late, _token = factories.invitation(started, contact.person)
    db.session.commit()
    response = client.post(f"/my/invitations/{late.id}", data={"answer": "accepted", "seats": "1"})
    assert response.status_code == 302
    assert db.session.get(Invitation, late.id).answer == Answer.pending
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(Invitation.answered_at.is_not(None))) == 0
