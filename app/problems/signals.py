"""Signals the problem ledger sends; other features (group robots, webhooks) listen to them.

Senders pass `now`; receivers run inside the same transaction and only flush, so a step and its
consequences (outbox rows) commit together. The ledger does not import its listeners: create_app's
register steps connect them.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# 交办/转办: the problem now lies with `problem.department`; kwargs: now, step_key (one per step).
problem_assigned = _signals.signal("problem-assigned")
# A problem was recorded (受理); sender: the problem. Steps taken at once (交办, 现场办结) follow.
problem_recorded = _signals.signal("problem-recorded")
# A problem took a step of the ledger; sender: the problem; kwargs: now, step (its ProblemStep).
problem_stepped = _signals.signal("problem-stepped")
