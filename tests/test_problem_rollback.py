"""A failure in the middle of a multi-step write leaves no row behind: in a view and in a CLI command.

The failure is injected after the first rows were written (flushed) inside the transaction; the
unit of work at the edge (the view wrapper, `with unit_of_work():` in the command) rolls back all.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.problems.models import Problem, ProblemStep
from tests import factories


class Injected(RuntimeError):
    """The failure a test injects in the middle of a service."""


def row_counts() -> dict[str, int]:
    """Rows in every table, read in the test's own session."""
    db.session.expire_all()
    return {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables}


def fail_after(counted, rows_seen: dict):
    """A stand-in for a later step that notes what the transaction had written, then fails."""

    def failing(*args, **kwargs):
        rows_seen.update({model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in counted})
        raise Injected("injected failure")

    return failing


def test_a_view_failing_after_its_first_insert_writes_nothing(app, client, login_as, monkeypatch):
    enterprise = factories.organisation(OrgKind.enterprise, name="立伟轻工")
    login_as("organiser")
    before = row_counts()
    seen: dict = {}
    # On-site entry resolved on the spot: the problem and its first step are written, then the
    # second step (resolve_on_site) fails while planning its reminders.
    monkeypatch.setattr("app.problems.transitions.plan_problem", fail_after([Problem, ProblemStep], seen))
    response = client.post("/problems/new", data={
        "enterprise": enterprise.id, "category": "tax", "description": "留抵退税进度",
        "department": 0, "resolved_on_site": "y", "resolution": "现场答复",
    })
    assert response.status_code == 500
    assert seen == {"problem": 1, "problem_step": 2}
    assert row_counts() == before


def test_a_cli_command_failing_after_its_first_insert_writes_nothing(app, runner, monkeypatch):
    before = row_counts()
    seen: dict = {}
    # `flask demo load` writes the county's organisations, people and activities, then the ledger;
    # it fails while linking the follow-up visits, after the problems were written.
    monkeypatch.setattr("app.problems.demo.link_follow_up_visits", fail_after([Organisation, Problem], seen))
    result = runner.invoke(args=["demo", "load"])
    assert isinstance(result.exception, Injected)
    assert seen["organisation"] > 0 and seen["problem"] > 0
    assert row_counts() == before
    # The same command without the failure writes its rows (the counts above could change).
    monkeypatch.undo()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert row_counts()["problem"] > 0
