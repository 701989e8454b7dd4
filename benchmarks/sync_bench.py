"""keyz against the shell loop a user has today: `pass show` + `curl`, one key after another.

Builds its own sandbox (throwaway gpg key, a pass-layout store with N entries over three
providers, the loopback simulator with a latency per request), then times, in the same run:

    baseline   a bash loop: key=$(pass show E | head -n1); curl -H "Authorization: Bearer $key" ...
    sync       keyz sync --commit of all entries (first sync: every file written and committed;
               the store put back before each of the runs)
    no-op      keyz sync --commit again, nothing changed (files, commits and git processes counted)
    status     keyz status over the N sidecars
    help       keyz --help and keyz status --help

and, as the floor no sync can go below, in the same run:

    decrypt    python-gnupg decrypting every entry, DECRYPT_WORKERS threads (keyz's parallelism),
               timed inside its process (no start-up)
    round-trip one https GET on a fresh connection (TLS handshake included), at the latency
    start-up   keyz --version

and prints medians, the ratio against the baseline and the ratio to the floor (decrypt +
round-trip + start-up). Absolute times on shared machines are noise; ratios measured in
the same run hold. Nothing here asserts a time (see README.md).

    python benchmarks/sync_bench.py --entries 100 --latency 0.1
    python benchmarks/sync_bench.py --entries 1000 --latency 0.1 --baseline-sample 50
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import keyz
from keyz.config import EntryConfig, init_keyz_dir, set_entry
from keyz.demo.sandbox import IDENTITY, make_gnupghome, make_store, sandbox_env, stop_agent
from keyz.demo.simulator import Simulator
from keyz.store import DECRYPT_WORKERS

KEYZ = str(Path(sys.executable).with_name("keyz"))
PROVIDERS = ("deepseek", "openrouter", "novita")
TIME = "/usr/bin/time"


def build(
    root: Path, entries: int, sim: Simulator, concurrency: int = 0
) -> tuple[dict[str, str], dict[str, str]]:
    """The sandbox: gpg home, store with ``entries`` keys (encrypted 8 at a time), git, config."""
    gnupghome, store, home = root / "gnupg", root / "store", root / "home"
    home.mkdir(parents=True)
    fingerprint = make_gnupghome(gnupghome)
    env = sandbox_env(home, gnupghome, store, {**sim.env(*PROVIDERS), **IDENTITY})
    names: dict[str, str] = {}
    for i in range(entries):
        provider = PROVIDERS[i % len(PROVIDERS)]
        key = f"sk-bench-{provider}-{i:05d}-" + "0" * 16
        names[f"api/{provider}/{i:05d}"] = key
        if provider == "deepseek":
            sim.deepseek(key, [("CNY", f"{100 + i}.00", "0.00", f"{100 + i}.00")])
        elif provider == "openrouter":
            sim.openrouter(key, management=True, total_credits=100 + i, total_usage=1.5)
        else:
            sim.novita(key, available=str(1_000_000 + i))

    make_store(
        store,
        env,
        fingerprint,
        {name: f"{key}\n" for name, key in names.items()},
        use_pass=False,  # pass inserts one commit per entry: minutes for a thousand
        git=True,
    )
    init_keyz_dir(store / ".keyz")
    for name in names:
        set_entry(store / ".keyz", EntryConfig(name, name.split("/")[1]))
    if concurrency:
        with (store / ".keyz" / "config.toml").open("a") as config:
            for provider in PROVIDERS:
                config.write(f"\n[providers.{provider}]\nconcurrency = {concurrency}\n")
    return env, names


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Seconds, peak RSS in KiB (when GNU time is there, else 0), and stderr."""
    wrap = [TIME, "-f", "%M"] if Path(TIME).exists() else []
    started = time.perf_counter()
    done = subprocess.run([*wrap, *argv], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0,):
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    rss = int(done.stderr.strip().splitlines()[-1]) if wrap else 0
    return elapsed, rss, done.stderr


def median(argv: list[str], env: dict[str, str], runs: int) -> float:
    return statistics.median(timed(argv, env)[0] for _ in range(runs))


