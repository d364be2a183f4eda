"""Load test with locust: the same users against a county's data and a province's (100 counties).

    .venv/bin/python bench/bench_load.py [--database-url postgresql://postgres@127.0.0.1/linghang_load]
                                          [--users 40] [--duration 60] [--counties 100]

For each volume: a fresh PostgreSQL database (created and dropped by the script), migrated and filled by
bench/load_data.py (province: about 8,500 enterprises, 13,000 activities, 78,000 invitations, 100,000
problems, 25,000 feed subscriptions, 300 staff), gunicorn serving the app, then locust running the
virtual users of bench/locustfile.py headless, with the same number of users and the same pacing at
both volumes. Prints, per page class, requests, errors, median and 95th percentile at each volume, and
the province / county ratio of the 95th percentile (aim: ≤ 2×, 0 errors).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database(url: str) -> None:
    """Drop and create the load test's own database."""
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = target.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{target.database}"')


def drop_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = target.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


def prepare(env: dict[str, str], counties: int, fixture: Path) -> None:
    """Migrate and fill the database in a child process (the app reads its settings at start)."""
    code = (
        "import json, sys; from datetime import UTC, datetime; from flask_migrate import upgrade;"
        "from app import create_app; from bench.load_data import generate;"
        "app = create_app();"
        "ctx = app.app_context(); ctx.push(); upgrade(); ctx.pop();"
        f"data = generate(app, {counties}, datetime.now(UTC).replace(microsecond=0));"
        f"open({str(fixture)!r}, 'w', encoding='utf-8').write(json.dumps(data))"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True)


def wait_until_up(port: int) -> None:
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not come up")


def run_volume(name: str, counties: int, args, folder: Path) -> dict[str, dict[str, float]]:
    """Fill, serve and load one volume; return locust's figures per page class."""
    port = free_port()
    env = {
        "LINGHANG_INSTANCE": str(folder / "instance"),
        "DATABASE_URL": args.database_url,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "load-secret",
        # Every virtual user logs in from 127.0.0.1: the per-address log-in limit is not under test.
        "LOGIN_ADDRESS_LIMIT": "100000 per minute",
        "LOGIN_ACCOUNT_LIMIT": "100000 per minute",
    }
    recreate_database(args.database_url)
    fixture = folder / f"{name}.json"
    sys.stderr.write(f"{name}: {counties} counties\n")
    started = time.perf_counter()
    prepare(env, counties, fixture)
    sys.stderr.write(f"{name}: data ready in {time.perf_counter() - started:.0f} s\n")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--worker-class", "gthread",
         "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env={**os.environ, **env},
    )
    try:
        wait_until_up(port)
        prefix = folder / name
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--users", str(args.users), "--spawn-rate", str(args.users), "--run-time", f"{args.duration}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env={**os.environ, "LOAD_FIXTURE": str(fixture)}, check=False,
            stdout=subprocess.DEVNULL,
        )
        return read_stats(Path(f"{prefix}_stats.csv"))
    finally:
        server.terminate()
        server.wait(timeout=30)


def read_stats(path: Path) -> dict[str, dict[str, float]]:
    """Locust's per-name statistics: requests, failures, median and 95th percentile (ms)."""
    stats = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                continue
            stats[row["Name"]] = {
                "requests": float(row["Request Count"]), "failures": float(row["Failure Count"]),
                "median": float(row["Median Response Time"] or 0), "p95": float(row["95%"] or 0),
            }
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "LOAD_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/linghang_load"))
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load per volume")
    parser.add_argument("--counties", type=int, default=100, help="counties in the province")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="linghang-load-"))
    try:
        county = run_volume("county", 1, args, folder)
        province = run_volume("province", args.counties, args, folder)
    finally:
        drop_database(args.database_url)
    print(f"Load test: {args.users} locust users for {args.duration} s per volume, gunicorn {args.workers} "
          f"gthread workers, PostgreSQL; county = 1 county's data, province = {args.counties} counties'")
    print(f"{'page class':<16}{'requests':>18}{'errors':>12}{'median ms':>16}{'p95 ms':>16}{'p95 ratio':>11}")
    worst, errors = 0.0, 0
    for name in sorted(set(county) | set(province)):
        c, p = county.get(name), province.get(name)
        if c is None or p is None:
            print(f"{name:<16} missing at one volume")
            errors += 1
            continue
        ratio = p["p95"] / c["p95"] if c["p95"] else float("nan")
        worst = max(worst, ratio) if ratio == ratio else worst
        errors += int(c["failures"] + p["failures"])
        print(f"{name:<16}{c['requests']:>8.0f} /{p['requests']:>8.0f}{c['failures']:>5.0f} /{p['failures']:>5.0f}"
              f"{c['median']:>7.0f} /{p['median']:>7.0f}{c['p95']:>7.0f} /{p['p95']:>7.0f}{ratio:>10.2f}×")
    print(f"Worst p95 ratio province/county: {worst:.2f}× (aim ≤ 2×); errors: {errors} (aim 0)")
    print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
