"""Home page, health check and language switch."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import func, select

from app.auth.access import any_role, public
from app.core.clock import utcnow
from app.core.database import database_answers
from app.core.redirects import safe_next
from app.events.models import Activity, ActivityStatus
from app.events.queries import visible_activities
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.orgs.models import Organisation, OrgKind

bp = Blueprint("main", __name__)


@bp.get("/")
@any_role
def home():
    """The landing page: what is coming up for this account, and the county at a glance."""
    now = utcnow()
    upcoming = db.session.scalars(
        visible_activities(current_user)
        .where(Activity.ends_at >= now, Activity.starts_at < now + timedelta(days=60))
        .where(Activity.status.in_([ActivityStatus.published, ActivityStatus.draft]))
        .order_by(Activity.starts_at)
        .limit(12)
    ).all()
    counts = dict(
        db.session.execute(
            select(Organisation.kind, func.count())
            .where(Organisation.active.is_(True))
            .group_by(Organisation.kind)
        ).all()
    )
    awaiting = db.session.scalars(
        select(Invitation)
        .join(Invitation.activity)
        .where(
            Invitation.person_id == current_user.person_id,
            Invitation.answer == Answer.pending,
            Activity.status == ActivityStatus.published,
            Activity.starts_at > now,
        )
        .order_by(Activity.starts_at)
        .limit(5)
    ).all()
    return render_template(
        "main/home.html", upcoming=upcoming, counts=counts, OrgKind=OrgKind, now=now, awaiting=awaiting
    )


@bp.get("/healthz")
@public
def healthz():
    """Report whether the app and its database answer (503 within a few seconds when it does not)."""
    healthy = database_answers(current_app)
    status = "ok" if healthy else "error"
    return jsonify(status=status, database="ok" if healthy else "unreachable"), 200 if healthy else 503


@bp.post("/lang/<code>")
@public
def set_language(code: str):
    """Switch the interface language (CSRF-protected): this browser, and the account's preference."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
    return redirect(safe_next(request.args.get("next")))


@bp.get("/lang/<code>")
@public
def set_language_link(code: str):
    """Old-style language links: this browser only, never the stored account preference."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))
