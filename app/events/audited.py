"""What the audit log records of activities, series and monthly themes."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from app.audit.subjects import (
    AuditedModel,
    choice,
    flag,
    items,
    moment,
    reference,
    references,
    text,
)
from app.events.models import (
    ACTIVITY_KIND_LABELS,
    ACTIVITY_STATUS_LABELS,
    VISIT_KIND_LABELS,
    Activity,
    ActivitySeries,
    MonthlyTheme,
)
from app.orgs.models import Organisation, Person, Venue


def _activity_url(activity: Activity) -> str:
    return url_for("events.activity_detail", activity_id=activity.id)


ACTIVITY = AuditedModel(
    Activity, _l("Activity"),
    {
        "kind": choice(_l("Kind"), ACTIVITY_KIND_LABELS),
        "visit_kind": choice(_l("Kind of visit"), VISIT_KIND_LABELS),
        "title": text(_l("Title")),
        "starts_at": moment(_l("Starts")),
        "ends_at": moment(_l("Ends")),
        "theme_id": reference(_l("Monthly theme"), MonthlyTheme),
        "host_id": reference(_l("Host"), Organisation),
        "alliance_id": reference(_l("Alliance"), Organisation),
        "cohosts": references(_l("Co-hosting departments"), Organisation),
        "venue_id": reference(_l("Venue"), Venue),
        "site_id": reference(_l("Enterprise site"), Organisation),
        "location_note": text(_l("Location note")),
        "capacity": text(_l("Capacity")),
        "agenda": text(_l("Agenda")),
        "description": text(_l("Description")),
        "status": choice(_l("Status"), ACTIVITY_STATUS_LABELS),
        "sequence": text(_l("Calendar revision")),
        "organiser_id": reference(_l("Organiser"), Person),
        "venue_override": flag(_l("Venue used although taken")),
        "reminder_offsets": items(_l("Reminders (minutes before)")),
        "answer_deadline": moment(_l("Answer by")),
        "series_id": reference(_l("Series"), ActivitySeries),
        # Written by the invitations of the activity (app/invitations/selection.py).
        "invited": references(_l("People invited"), Person),
    },
    title=lambda activity: activity.title,
    url=_activity_url,
    actions={
        "create": lazy_pgettext("audit action", "Created"),
        "reschedule": _l("Rescheduled"),
        "update_following": _l("Changed with the following occurrences"),
        "publish": lazy_pgettext("audit action", "Published"),
        "cancel": lazy_pgettext("audit action", "Cancelled"),
        "complete": lazy_pgettext("audit action", "Completed"),
        "invite": lazy_pgettext("audit action", "Invited"),
    },
)

SERIES = AuditedModel(
    ActivitySeries, _l("Series"),
    {"rrule": text(_l("Repeat rule")), "exdates": items(_l("Skipped dates"))},
    title=lambda series: f"#{series.id}",
    actions={"exception": _l("Occurrence taken out of the series"), "split": _l("Series split")},
)

THEME = AuditedModel(
    MonthlyTheme, _l("Monthly theme"),
    {
        "year": text(_l("Year")),
        "month": text(_l("Month")),
        "title": text(_l("Title")),
        "description": text(_l("Description")),
        "lead_departments": references(_l("Lead departments"), Organisation),
    },
    title=lambda theme: f"{theme.year}-{theme.month:02d} {theme.title}",
    url=lambda theme: url_for("events.theme_edit", theme_id=theme.id),
)

AUDITED = [ACTIVITY, SERIES, THEME]
