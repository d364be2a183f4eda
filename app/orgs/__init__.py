"""Organisations, people, instructor assignments and venues."""
