"""Feed polling benchmark: an organisation feed of 1,000 activities served by gunicorn.

    .venv/bin/python bench/bench_feeds.py [--database-url postgresql://postgres@127.0.0.1/bench]

Seeds a temporary database (SQLite by default), starts gunicorn on 127.0.0.1 with the bench app
factory (bench/bench_app.py), and measures, with keep-alive http.client connections:

  feed, conditional    GET /feeds/<token>.ics with If-None-Match (the answer is 304)
  feed, unconditional  GET /feeds/<token>.ics (200, the cached body)
  rebuild baseline     the same feed rebuilt on every request (with and without If-None-Match)
  trivial endpoint     a constant string
  churn                the conditional polls again while, twice a second, an unrelated
                       organisation is renamed or an unrelated activity edited

and prints requests per second and the ratios. Aims: conditional polls ≥ 20× the rebuild
baseline and ≥ 0.8 of the trivial endpoint (PostgreSQL); under churn ≥ 0.8 of the quiet rate.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(env: dict[str, str], activities: int) -> tuple[str, int, int]:
    """Create the schema and an enterprise with `activities` activities in its feed.

    Returns a token of its feed, and an organisation and an activity its feed does not show.
    """
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app
    from app.events.models import Activity, ActivityKind, ActivityStatus, VisitKind
    from app.extensions import db
    from app.feeds import services
    from app.invitations.models import Invitation
    from app.orgs.models import AllianceMembership, Organisation, OrgKind, Person, Venue

    app = create_app()
    with app.app_context():
        upgrade()
        committee = Organisation(name="产业链综合党委", kind=OrgKind.committee)
        alliance = Organisation(name="锂电新能源产业链党建联盟", kind=OrgKind.alliance)
        enterprise = Organisation(name="赣锋锂业宜春分公司", kind=OrgKind.enterprise)
        db.session.add_all([committee, alliance, enterprise])
        db.session.flush()
        db.session.add(AllianceMembership(alliance=alliance, enterprise=enterprise))
        contact = Person(name="李四", email="li@example.com", organisation=enterprise)
        organiser = Person(name="王五", email="wang@example.com", organisation=committee)
        venue = Venue(name="县委党校报告厅", address="宜春市宜阳大道1号", capacity=200)
        db.session.add_all([contact, organiser, venue])
        db.session.flush()
        rng = random.Random(6)
        now = datetime.now(UTC).replace(microsecond=0)
        kinds = [ActivityKind.salon, ActivityKind.roundtable, ActivityKind.themed_day, ActivityKind.afternoon_tea]
        for n in range(activities):
            start = now + timedelta(days=rng.randint(-80, 350), hours=rng.randint(0, 10))
            visit = n % 10 == 0
            activity = Activity(
                kind=ActivityKind.visit if visit else kinds[n % 4],
                visit_kind=VisitKind.outreach if visit else None,
                title=f"第{n}期 党建联盟活动：政策宣讲, 企业交流; 融资对接",
                agenda="一、政策解读\n二、企业交流\n三、问题收集",
                host=committee,
                alliance=None if visit or n % 3 == 0 else alliance,
                site=enterprise if visit else None,
                venue=None if visit else venue,
                # Random times overlap: on PostgreSQL the no-double-booking constraint
                # (migration 0800) leaves out activities booked despite a conflict.
                venue_override=not visit,
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                status=ActivityStatus.cancelled if n % 50 == 0 else ActivityStatus.published,
                sequence=n % 3,
                organiser=organiser,
                created_at=now - timedelta(days=100),
                updated_at=now - timedelta(days=rng.randint(1, 20)),
            )
            db.session.add(activity)
            if n % 3 == 0 and not visit:
                db.session.flush()
                db.session.add(Invitation(
                    activity=activity, person=contact, organisation=enterprise,
                    token_hash=f"{n:064d}", checkin_code=f"B{n:06d}",
                ))
        # Elsewhere in the county: another enterprise and an activity the feed does not show.
        other = Organisation(name="宁德时代宜春基地", kind=OrgKind.enterprise)
        db.session.add(other)
        db.session.flush()
        unrelated = Activity(
            kind=ActivityKind.salon, title="其他企业的沙龙", host=committee, site=None, venue=None,
            starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=3, hours=2),
            status=ActivityStatus.published, organiser=organiser, created_at=now, updated_at=now,
        )
        db.session.add(unrelated)
        db.session.flush()
        db.session.add(Invitation(activity=unrelated, person=Person(name="赵六", organisation=other),
                                  organisation=other, token_hash="f" * 64, checkin_code="UNREL1"))
        db.session.flush()
        token = services.cli_token(organisation=enterprise, now=now)
        db.session.commit()
        return token, other.id, unrelated.id


class Churn:
    """Changes elsewhere in the county, twice a second, from another connection (as another process would)."""

    def __init__(self, database_url: str, organisation_id: int, activity_id: int, per_second: float = 2.0) -> None:
        import sqlalchemy as sa

        self.engine = sa.create_engine(database_url)
        self.ids = (organisation_id, activity_id)
        self.pause = 1 / per_second
        self.stop = threading.Event()
        self.changes = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import sqlalchemy as sa

        organisation_id, activity_id = self.ids
        while not self.stop.wait(self.pause):
            with self.engine.begin() as connection:
                if self.changes % 2:
                    connection.execute(sa.text("UPDATE organisation SET name = :n, updated_at = now() WHERE id = :i"),
                                       {"n": f"宁德时代宜春基地（{self.changes}）", "i": organisation_id})
                else:
                    connection.execute(sa.text("UPDATE activity SET title = :t, updated_at = now() WHERE id = :i"),
                                       {"t": f"其他企业的沙龙（第{self.changes}次修改）", "i": activity_id})
            self.changes += 1

    def __enter__(self) -> Churn:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()
        self.engine.dispose()


def worker_cpu(master: int) -> float:
    """CPU seconds the gunicorn workers (the master's children) have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in Path(f"/proc/{master}/task").iterdir():
        for child in (task / "children").read_text().split():
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def measure(port: int, path: str, headers: dict[str, str], requests: int, threads: int, expect: int) -> float:
    """Requests per second over `threads` keep-alive connections."""
    per_thread = [requests // threads + (1 if i < requests % threads else 0) for i in range(threads)]
    errors: list[str] = []

    def worker(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for _ in range(count):
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != expect:
                errors.append(f"{path}: {response.status}")
                return
        connection.close()

    pool = [threading.Thread(target=worker, args=(count,)) for count in per_thread]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(errors[0])
    return requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="client connections")
    parser.add_argument("--requests", type=int, default=2000, help="per fast measurement")
    parser.add_argument("--rebuild-requests", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the fast measurements (median)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="linghang-bench-"))
    port = free_port()
    env = {
        "LINGHANG_INSTANCE": str(folder / "instance"),
        "DATABASE_URL": args.database_url or f"sqlite:///{folder / 'bench.sqlite'}",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "bench-secret",
    }
    token, other_id, unrelated_id = seed(env, args.activities)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--worker-class", "gthread",
         "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "bench.bench_app:create_bench_app()"],
        cwd=ROOT, env={**os.environ, **env},
    )
    try:
        for _ in range(200):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/bench/constant")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        feed = f"/feeds/{token}.ics"
        rebuild = f"/bench/rebuild/{token}.ics"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("GET", feed)
        response = connection.getresponse()
        body = response.read()
        etag = response.getheader("ETag")
        events = body.count(b"BEGIN:VEVENT")
        # Warm every worker's cache and the baseline's code paths.
        measure(port, feed, {}, args.workers * 8, args.threads, 200)
        measure(port, "/bench/constant", {}, 200, args.threads, 200)
        t = args.threads
        fast = {
            "trivial constant endpoint": ("/bench/constant", {}, args.requests, 200),
            "feed, If-None-Match (304)": (feed, {"If-None-Match": etag}, args.requests, 304),
            "feed, If-None-Match, churn (304)": (feed, {"If-None-Match": etag}, args.requests, 304),
            "feed, unconditional (200)": (feed, {}, max(args.requests // 3, 100), 200),
        }
        # The measurements alternate over several rounds; each ratio is taken within a round
        # (measured seconds apart) and the median of the rounds is reported, so that a burst of
        # load from elsewhere on the machine does not favour one side.
        rounds: dict[str, list[float]] = {name: [] for name in fast}
        changes = 0
        # Requests per CPU-second of the workers too: on a machine shared with other jobs the
        # wall-clock rates swing with their load, the CPU each request costs does not.
        cpu_rounds: dict[str, list[float]] = {name: [] for name in fast}
        for _round in range(args.rounds):
            for name, (path, headers, count, expect) in fast.items():
                used = worker_cpu(server.pid)
                if "churn" in name:
                    # The same conditional polls while unrelated rows change twice a second:
                    # the feed's ETag stays valid (304 throughout) and the polls keep their pace.
                    with Churn(env["DATABASE_URL"], other_id, unrelated_id) as churn:
                        rounds[name].append(measure(port, path, headers, count, t, expect))
                    changes += churn.changes
                else:
                    rounds[name].append(measure(port, path, headers, count, t, expect))
                cpu_rounds[name].append(count / max(worker_cpu(server.pid) - used, 1e-3))
        results = {name: statistics.median(rates) for name, rates in rounds.items()}
        results["rebuild baseline, If-None-Match (304)"] = measure(
            port, rebuild, {"If-None-Match": etag}, args.rebuild_requests, t, 304)
        results["rebuild baseline, unconditional (200)"] = measure(
            port, rebuild, {}, args.rebuild_requests, t, 200)
    finally:
        server.terminate()
        server.wait(timeout=30)
    database = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    print(f"Organisation feed: {events} events, {len(body):,} bytes; {database}; gunicorn "
          f"{args.workers} gthread workers; {args.threads} keep-alive http.client connections; "
          f"median of {args.rounds} rounds")
    for name, rate in results.items():
        print(f"  {name:<40} {rate:10.1f} req/s")
    conditional = results["feed, If-None-Match (304)"]
    unconditional = results["feed, unconditional (200)"]

    def ratio(top: str, bottom: str) -> float:
        return statistics.median(a / b for a, b in zip(rounds[top], rounds[bottom], strict=True))

    print(f"Conditional polls vs rebuild baseline:   {conditional / results['rebuild baseline, If-None-Match (304)']:8.1f}×  (aim ≥ 20×)")
    print(f"Unconditional polls vs rebuild baseline: {unconditional / results['rebuild baseline, unconditional (200)']:8.1f}×")
    print(f"Conditional polls vs trivial endpoint:   {ratio('feed, If-None-Match (304)', 'trivial constant endpoint'):8.2f}"
          f"   (aim ≥ 0.8 on PostgreSQL; per-round ratios, median)")
    print(f"Conditional polls, churn vs quiet:       "
          f"{ratio('feed, If-None-Match, churn (304)', 'feed, If-None-Match (304)'):8.2f}"
          f"   (aim ≥ 0.8; {changes} unrelated changes meanwhile)")
    print(f"Unconditional polls vs trivial endpoint: {ratio('feed, unconditional (200)', 'trivial constant endpoint'):8.2f}")
    if sys.platform == "linux":
        print("Requests per CPU-second of the gunicorn workers (median of rounds; independent of other load):")
        for name, rates in cpu_rounds.items():
            print(f"  {name:<40} {statistics.median(rates):10.1f} req/CPU-s")

        def cpu_ratio(top: str, bottom: str) -> float:
            return statistics.median(a / b for a, b in zip(cpu_rounds[top], cpu_rounds[bottom], strict=True))

        print(f"Conditional polls vs trivial endpoint, per CPU-second:   "
              f"{cpu_ratio('feed, If-None-Match (304)', 'trivial constant endpoint'):6.2f}   (aim ≥ 0.8)")
        print(f"Conditional polls, churn vs quiet, per CPU-second:       "
              f"{cpu_ratio('feed, If-None-Match, churn (304)', 'feed, If-None-Match (304)'):6.2f}   (aim ≥ 0.8)")

if __name__ == "__main__":
    main()
