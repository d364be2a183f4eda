"""Scheduling at scale: month-view render and conflict-check times, 10,000 vs 100 activities.

Run: `.venv/bin/python bench/bench_schedule.py` (temporary SQLite database; with
TEST_DATABASE_URL=postgresql://postgres@127.0.0.1/test also on a temporary PostgreSQL database).

Both runs have 1,000 organisations and the same 40 activities in the weeks the month grid shows
(June 2026); the other activities are spread over 2016–2035 outside those weeks. The ratio therefore measures what the size of the
table costs: with the (starts_at, ends_at) and (venue_id, starts_at, ends_at) indexes it should stay
close to 1 (aim: under 2).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.config import TestConfig, normalise_database_url  # noqa: E402
from app.events.models import Activity, ActivityKind, ActivityStatus, activity_cohost  # noqa: E402
from app.events.services import ActivityInput, check_conflicts  # noqa: E402
from app.extensions import db  # noqa: E402
from app.orgs.models import Organisation, OrgKind, Venue  # noqa: E402

ORGANISATIONS = 1000
MONTH_ACTIVITIES = 40
REPEAT = 25
KINDS = [k for k in ActivityKind if k != ActivityKind.visit]
# The June 2026 grid shows 25 May – 5 July; other activities are kept out of these weeks.
SHOWN_FROM, SHOWN_TO = datetime(2026, 5, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)


def fill(total: int) -> dict:
    """Insert organisations, venues and `total` activities with bulk inserts."""
    rng = random.Random(42)
    orgs = [{"name": "综合党委", "kind": OrgKind.committee}]
    orgs += [{"name": f"联盟{i}", "kind": OrgKind.alliance} for i in range(10)]
    orgs += [{"name": f"部门{i}", "kind": OrgKind.department} for i in range(20)]
    orgs += [{"name": f"企业{i}", "kind": OrgKind.enterprise} for i in range(ORGANISATIONS - len(orgs))]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.execute(sa.insert(Organisation), [{**o, "created_at": now, "updated_at": now} for o in orgs])
    db.session.execute(
        sa.insert(Venue),
        [{"name": f"场地{i}", "address": "园区", "capacity": 50, "created_at": now, "updated_at": now} for i in range(20)],
    )
    org_ids = dict(db.session.execute(sa.select(Organisation.name, Organisation.id)).all())
    venue_ids = list(db.session.scalars(sa.select(Venue.id)))
    departments = [org_ids[f"部门{i}"] for i in range(20)]
    enterprises = [org_ids[f"企业{i}"] for i in range(ORGANISATIONS - 31)]
    rows = []
    month_start = datetime(2026, 6, 1, tzinfo=UTC)
    for i in range(total):
        if i < MONTH_ACTIVITIES:
            start = month_start + timedelta(days=i % 28, hours=1 + (i % 3) * 2)
        else:
            start = datetime(2016, 1, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(20 * 365), hours=rng.choice([0, 5]))
            if SHOWN_FROM <= start < SHOWN_TO:  # keep the displayed six weeks identical in both runs
                start += timedelta(days=60)
        visit = i % 5 == 4
        rows.append({
            "kind": ActivityKind.visit if visit else KINDS[i % len(KINDS)],
            "visit_kind": "outreach" if visit else None,
            "title": f"活动{i}", "host_id": org_ids["综合党委"],
            "venue_id": None if visit else venue_ids[i % len(venue_ids)],
            "site_id": enterprises[i % len(enterprises)] if visit else None,
            "starts_at": start, "ends_at": start + timedelta(hours=2),
            "status": ActivityStatus.published, "sequence": 0, "created_at": now, "updated_at": now,
        })
    db.session.execute(sa.insert(Activity), rows)
    ids = list(db.session.scalars(sa.select(Activity.id)))
    db.session.execute(
        sa.insert(activity_cohost),
        [{"activity_id": a, "organisation_id": departments[a % 20]} for a in ids if a % 2 == 0],
    )
    db.session.commit()
    return {"venue": venue_ids[0], "departments": departments[:3], "committee": org_ids["综合党委"]}


class FreshContextClient(FlaskClient):
    """Each request in its own app context, as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def median_ms(action) -> float:
    action()  # warm up caches and templates
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(url: str, total: int) -> tuple[float, float]:
    """(month view ms, conflict check ms) on a fresh database at `url`."""
    from flask_migrate import upgrade

    from app.auth.models import Role, User
    from app.orgs.models import Person

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(TestConfig(url, Path(instance)))
        with app.app_context():
            upgrade()
            ids = fill(total)
            person = Person(name="组织者", email="organiser@bench.example.com", organisation_id=ids["committee"])
            user = User(person=person, role=Role.organiser, active=True)
            user.set_password("bench-password")
            db.session.add(user)
            db.session.commit()
            app.test_client_class = FreshContextClient
            client = app.test_client()
            response = client.post("/login", data={"email": "organiser@bench.example.com", "password": "bench-password"})
            assert response.status_code == 302, response.get_data(as_text=True)[-2000:]

            def month_view():
                response = client.get("/calendar?year=2026&month=6")
                assert response.status_code == 200, (response.status_code, response.headers.get("Location"), response.get_data(as_text=True)[-3000:])

            start = datetime(2026, 6, 10, 1, tzinfo=UTC)
            data = ActivityInput(
                kind=ActivityKind.salon, title="新活动", host_id=ids["committee"], starts_at=start,
                ends_at=start + timedelta(hours=2), venue_id=ids["venue"], cohost_ids=ids["departments"],
            )

            def conflict_check():
                try:
                    check_conflicts(data, None, "bench")
                finally:
                    db.session.rollback()

            result = median_ms(month_view), median_ms(conflict_check)
            db.session.remove()
            db.engine.dispose()
            return result


def run(label: str, make_url) -> None:
    measure(make_url(), 100)  # a first run pays for imports and caches; not counted
    small = measure(make_url(), 100)
    large = measure(make_url(), 10_000)
    print(f"{label}: month view {small[0]:.1f} ms → {large[0]:.1f} ms (×{large[0] / small[0]:.2f}); "
          f"conflict check {small[1]:.2f} ms → {large[1]:.2f} ms (×{large[1] / small[1]:.2f})")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(100))
        run("SQLite", lambda: f"sqlite:///{folder}/bench{next(counter)}.sqlite")
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if admin_url:
        admin = sa.create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
        names: list[str] = []

        def make_pg() -> str:
            name = f"linghang_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            names.append(name)
            return admin.url.set(database=name).render_as_string(hide_password=False)

        try:
            run("PostgreSQL", make_pg)
        finally:
            with admin.connect() as connection:
                for name in names:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
