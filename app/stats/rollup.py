"""Keeping the summaries exact in the transaction that changes the ledger.

Every ORM flush that inserts, changes or deletes a problem, or adds or removes an alliance
membership, turns into increments of the summary rows it touches: before the flush the old
values of the changed rows are read from the database (what the ledger held so far), after it
the new ones come from the objects, and the difference is added with INSERT … ON CONFLICT DO
UPDATE SET n = n + delta (PostgreSQL and SQLite). Concurrent writers therefore never overwrite
each other and only wait for one another when they touch the same (month, department,
category) row; the summaries commit or roll back with the change itself.

Writes that bypass the ORM (bulk INSERT … in the benchmark) are followed by `rebuild`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.core.clock import display_zone
from app.orgs.models import AllianceMembership
from app.problems.models import (
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Satisfaction,
)
from app.stats.models import (
    ALL_TIME,
    MEASURES,
    NO_DEPARTMENT,
    SHARDS,
    AllianceRollup,
    EnterpriseCount,
    EnterpriseTally,
    LedgerRollup,
)

# The problem columns the figures depend on (a change of any other leaves the summaries as they are).
COLUMNS = (
    "enterprise_id", "category", "department_id", "status", "resolved_on_site", "deadline",
    "resolved_on", "satisfaction", "loan_amount_wan", "raised_at",
)
# Relationships whose change sets one of those columns only during the flush.
RELATIONSHIPS = ("enterprise", "department")
CAPTURED = "stats_rollup_before"  # session.info key: what the ledger held before this flush


@dataclass(frozen=True)
class Contribution:
    """What one problem adds to the summaries."""

    month: str
    year: int
    department_id: int
    category: str
    enterprise_id: int
    measures: tuple[int, ...]
    has_loan: bool


def contribution(values) -> Contribution:
    """One problem's share of the summaries, from an object or a row carrying COLUMNS."""
    status = ProblemStatus(values.status)
    category = ProblemCategory(values.category)
    satisfaction = Satisfaction(values.satisfaction) if values.satisfaction is not None else None
    resolved = status in RESOLVED_STATUSES
    deadline, resolved_on, loan = values.deadline, values.resolved_on, values.loan_amount_wan
    local = values.raised_at.astimezone(display_zone())
    measures = (
        1,
        int(resolved),
        int(resolved and bool(values.resolved_on_site)),
        int(resolved and (deadline is None or (resolved_on is not None and resolved_on <= deadline))),
        int(satisfaction is not None),
        int(satisfaction in (Satisfaction.satisfied, Satisfaction.basically)),
        int(status in OPEN_STATUSES and deadline is not None),
        int(resolved and category == ProblemCategory.dispute),
        int((Decimal(loan) * 100).to_integral_value()) if loan is not None else 0,
    )
    return Contribution(
        month=f"{local.year:04d}-{local.month:02d}", year=local.year,
        department_id=values.department_id or NO_DEPARTMENT, category=category.value,
        enterprise_id=values.enterprise_id, measures=measures, has_loan=loan is not None and loan > 0,
    )


class Deltas:
    """Increments collected for one flush (or one rebuild), keyed by summary row."""

    def __init__(self) -> None:
        self.rollup: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(MEASURES))
        self.alliance: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(MEASURES))
        self.tally: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, item: Contribution, sign: int, alliances: Iterable[int], alliances_only: bool = False) -> None:
        """Add (sign 1) or take away (sign -1) a problem's contribution (to the alliances' roll-ups only
        when an enterprise joins or leaves them)."""
        key = (item.month, item.department_id, item.category)
        for alliance_id in alliances:
            _accumulate(self.alliance[(alliance_id, *key)], item.measures, sign)
        if not alliances_only:
            _accumulate(self.rollup[key], item.measures, sign)
            for year in (item.year, ALL_TIME):
                counts = self.tally[(year, item.enterprise_id)]
                counts[0] += sign
                counts[1] += sign * int(item.has_loan)


def _accumulate(total: list[int], measures: tuple[int, ...], sign: int) -> None:
    for index, value in enumerate(measures):
        total[index] += sign * value


def _nonzero(deltas: dict) -> list[tuple]:
    # Sorted: concurrent transactions lock the rows they share in the same order (no deadlock).
    return sorted((key, values) for key, values in deltas.items() if any(values))


def _insert(connection, table):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _upsert(connection, table, keys: tuple[str, ...], columns: tuple[str, ...], rows: list[tuple], returning=()):
    """INSERT the rows, or add their values to the rows already there; one statement per row."""
    results = []
    for key, values in rows:
        statement = _insert(connection, table).values(**dict(zip(keys, key, strict=True)), **dict(zip(columns, values, strict=True)))
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: table.c[name] + statement.excluded[name] for name in columns}
        )
        if returning:
            results.append(connection.execute(statement.returning(*(table.c[name] for name in returning))).one())
        else:
            connection.execute(statement)
    return results


ROLLUP_KEYS = ("month", "department_id", "category")


