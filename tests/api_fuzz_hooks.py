"""schemathesis hooks for tests/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import json

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData


def _only_the_cursor_refused(response) -> bool:
    try:
        problem = json.loads(response.content)
    except ValueError:
        return False
    fields = {error.get("field") for error in problem.get("errors") or [{}]}
    return response.status_code == 400 and fields == {"cursor"}


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure but one: a string invented as `cursor` refused with 400.

    A cursor is opaque: only the API makes valid ones (a page's `next_cursor`), so any other
    string is refused, naming the field (tests/test_api.py checks it). JSON Schema cannot say
    "one of the strings the server made", so the schema calls every string valid.
    """
    return not (isinstance(failure, RejectedPositiveData) and _only_the_cursor_refused(response))
