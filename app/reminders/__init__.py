"""Reminders: rows that fall due, swept into the outbox by the one scheduler process.

How other features plug in (all functions flush, never commit; pass `now`):

- Activities: wired through app/events/signals (published → plan, updated → re-plan,
  cancelled/completed → suppress); nothing to call.
- Invitations: call `services.plan_for_invitation(invitation, now)` after an invitation is
  created or sent, and `services.on_answer_changed(invitation, now)` after an answer changes
  (declining stops that contact's reminders; accepting replaces the nudge by the reminders
  before the activity). The scheduler also re-plans upcoming activities every few minutes
  (SCHEDULER_PLAN_EVERY_SECONDS) as a safety net.
  app/invitations/services does both (invite, publication, every answer, waitlist promotion).
  Reminder mails carry a fresh personal answer link (`emails.answer_link`, a token whose hash
  is written while the outbox row is built; the built body is committed before the SMTP
  exchange and reused by every retry) and the iTIP REQUEST of app/feeds/ical.py.
- Activity form: per-activity offsets ("1d, 2h, 30m") and answer deadline; saving them sends
  `activity_reminders_changed`, which re-plans.
- Problem ledger: `services.plan_problem_deadline(problem_id, deadline, department_id, now,
  organiser_person_id=...)` whenever a problem is assigned, reassigned, extended or changes
  state (deadline=None once resolved/returned/withdrawn); `services.plan_follow_up(problem_id,
  due_at, instructor_person_id, now)` when a follow-up visit is scheduled (None clears it).
  Register the "still wanted" SQL condition with
  `services.register_subject_check("problem", lambda now: <condition on Reminder>)` and, if
  wanted, better mails with `emails.builders[ReminderKind.problem_due] = builder`.
"""
