"""Smoke: the benchmark runners still run (small input, no timing assertions)."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parent.parent / "benchmarks"


def test_history_benchmark_runs_on_a_small_ledger() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "history_bench.py"), "--commits", "30", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "keyz history --json over 30 commits: median" in done.stdout