def baseline(env: dict[str, str], names: dict[str, str], sim: Simulator, sample: int) -> float:
    """The shell loop over ``sample`` entries, scaled to all of them (it is linear by nature)."""
    paths = {
        "deepseek": "/user/balance",
        "openrouter": "/api/v1/credits",
        "novita": "/openapi/v1/billing/balance/detail",
    }
    picked = list(names)[:sample]
    # the same wire keyz gets: https to the throwaway CA, gzip accepted, a new process per entry
    lines = [
        f'key=$(pass show "{name}" | head -n 1); '
        f'curl -s --compressed --cacert "{sim.ca_file}" -o /dev/null '
        f'-H "Authorization: Bearer $key" '
        f'"{sim.base_url(name.split("/")[1])}{paths[name.split("/")[1]]}"'
        for name in picked
    ]
    script = "set -e\n" + "\n".join(lines) + "\n"
    started = time.perf_counter()
    subprocess.run(["bash", "-c", script], env=env, check=True)
    return (time.perf_counter() - started) * len(names) / len(picked)


# python-gnupg alone, as keyz calls it: every entry of the store, WORKERS threads at a time
DECRYPT_ONLY = """
import os, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import gnupg
files = sorted(str(p) for p in Path(os.environ["PASSWORD_STORE_DIR"]).rglob("*.gpg"))
gpg = gnupg.GPG(gpgbinary="gpg")
def one(path):
    result = gpg.decrypt_file(path, extra_args=["--pinentry-mode", "error"])
    assert result.ok, result.status
started = time.perf_counter()
with ThreadPoolExecutor(int(sys.argv[1])) as pool:
    list(pool.map(one, files))
print(time.perf_counter() - started)
"""


def decrypt_floor(env: dict[str, str], runs: int) -> float:
    """Median seconds python-gnupg takes to decrypt every entry with keyz's parallelism."""
    argv = [sys.executable, "-c", DECRYPT_ONLY, str(DECRYPT_WORKERS)]
    return statistics.median(
        float(subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout)
        for _ in range(runs)
    )


