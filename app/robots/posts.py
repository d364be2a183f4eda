"""What is posted to which group, queued with the change and written when it is sent.

Activity published / changed / cancelled and the monthly theme go to the alliance's group (an
activity without an alliance: its host's group when the host is an alliance or the committee;
visits are private and never posted); a problem assigned goes to the department's group,
@-mentioning its liaisons' mobile numbers. Each post is one outbox delivery per robot (channel
"wecom" or "dingtalk", recipient "robot:<id>"), queued in the transaction of the change with an
empty body; `render` writes it at send time from the current state, so the group reads what is
true then, and `withdrawn` (a send-time check) drops a post whose news is no longer true.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.i18n import format_range, join_list
from app.events.models import Activity, ActivityKind, ActivityStatus, MonthlyTheme
from app.extensions import db
from app.mail.messages import MAIL_LOCALE
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.services import enqueue_delivery, withdraw
from app.orgs.models import Organisation, OrgKind
from app.problems.models import Problem
from app.problems.reminders import liaisons
from app.robots.content import Post, inert, mobile_number, request_body
from app.robots.models import GroupRobot, Provider

PUBLISHED = "group.activity_published"
CHANGED = "group.activity_changed"
CANCELLED = "group.activity_cancelled"
THEME = "group.theme"
# The kind of the problem's e-mails, with keys of the same shape, so the problems' own send-time
# check (app/problems/notices.py `outdated`) withdraws a group post whose news is no longer true.
ASSIGNED = "problem.assigned"
ACTIVITY_KINDS = (PUBLISHED, CHANGED, CANCELLED)
KINDS = (*ACTIVITY_KINDS, THEME, ASSIGNED)
KIND_LABELS = {
    PUBLISHED: _l("Group post: activity published"),
    CHANGED: _l("Group post: activity changed"),
    CANCELLED: _l("Group post: activity cancelled"),
    THEME: _l("Group post: monthly theme"),
}
CHANNELS = tuple(provider.value for provider in Provider)


def robots_of(org_ids: list[int]) -> list[GroupRobot]:
    """The robots of these organisations."""
    if not org_ids:
        return []
    return list(db.session.scalars(
        select(GroupRobot).where(GroupRobot.organisation_id.in_(org_ids)).order_by(GroupRobot.id)
    ))


def robot_of(recipient: str, *, lock: bool = False) -> GroupRobot | None:
    """The robot an outbox recipient ("robot:<id>") names (row-locked if asked), None when it was removed."""
    prefix, _sep, number = recipient.partition(":")
    if prefix != "robot" or not number.isdigit():
        return None
    return db.session.get(GroupRobot, int(number), with_for_update=lock or None)


def activity_groups(activity: Activity) -> list[GroupRobot]:
    """The robots an activity is posted to: its alliance's, else an alliance or committee host's."""
    if activity.kind == ActivityKind.visit:
        return []
    if activity.alliance_id is not None:
        return robots_of([activity.alliance_id])
    host = db.session.get(Organisation, activity.host_id)
    return robots_of([host.id]) if host is not None and host.kind in (OrgKind.alliance, OrgKind.committee) else []


def _queue(robot: GroupRobot, kind: str, now: datetime, *, notice_key: str, dedupe_key: str | None,
           subject: str, activity_id: int | None = None) -> OutboxMessage:
    return enqueue_delivery(
        channel=robot.provider.value, kind=kind, recipient=robot.recipient, now=now,
        subject=f"{robot.organisation.display_name}: {subject}", notice_key=notice_key,
        activity_id=activity_id, dedupe_key=dedupe_key,
    )


def _scope(activity: Activity) -> str:
    # A series is announced once, by its first occurrence published, not once per meeting.
    return f"series-{activity.series_id}" if activity.series_id else str(activity.id)


def on_published(activity: Activity, now: datetime, **kwargs) -> None:
    """Queue "activity published" for the activity's group."""
    key = f"{PUBLISHED}:{_scope(activity)}"
    for robot in activity_groups(activity):
        _queue(robot, PUBLISHED, now, notice_key=key, dedupe_key=f"{key}:{robot.id}",
               subject=activity.title, activity_id=activity.id)


