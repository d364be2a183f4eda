"""Reminders: rows that fall due, swept into the outbox by the one scheduler process."""
