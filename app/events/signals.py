"""Signals that other features (invitations, reminders, feeds) listen to.

Senders pass the activity and `now`; receivers run inside the same transaction and must
only flush, so that the change and its consequences (outbox rows, reminders) commit together.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# The activity became visible to invitees (draft → published).
activity_published = _signals.signal("activity-published")
# Time or place changed on a published activity; kwargs: changes={field: [old, new]}.
activity_updated = _signals.signal("activity-updated")
# The activity was cancelled; kwargs: reason.
activity_cancelled = _signals.signal("activity-cancelled")
# The activity took place and was marked completed.
activity_completed = _signals.signal("activity-completed")
# Only the reminder settings (offsets, answer deadline) of a published activity changed.
activity_reminders_changed = _signals.signal("activity-reminders-changed")
