"""Write concurrency benchmark: 16 writers updating different activities, feed tracking on vs off.

    .venv/bin/python bench/bench_feed_writes.py [--database-url postgresql://postgres@127.0.0.1/bench]

PostgreSQL only (SQLite has one writer at a time whatever the triggers do). Seeds a fresh database
(migrated to head) with a committee, an alliance, enterprises and one activity per writer, each
with a few invitations. Each writer runs transactions that update its own activity (title,
sequence, updated_at: what an edit does) and hold the transaction 10 ms (a request's other work),
for a few seconds; the rounds alternate with the feed triggers enabled and disabled
(`ALTER TABLE … DISABLE TRIGGER` on every tracked table), and the script prints transactions per
second and the ratio. Aim: tracking on ≥ 0.8 of off (the global feed_state row gave 0.065).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRACKED_TABLES = (
    "activity", "activity_cohost", "invitation", "alliance_membership", "organisation", "person", "venue",
    "monthly_theme", "activity_series", "problem", "problem_follow_up", "feed_token",
)


def seed(env: dict[str, str], writers: int) -> list[int]:
    """Migrate and create one activity per writer (with invitations); return their ids."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app
    from app.events.models import Activity, ActivityKind, ActivityStatus
    from app.extensions import db
    from app.invitations.models import Invitation
    from app.orgs.models import AllianceMembership, Organisation, OrgKind, Person

    app = create_app()
    with app.app_context():
        upgrade()
        committee = Organisation(name="产业链综合党委", kind=OrgKind.committee)
        alliance = Organisation(name="锂电新能源产业链党建联盟", kind=OrgKind.alliance)
        db.session.add_all([committee, alliance])
        organiser = Person(name="王五", organisation=committee)
        db.session.add(organiser)
        now = datetime.now(UTC)
        ids = []
        for n in range(writers):
            enterprise = Organisation(name=f"企业{n}", kind=OrgKind.enterprise)
            db.session.add(enterprise)
            db.session.add(AllianceMembership(alliance=alliance, enterprise=enterprise))
            start = now + timedelta(days=n + 1)
            activity = Activity(
                kind=ActivityKind.salon, title=f"第{n}期沙龙", host=committee, alliance=alliance,
                starts_at=start, ends_at=start + timedelta(hours=2), status=ActivityStatus.published,
                organiser=organiser,
            )
            db.session.add(activity)
            db.session.flush()
            for k in range(3):
                person = Person(name=f"联系人{n}-{k}", organisation=enterprise)
                db.session.add(Invitation(activity=activity, person=person, organisation=enterprise,
                                          token_hash=f"{n:032d}{k:032d}", checkin_code=f"W{n:04d}{k}"))
            ids.append(activity.id)
        db.session.commit()
    return ids


def run_round(engine, ids: list[int], seconds: float, hold: float) -> float:
    """Transactions per second of len(ids) writers, each on its own activity, started together."""
    import sqlalchemy as sa

    barrier = threading.Barrier(len(ids) + 1)
    deadline: list[float] = []
    counts = [0] * len(ids)

    def writer(index: int, activity_id: int) -> None:
        with engine.connect() as connection:
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                with connection.begin():
                    connection.execute(
                        sa.text("UPDATE activity SET title = :t, sequence = sequence + 1, updated_at = now() WHERE id = :i"),
                        {"t": f"沙龙（第{counts[index]}次修改）", "i": activity_id},
                    )
                    connection.execute(sa.text("SELECT pg_sleep(:s)"), {"s": hold})
                counts[index] += 1

    threads = [threading.Thread(target=writer, args=(n, i)) for n, i in enumerate(ids)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline.append(started + seconds)
    barrier.wait()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def set_tracking(engine, on: bool) -> None:
    import sqlalchemy as sa

    with engine.begin() as connection:
        for table in TRACKED_TABLES:
            connection.execute(sa.text(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER USER"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1/linghang_bench_writes",
                        help="a PostgreSQL database to (re)create")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0, help="per round")
    parser.add_argument("--hold", type=float, default=0.010, help="seconds each transaction lasts")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("PostgreSQL only: SQLite runs one writer at a time whatever the triggers do.")

    import sqlalchemy as sa

    from app.config import normalise_database_url

    url = sa.make_url(normalise_database_url(args.database_url))
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    folder = Path(tempfile.mkdtemp(prefix="linghang-bench-writes-"))
    env = {"LINGHANG_INSTANCE": str(folder / "instance"), "DATABASE_URL": args.database_url,
           "BASE_URL": "http://127.0.0.1", "SECRET_KEY": "bench-secret"}
    ids = seed(env, args.writers)
    engine = sa.create_engine(url, pool_size=args.writers + 2)
    rates: dict[bool, list[float]] = {True: [], False: []}
    try:
        run_round(engine, ids, 1.0, args.hold)  # warm up connections and caches
        for _round in range(args.rounds):
            for on in (True, False):
                set_tracking(engine, on)
                rates[on].append(run_round(engine, ids, args.seconds, args.hold))
    finally:
        set_tracking(engine, True)
        engine.dispose()
    with_tracking, without = statistics.median(rates[True]), statistics.median(rates[False])
    print(f"{args.writers} writers, each updating its own activity (3 invitations) in transactions "
          f"held {args.hold * 1000:.0f} ms; PostgreSQL; median of {args.rounds} rounds of {args.seconds:.0f} s")
    print(f"  feed tracking on     {with_tracking:8.1f} transactions/s")
    print(f"  feed tracking off    {without:8.1f} transactions/s")
    print(f"Tracking on vs off:    {with_tracking / without:8.2f}   (aim ≥ 0.8)")


if __name__ == "__main__":
    main()
