"""Calendar answers that come back: iTIP REPLY and COUNTER mails read from the reply mailbox.

Modules: `models` (one row per message read, by Message-ID), `parsing` (finding and reading the
calendar part of a mail as Outlook, Gmail, Apple Calendar and Thunderbird write it), `services`
(matching a reply to its invitation and applying it through the invitations' own answer service),
`mailbox` (the IMAP side: each message its own unit of work, then moved to the processed folder),
`cli` (`flask mail fetch`) and `wiring` (`register(app)`: the template helper that shows proposed
new times to organisers). The scheduler calls `mailbox.fetch_replies` on every pass.
"""
