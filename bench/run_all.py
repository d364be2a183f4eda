"""Run every benchmark script in bench/ one after the other (`make bench`).

Each script measures its target and a baseline in the same run and prints the ratio, so the
figures stay comparable on a busy machine. Each script has its own options (`--help`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run bench_*.py in name order; return the number of scripts that failed."""
    failures = 0
    for script in sorted(HERE.glob("bench_*.py")):
        if script.name == "bench_app.py":  # an app factory for bench_feeds, not a benchmark
            continue
        print(f"\n=== {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False)
        failures += result.returncode != 0
    return failures


if __name__ == "__main__":
    sys.exit(main())
