"""The public face of the invitations feature: its rules, gathered from the modules that hold them.

Services flush and never commit; they take `now` as an argument. The rules live by seam:
`tokens` (answer links, check-in codes), `selection` (whom to invite, saved lists), `mailing`
(invitation mails, nudges), `seats` (answers, seats and the waiting list), `series_invites` (invitations to a whole series), `checkin` (check-in,
walk-ins, attendance counts), `locks` (the row locks they share). Other features and the views
import from here.
"""

from __future__ import annotations

from app.invitations.checkin import (
    AttendanceSummary,
    add_walk_in,
    attendance_summary,
    check_in,
    check_in_code,
    find_by_code,
)
from app.invitations.locks import lock_activity, lock_invitation
from app.invitations.mailing import (
    CLOSED,
    NUDGE_PAUSE,
    asks_for_the_answer,
    non_responders,
    nudge,
    nudge_all,
    queue_mail,
    send_cancellation,
    send_pending_invitations,
    send_update,
)
from app.invitations.seats import (
    MAX_SEATS,
    answer,
    capacity_of,
    promote_waitlist,
    refresh_waitlist,
    seats_taken,
)
from app.invitations.selection import InviteReport, Selection, invite, resolve_invitees, save_list
from app.invitations.series_invites import answer_series, invite_series, open_occurrences
from app.invitations.tokens import (
    CODE_ALPHABET,
    CODE_LENGTH,
    FEEDBACK_DAYS,
    feedback_open,
    feedback_until,
    hash_token,
    invitation_for_token,
    issue_token,
    may_give_feedback,
    new_checkin_code,
)

__all__ = [
    "CLOSED", "CODE_ALPHABET", "CODE_LENGTH", "FEEDBACK_DAYS", "MAX_SEATS", "NUDGE_PAUSE",
    "AttendanceSummary", "InviteReport", "Selection",
    "add_walk_in", "answer", "asks_for_the_answer", "answer_series", "attendance_summary", "capacity_of", "check_in", "check_in_code",
    "feedback_open", "feedback_until", "may_give_feedback", "find_by_code", "hash_token", "invitation_for_token", "invite", "invite_series", "issue_token",
    "lock_activity", "lock_invitation", "new_checkin_code", "non_responders", "nudge", "nudge_all", "open_occurrences",
    "promote_waitlist", "queue_mail", "refresh_waitlist", "resolve_invitees", "save_list",
    "seats_taken", "send_cancellation", "send_pending_invitations", "send_update",
]
