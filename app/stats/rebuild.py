"""`flask stats rebuild`: recompute the ledger's summaries from scratch.

Uses the very `contribution` the flush hooks add up, so a rebuilt summary and one kept by the
transactions agree by construction. Needed after writes that bypass the ORM (a bulk import),
or to check the kept summaries (`--check` compares instead of writing).
"""

from __future__ import annotations

from collections import defaultdict

import click
from flask.cli import AppGroup
from sqlalchemy import delete, insert, select

from app.core.unit_of_work import unit_of_work
from app.extensions import db
from app.orgs.models import AllianceMembership
from app.problems.models import Problem
from app.stats.models import (
    MEASURES,
    SHARDS,
    AllianceRollup,
    EnterpriseCount,
    EnterpriseTally,
    LedgerRollup,
)
from app.stats.rollup import COLUMNS, ROLLUP_KEYS, Deltas, contribution

BATCH = 5000
TABLES = (LedgerRollup, AllianceRollup, EnterpriseTally, EnterpriseCount)


def recount(connection) -> Deltas:
    """Every summary row as the ledger now gives it (problems read in batches)."""
    alliances: dict[int, list[int]] = defaultdict(list)
    for enterprise_id, alliance_id in connection.execute(select(AllianceMembership.enterprise_id, AllianceMembership.alliance_id)):
        alliances[enterprise_id].append(alliance_id)
    deltas = Deltas()
    columns = [Problem.__table__.c[name] for name in COLUMNS]
    result = connection.execute(select(*columns).execution_options(yield_per=BATCH, stream_results=True))
    for row in result:
        item = contribution(row)
        deltas.add(item, 1, alliances.get(item.enterprise_id, ()))
    return deltas


def _rows(deltas: Deltas) -> dict[type, list[dict]]:
    counters: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for (year, enterprise_id), (problems, loans) in deltas.tally.items():
        counter = counters[(year, enterprise_id % SHARDS)]
        counter[0] += int(problems > 0)
        counter[1] += int(loans > 0)
    return {
        LedgerRollup: [dict(zip((*ROLLUP_KEYS, *MEASURES), (*k, *v), strict=True)) for k, v in deltas.rollup.items() if any(v)],
        AllianceRollup: [
            dict(zip(("alliance_id", *ROLLUP_KEYS, *MEASURES), (*k, *v), strict=True)) for k, v in deltas.alliance.items() if any(v)
        ],
        EnterpriseTally: [
            {"year": y, "enterprise_id": e, "problems": p, "loan_problems": n} for (y, e), (p, n) in deltas.tally.items() if p or n
        ],
        EnterpriseCount: [
            {"year": y, "shard": s, "enterprises": n, "loan_enterprises": m} for (y, s), (n, m) in counters.items() if n or m
        ],
    }


def rebuild(connection) -> dict[str, int]:
    """Replace every summary row by a fresh recount; returns the rows written per table."""
    rows = _rows(recount(connection))
    written = {}
    for model in TABLES:
        connection.execute(delete(model))
        for start in range(0, len(rows[model]), BATCH):
            connection.execute(insert(model), rows[model][start : start + BATCH])
        written[model.__tablename__] = len(rows[model])
    return written


def _stored(connection, model) -> list[dict]:
    table = model.__table__
    return [dict(row._mapping) for row in connection.execute(select(table))]


def differences(connection) -> dict[str, int]:
    """How many rows of each summary differ from a fresh recount (zero rows ignored)."""
    fresh = _rows(recount(connection))
    result = {}
    for model in TABLES:
        keys = [column.name for column in model.__table__.primary_key.columns]
        values = [column.name for column in model.__table__.columns if column.name not in keys]
        stored = {tuple(r[k] for k in keys): tuple(r[v] for v in values) for r in _stored(connection, model) if any(r[v] for v in values)}
        wanted = {tuple(r[k] for k in keys): tuple(r[v] for v in values) for r in fresh[model]}
        result[model.__tablename__] = len(set(stored.items()) ^ set(wanted.items()))
    return result


stats_cli = AppGroup("stats", help="The dashboard's summaries of the ledger.")


@stats_cli.command("rebuild")
@click.option("--check", is_flag=True, help="Only compare the summaries with a fresh recount; exit 1 if they differ.")
def rebuild_command(check: bool) -> None:
    """Recompute the monthly roll-ups and enterprise tallies from the ledger."""
    with unit_of_work():
        connection = db.session.connection()
        if check:
            found = differences(connection)
            click.echo(", ".join(f"{name}: {count} differing" for name, count in found.items()))
            if any(found.values()):
                raise SystemExit(1)
            return
        written = rebuild(connection)
    click.echo(", ".join(f"{name}: {count} rows" for name, count in written.items()))
