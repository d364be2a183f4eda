"""The demo county: modelled on the report, and loading it twice changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.demo import data
from app.demo.services import counts, load
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
