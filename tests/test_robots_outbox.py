"""Group posts through the outbox on both databases: withdrawn at send time when their news is
no longer true, and spread by the robot's limit (20 a minute) — none lost, none twice."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.events import series as series_services
from app.events.checks import ActivityInput
from app.events.services import cancel_activity, publish_activity, reschedule_activity
from app.extensions import db
from app.mail import dispatch
from app.mail.models import OutboxMessage, OutboxStatus
from app.orgs.models import OrgKind
from app.problems import transitions
from app.robots.models import Provider
from app.robots.services import remove_robot, save_robot
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_URL = "https://oapi.dingtalk.com/robot/send?access_token=6f1b0c0d9e8f7a6b5c4d3e2f1a0b9c8d"


def alliance_with_robots(*providers: Provider):
    alliance = factories.organisation(OrgKind.alliance)
    robots = [save_robot(alliance.id, p, WECOM_URL if p == Provider.wecom else DING_URL, None, now=NOW) for p in providers]
    return alliance, robots


def publish(alliance, at=NOW, **fields):
    activity = factories.activity(status="draft", alliance=alliance, **fields)
    publish_activity(activity, now=at)
    db.session.commit()
    return activity


def group_rows():
    db.session.expire_all()
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel.in_(["wecom", "dingtalk"])).order_by(OutboxMessage.id)
    ))


def test_a_cancelled_activitys_pending_group_posts_are_dropped_at_send_time(app, robot_provider):
    alliance, _robots = alliance_with_robots(Provider.wecom, Provider.dingtalk)
    activity = publish(alliance)
    reschedule_activity(activity, activity.starts_at + timedelta(days=1), activity.ends_at + timedelta(days=1), reason=None, now=NOW)
    cancel_activity(activity, reason="场地维修", now=NOW)
    db.session.commit()
    kinds = Counter(row.kind for row in group_rows())
    assert kinds == {"group.activity_published": 2, "group.activity_changed": 2, "group.activity_cancelled": 2}
    report = dispatch.deliver_due(NOW + timedelta(minutes=1))
    # Published and changed: the activity is cancelled; cancelled: the groups never heard of it.
    assert (report.withdrawn, report.sent) == (6, 0)
    assert robot_provider.received == []
    assert {row.status for row in group_rows()} == {OutboxStatus.cancelled}


def test_a_group_that_was_told_hears_of_the_change_once_and_of_the_cancellation(app, robot_provider):
    alliance, _robots = alliance_with_robots(Provider.wecom)
    activity = publish(alliance, title="企业家下午茶")
    assert dispatch.deliver_due(NOW).sent == 1
    for days in (1, 2):  # two changes before the scheduler's next pass: one post, the latest state
        reschedule_activity(activity, activity.starts_at + timedelta(days=days), activity.ends_at + timedelta(days=days), reason=None, now=NOW)
        db.session.commit()
    assert dispatch.deliver_due(NOW + timedelta(minutes=1)).sent == 1
    changed = robot_provider.received[-1].body["markdown"]["content"]
    assert "【活动变更】企业家下午茶" in changed and "2026年3月12日" in changed  # 9 March + 1 + 2 days
    cancel_activity(activity, reason="<@all> 场地维修", now=NOW + timedelta(minutes=2))
    db.session.commit()
    assert dispatch.deliver_due(NOW + timedelta(minutes=3)).sent == 1
    cancelled = robot_provider.received[-1].body["markdown"]["content"]
    assert "【活动取消】企业家下午茶" in cancelled and "场地维修" in cancelled and "<@all>" not in cancelled
    assert len(robot_provider.received) == 3


def test_a_started_activity_or_a_removed_robot_posts_nothing(app, robot_provider):
    alliance, (robot,) = alliance_with_robots(Provider.wecom)
    early = publish(alliance, starts_at=NOW + timedelta(hours=1))
    assert dispatch.deliver_due(NOW + timedelta(hours=2)).withdrawn == 1  # the scheduler was down until after the start
    publish(alliance)
    remove_robot(robot, now=NOW)
    db.session.commit()
    assert dispatch.deliver_due(NOW + timedelta(hours=3)).withdrawn == 1
    assert robot_provider.received == [] and early.id


def test_visits_are_never_posted(app, robot_provider):
    alliance, _robots = alliance_with_robots(Provider.wecom)
    publish(alliance, kind="visit", visit_kind="outreach")
    assert group_rows() == []


def test_thirty_group_notices_in_a_minute_are_spread_by_each_robots_limit(app, robot_provider):
    alliance, robots = alliance_with_robots(Provider.wecom, Provider.dingtalk)
    activities = [publish(alliance, at=NOW + timedelta(seconds=2 * n), title=f"活动{n:02d}") for n in range(30)]
    sent_per_pass = []
    # The scheduler runs every 10 s for three minutes (the injected clock; nothing sleeps).
    for tick in range(0, 181, 10):
        report = dispatch.deliver_due(NOW + timedelta(seconds=tick))
        sent_per_pass.append(report.sent)
    rows = group_rows()
    assert len(rows) == 60 and all(row.status == OutboxStatus.sent and row.attempts == 1 for row in rows)
    for robot in robots:
        times = sorted(row.sent_at for row in rows if row.recipient == robot.recipient)
        # Never more than 20 in any 60 seconds, and the 21st waits only as long as it must.
        assert all(times[i + 20] - times[i] >= timedelta(seconds=60) for i in range(len(times) - 20))
        assert sum(1 for t in times if t < NOW + timedelta(seconds=60)) == 20
        assert max(times) < NOW + timedelta(seconds=120)  # the rest in the next minute
    titles = Counter(
        (r.path, (r.body["markdown"].get("content") or r.body["markdown"]["text"]).split("**")[1]) for r in robot_provider.received
    )
    assert len(titles) == 60 and set(titles.values()) == {1}  # each activity once per robot: none lost, none twice
    assert len(activities) == 30 and sum(sent_per_pass) == 60


def test_the_limit_is_counted_from_the_outbox_across_passes_and_processes(app, robot_provider):
    alliance, (robot,) = alliance_with_robots(Provider.wecom)
    for n in range(25):
        publish(alliance, title=f"活动{n}")
    # Small passes, as several dispatchers taking turns would make: the count is the outbox's.
    reports = [dispatch.deliver_due(NOW, limit=6) for _ in range(6)]
    assert sum(r.sent for r in reports) == 20 and len(robot_provider.received) == 20
    waiting = [row for row in group_rows() if row.status == OutboxStatus.queued]
    assert len(waiting) == 5 and {row.next_attempt_at for row in waiting} == {NOW + timedelta(seconds=60)}
    assert all(row.attempts == 0 for row in waiting)  # a deferral is not an attempt
    assert dispatch.deliver_due(NOW + timedelta(seconds=60)).sent == 5


def test_a_series_is_announced_once_and_a_cancelled_meeting_is_posted(app, robot_provider):
    alliance, _robots = alliance_with_robots(Provider.wecom)
    start = datetime(2026, 3, 6, 7, 0, tzinfo=UTC)
    data = ActivityInput(kind="afternoon_tea", title="企业家下午茶", starts_at=start, ends_at=start + timedelta(hours=1),
                         host_id=factories.organisation(OrgKind.committee).id, alliance_id=alliance.id)
    series, _results = series_services.create_series(data, "FREQ=WEEKLY;BYDAY=FR;COUNT=10", now=NOW)
    assert series_services.publish_series(series, now=NOW) == 10
    db.session.commit()
    assert dispatch.deliver_due(NOW).sent == 1
    content = robot_provider.received[0].body["markdown"]["content"]
    assert "共 10 次" in content
    third = series_services.occurrences(series)[2]
    series_services.cancel_occurrence(third, reason="节前调整", now=NOW)
    db.session.commit()
    assert dispatch.deliver_due(NOW + timedelta(minutes=1)).sent == 1  # the group was told of the series
    assert "【活动取消】企业家下午茶" in robot_provider.received[1].body["markdown"]["content"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_dispatchers_at_once_keep_one_robots_limit(app, robot_provider):
    _alliance, (robot,) = alliance_with_robots(Provider.wecom)
    for n in range(30):
        publish(_alliance, title=f"活动{n}")
    start = threading.Barrier(2)

    def dispatcher(_n):
        with app.app_context():
            start.wait(timeout=30)
            try:
                return dispatch.deliver_due(NOW, limit=15)  # SKIP LOCKED: each claims its own 15
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(dispatcher, range(2)))
    assert [r.claimed for r in reports] == [15, 15]
    assert sum(r.sent for r in reports) == 20 and sum(r.deferred for r in reports) == 10
    assert len(robot_provider.received) == 20
    assert robot_provider.most_in_flight == 1  # the robot's row lock made them take turns


def test_a_problem_withdrawn_before_the_post_left_is_not_posted(app, robot_provider):
    department = factories.organisation(OrgKind.department)
    save_robot(department.id, Provider.dingtalk, DING_URL, None, now=NOW)
    problem = factories.problem()
    transitions.assign(problem, None, department_id=department.id, deadline=None, note=None, now=NOW)
    transitions.withdraw(problem, None, reason="企业已自行解决", now=NOW)
    db.session.commit()
    report = dispatch.deliver_due(NOW + timedelta(minutes=1))
    assert [row.status for row in group_rows()] == [OutboxStatus.cancelled]
    assert report.withdrawn >= 1 and robot_provider.received == []
