"""Calendar feed links (scope feeds:write): create and revoke, for a subject the key may manage.

Through app/feeds' services: an organiser's key may make links to any organisation's calendar
(or a person's), every other key only to its own organisation's, as on the Subscribe page. The
link is in the answer to its creation only; only its hash is kept.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user

from app.api.auth import requires
from app.api.errors import ApiError
from app.api.framework import LinghangBlueprint, Strict, documented
from app.api.models import Scope
from app.api.schemas import Id, Text
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.extensions import db
from app.feeds import services
from app.feeds.models import FeedKind, FeedToken
from app.orgs.models import Organisation, Person

bp = LinghangBlueprint(
    "api_feeds", __name__, url_prefix="/api/v1", description="Calendar feed links: create and revoke.",
)


class FeedLinkSchema(Strict):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.Enum(FeedKind, by_value=True, required=True)
    organisation_id = ma.fields.Integer(required=True, allow_none=True)
    person_id = ma.fields.Integer(required=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    revoked_at = ma.fields.AwareDateTime(required=True, allow_none=True)


class NewFeedLinkSchema(FeedLinkSchema):
    url = ma.fields.String(required=True, metadata={"description": "The https address; shown only now"})
    webcal = ma.fields.String(required=True, metadata={"description": "The same as webcal://"})


class FeedLinkCreateSchema(Strict):
    name = Text(max_length=80, required=True, metadata={"description": "Where it is used, e.g. the office Outlook"})
    organisation_id = Id(allow_none=True, metadata={"description": "An organisation's calendar …"})
    person_id = Id(allow_none=True, metadata={"description": "… or a person's (organisers' keys only)"})


def _shown(token: FeedToken) -> dict[str, Any]:
    return {name: getattr(token, name) for name in FeedLinkSchema().fields}


@bp.post("/feeds")
@requires(Scope.feeds_write)
@bp.arguments(FeedLinkCreateSchema)
@bp.response(201, NewFeedLinkSchema)
@documented(415, 422)
def feed_create(values: dict[str, Any]):
    """Create a named calendar link to an organisation's or a person's calendar."""
    organisation = db.session.get(Organisation, values["organisation_id"]) if values.get("organisation_id") else None
    person = db.session.get(Person, values["person_id"]) if values.get("person_id") else None
    if (values.get("organisation_id") and organisation is None) or (values.get("person_id") and person is None):
        raise ValidationFailed(_("Choose whose calendar to subscribe to."), "subject")
    token, plain = services.create_token(
        current_user, values["name"], organisation=organisation, person=person, now=utcnow()
    )
    url = services.feed_url(services.feed_path(plain))
    return {**_shown(token), "url": url, "webcal": services.webcal_url(url)}, 201


@bp.post("/feeds/<id:feed_id>/revoke")
@requires(Scope.feeds_write)
@bp.response(200, FeedLinkSchema)
@documented(404, 422)
def feed_revoke(feed_id: int):
    """Revoke a link the key may manage: calendars using it stop updating."""
    token = db.session.get(FeedToken, feed_id)
    if token is None or not services.may_manage(current_user, token):
        raise ApiError("not_found")
    services.revoke_token(None, token, utcnow())
    return _shown(token)