def on_updated(activity: Activity, now: datetime, **kwargs) -> None:
    """Queue "activity changed" (time or place); an older change post not yet sent is withdrawn."""
    if activity.status != ActivityStatus.published:
        return
    key = f"{CHANGED}:{activity.id}:{activity.sequence}"
    for robot in activity_groups(activity):
        withdraw(list(db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == CHANGED, OutboxMessage.activity_id == activity.id,
            OutboxMessage.recipient == robot.recipient,
        ))))
        _queue(robot, CHANGED, now, notice_key=key, dedupe_key=f"{key}:{robot.id}",
               subject=activity.title, activity_id=activity.id)


def on_cancelled(activity: Activity, now: datetime, **kwargs) -> None:
    """Queue "activity cancelled"; it is posted only where the activity was announced (see render)."""
    key = f"{CANCELLED}:{activity.id}"
    for robot in activity_groups(activity):
        _queue(robot, CANCELLED, now, notice_key=key, dedupe_key=f"{key}:{robot.id}",
               subject=activity.title, activity_id=activity.id)


def on_problem_assigned(problem: Problem, now: datetime, step_key: str, **kwargs) -> None:
    """Queue "problem assigned" for the department's group: one notice, one delivery per robot."""
    if problem.department_id is None:
        return
    # Four parts, the problem's id second, like every problem notice's key: the problems' send-time
    # check reads the id from it (from the notice key, or the dedupe key of rows without one).
    key = f"{ASSIGNED}:{problem.id}:{step_key}:group"
    for robot in robots_of([problem.department_id]):
        _queue(robot, ASSIGNED, now, notice_key=key, dedupe_key=f"{key}{robot.id}",
               subject=_("Problem no. %(id)d", id=problem.id))


def announce_theme(theme: MonthlyTheme, now: datetime) -> int:
    """Queue the monthly theme for every alliance's and the committee's group; the number of new posts.

    Announcing the same version of a theme twice posts nothing new; after an edit it posts again.
    """
    stamp = int((theme.updated_at or theme.created_at or now).timestamp())
    key = f"{THEME}:{theme.id}:{stamp}"
    orgs = db.session.scalars(select(Organisation.id).where(
        Organisation.kind.in_([OrgKind.alliance, OrgKind.committee]), Organisation.active.is_(True),
    ))
    queued = 0
    for robot in robots_of(list(orgs)):
        dedupe_key = f"{key}:{robot.id}"
        if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is None:
            _queue(robot, THEME, now, notice_key=key, dedupe_key=dedupe_key,
                   subject=f"{theme.year}-{theme.month:02d} {theme.title}")
            queued += 1
    return queued


# -- at send time ----------------------------------------------------------------


def _announced(activity: Activity, recipient: str) -> bool:
    """Whether this group was told of the activity (its series): a "published" post went out."""
    ids = select(Activity.id).where(Activity.series_id == activity.series_id) if activity.series_id else [activity.id]
    return db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.kind == PUBLISHED, OutboxMessage.recipient == recipient,
        OutboxMessage.status == OutboxStatus.sent, OutboxMessage.activity_id.in_(ids),
    ).limit(1)) is not None


def withdrawn(row: OutboxMessage, now: datetime) -> bool:
    """Send-time check: a "published" or "changed" post is not sent once the activity is no longer
    published (cancelled, completed) or has started; the "cancelled" post stays (render decides)."""
    if row.channel not in CHANNELS or row.kind not in (PUBLISHED, CHANGED):
        return False
    activity = db.session.get(Activity, row.activity_id) if row.activity_id else None
    return activity is None or activity.status != ActivityStatus.published or activity.starts_at <= now


def _link(path: str) -> tuple[str, str]:
    return _("Open in Linghang"), f"{current_app.config['BASE_URL']}{path}"


