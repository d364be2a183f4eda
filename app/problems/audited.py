"""What the audit log records of problems, their outcomes, activity records, photos and feedback."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from app.audit.subjects import AuditedModel, choice, day, reference, text
from app.events.models import Activity
from app.extensions import db
from app.orgs.models import Organisation
from app.problems.models import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    SATISFACTION_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    ActivityFeedback,
    ActivityPhoto,
    ActivityRecord,
    Outcome,
    Problem,
)
from app.problems.views.common import STEP_LABELS


def _problem_title(problem: Problem) -> str:
    return _("%(enterprise)s: %(problem)s", enterprise=problem.enterprise.display_name, problem=problem.description[:40])


def _record_url(entity: ActivityRecord | ActivityPhoto | ActivityFeedback) -> str:
    return url_for("problems.activity_record", activity_id=entity.activity_id)


def _activity_title(entity: ActivityRecord | ActivityFeedback) -> str:
    activity = db.session.get(Activity, entity.activity_id)
    return activity.title if activity is not None else f"#{entity.activity_id}"


PROBLEM = AuditedModel(
    Problem, lazy_pgettext("audit record", "Problem"),
    {
        "status": choice(_l("Status"), STATUS_LABELS),
        "enterprise_id": reference(_l("Enterprise"), Organisation),
        "category": choice(_l("Category"), CATEGORY_LABELS),
        "source": choice(_l("Source"), SOURCE_LABELS),
        "description": text(_l("Description")),
        "activity_id": reference(_l("Activity"), Activity),
        "department_id": reference(_l("Department"), Organisation),
        "deadline": day(_l("Deadline")),
        "extension_until": day(_l("Extension until")),
        "satisfaction": choice(_l("Satisfaction"), SATISFACTION_LABELS),
    },
    title=_problem_title,
    url=lambda problem: url_for("problems.problem_detail", problem_id=problem.id),
    actions={"create": _l("Recorded"), **STEP_LABELS},
)

RECORD = AuditedModel(
    ActivityRecord, _l("Activity record"),
    {"expected": text(_l("Expected")), "present": text(_l("Present"))},
    title=_activity_title, url=_record_url, actions={"save": lazy_pgettext("audit action", "Saved")},
)

PHOTO = AuditedModel(
    ActivityPhoto, _l("Photo"),
    {"activity_id": reference(_l("Activity"), Activity)},
    title=lambda photo: photo.original_name or f"#{photo.id}", url=_record_url,
    actions={"upload": _l("Uploaded")},
)

FEEDBACK = AuditedModel(
    ActivityFeedback, _l("Feedback"),
    {"rating": text(_l("Rating"))},
    title=_activity_title, url=lambda feedback: url_for("events.activity_detail", activity_id=feedback.activity_id),
    actions={"feedback": _l("Feedback given")},
)

OUTCOME = AuditedModel(
    Outcome, _l("Outcome"),
    {
        "kind": choice(_l("Kind"), OUTCOME_LABELS),
        "amount_wan": text(_l("Amount (10,000 yuan)")),
        "cases": text(_l("Cases")),
    },
    title=lambda outcome: f"{OUTCOME_LABELS[outcome.kind]} {outcome.recorded_on.isoformat()}",
    url=lambda _outcome: url_for("problems.outcomes"),
)

AUDITED = [PROBLEM, RECORD, PHOTO, FEEDBACK, OUTCOME]
