"""Feeds over HTTP, single-activity downloads and the Subscribe page."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.http import parse_date

from app.auth.access import any_role, public
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.forms import show_failure
from app.core.inputs import parse_int
from app.core.unit_of_work import doom, flash_after_commit
from app.events.models import Activity
from app.events.queries import visible_activity_or_404
from app.extensions import db
from app.feeds import services
from app.feeds.cache import cached_feed, feed_body, feed_cache
from app.feeds.content import (
    PUBLIC,
    FeedBody,
    FeedScope,
    etag_of,
    http_last_modified,
    last_modified_header,
    not_modified_since,
)
from app.feeds.forms import NewTokenForm, TokenActionForm
from app.feeds.models import FeedToken
from app.ical.builder import build_calendar, build_vevent, calendar_zone, last_changed
from app.orgs.models import Organisation, Person

bp = Blueprint("feeds", __name__)

CALENDAR_TYPE = "text/calendar; charset=utf-8"


# -- feeds ---------------------------------------------------------------------

def _matches(header: str, etag: str) -> bool:
    candidates = [part.strip() for part in header.split(",")]
    return "*" in candidates or etag in candidates or f"W/{etag}" in candidates


def _not_modified(etag: str, last_modified) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins (the ETag is the exact validator); If-Modified-Since
    only when it is absent, against the precise last change (see last_modified_header)."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return _matches(if_none_match, etag)
    since = parse_date(request.headers.get("If-Modified-Since"))
    return since is not None and not_modified_since(last_modified, since)


def calendar_response(
    feed: FeedBody, *, now: datetime, filename: str | None = None, max_age: int = 0
) -> Response:
    """The bytes as text/calendar with ETag and Last-Modified, or 304 when the client has them."""
    headers = {
        "ETag": feed.etag,
        "Last-Modified": http_last_modified(last_modified_header(feed.last_modified, now)),
        "Cache-Control": f"private, max-age={max_age}, must-revalidate",
    }
    if filename:
        headers["Content-Disposition"] = f"attachment; filename=\"{filename}\""
    if _not_modified(feed.etag, feed.last_modified):
        return Response(status=304, headers=headers)
    response = Response(feed.body, status=200, headers=headers)
    response.headers["Content-Type"] = CALENDAR_TYPE
    return response


@bp.get("/feeds/<token>.ics")
@public
def feed(token: str):
    """A subscribed calendar (METHOD:PUBLISH); unknown or revoked tokens answer 404.

    A token seen before in this process is answered after one probe query (its feed and the
    token itself unchanged since they were read); otherwise the token is looked up and the feed
    served from the cache or rendered.
    """
    now = utcnow()
    token_hash = services.hash_token(token)
    cache = feed_cache()
    known = cache.token(token_hash)
    if known is not None:
        cached = cached_feed(known.scope, now, known)
        if cached is not None:
            if services.record_poll(known, now):
                known.last_polled_at = now
            return calendar_response(cached, now=now)
    target = services.find_poll_target(token)
    if target is None:
        cache.drop_token(token_hash)
        abort(404)
    cache.put_token(token_hash, target)
    if services.record_poll(target, now):
        target.last_polled_at = now
    return calendar_response(feed_body(target.scope, now), now=now)


@bp.get("/feeds/public.ics")
@public
def public_feed():
    """The county's published open activities, for anyone."""
    now = utcnow()
    return calendar_response(feed_body(FeedScope(PUBLIC), now), now=now)


# -- one activity ----------------------------------------------------------------

def _visible_activity(activity_id: int) -> Activity:
    return visible_activity_or_404(current_user, activity_id)


@bp.get("/activities/<id:activity_id>.ics")
@any_role
def activity_ics(activity_id: int):
    """Download one activity as an .ics file (METHOD:PUBLISH, the feeds' builder)."""
    activity = _visible_activity(activity_id)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        event = build_vevent(activity, base_url=current_app.config["BASE_URL"])
        body = build_calendar([event], method="PUBLISH").to_ical()
    feed = FeedBody(body=body, etag=etag_of(body), last_modified=last_changed(activity))
    return calendar_response(feed, now=utcnow(), filename=f"linghang-activity-{activity.id}.ics")


@bp.app_template_global()
def add_to_calendar_links(activity: Activity) -> list[tuple[str, str]]:
    """Links that open a new-event form in web calendars, plus the .ics download."""
    start = activity.starts_at.astimezone(UTC)
    end = activity.ends_at.astimezone(UTC)
    details = activity.agenda or activity.description or ""
    link = f"{current_app.config['BASE_URL']}/activities/{activity.id}"
    details = (details + "\n\n" + link).strip()
    google = "https://calendar.google.com/calendar/render?" + urlencode(
        {
            "action": "TEMPLATE",
            "text": activity.title,
            "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
            "details": details,
            "location": activity.place,
            "ctz": calendar_zone().key,
        },
        quote_via=quote,
    )
    outlook_params = urlencode(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": activity.title,
            "startdt": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "enddt": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "body": details,
            "location": activity.place,
        },
        quote_via=quote,
    )
    return [
        (_("Apple, Outlook or phone calendar (.ics file)"), url_for("feeds.activity_ics", activity_id=activity.id)),
        (_("Google Calendar"), google),
        (_("Outlook.com"), "https://outlook.live.com/calendar/0/deeplink/compose?" + outlook_params),
        (_("Microsoft 365"), "https://outlook.office.com/calendar/0/deeplink/compose?" + outlook_params),
    ]


