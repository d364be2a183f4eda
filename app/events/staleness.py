"""What an editor saw when opening a form, to tell them what changed since when their save is stale.

The form carries the activity's version and a fingerprint: for each part an organiser reads
(title, time, place…), a short digest of its value then. A save on an older version is refused;
the refusal names the parts whose digest differs now, with their current values. The digests
reveal nothing and a forged one only changes which parts are named.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import ConcurrentChange
from app.core.i18n import format_dt, format_range, join_list
from app.events.models import Activity

NOTHING = "—"


def _text(value: str | None, limit: int = 60) -> str:
    if not value:
        return NOTHING
    return value if len(value) <= limit else value[:limit] + "…"


# part → (label, its current value in words); the value's digest is the fingerprint.
PARTS: dict[str, tuple[str, Callable[[Activity], str]]] = {
    "title": (_l("Title"), lambda a: a.title),
    "time": (_l("Time"), lambda a: format_range(a.starts_at, a.ends_at)),
    "place": (_l("Place"), lambda a: a.place or NOTHING),
    "status": (_l("Status"), lambda a: a.status_label),
    "kind": (_l("Kind"), lambda a: a.kind_label),
    "host": (_l("Host"), lambda a: a.host.display_name),
    "cohosts": (_l("Co-hosting departments"), lambda a: join_list([o.display_name for o in a.cohosts]) or NOTHING),
    "capacity": (_l("Capacity"), lambda a: str(a.capacity) if a.capacity else NOTHING),
    "agenda": (_l("Agenda"), lambda a: _text(a.agenda)),
    "description": (_l("Description"), lambda a: _text(a.description)),
    "answer_deadline": (_l("Answer by"), lambda a: format_dt(a.answer_deadline) if a.answer_deadline else NOTHING),
}
# Digests compare raw values, so that a change the words do not show still counts.
RAW: dict[str, Callable[[Activity], object]] = {
    "time": lambda a: (a.starts_at.isoformat(), a.ends_at.isoformat()),
    "place": lambda a: (a.venue_id, a.site_id, a.location_note),
    "agenda": lambda a: a.agenda,
    "description": lambda a: a.description,
    "host": lambda a: a.host_id,
    "cohosts": lambda a: sorted(o.id for o in a.cohosts),
    "status": lambda a: a.status.value,
    "kind": lambda a: (a.kind.value, a.visit_kind.value if a.visit_kind else None),
    "answer_deadline": lambda a: a.answer_deadline.isoformat() if a.answer_deadline else None,
}


def _digest(activity: Activity, part: str) -> str:
    raw = RAW[part](activity) if part in RAW else PARTS[part][1](activity)
    return hashlib.sha256(repr(raw).encode()).hexdigest()[:10]


def fingerprint(activity: Activity) -> str:
    """What the form shows of the activity, as "part:digest" pairs, for a hidden field."""
    return ",".join(f"{part}:{_digest(activity, part)}" for part in PARTS)


def _read(seen: str | None) -> dict[str, str]:
    pairs = {}
    for item in (seen or "").split(",")[: len(PARTS)]:
        part, _sep, digest = item.partition(":")
        if part in PARTS:
            pairs[part] = digest
    return pairs


def changed_parts(activity: Activity, seen: str | None) -> list[str]:
    """The parts whose value differs from what the fingerprint `seen` recorded (all if unreadable)."""
    recorded = _read(seen)
    if not recorded:
        return ["title", "time", "place"]
    return [part for part in PARTS if recorded.get(part) != _digest(activity, part)]


def stale_edit(activity: Activity, seen: str | None) -> ConcurrentChange:
    """The refusal of a save based on an older version: what changed since, with current values."""
    changes = "；".join(
        _("%(part)s: now %(value)s", part=PARTS[part][0], value=PARTS[part][1](activity))
        for part in changed_parts(activity, seen)
    )
    if not changes:
        return ConcurrentChange(
            _("Someone else saved this activity after you opened it; your changes were not saved. Please reload the page and make them again.")
        )
    return ConcurrentChange(
        _(
            "Someone else saved this activity after you opened it; your changes were not saved. Changed since: %(changes)s. Please reload the page and make your changes again.",
            changes=changes,
        )
    )
