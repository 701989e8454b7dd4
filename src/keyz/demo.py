"""``keyz demo``: the whole flow, offline, on a sandbox it creates and removes.

A throwaway gpg key, a pass store in git, the loopback simulator, and a fake
``crontab`` that writes into the sandbox. Every keyz step runs as its own process
with the sandbox's environment, exactly as a user would type it; the user's own
store, gpg home and crontab are never touched. ``KEYZ_NOW`` lets a minute of demo
show a week of ledger.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from keyz.fields import format_time, utc_now
from keyz.sandbox import (
    IDENTITY,
    fake_crontab,
    make_gnupghome,
    make_store,
    sandbox_env,
    stop_agent,
)
from keyz.simulator import Simulator

# Fake keys of the providers' shapes; they only ever reach the local simulator.
KEYS = {
    "api/deepseek": "sk-demo0000deepseek0000000000000000",
    "api/openrouter": "sk-or-v1-" + "0123456789abcdef" * 4,
    "work/anthropic-admin": "sk-ant-admin01-" + "demo" * 12,
    "plan/minimax": "sk-cp-" + "demo" * 10,
}
PROVIDERS = ("deepseek", "openrouter", "anthropic", "minimax")
# (days ago, DeepSeek CNY, OpenRouter key limit left, MiniMax 5h window % left, story)
DAYS = (
    (6, "110.00", 18.0, "91", "A week ago: the first sync."),
    (4, "92.50", 15.2, "64", "Two days of agent runs later:"),
    (
        2,
        "130.00",
        13.9,
        "88",
        "A DeepSeek top-up (keyz keeps top-ups out of the burn rate):",
    ),
    (0, "41.20", 9.8, "7", "Today, after a heavy run:"),
)

Say = Callable[[str], None]


def run_demo(*, keep: bool = False, say: Say = print) -> int:
    for tool in ("gpg", "git"):
        if shutil.which(tool) is None:
            say(f"keyz demo needs {tool} on PATH (e.g. apt install gnupg git)")
            return 2
    root = Path(tempfile.mkdtemp(prefix="keyz-demo-"))
    gnupghome, store, home = root / "gnupg", root / "store", root / "home"
    home.mkdir()
    simulator = Simulator().start()
    env = sandbox_env(home, gnupghome, store, {**simulator.env(*PROVIDERS), **IDENTITY})
    env.update(fake_crontab(root / "bin", root / "crontab", env.get("PATH", "/usr/bin:/bin")))
    failures = 0

    def keyz(*args: str, when: str | None = None, expect: int = 0) -> None:
        nonlocal failures
        say(f"$ keyz {shlex.join(args)}")
        step = dict(env)
        if when:  # pretend it is that day, for keyz and for git's commit dates
            step.update(KEYZ_NOW=when, GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
        done = subprocess.run(
            [sys.executable, "-m", "keyz", *args],
            env=step,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        for stream in (done.stdout, done.stderr):
            if stream.strip():
                say(stream.rstrip())
        say("")
        failures += done.returncode != expect

    try:
        say(f"Sandbox in {root}: a throwaway gpg key, a pass store in git, a local provider")
        say("simulator and a fake crontab. Nothing here touches your own store, keys or crontab.\n")
        fingerprint = make_gnupghome(gnupghome)
        make_store(store, env, fingerprint, {name: f"{key}\n" for name, key in KEYS.items()})
        say("The store holds four API keys, encrypted like any pass entry:")
        listing = subprocess.run(
            ["pass", "ls"] if shutil.which("pass") else ["find", str(store), "-name", "*.gpg"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        say(listing.stdout)
        keyz("init")
        say("Which entries are provider keys? By path, then by the key's documented prefix:")
        keyz("discover", "--decrypt", "--apply")

        today = utc_now()
        for days_ago, cny, key_left, minimax_left, story in DAYS:
            simulator.now = today - timedelta(days=days_ago)  # the accounts live that day too
            simulator.deepseek(KEYS["api/deepseek"], [("CNY", cny, "0.00", cny)])
            simulator.openrouter(
                KEYS["api/openrouter"],
                management=False,
                limit=20,
                limit_remaining=key_left,
                usage=round(20 - key_left, 2),
            )
            simulator.anthropic(KEYS["work/anthropic-admin"], ["412.50", "1380", "977.25"])
            simulator.minimax(KEYS["plan/minimax"], interval_percent=minimax_left)
            say(story)
            when = format_time(today - timedelta(days=days_ago)) if days_ago else None
            keyz("sync", "--commit", when=when)

        say("Nothing changed since? Then no file is written and nothing is committed:")
        keyz("sync", "--commit")
        say("`keyz status` reads the files only: no network, no gpg.")
        keyz("status")
        say("How fast is DeepSeek money going, and when does it run out?")
        keyz("history", "api/deepseek")
        say("Every entry's history: balances, key limits, spend and quota windows:")
        keyz("history")
        say("`keyz check` is what cron runs: silent when all is well, one line per problem:")
        keyz("check", "--below", "50 CNY", "--below-percent", "10", "--max-age", "1d", expect=1)
        say("Schedule it (here into the sandbox's fake crontab):")
        keyz("cron", "install", "--commit", "--check")
        say("The ledger is plain git; anyone can read it without keyz:")
        say("$ git log -p -2 -- .keyz/entries/api/deepseek.json")
        log = subprocess.run(
            [
                "git",
                "-C",
                str(store),
                "--no-pager",
                "log",
                "--no-textconv",
                "-p",
                "-2",
                "--format=%h %ad %s",
                "--date=short",
                "--",
                ".keyz/entries/api/deepseek.json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        say(log.stdout)
        if keep:
            say(
                "Kept the sandbox. To explore it (the simulator has stopped, so sync cannot connect):"
            )
            say(f"  export HOME={home} GNUPGHOME={gnupghome} PASSWORD_STORE_DIR={store}")
            say(
                '  keyz status; keyz history api/deepseek; git -C "$PASSWORD_STORE_DIR" log -- .keyz'
            )
        return 0 if failures == 0 else 1
    finally:
        simulator.stop()
        stop_agent(gnupghome)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
            say(
                "Removed the sandbox. On your own store: keyz init, keyz discover, keyz sync --commit."
            )


__all__ = ["run_demo"]
