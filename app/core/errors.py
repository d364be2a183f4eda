"""Errors that services raise for the edge (views, CLI, API) to show to people."""

from __future__ import annotations


class ValidationFailed(Exception):
    """Input that breaks a rule; the message is already translated."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConcurrentChange(ValidationFailed):
    """Someone else changed the record first; the person should reload and try again."""
