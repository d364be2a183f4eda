"""The activity record (活动纪实): sanitised minutes, decisions, attendance and photos.

应到/实到 come from the invitations and check-in (the same counts as the check-in page and the
dashboard). The numbers typed into the record are kept only for activities without any
invitation — a visit or a meeting organised outside Linghang has no check-in to count from —
and the dashboard falls back to them in the same case.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import bleach
from flask import current_app
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import func, select

from app.audit.services import record
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.events.models import Activity
from app.extensions import db
from app.invitations.models import Invitation
from app.invitations.services import attendance_summary
from app.orgs.models import Organisation, Person
from app.problems.models import ActivityFeedback, ActivityPhoto, ActivityRecord

ALLOWED_TAGS = ["p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h3", "h4", "blockquote"]
HTML_TAG = re.compile(r"</?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^>]*)?/?>")
PHOTO_LIMIT = 5 * 1024 * 1024  # per file; the whole request is capped by MAX_CONTENT_LENGTH
PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def sanitise_minutes(text: str | None) -> str | None:
    """Keep a few formatting tags; plain text keeps its line breaks; everything else is removed."""
    text = (text or "").strip()
    if not text:
        return None
    if not HTML_TAG.search(text):
        # Plain text: escape it and keep its line breaks.
        return "<br>".join(str(escape(line)) for line in text.splitlines())
    return bleach.clean(text, tags=ALLOWED_TAGS, attributes={}, strip=True)


def save_record(activity: Activity, *, minutes: str | None, decisions: str | None, expected: int | None, present: int | None, now: datetime) -> ActivityRecord:
    """Create or update the activity's record; typed attendance is kept only when nobody was invited."""
    if has_invitations(activity):
        # Counted from check-in (see `attendance`): numbers typed on an old page are not kept.
        expected = present = None
    for value, field in ((expected, "expected"), (present, "present")):
        if value is not None and value < 0:
            raise ValidationFailed(_("The number cannot be negative."), field)
    if expected is not None and present is not None and present > expected * 2:
        raise ValidationFailed(_("More people present than twice those expected: check the numbers."), "present")
    entry = db.session.query(ActivityRecord).filter_by(activity_id=activity.id).one_or_none()
    if entry is None:
        entry = ActivityRecord(activity=activity)
        db.session.add(entry)
    entry.minutes = sanitise_minutes(minutes)
    entry.decisions = (decisions or "").strip() or None
    entry.expected = expected
    entry.present = present
    entry.updated_at = now
    db.session.flush()
    record(entry, "save", {"expected": [None, expected], "present": [None, present]}, now=now)
    return entry


def sniff_image(head: bytes) -> str | None:
    """The image type from the file's first bytes (JPEG, PNG or WebP), else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def upload_folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def display_filename(filename: str | None) -> str:
    """The uploaded file's name for display: control characters (NUL, CR, LF …) removed, length capped."""
    # The name comes from the browser as is; the file is stored under a random name anyway.
    cleaned = "".join(c for c in (filename or "") if unicodedata.category(c)[0] != "C").strip()
    return cleaned[:200] or "photo"


def check_photo_room(activity: Activity) -> None:
    """Refuse a photo beyond PHOTOS_PER_ACTIVITY (the activity row is locked while counting)."""
    db.session.execute(select(Activity.id).where(Activity.id == activity.id).with_for_update())
    limit = current_app.config["PHOTOS_PER_ACTIVITY"]
    count = db.session.scalar(select(func.count()).select_from(ActivityPhoto).where(ActivityPhoto.activity_id == activity.id))
    if count >= limit:
        raise ValidationFailed(_("An activity can have at most %(n)d photos.", n=limit), "photo")


def add_photo(activity: Activity, data: bytes, filename: str | None, uploader: Person | None, now: datetime) -> ActivityPhoto:
    """Store an uploaded photo under a random name after checking its size and content type."""
    if not data:
        raise ValidationFailed(_("Choose a photo to upload."), "photo")
    if len(data) > PHOTO_LIMIT:
        raise ValidationFailed(_("The photo is larger than %(mb)s MB.", mb=PHOTO_LIMIT // (1024 * 1024)), "photo")
    content_type = sniff_image(data[:16])
    if content_type is None:
        raise ValidationFailed(_("Only JPEG, PNG or WebP photos can be uploaded."), "photo")
    check_photo_room(activity)
    stored = secrets.token_hex(16) + PHOTO_TYPES[content_type]
    photo = ActivityPhoto(
        activity_id=activity.id, stored_name=stored, original_name=display_filename(filename),
        content_type=content_type, size=len(data), uploaded_by_id=uploader.id if uploader else None, uploaded_at=now,
    )
    db.session.add(photo)
    db.session.flush()
    (upload_folder() / stored).write_bytes(data)
    record(photo, "upload", {"activity_id": [None, activity.id]}, now=now)
    return photo


@dataclass(frozen=True)
class Attendance:
    """应到 and 实到 of an activity, and whether they were counted from check-in."""

    expected: int | None
    present: int | None
    from_check_in: bool


def has_invitations(activity: Activity) -> bool:
    """True when anyone was invited to (or checked in at) the activity."""
    return db.session.scalar(select(Invitation.id).where(Invitation.activity_id == activity.id).limit(1)) is not None


def attendance(activity: Activity, entry: ActivityRecord | None) -> Attendance:
    """Counted from the invitations and check-in; the typed numbers only when nobody was invited."""
    if has_invitations(activity):
        summary = attendance_summary(activity.id, utcnow())  # the record is of the activity as it stands now
        return Attendance(summary.expected, summary.present, True)
    return Attendance(entry.expected if entry else None, entry.present if entry else None, False)


def attendees(activity: Activity) -> list[Invitation]:
    """Everyone checked in at the activity (walk-ins included), by organisation then name."""
    return list(
        db.session.scalars(
            select(Invitation)
            .join(Person, Person.id == Invitation.person_id)
            .join(Organisation, Organisation.id == Invitation.organisation_id)
            .where(Invitation.activity_id == activity.id, Invitation.checked_in_at.is_not(None))
            .order_by(Organisation.name, Person.name)
        )
    )


def ratings(activity: Activity) -> tuple[list[ActivityFeedback], float | None]:
    """The enterprises' ratings of the activity and their average (None when there is none)."""
    items = list(
        db.session.scalars(
            select(ActivityFeedback)
            .join(Organisation, Organisation.id == ActivityFeedback.enterprise_id)
            .where(ActivityFeedback.activity_id == activity.id)
            .order_by(Organisation.name)
        )
    )
    average = db.session.scalar(select(func.avg(ActivityFeedback.rating)).where(ActivityFeedback.activity_id == activity.id))
    return items, float(average) if average is not None else None