# -- the Subscribe page ----------------------------------------------------------

def _subject_choices() -> list[tuple[str, str]]:
    """Whose calendar this account may subscribe to."""
    me = current_user.person
    choices = [(f"person:{me.id}", _("My activities (%(name)s)", name=me.name))]
    own = me.organisation
    choices.append((f"org:{own.id}", _("%(name)s (my organisation)", name=own.name)))
    if current_user.is_staff:
        others = db.session.scalars(
            select(Organisation).where(Organisation.active.is_(True), Organisation.id != own.id).order_by(Organisation.kind, Organisation.name)
        )
        choices += [(f"org:{o.id}", _("%(name)s (%(detail)s)", name=o.name, detail=o.kind_label)) for o in others]
    return choices


def _subject(value: str) -> tuple[Organisation | None, Person | None]:
    kind, _sep, raw = (value or "").partition(":")
    subject_id = parse_int(raw, 1)
    if subject_id is None:
        return None, None
    if kind == "org":
        return db.session.get(Organisation, subject_id), None
    if kind == "person":
        return None, db.session.get(Person, subject_id)
    return None, None


def qr_svg(data: str) -> Markup:
    """An inline SVG QR code."""
    return Markup(segno.make(data, error="m").svg_inline(scale=4, border=2, title=data))


def _links(path: str) -> dict[str, str]:
    url = services.feed_url(path)
    return {"https": url, "webcal": services.webcal_url(url)}


@bp.get("/subscribe")
@any_role
def subscribe():
    """Create, revoke and rotate calendar subscription links."""
    form = NewTokenForm()
    form.subject.choices = _subject_choices()
    return _subscribe_page(form)


def _subscribe_page(form: NewTokenForm, fresh_token: FeedToken | None = None, plain: str | None = None):
    fresh = None
    if fresh_token is not None and plain is not None:
        links = _links(services.feed_path(plain))
        fresh = {"token": fresh_token, "links": links, "qr": qr_svg(links["webcal"])}
    public_links = _links(services.public_feed_path())
    return render_template(
        "feeds/subscribe.html",
        form=form,
        action_form=TokenActionForm(),
        tokens=services.tokens_for(current_user),
        fresh=fresh,
        public_links=public_links,
        public_qr=qr_svg(public_links["webcal"]),
    )


def _show_once(token: FeedToken, plain: str):
    """The page with the new link, as the answer to the POST that made it.

    Only the token's hash is stored; the plain token lives in this one response (not stored,
    not cached, not in the session cookie), so it is shown exactly once. The page's card says
    to copy it now.
    """
    form = NewTokenForm(formdata=None)
    form.subject.choices = _subject_choices()
    response = make_response(_subscribe_page(form, token, plain))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/subscribe")
@any_role
def subscribe_create():
    """Create a named link; its address is shown once."""
    form = NewTokenForm()
    form.subject.choices = _subject_choices()
    if form.validate_on_submit():
        organisation, person = _subject(form.subject.data)
        try:
            token, plain = services.create_token(
                current_user, form.name.data, organisation=organisation, person=person, now=utcnow()
            )
        except ValidationFailed as failure:
            doom()
            show_failure(form, failure)
        else:
            return _show_once(token, plain)
    return _subscribe_page(form), 400


def _managed_token(token_id: int) -> FeedToken:
    token = db.session.get(FeedToken, token_id)
    if token is None or not services.may_manage(current_user, token):
        abort(404)
    return token


@bp.post("/subscribe/<id:token_id>/revoke")
@any_role
def subscribe_revoke(token_id: int):
    """Revoke a link: calendars using it stop updating."""
    token = _managed_token(token_id)
    if not TokenActionForm().validate_on_submit():
        abort(400)
    services.revoke_token(current_user, token, utcnow())
    flash_after_commit(_("The link was revoked."), "info")
    return redirect(url_for("feeds.subscribe"))


@bp.post("/subscribe/<id:token_id>/rotate")
@any_role
def subscribe_rotate(token_id: int):
    """Replace a link by a new one (the old one stops working)."""
    token = _managed_token(token_id)
    if not TokenActionForm().validate_on_submit():
        abort(400)
    fresh, plain = services.rotate_token(current_user, token, utcnow())
    return _show_once(fresh, plain)

