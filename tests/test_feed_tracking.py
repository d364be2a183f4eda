"""Change tracking: a change re-renders only the feeds that show it, the next poll has it, revocation
reaches every process, writers to different activities do not wait for each other."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.events.models import Activity
from app.extensions import db
from app.feeds import cache
from app.feeds.cache import feed_cache
from app.feeds.tracking import KEEP, MAX_AGE, watch
from app.orgs.models import AllianceMembership
from tests.test_feeds import invite, make_tokens, world  # noqa: F401 - fixture

__all__ = ["world"]


@pytest.fixture
def builds(monkeypatch) -> list:
    """Every render of a feed, by scope kind and subject."""
    seen: list = []
    real = cache.render_tracked
    monkeypatch.setattr(cache, "render_tracked", lambda scope, now: seen.append(scope) or real(scope, now))
    return seen


@pytest.fixture
def elsewhere(app):
    """A connection of its own, as another gunicorn worker or the scheduler has (not this process's session)."""
    engine = sa.create_engine(db.engine.url)
    yield engine
    engine.dispose()


class Clock:
    """The watch's monotonic clock, injected."""

    def __init__(self, monkeypatch) -> None:
        self.now = 1_000_000.0
        monkeypatch.setattr(watch(), "clock", lambda: self.now)
        monkeypatch.setattr(watch(), "swept_at", float("-inf"))


def poll(client, path, etag=None):
    return client.get(path, headers={"If-None-Match": etag} if etag else {})


def test_unrelated_changes_keep_the_feed_and_related_ones_are_in_the_next_poll(world, client, builds):
    paths = make_tokens(world)
    first = poll(client, paths["e1"])
    etag = first.headers["ETag"]
    assert len(builds) == 1
    # Elsewhere in the county: another enterprise renamed, an activity e1 does not see edited.
    world.e2.name = "宁德时代宜春基地（新址）"
    world.county.title = "企业家下午茶（改期）"
    db.session.commit()
    assert poll(client, paths["e1"], etag).status_code == 304
    assert len(builds) == 1  # not even rebuilt
    # What e1's feed shows: the venue of an activity it is invited to.
    world.invited.venue.name = "县委党校新校区报告厅"
    db.session.commit()
    changed = poll(client, paths["e1"], etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "新校区".encode() in changed.data and len(builds) == 2
    etag = changed.headers["ETag"]
    # An invitation to an activity it did not have: the activity row itself is unchanged.
    invite(world.county, world.p1)
    db.session.commit()
    added = poll(client, paths["e1"], etag)
    assert added.status_code == 200 and world.uid(world.county).encode() in added.data
    etag = added.headers["ETag"]
    # Leaving the alliance takes the alliance's open activities away.
    db.session.execute(sa.delete(AllianceMembership).where(AllianceMembership.enterprise_id == world.e1.id))
    db.session.commit()
    left = poll(client, paths["e1"], etag)
    assert left.status_code == 200 and world.uid(world.alliance_open).encode() not in left.data


def test_a_change_from_another_process_reaches_polls_within_the_freshness(world, client, builds, elsewhere, monkeypatch):
    paths = make_tokens(world)
    clock = Clock(monkeypatch)
    etag = poll(client, paths["e1"]).headers["ETag"]
    assert poll(client, paths["e1"], etag).status_code == 304
    with elsewhere.begin() as connection:
        connection.execute(sa.text("UPDATE activity SET title = '另一进程改的标题' WHERE id = :i"), {"i": world.invited.id})
        connection.execute(sa.text("UPDATE organisation SET name = '别处的改名' WHERE id = :i"), {"i": world.e2.id})
    # This process has not looked at the change log since: the cached feed may be served for up
    # to FEED_FRESHNESS_SECONDS (1 s), never longer.
    clock.now += app_freshness(client)
    clock.now += 0.001
    changed = poll(client, paths["e1"], etag)
    assert changed.status_code == 200 and "另一进程改的标题".encode() in changed.data
    assert changed.headers["ETag"] != etag
    # The unrelated rename made no further rebuild.
    renders = len(builds)
    clock.now += 5
    assert poll(client, paths["e1"], changed.headers["ETag"]).status_code == 304
    assert len(builds) == renders


def app_freshness(client) -> float:
    return float(client.application.config["FEED_FRESHNESS_SECONDS"])


def test_with_freshness_zero_every_poll_sees_other_processes_at_once(world, client, elsewhere, monkeypatch):
    paths = make_tokens(world)
    monkeypatch.setattr(watch(), "freshness", 0.0)
    etag = poll(client, paths["e1"]).headers["ETag"]
    with elsewhere.begin() as connection:
        connection.execute(sa.text("UPDATE venue SET name = '别处改的会场' WHERE id = :i"), {"i": world.invited.venue_id})
    changed = poll(client, paths["e1"], etag)
    assert changed.status_code == 200 and "别处改的会场".encode() in changed.data


def test_revocation_reaches_a_cached_token(world, client, elsewhere, monkeypatch):
    paths = make_tokens(world)
    clock = Clock(monkeypatch)
    assert poll(client, paths["e1"]).status_code == 200  # the token is now cached
    assert poll(client, paths["e2"]).status_code == 200
    with elsewhere.begin() as connection:
        connection.execute(sa.text("UPDATE feed_token SET revoked_at = :t WHERE name = 'e1'"), {"t": utcnow()})
    clock.now += app_freshness(client) + 0.001
    assert poll(client, paths["e1"]).status_code == 404
    assert poll(client, paths["e2"]).status_code == 200
    assert len(feed_cache()) >= 1


def test_recording_polls_does_not_invalidate_feeds(world, client, builds, monkeypatch):
    paths = make_tokens(world)
    etag = poll(client, paths["e1"]).headers["ETag"]
    # A later poll writes last_polled_at again (every 15 minutes): no feed changes.
    db.session.execute(sa.text("UPDATE feed_token SET last_polled_at = NULL"))
    db.session.commit()
    assert poll(client, paths["e1"], etag).status_code == 304
    assert len(builds) == 1


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_change_committed_after_a_later_one_is_not_missed(world, client, elsewhere, monkeypatch):
    """Transaction ids, not sequence numbers: a writer that began first and commits last is seen."""
    paths = make_tokens(world)
    monkeypatch.setattr(watch(), "freshness", 0.0)
    etag = poll(client, paths["e1"]).headers["ETag"]
    slow = elsewhere.connect()
    transaction = slow.begin()
    slow.execute(sa.text("UPDATE activity SET title = '慢事务的标题' WHERE id = :i"), {"i": world.invited.id})
    with elsewhere.begin() as fast:
        fast.execute(sa.text("UPDATE activity SET title = '快事务的标题' WHERE id = :i"), {"i": world.alliance_open.id})
    middle = poll(client, paths["e1"], etag)
    assert "快事务的标题".encode() in middle.data and "慢事务的标题".encode() not in middle.data
    transaction.commit()
    slow.close()
    last = poll(client, paths["e1"], middle.headers["ETag"])
    assert last.status_code == 200 and "慢事务的标题".encode() in last.data


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_writers_to_different_activities_do_not_wait_for_each_other(world, elsewhere):
    first, second = world.invited.id, world.alliance_open.id
    holding = threading.Barrier(2)
    done = threading.Event()
    errors: list[BaseException] = []

    def hold_first() -> None:
        try:
            with elsewhere.begin() as connection:
                connection.execute(sa.text("UPDATE activity SET title = '甲', updated_at = now() WHERE id = :i"), {"i": first})
                holding.wait(timeout=30)  # the transaction stays open until the other has committed
                done.wait(timeout=30)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=hold_first)
    thread.start()
    holding.wait(timeout=30)
    try:
        with elsewhere.begin() as connection:
            # Any wait for the other writer's locks would fail here instead of hanging.
            connection.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            connection.execute(sa.text("UPDATE activity SET title = '乙', updated_at = now() WHERE id = :i"), {"i": second})
    finally:
        done.set()
        thread.join()
    assert not errors
    db.session.expire_all()
    assert db.session.get(Activity, first).title == "甲" and db.session.get(Activity, second).title == "乙"
    assert utcnow() - db.session.get(Activity, second).updated_at < timedelta(minutes=1)


def test_cached_values_are_read_afresh_before_their_change_rows_could_be_pruned(world, client, builds, monkeypatch):
    assert KEEP.total_seconds() >= 2 * MAX_AGE
    paths = make_tokens(world)
    clock = Clock(monkeypatch)
    etag = poll(client, paths["e1"]).headers["ETag"]
    clock.now += 60
    assert poll(client, paths["e1"], etag).status_code == 304 and len(builds) == 1
    clock.now += MAX_AGE
    assert poll(client, paths["e1"], etag).status_code == 304  # same bytes, read afresh
    assert len(builds) == 2


def test_prune_deletes_change_rows_older_than_two_days(world, runner):
    from app.feeds.models import FeedChange

    old = utcnow() - KEEP - timedelta(minutes=1)
    db.session.execute(sa.update(FeedChange).where(FeedChange.key == "public").values(changed_at=old))
    db.session.commit()
    kept = db.session.scalar(sa.select(sa.func.count()).where(FeedChange.key != "public"))
    result = runner.invoke(args=["feeds", "prune"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count(FeedChange.id))) == kept > 0
