"""Wiring of the group robots: `register(app)`, called by create_app's register_features."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from app.events.signals import activity_cancelled, activity_published, activity_updated
from app.mail.notices import notices_of
from app.problems.signals import problem_assigned
from app.robots import posts
from app.robots.models import Provider
from app.robots.sender import RobotSender
from app.robots.services import TEST_KIND


def register(app: Flask) -> None:
    """Connect the activity and problem receivers; register the senders, renderers and send-time check."""
    activity_published.connect(posts.on_published)
    activity_updated.connect(posts.on_updated)
    activity_cancelled.connect(posts.on_cancelled)
    problem_assigned.connect(posts.on_problem_assigned)
    registry = notices_of(app)
    for provider in Provider:
        registry.add_sender(provider.value, RobotSender)
        for kind in posts.KINDS:
            registry.add_channel_renderer(provider.value, kind, posts.render)
    for kind, label in posts.KIND_LABELS.items():
        registry.add_kind_label(kind, label)
    registry.add_kind_label(TEST_KIND, _l("Group robot test message"))
    registry.add_send_time_check(posts.withdrawn)
