"""Benchmark the ledger: a province (100,000 problems, 20,000 enterprises) against a county.

    .venv/bin/python bench/bench_ledger.py                       # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/bench .venv/bin/python bench/bench_ledger.py

The database must be empty (or disposable: it is wiped). The bulk inserts bypass the ORM, so the
dashboard's roll-ups are rebuilt after each (timed as rebuild_s). Prints, for each size, the time of the
whole dashboard of a year (every figure, the monthly trend, per-department and per-category, read from
the roll-ups), of the same for one alliance and for a period that starts and ends inside months, of the
same figures counted from every problem (the baseline, recount_dashboard_s), of the CSV and XLSX exports
of every row, and the XLSX export's peak Python memory (tracemalloc) for the first 10,000 rows and for
all of them; then the province / county ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

SIZES = {"county": (1_000, 200, 2), "province": (100_000, 20_000, 200)}  # problems, enterprises, alliances


def progress(label: str, done: int, total: int) -> None:
    """A progress bar on stderr."""
    width = 40
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\r{label:<10} [{'#' * filled}{'.' * (width - filled)}] {done:>7}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def reset(app) -> None:
    from tests.conftest import empty_tables

    with app.app_context():
        empty_tables()


def generate(app, problems: int, enterprises: int, alliances: int, seed: int = 1) -> None:
    """Insert departments, alliances, enterprises, memberships and problems in batches."""
    from app.extensions import db
    from app.orgs.models import AllianceMembership, Organisation, OrgKind
    from app.problems.models import Problem, ProblemCategory, ProblemStatus, Satisfaction

    rng = random.Random(seed)
    now = datetime(2026, 12, 31, tzinfo=UTC)
    with app.app_context():
        db.session.execute(insert(Organisation), [{"name": f"部门{i}", "kind": OrgKind.department} for i in range(12)])
        db.session.execute(insert(Organisation), [{"name": f"联盟{i}", "kind": OrgKind.alliance} for i in range(alliances)])
        departments = list(db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.department)))
        alliance_ids = list(db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.alliance)))
        batch = 5_000
        for start in range(0, enterprises, batch):
            rows = [{"name": f"企业{i:06d}有限公司", "kind": OrgKind.enterprise} for i in range(start, min(start + batch, enterprises))]
            db.session.execute(insert(Organisation).values(rows))
            progress("enterprises", min(start + batch, enterprises), enterprises)
        enterprise_ids = list(db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.enterprise).order_by(Organisation.id)))
        per = len(enterprise_ids) // len(alliance_ids)
        memberships = [
            {"alliance_id": alliance_ids[min(i // per, len(alliance_ids) - 1)], "enterprise_id": e, "joined_on": now}
            for i, e in enumerate(enterprise_ids)
        ]
        for start in range(0, len(memberships), 1000):
            # One multi-row INSERT per 1,000 (an executemany of 20,000 lost its connection on PostgreSQL).
            db.session.execute(insert(AllianceMembership).values(memberships[start : start + 1000]))
        statuses = list(ProblemStatus)
        categories = list(ProblemCategory)
        for start in range(0, problems, batch):
            rows = []
            for _ in range(start, min(start + batch, problems)):
                status = rng.choice(statuses)
                raised = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 360 * 24 * 60))
                resolved = status in (ProblemStatus.resolved, ProblemStatus.closed)
                rows.append({
                    "enterprise_id": rng.choice(enterprise_ids), "category": rng.choice(categories),
                    "description": "企业反映的困难诉求" * rng.randint(1, 4), "status": status,
                    "department_id": rng.choice(departments), "raised_at": raised, "created_at": raised, "updated_at": raised,
                    "deadline": (raised + timedelta(days=rng.randrange(3, 30))).date(),
                    "resolved_on": (raised + timedelta(days=rng.randrange(1, 35))).date() if resolved else None,
                    "resolved_on_site": resolved and rng.random() < 0.3,
                    "resolution": "已办结" if resolved else None,
                    "satisfaction": rng.choice(list(Satisfaction)) if resolved else None,
                    "loan_amount_wan": Decimal(rng.randrange(10, 900)) if rng.random() < 0.05 else None,
                })
            # Multi-row INSERTs: an executemany fires the feed trigger (FOR EACH STATEMENT) per row.
            for offset in range(0, len(rows), 1000):
                db.session.execute(insert(Problem).values(rows[offset : offset + 1000]))
            progress("problems", min(start + batch, problems), problems)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()


def best_of(function, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def rebuild_summaries(app) -> float:
    """The bulk INSERTs bypass the ORM (and so the roll-ups): rebuild them, as after an import."""
    from app.extensions import db
    from app.stats.rebuild import rebuild

    with app.app_context():
        started = time.perf_counter()
        rebuild(db.session.connection())
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        return time.perf_counter() - started


def xlsx_size(rows, limit: int | None = None) -> int:
    """Write the ledger rows (the first `limit` of them) as the XLSX export does; its size in bytes."""
    from app.problems import exports

    size = 0
    with closing(rows):  # a partial read must not leave its cursor's transaction open
        for chunk in exports.xlsx_stream([("台账", exports.headers(), islice(rows, limit))]):
            size += len(chunk)
    return size


def measure(app) -> dict[str, float]:
    from app.extensions import db
    from app.orgs.models import Organisation, OrgKind
    from app.problems import exports
    from app.problems.queries import LedgerFilter
    from app.stats import services, summaries

    today = date(2026, 12, 31)
    now = datetime(2026, 12, 31, 8, tzinfo=UTC)
    results: dict[str, float] = {}
    with app.test_request_context("/"):
        alliance = db.session.scalar(select(Organisation.id).where(Organisation.kind == OrgKind.alliance).order_by(Organisation.id))
        year = {"start": date(2026, 1, 1), "end": today}

        def dashboard(filters: LedgerFilter):
            # What /dashboard computes (the roll-ups where they cover the filters).
            services.figures(filters, now, today)
            services.monthly_trend(filters)
            services.by_department(filters, today)
            services.by_category(filters)

        def dashboard_recount(filters: LedgerFilter):
            # The baseline: the same dashboard with its ledger figures counted from every problem.
            covers = summaries.covers
            summaries.covers = lambda _filters, _scope: False
            try:
                dashboard(filters)
            finally:
                summaries.covers = covers

        results["dashboard_s"] = best_of(lambda: dashboard(LedgerFilter(**year)), runs=5)
        results["dashboard_alliance_s"] = best_of(lambda: dashboard(LedgerFilter(**year, alliance_id=alliance)), runs=5)
        results["dashboard_h1_s"] = best_of(lambda: dashboard(LedgerFilter(start=date(2026, 1, 10), end=date(2026, 6, 20))), runs=5)
        results["recount_dashboard_s"] = best_of(lambda: dashboard_recount(LedgerFilter(**year)), runs=3)

        def rows():
            return exports.ledger_rows(LedgerFilter(), None, today)

        def csv_export():
            size = 0
            for chunk in exports.csv_stream(rows(), exports.headers()):
                size += len(chunk.encode("utf-8"))
            return size

        results["csv_s"] = best_of(csv_export, runs=1)
        results["xlsx_s"] = best_of(lambda: xlsx_size(rows()), runs=1)
        # Peak Python memory (tracemalloc slows Python down, so apart from the timing) for the
        # first 10,000 rows and for all of them: flat means the same peak.
        for name, limit in (("xlsx_10k_peak_mb", 10_000), ("xlsx_all_peak_mb", None)):
            tracemalloc.start()
            xlsx_size(rows(), limit)
            results[name] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
            tracemalloc.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--province", type=int, default=SIZES["province"][0], help="problems in the province")
    args = parser.parse_args()
    from tests.conftest import build_app

    folder = Path(tempfile.mkdtemp(prefix="linghang-bench-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite'}"
    app = build_app(url, folder / "instance")
    sizes = dict(SIZES)
    sizes["province"] = (args.province, SIZES["province"][1], SIZES["province"][2])
    results = {}
    for name, (problems, enterprises, alliances) in sizes.items():
        reset(app)
        sys.stderr.write(f"{name}: {problems} problems, {enterprises} enterprises, {alliances} alliances\n")
        generate(app, problems, enterprises, alliances)
        rebuilt = rebuild_summaries(app)
        results[name] = measure(app)
        results[name]["rebuild_s"] = rebuilt
    reset(app)
    county, province = results["county"], results["province"]
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
    print(f"{'measure':<22}{'county':>12}{'province':>12}{'ratio':>9}")
    for key in county:
        ratio = province[key] / county[key] if county[key] else float("nan")
        print(f"{key:<22}{county[key]:>12.3f}{province[key]:>12.3f}{ratio:>8.1f}x")
    print()
    print(f"whole dashboard, province / county (roll-ups):  {province['dashboard_s'] / county['dashboard_s']:.2f}x  (aim <= 2)")
    print(f"whole dashboard, province / county (recount):   {province['recount_dashboard_s'] / county['recount_dashboard_s']:.2f}x  (baseline)")
    print(f"whole-province XLSX: {province['xlsx_s']:.1f} s  (gunicorn's default worker timeout: 30 s)")
    print(f"XLSX peak memory, all {args.province:,} rows / first 10,000: {province['xlsx_all_peak_mb'] / province['xlsx_10k_peak_mb']:.2f}x  (flat: about 1)")


if __name__ == "__main__":
    main()
