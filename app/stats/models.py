"""The ledger's summaries: monthly roll-ups and per-enterprise tallies the dashboard reads.

They are kept exact by the transaction that changes the ledger (app/stats/rollup.py, on every
flush), never by a timer; `flask stats rebuild` recomputes them from scratch. Every writer
increments the rows its own change touches (INSERT … ON CONFLICT DO UPDATE), so there is no row
that every write updates: one roll-up row per (month, department, category), one tally row per
(year, enterprise), and the distinct-enterprise counters spread over SHARDS rows per year.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# Distinct-enterprise counters per year are spread over this many rows (enterprise id modulo).
SHARDS = 16
# The tally "year" that stands for all time (the dashboard's "all years").
ALL_TIME = 0
# department_id of problems not (yet) handed to a department (a key column cannot be NULL).
NO_DEPARTMENT = 0


def _count() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default="0")


class _Measures:
    """What one roll-up row adds up (counts of problems, loans in cents of 10,000 yuan)."""

    collected: Mapped[int] = _count()
    resolved: Mapped[int] = _count()
    on_site: Mapped[int] = _count()
    on_time: Mapped[int] = _count()
    rated: Mapped[int] = _count()
    satisfied: Mapped[int] = _count()
    # Open with a deadline: the overdue figure subtracts those whose deadline has not passed yet.
    open_due: Mapped[int] = _count()
    disputes: Mapped[int] = _count()
    # Integer cents: sums stay exact on SQLite too (it has no decimal type).
    loans_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


MEASURES = ("collected", "resolved", "on_site", "on_time", "rated", "satisfied", "open_due", "disputes", "loans_cents")


class LedgerRollup(_Measures, db.Model):
    """The ledger's figures for one display-zone month, department and category."""

    __tablename__ = "ledger_rollup"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "YYYY-MM"
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)


class AllianceRollup(_Measures, db.Model):
    """The same figures for the problems of one alliance's current members."""

    __tablename__ = "ledger_alliance_rollup"

    alliance_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)


class EnterpriseTally(db.Model):
    """How many problems (and problems with a loan) an enterprise raised in a year (0: all time)."""

    __tablename__ = "ledger_enterprise_tally"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problems: Mapped[int] = _count()
    loan_problems: Mapped[int] = _count()


class EnterpriseCount(db.Model):
    """Enterprises with at least one problem (and with a loan) in a year, one shard of them."""

    __tablename__ = "ledger_enterprise_count"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprises: Mapped[int] = _count()
    loan_enterprises: Mapped[int] = _count()
