"""The demo county: modelled on the report, and loading it twice changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.demo import data
from app.demo.counts import counts
from app.demo.services import load
from app.events.models import Activity, ActivityKind
from app.extensions import db
from app.orgs.models import AllianceMembership, Organisation, OrgKind, PartyBranch


def test_load_twice_gives_identical_counts(app, runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    after_first = counts()
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0
    assert counts() == after_first
    assert runner.invoke(args=["demo", "load", "--if-empty"]).output.startswith("The database already has data")


def test_the_county_follows_the_report(app):
    load(now=datetime(2026, 6, 15, tzinfo=UTC))
    db.session.commit()
    enterprises = db.session.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.kind == OrgKind.enterprise)
    )
    assert enterprises == 85
    leaders = db.session.scalars(
        select(Organisation.name).join(AllianceMembership, AllianceMembership.enterprise_id == Organisation.id)
        .where(AllianceMembership.is_chain_leader.is_(True))
    ).all()
    assert sorted(leaders) == sorted(n for n, _s, _a, leader, _b in data.NAMED_ENTERPRISES if leader)
    alliance = aliased(Organisation)
    for alliance_name, expected in data.BRANCHES.items():
        rows = dict(
            db.session.execute(
                select(Organisation.party_branch, func.count())
                .join(AllianceMembership, AllianceMembership.enterprise_id == Organisation.id)
                .join(alliance, AllianceMembership.alliance_id == alliance.id)
                .where(alliance.name == alliance_name)
                .group_by(Organisation.party_branch)
            ).all()
        )
        assert rows.get(PartyBranch.standalone) == expected["standalone"]
        assert rows.get(PartyBranch.joint) == expected["joint"]
    kinds = set(db.session.scalars(select(Activity.kind).distinct()))
    assert kinds == set(ActivityKind)
    assert db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.kind == OrgKind.department)) == 6


def test_demo_activities_have_answers_and_attendance_but_queue_no_mail(app):
    from sqlalchemy import event

    from app.invitations.models import Answer, Invitation
    from app.invitations.services import attendance_summary
    from app.mail.models import OutboxMessage

    statements = []
    engine = db.engine

    def count(*_args) -> None:
        statements.append(1)

    # The load stays batched: a statement count, not a wall-clock limit, so a busy machine can't fail it.
    event.listen(engine, "before_cursor_execute", count)
    try:
        load(now=datetime(2026, 6, 15, tzinfo=UTC))
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) < 4000
    gatherings = list(db.session.scalars(select(Activity).where(Activity.kind != ActivityKind.visit)))
    past = [a for a in gatherings if a.status.value == "completed"]
    upcoming = [a for a in gatherings if a.status.value == "published"]
    assert past and upcoming
    expected = absent = 0
    for activity in past:
        summary = attendance_summary(activity.id, datetime(2026, 6, 15, tzinfo=UTC))
        assert summary.invited > 0 and summary.present > 0
        assert summary.expected <= (activity.capacity or 10_000)
        expected += summary.expected
        absent += summary.absent
    assert 0.80 <= (expected - absent) / expected <= 0.95
    for activity in upcoming:
        answers = set(db.session.scalars(select(Invitation.answer).where(Invitation.activity_id == activity.id)))
        assert {Answer.accepted, Answer.declined, Answer.pending} <= answers
        assert db.session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.activity_id == activity.id, Invitation.checked_in_at.is_not(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    before = counts()
    load(now=datetime(2026, 6, 15, 1, tzinfo=UTC))
    db.session.commit()
    assert counts() == before and before["invitation"] > 500
