"""Hardening: no key (in any form or piece) from any command, kill -9, concurrent runs, a
full disk, clock skew, and property tests of names and money conversions."""

from __future__ import annotations

import base64
import json
import os
import random
import resource
import signal
import stat
import subprocess
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyz import sidecar as sc
from keyz.demo.sandbox import fake_crontab
from keyz.demo.simulator import Answer, Simulator
from keyz.errors import UsageError
from keyz.history import History, Version, summaries
from keyz.money import parse_amount
from keyz.render import age
from keyz.store import validate_entry_name
from tests.conftest import (
    CANARY,
    KEYZ,
    OPENROUTER_KEY,
    MakeStore,
    Sandbox,
    files_text,
    git_everything,
    leaked,
)


def forms(key: str) -> tuple[str, ...]:
    """The key as it is, URL-quoted, in base64 and JSON-escaped: how a provider may echo it."""
    return (
        key,
        urllib.parse.quote(key),
        base64.b64encode(key.encode()).decode(),
        json.dumps(key)[1:-1],
    )


KEYS = (CANARY, OPENROUTER_KEY)


def assert_no_key(text: str, where: str) -> None:
    """No form of either key, nor any 8-character piece of one in any letter case."""
    for key in KEYS:
        for form in forms(key):
            assert form not in text, f"a form of the key leaked into {where}"
    assert leaked(text, KEYS) == [], f"a piece of a key leaked into {where}"


@pytest.mark.cli
def test_no_key_reaches_any_output_file_or_git_object_from_any_command(
    make_sandbox: MakeStore, simulator: Simulator, tmp_path: Path
) -> None:
    """Every command, then providers that echo the keys back; every output, file and git object."""
    sandbox = make_sandbox(
        {
            "api/deepseek": f"{CANARY}\nregion: cn\n",
            "api/openrouter": f"{OPENROUTER_KEY}\n",
            "spare/deepseek-old": f"{CANARY}\n",  # untracked: only discover --decrypt reads it
        }
    )
    sandbox.env.update(simulator.env("deepseek", "openrouter"))
    simulator.deepseek(CANARY, [("CNY", "110.00", "10.00", "100.00")])
    simulator.openrouter(OPENROUTER_KEY, management=True)
    env = fake_crontab(tmp_path / "bin", tmp_path / "cron", os.environ["PATH"])
    commands = [
        ("init",),
        ("track", "api/deepseek", "-p", "deepseek"),
        ("track", "api/openrouter", "-p", "openrouter"),
        ("sync", "--commit"),
        ("sync", "--commit", "--json"),
        ("sync", "--json"),
        ("status",),
        ("status", "--json"),
        ("history", "api/deepseek"),
        ("history", "--json"),
        ("history", "api/deepseek", "--csv"),
        ("providers",),
        ("check", "--sync", "--commit", "--below", "500 CNY", "--repeat"),
        ("check", "--json"),
        ("discover", "--decrypt"),
        ("discover", "--decrypt", "--json"),
        ("migrate", "--check"),
        ("cron", "install", "--commit", "--check"),
        ("cron", "show"),
    ]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = sandbox.keyz(*args, env=env)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert_no_key(result.stdout + result.stderr, f"the output of keyz {' '.join(args)}")
        return result

    for args in commands:
        run(*args)
    # a provider that echoes the key back in every form: keyz says so, with the key masked
    simulator.fail(CANARY, Answer(401, {"error": {"message": " ".join(forms(CANARY))}}))
    echoed = run("sync", "--commit")
    assert echoed.returncode == 1
    assert "api/deepseek: deepseek balance: the key was rejected (HTTP 401)" in echoed.stderr
    assert "[REDACTED]" in echoed.stderr
    # the other key echoed in a retried 5xx (Retry-After: 0, no backoff): the words, masked
    echo = {"error": {"message": f"internal error for {OPENROUTER_KEY}"}}
    simulator.fail(OPENROUTER_KEY, *[Answer(500, echo, {"Retry-After": "0"})] * 3)
    again = run("sync", "--json")
    entries = {e["entry"]: e for e in json.loads(again.stdout)["entries"]}
    assert entries["api/openrouter"]["error"].endswith("internal error for [REDACTED]")
    run("untrack", "api/openrouter", "--keep-sidecar")
    git = git_everything(sandbox)
    assert ".keyz/entries/api/deepseek.json" in git, "the search covers what keyz committed"
    assert_no_key(files_text(sandbox.store), "a file of the store (state included)")
    assert_no_key(git, "git objects")
    assert_no_key((tmp_path / "cron").read_text(), "the crontab")
    assert CANARY not in " ".join(sandbox.git("log", "--format=%B").split())


