"""Pieces shared by every feature: column types, the clock, time zones, pagination."""
