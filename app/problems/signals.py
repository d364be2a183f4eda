"""Signals other features listen to when a problem moves (e.g. the group robots).

Receivers run inside the transaction of the step and must only flush, so the step and its
consequences (outbox rows) commit together.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# 交办/转办: the problem now lies with `problem.department`; kwargs: now, step_key (one per step).
problem_assigned = _signals.signal("problem-assigned")