@pytest.mark.cli
def test_kill_9_at_random_points_never_leaves_a_broken_store(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    rng = random.Random(20261122)
    simulator.latency = 0.05
    entries = two_keys.store / ".keyz" / "entries"
    for i in range(12):
        simulator.deepseek(CANARY, [("CNY", f"{100 - i}.00", "0.00", f"{100 - i}.00")])
        process = subprocess.Popen(
            [KEYZ, "sync", "--commit"],
            env=two_keys.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, 0.8))
        os.kill(process.pid, signal.SIGKILL)  # keyz only: a git it started finishes on its own
        process.wait()
        deadline = time.monotonic() + 10
        while (two_keys.store / ".git" / "index.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for path in entries.rglob("*.json"):
            sc.loads(path.read_bytes(), source=str(path))  # parses, or this raises
    final = two_keys.keyz("sync", "--commit")
    assert final.returncode == 0, final.stderr
    assert two_keys.git("status", "--porcelain", "--", ".keyz") == ""
    committed = json.loads(two_keys.git("show", "HEAD:.keyz/entries/api/deepseek.json"))
    assert committed["balances"][0]["remaining"] == "89.00"


@pytest.mark.cli
def test_concurrent_runs_one_works_the_others_exit_75(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    simulator.latency = 1.5
    env = {**two_keys.env, "KEYZ_LOCK_WAIT": "0.3"}
    processes = [
        subprocess.Popen(
            [KEYZ, "sync", "--commit"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(4)
    ]
    results = []
    for process in processes:
        _, err = process.communicate(timeout=60)
        results.append((process.returncode, err))
    codes = sorted(code for code, _ in results)
    assert codes == [0, 75, 75, 75], results
    assert all("busy" in err or "another keyz" in err for code, err in results if code == 75)
    for path in (two_keys.store / ".keyz" / "entries").rglob("*.json"):
        sc.loads(path.read_bytes())


@pytest.mark.cli
def test_a_full_disk_is_an_error_and_nothing_is_corrupted(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    assert two_keys.keyz("sync").returncode == 0
    sidecar = two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json"
    before = sidecar.read_bytes()
    simulator.deepseek(CANARY, [("CNY", "1.00", "0.00", "1.00")])

    def small_files() -> None:  # as on a full disk: writes past 64 bytes fail (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    done = subprocess.run(
        [KEYZ, "sync", "api/deepseek"],
        env=two_keys.env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        preexec_fn=small_files,  # test only: no threads in the child yet
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot write" in done.stderr and "previous file is unchanged" in done.stderr
    assert "Traceback" not in done.stderr
    assert sidecar.read_bytes() == before
    assert not [p for p in sidecar.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.cli
def test_a_directory_in_the_way_is_reported(two_keys: Sandbox) -> None:
    """Stands in for a read-only .keyz/ (tests run as root, where permission bits do not bite)."""
    blocker = two_keys.store / ".keyz" / "entries" / "api"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a directory\n")
    done = two_keys.keyz("sync")
    assert done.returncode == 1
    assert "keyz: api/deepseek: cannot read" in done.stderr and "Not a directory" in done.stderr
    assert blocker.read_text() == "not a directory\n"
    if os.geteuid() != 0:  # where permissions apply, a read-only directory says the same
        blocker.unlink()
        (two_keys.store / ".keyz" / "entries").chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            assert two_keys.keyz("sync").returncode == 1
        finally:
            (two_keys.store / ".keyz" / "entries").chmod(0o755)


def test_clock_skew_does_not_break_history_or_runway() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    versions = []
    for i, (days, value) in enumerate(((-3, "110"), (-2, "100"), (-1, "90"), (3, "80"))):
        sidecar = sc.Sidecar(
            entry="api/x",
            provider="deepseek",
            observed_at=now + timedelta(days=days),
            available=True,
            balances=[sc.Balance(currency="USD", remaining=Decimal(value))],
        )
        versions.append(Version(f"{i:040x}", sidecar))
    (summary,) = summaries(History("api/x", versions), [])
    assert summary.latest == Decimal(90)  # the future observation (the last) is left out
    assert summary.burn_7d == Decimal(10)
    assert age(now + timedelta(days=3), now) == "in the future (clock skew?)"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_entry_names_are_safe_or_refused(name: str) -> None:
    try:
        clean = validate_entry_name(name)
    except UsageError:
        return
    parts = clean.split("/")
    assert not clean.startswith("/")
    assert ".." not in parts and "." not in parts and "" not in parts
    assert not any(c in clean for c in "\x00\n\r\\")
    assert parts[0] not in (".git", ".keyz", ".extensions")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1), st.sampled_from([1, 100, 10000]))
def test_unit_conversions_are_exact(value: int, scale: int) -> None:
    converted = parse_amount(str(value), field="x", scale=Decimal(scale))
    assert converted * scale == value
    assert (
        Decimal(
            sc.Balance(currency="USD", remaining=converted).model_dump(mode="json")["remaining"]
        )
        == converted
    )
