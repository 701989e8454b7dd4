"""Smoke: the benchmark runners still run (small input, no timing assertions)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.cli]  # off by default on a developer machine

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


def test_sync_benchmark_runs_on_a_small_store() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "sync_bench.py"),
            "--entries",
            "6",
            "--latency",
            "0",
            "--runs",
            "2",  # the first sync twice: the store is put back in between
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "shell loop: pass show + curl" in done.stdout
    assert "files unchanged: True; HEAD unchanged: True" in done.stdout
