"""Time `keyz history ENTRY --json` over a sidecar with N commits (default 5,000).

    .venv/bin/python benchmarks/history_bench.py [--commits 5000] [--runs 5]

Builds the store with `git fast-import` (one stream, seconds for thousands of
commits), then runs the installed keyz as a subprocess several times and prints
the median next to a plain `git log` of the same path, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from keyz import sidecar as sc
from keyz.config import EntryConfig, init_keyz_dir, set_entry

ENTRY = "api/bench"
KEYZ = str(Path(sys.executable).with_name("keyz"))


def build_store(root: Path, commits: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stream = bytearray()
    for i in range(commits):
        at = start + timedelta(hours=i)
        data = sc.dumps(
            sc.Sidecar(
                entry=ENTRY,
                provider="deepseek",
                observed_at=at,
                available=True,
                balances=[sc.Balance(currency="USD", remaining=Decimal(100000 - i) / 100)],
            )
        )
        message = f"keyz: sync 1 entry (deepseek) {i}".encode()
        stamp = int(at.timestamp())
        stream += b"commit refs/heads/main\n"
        stream += f"committer bench <bench@keyz.invalid> {stamp} +0000\n".encode()
        stream += f"data {len(message)}\n".encode() + message + b"\n"
        stream += (
            f"M 100644 inline .keyz/entries/{ENTRY}.json\ndata {len(data)}\n".encode()
            + data
            + b"\n"
        )
    subprocess.run(
        ["git", "-C", str(root), "fast-import", "--quiet"], input=bytes(stream), check=True
    )
    subprocess.run(["git", "-C", str(root), "reset", "-q", "--hard", "main"], check=True)
    init_keyz_dir(root / ".keyz")
    set_entry(root / ".keyz", EntryConfig(ENTRY, "deepseek"))


def median_seconds(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, str]:
    times, output = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
        output = done.stdout
    return statistics.median(times), output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="keyz-bench-history-")) / "store"
    try:
        build_store(root, args.commits)
        env = {**os.environ, "PASSWORD_STORE_DIR": str(root)}
        keyz, output = median_seconds([KEYZ, "history", ENTRY, "--json"], env, args.runs)
        versions = output.count('"commit"')
        assert versions == args.commits, f"read {versions} versions of {args.commits}"
        git_log, _ = median_seconds(
            ["git", "-C", str(root), "log", "--format=%H", "--", f".keyz/entries/{ENTRY}.json"],
            env,
            args.runs,
        )
        print(
            f"keyz history --json over {args.commits} commits: median {keyz:.3f} s of {args.runs} runs"
        )
        print(
            f"plain git log of the same path:                median {git_log:.3f} s (ratio {keyz / git_log:.1f}x)"
        )
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
