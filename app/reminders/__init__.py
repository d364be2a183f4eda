"""Reminders: rows that fall due, swept into the outbox by the one scheduler process.

Modules: `planning` (what each subject should have; flushes only), `sweep` (claiming due rows
and queuing them in the outbox, in units of work of their own), `emails` (the invitation
reminder mails, built at send time), `hooks` (`register(app)`: signal receivers and the notice
registry entries), `scheduler` and `cli` (the edges that run passes).

How other features plug in (all functions flush, never commit; pass `now`):

- Activities: app/events/signals (published → plan, updated → re-plan, cancelled/completed →
  suppress); nothing to call.
- Invitations: app/invitations/signals — `invitations_sent` (a bulk invitation or publication:
  plan them) and `answer_changed` (declining stops that contact's reminders; accepting replaces
  the nudge by the reminders before the activity). The scheduler also re-plans upcoming
  activities every few minutes (SCHEDULER_PLAN_EVERY_SECONDS) as a safety net. Reminder mails
  carry a fresh personal answer link (`emails.answer_link`, a token whose hash is written while
  the outbox row is built; the built body is committed before the SMTP exchange and reused by
  every retry) and the iTIP REQUEST of app/ical.
- Activity form: per-activity offsets ("1d, 2h, 30m", parsed by app/core/offsets.py) and answer
  deadline; saving them sends `activity_reminders_changed`, which re-plans.
- Problem ledger (app/problems/reminders.py): plans with `planning.replace_pending` and, in its
  own `register(app)`, adds the "problem" subject check and the builders of the problem kinds
  to the app's notice registry (app/mail/notices.py). create_app refuses to start while any
  ReminderKind has no builder.
"""