def round_trip(sim: Simulator, key: str, runs: int) -> float:
    """Median seconds of one https GET on a fresh connection: TCP, TLS handshake, answer."""
    url = urlsplit(sim.base_url("deepseek") + "/user/balance")
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        connection = http.client.HTTPSConnection(url.hostname or "", url.port, context=context)
        connection.request("GET", url.path, headers={"Authorization": f"Bearer {key}"})
        connection.getresponse().read()
        connection.close()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def first_sync(env: dict[str, str], store: Path, root: Path, runs: int) -> tuple[float, int]:
    """Median seconds and largest peak RSS of ``runs`` first syncs (every sidecar written and
    committed): before each run after the first, HEAD, the index and ``.keyz`` are put back as
    they were before the first. One run alone moved with the hour by a fifth."""
    keyz_dir, pristine = store / ".keyz", root / "pristine-keyz"
    shutil.copytree(keyz_dir, pristine, symlinks=True)
    git = ["git", "-C", str(store)]

    def head() -> str:
        return subprocess.run(
            [*git, "rev-parse", "HEAD"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    start = head()
    times, peaks = [], []
    for run in range(runs):
        if run:
            subprocess.run([*git, "reset", "-q", start], env=env, check=True)
            shutil.rmtree(keyz_dir)
            shutil.copytree(pristine, keyz_dir, symlinks=True)
        elapsed, rss, _ = timed([KEYZ, "sync", "--commit", "--quiet"], env)
        if head() == start:
            raise SystemExit(f"first sync {run + 1} of {runs} committed nothing")
        times.append(elapsed)
        peaks.append(rss)
    return statistics.median(times), max(peaks)


def git_calls(env: dict[str, str], root: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose `git` logs its arguments, then runs the real git."""
    shim, log = root / "shim", root / "git-calls.log"
    shim.mkdir()
    real = shutil.which("git")
    (shim / "git").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    (shim / "git").chmod(0o755)
    return {**env, "PATH": f"{shim}:{env['PATH']}"}, log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="[providers.*] concurrency to configure (0: keyz's default)",
    )
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=0,
        help="time the shell loop on this many entries and scale (0: all)",
    )
    args = parser.parse_args()
    if not shutil.which("pass") or not shutil.which("curl"):
        print("the baseline needs pass and curl on PATH", file=sys.stderr)
        return 2
    # keyz's bytecode, as an installed keyz has it (pip compiles at install time); a checkout
    # run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module on every run
    compileall.compile_dir(Path(keyz.__file__).parent, quiet=1)
    root = Path(tempfile.mkdtemp(prefix="keyz-bench-sync-"))
    sim = Simulator().start()
    try:
        env, names = build(root, args.entries, sim, args.concurrency)
        sim.latency = args.latency
        store = Path(env["PASSWORD_STORE_DIR"])
        base = baseline(env, names, sim, args.baseline_sample or len(names))
        decrypt = decrypt_floor(env, args.runs)
        trip = round_trip(sim, next(k for n, k in names.items() if "deepseek" in n), 5)
        startup = median([KEYZ, "--version"], env, max(args.runs, 5))
        first, rss = first_sync(env, store, root, args.runs)
        sidecars = sorted((store / ".keyz" / "entries").rglob("*.json"))
        assert len(sidecars) == len(names), f"{len(sidecars)} sidecars for {len(names)} entries"
        mtimes = [p.stat().st_mtime_ns for p in sidecars]
        head = subprocess.run(
            ["git", "-C", str(store), "rev-parse", "HEAD"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        shimmed, log = git_calls(env, root)
        noop = median([KEYZ, "sync", "--commit", "--quiet"], shimmed, args.runs)
        calls = log.read_text().splitlines()
        unchanged = mtimes == [p.stat().st_mtime_ns for p in sidecars]
        same_head = (
            head
            == subprocess.run(
                ["git", "-C", str(store), "rev-parse", "HEAD"],
                env=env,
                capture_output=True,
                text=True,
            ).stdout
        )
        status = median([KEYZ, "status"], env, args.runs)
        help_top = median([KEYZ, "--help"], env, max(args.runs, 5))
        help_status = median([KEYZ, "status", "--help"], env, max(args.runs, 5))
    finally:
        sim.stop()
        stop_agent(root / "gnupg")
        shutil.rmtree(root, ignore_errors=True)

    per_run = {c for c in calls}
    scaled = " (scaled from a sample)" if args.baseline_sample else ""
    print(
        f"{args.entries} entries over {len(PROVIDERS)} providers, {args.latency * 1000:.0f} ms "
        f"per request, medians of {args.runs} runs"
    )
    print(f"  {'scenario':<34} {'seconds':>8}  vs shell loop")
    print(f"  {'shell loop: pass show + curl' + scaled:<34} {base:8.2f}  1.0x")
    print(
        f"  {'keyz sync --commit (first, all written)':<34} {first:8.2f}  {base / first:.1f}x faster"
        + (f"   peak RSS {rss / 1024:.0f} MB" if rss else "")
    )
    print(f"  {'keyz sync --commit (no-op)':<34} {noop:8.2f}  {base / noop:.1f}x faster")
    floor = decrypt + trip + startup
    print(
        f"floor (measured in this run): {floor:.2f} s = decrypt {decrypt:.2f} s "
        f"(python-gnupg, {DECRYPT_WORKERS} threads) + round-trip {trip:.3f} s "
        f"+ start-up {startup:.3f} s (keyz --version)"
    )
    print(
        f"  keyz sync / floor: first {first / floor:.2f}x, no-op {noop / floor:.2f}x; "
        f"first / decrypt alone {first / decrypt:.2f}x"
    )
    print(f"  {'keyz status':<34} {status:8.2f}")
    print(f"  {'keyz --help':<34} {help_top:8.3f}")
    print(f"  {'keyz status --help':<34} {help_status:8.3f}")
    print(
        f"no-op re-sync: files unchanged: {unchanged}; HEAD unchanged: {same_head}; "
        f"git processes per run: {len(calls) // args.runs} ({', '.join(sorted(per_run))})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
