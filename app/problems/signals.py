"""Signals the problem ledger sends; other features (webhooks) listen to them.

Senders pass `now`; receivers run inside the same transaction and only flush, so a step and its
consequences commit together. The ledger does not import its listeners: create_app's register
steps connect them.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# A problem was recorded (受理); sender: the problem. Steps taken at once (交办, 现场办结) follow.
problem_recorded = _signals.signal("problem-recorded")
# A problem took a step of the ledger; sender: the problem; kwargs: now, step (its ProblemStep).
problem_stepped = _signals.signal("problem-stepped")