def _activity_post(row: OutboxMessage, now: datetime) -> Post | None:
    activity = db.session.get(Activity, row.activity_id) if row.activity_id else None
    if activity is None:
        return None
    if row.kind in (CHANGED, CANCELLED) and not _announced(activity, row.recipient):
        return None  # the group never heard of it: nothing to correct
    titles = {PUBLISHED: _("[Activity] %(title)s"), CHANGED: _("[Changed] %(title)s"), CANCELLED: _("[Cancelled] %(title)s")}
    post = Post(title=titles[row.kind] % {"title": inert(activity.title, 200)})
    post.lines.append((_("Kind"), inert(activity.kind_label)))
    post.lines.append((_("Time"), inert(format_range(activity.starts_at, activity.ends_at))))
    post.lines.append((_("Place"), inert(activity.place) or "—"))
    post.lines.append((_("Host"), inert(activity.host.name)))
    if row.kind == CHANGED:
        post.body = inert(_("The time or place has changed; above is the current arrangement."))
    if row.kind == CANCELLED:
        post.lines.append((_("Reason"), inert(activity.status_reason) or "—"))
    elif activity.series_id and row.kind == PUBLISHED:
        count = db.session.scalar(select(db.func.count(Activity.id)).where(
            Activity.series_id == activity.series_id, Activity.status == ActivityStatus.published))
        post.lines.append((_("Series"), _("%(n)d meetings; this is the first", n=count)))
    post.link = _link(f"/activities/{activity.id}")
    return post


def _theme_post(row: OutboxMessage, now: datetime) -> Post | None:
    parts = (row.notice_key or "").split(":")
    theme = db.session.get(MonthlyTheme, int(parts[1])) if len(parts) == 3 and parts[1].isdigit() else None
    if theme is None:
        return None
    post = Post(title=_("[Theme of %(year)d-%(month)02d] %(title)s", year=theme.year, month=theme.month, title=inert(theme.title, 120)))
    if theme.lead_departments:
        post.lines.append((_("Lead departments"), inert(join_list([d.name for d in theme.lead_departments]))))
    post.body = inert(theme.description, 3000)
    post.link = _link("/themes")
    return post


def _problem_post(row: OutboxMessage, now: datetime) -> Post | None:
    parts = (row.notice_key or "").split(":")
    problem = db.session.get(Problem, int(parts[1])) if len(parts) == 4 and parts[1].isdigit() else None
    if problem is None or problem.department_id is None:
        return None
    post = Post(title=_("[Problem assigned] No. %(id)d, %(enterprise)s", id=problem.id, enterprise=inert(problem.enterprise.name, 120)))
    post.lines.append((_("Category"), inert(problem.category_label)))
    if problem.deadline is not None:
        post.lines.append((_("Deadline"), problem.deadline.isoformat()))
    post.body = inert(problem.description, 3000)
    post.link = _link(f"/problems/{problem.id}")
    mobiles = (mobile_number(person.phone) for person in liaisons(problem.department_id))
    post.mobiles = list(dict.fromkeys(m for m in mobiles if m))
    return post


BUILDERS = {PUBLISHED: _activity_post, CHANGED: _activity_post, CANCELLED: _activity_post,
            THEME: _theme_post, ASSIGNED: _problem_post}


def render(row: OutboxMessage, now: datetime) -> bytes | None:
    """The provider's request body for a queued post, from the current state; None withdraws it."""
    robot = robot_of(row.recipient)
    if robot is None or robot.provider.value != row.channel:
        return None  # the robot was removed (or replaced by another provider's)
    with force_locale(MAIL_LOCALE):
        post = BUILDERS[row.kind](row, now)
        return None if post is None else request_body(robot.provider, post)


def test_body(robot: GroupRobot) -> bytes:
    """The body of the "send a test message" post."""
    with force_locale(MAIL_LOCALE):
        post = Post(title=_("Linghang test message"))
        post.body = inert(_("This group will receive Linghang's notices for %(name)s.", name=robot.organisation.name))
        return request_body(robot.provider, post)

