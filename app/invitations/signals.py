"""Signals that the invitations feature sends; the reminders feature listens to them.

Senders pass `now`; receivers run inside the same transaction and only flush, so an answer and
its reminders commit together. Invitations do not import the reminders feature: create_app's
register steps connect the receivers.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Invitations were sent (a bulk invitation or the publication of a draft); sender: a tuple of them.
invitations_sent = _signals.signal("invitations-sent")
# One invitation's answer or seat changed (answered, promoted from the waiting list); sender: it.
answer_changed = _signals.signal("invitation-answer-changed")
