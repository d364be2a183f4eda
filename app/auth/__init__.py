"""Accounts, log-in and role checks."""
