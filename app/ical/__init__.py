"""The one iCalendar builder (RFC 5545 / iTIP), shared by the feeds and the invitation mails.

`builder` holds the code; ICAL.md in the design notes is its conformance checklist.
"""