def apply(connection, deltas: Deltas) -> None:
    """Write the increments: roll-ups, alliance roll-ups, tallies and the distinct counters."""
    _upsert(connection, LedgerRollup.__table__, ROLLUP_KEYS, MEASURES, _nonzero(deltas.rollup))
    _upsert(connection, AllianceRollup.__table__, ("alliance_id", *ROLLUP_KEYS), MEASURES, _nonzero(deltas.alliance))
    tallies = _nonzero(deltas.tally)
    after = _upsert(
        connection, EnterpriseTally.__table__, ("year", "enterprise_id"), ("problems", "loan_problems"), tallies,
        returning=("problems", "loan_problems"),
    )
    counters: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for ((year, enterprise_id), (problems, loans)), (problems_now, loans_now) in zip(tallies, after, strict=True):
        # The enterprise starts or stops counting when its tally crosses zero in this transaction.
        counter = counters[(year, enterprise_id % SHARDS)]
        counter[0] += _crossing(problems_now - problems, problems_now)
        counter[1] += _crossing(loans_now - loans, loans_now)
    _upsert(connection, EnterpriseCount.__table__, ("year", "shard"), ("enterprises", "loan_enterprises"), _nonzero(counters))


def _crossing(before: int, after: int) -> int:
    return int(after > 0) - int(before > 0)


# -- the flush hooks -------------------------------------------------------------------


def _changed(instance, names: Iterable[str]) -> bool:
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in names)


def _old_problems(session: Session, ids: list[int]) -> dict[int, object]:
    if not ids:
        return {}
    columns = [Problem.__table__.c[name] for name in COLUMNS]
    rows = session.connection().execute(select(Problem.__table__.c.id, *columns).where(Problem.__table__.c.id.in_(ids)))
    return {row.id: row for row in rows}


def before_flush(session: Session, _context, _instances) -> None:
    """Read what the ledger holds for the problems and memberships this flush changes or deletes."""
    session.info.pop(CAPTURED, None)
    dirty = [o for o in session.dirty if isinstance(o, Problem) and _changed(o, COLUMNS + RELATIONSHIPS)]
    deleted = [o for o in session.deleted if isinstance(o, Problem)]
    memberships = [o for o in session.dirty if isinstance(o, AllianceMembership) and _changed(o, ("alliance_id", "enterprise_id", "alliance", "enterprise"))]
    gone = [o for o in session.deleted if isinstance(o, AllianceMembership)]
    if not (dirty or deleted or memberships or gone or _touches_ledger(session.new)):
        return
    old_memberships = []
    for membership in memberships:
        row = session.connection().execute(
            select(AllianceMembership.alliance_id, AllianceMembership.enterprise_id).where(AllianceMembership.id == membership.id)
        ).one()
        old_memberships.append((row.alliance_id, row.enterprise_id))
    session.info[CAPTURED] = {
        "problems": _old_problems(session, [o.id for o in dirty + deleted if o.id is not None]),
        "removed": old_memberships + [(m.alliance_id, m.enterprise_id) for m in gone],
        "added": memberships,
    }


def _touches_ledger(instances) -> bool:
    return any(isinstance(o, Problem | AllianceMembership) for o in instances)


def after_flush(session: Session, _context) -> None:
    """Turn the flushed changes into increments of the summaries, in the same transaction."""
    captured = session.info.pop(CAPTURED, None)
    if captured is None:
        return
    added = {(m.alliance_id, m.enterprise_id) for m in captured["added"]}
    added |= {(m.alliance_id, m.enterprise_id) for m in session.new if isinstance(m, AllianceMembership)}
    removed = set(captured["removed"])
    added, removed = added - removed, removed - added
    changes = []  # (old contribution or None, new contribution or None)
    for problem_id, old in captured["problems"].items():
        instance = session.identity_map.get((Problem, (problem_id,), None))
        deleted = instance is None or instance in session.deleted
        changes.append((contribution(old), None if deleted else contribution(instance)))
    changes += [(None, contribution(o)) for o in session.new if isinstance(o, Problem)]
    connection = session.connection()
    enterprises = {item.enterprise_id for pair in changes for item in pair if item is not None}
    alliances = _alliances_before(connection, enterprises, added, removed)
    deltas = Deltas()
    for old, new in changes:
        if old is not None:
            deltas.add(old, -1, alliances.get(old.enterprise_id, ()))
        if new is not None:
            deltas.add(new, 1, alliances.get(new.enterprise_id, ()))
    for pairs, sign in ((added, 1), (removed, -1)):
        for alliance_id, enterprise_id in sorted(pairs):
            # The member's whole ledger (as it is now) joins or leaves the alliance's roll-up.
            for row in _problems_of(connection, enterprise_id):
                deltas.add(contribution(row), sign, (alliance_id,), alliances_only=True)
    apply(connection, deltas)


def _alliances_before(connection, enterprises: set[int], added: set, removed: set) -> dict[int, set[int]]:
    """Each enterprise's alliances before this flush's membership changes."""
    if not enterprises:
        return {}
    result: dict[int, set[int]] = defaultdict(set)
    rows = connection.execute(
        select(AllianceMembership.enterprise_id, AllianceMembership.alliance_id).where(AllianceMembership.enterprise_id.in_(enterprises))
    )
    for enterprise_id, alliance_id in rows:
        result[enterprise_id].add(alliance_id)
    for alliance_id, enterprise_id in added:
        result[enterprise_id].discard(alliance_id)
    for alliance_id, enterprise_id in removed:
        result[enterprise_id].add(alliance_id)
    return result


def _problems_of(connection, enterprise_id: int):
    columns = [Problem.__table__.c[name] for name in COLUMNS]
    return connection.execute(select(*columns).where(Problem.__table__.c.enterprise_id == enterprise_id)).all()


def register(_app) -> None:
    """Listen to every session's flushes (once per process: the listeners are stateless)."""
    for name, function in (("before_flush", before_flush), ("after_flush", after_flush)):
        if not event.contains(Session, name, function):
            event.listen(Session, name, function)
