"""One unit of work at the edge: a failure half-way through leaves nothing behind.

A view and a CLI command each run a service that writes a first row and then fails; the
request's transaction and the command's `unit_of_work()` roll the first row back.
"""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from sqlalchemy import func, select

from app.demo import services as demo
from app.extensions import db
from app.invitations.models import Invitation, SavedList
from app.orgs.models import Organisation, OrgKind
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_refused_invitation_keeps_no_saved_list_written_before_it(app, client, login_as):
    activity = factories.activity(starts_at=datetime(2026, 3, 9, 6, 30, tzinfo=UTC))
    nobody_there = factories.organisation(OrgKind.enterprise)  # no active contact: reaches nobody
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        response = client.post(
            f"/activities/{activity.id}/invitations",
            data={"organisations": [str(nobody_there.id)], "save_as": "无人名单"},
        )
    # save_list inserted the list, then invite refused: the request rolled both back.
    assert response.status_code == 400
    assert count(SavedList) == 0 and count(Invitation) == 0


def test_a_cli_command_that_fails_half_way_leaves_no_row(app, runner, monkeypatch):
    def fail_after_the_first_organisations(*_args, **_kwargs):
        db.session.flush()  # the committee and the alliances are in the transaction by now
        assert count(Organisation) > 0
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_enterprises", fail_after_the_first_organisations)
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    # The command's unit of work rolled back: even this session (the command's) holds no row.
    assert count(Organisation) == 0
