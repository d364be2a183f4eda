"""Invitations to activities: answers from a link, seats and waitlist, check-in."""
