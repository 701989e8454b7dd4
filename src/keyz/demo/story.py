"""``keyz demo``: the whole flow, offline, on a sandbox it creates and removes.

``keyz demo --serve`` runs only the simulator, with a demo account for every provider,
for trying keyz on one's own store (a copy of it) without a network or real accounts.

A throwaway gpg key, a pass store in git, the loopback simulator, and a fake
``crontab`` that writes into the sandbox. Every keyz step runs as its own process
with the sandbox's environment, exactly as a user would type it; the user's own
store, gpg home and crontab are never touched. ``KEYZ_NOW`` lets a minute of demo
show a week of ledger.
"""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from keyz.demo.sandbox import (
    IDENTITY,
    fake_crontab,
    make_gnupghome,
    make_store,
    sandbox_env,
    stop_agent,
)
from keyz.demo.simulator import Simulator
from keyz.errors import start_deaf_to_ctrl_c
from keyz.fields import format_time, utc_now
from keyz.providers import all_providers

# Fake keys of the providers' shapes, one demo account each (each module's ``demo_key``);
# they only ever reach the simulator.
DEMO_KEYS = {provider.id: provider.demo_key for provider in all_providers()}
KEYS = {  # the demo's store
    "api/deepseek": DEMO_KEYS["deepseek"],
    "api/openrouter": DEMO_KEYS["openrouter"],
    "work/anthropic-admin": DEMO_KEYS["anthropic"],
    "plan/minimax": DEMO_KEYS["minimax"],
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


def open_accounts(
    simulator: Simulator, *, cny: str = "41.20", key_left: float = 9.8, minimax_left: str = "7"
) -> None:
    """Every provider's demo account (its module's examples, at its demo key); the story's three
    with their figures of one day of it (default: its last)."""
    story: dict[str, dict[str, Any]] = {
        "deepseek": {"balances": [("CNY", cny, "0.00", cny)]},
        "openrouter": {
            "management": False,
            "limit": 20,
            "limit_remaining": key_left,
            "usage": round(20 - key_left, 2),
        },
        "minimax": {"interval_percent": minimax_left},
    }
    for provider_id, key in DEMO_KEYS.items():
        simulator.account(provider_id, key, **story.get(provider_id, {}))


class Receiver:
    """A webhook on 127.0.0.1 that keeps what apprise's json:// posts to it (the demo's phone)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                try:
                    received.append(json.loads(self.rfile.read(length)))
                except ValueError:
                    received.append({"message": "(not JSON)"})
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/keyz"
        start_deaf_to_ctrl_c(threading.Thread(target=self.server.serve_forever, daemon=True))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_demo(*, keep: bool = False, say: Say = print) -> int:
    for tool in ("gpg", "git"):
        if shutil.which(tool) is None:
            say(f"keyz demo needs {tool} on PATH (e.g. apt install gnupg git)")
            return 2
    kills = _Kills()  # held until the sandbox exists: then acted on, inside the try
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
        kills.release()
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
            open_accounts(simulator, cny=cny, key_left=key_left, minimax_left=minimax_left)
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
        notify_demo(store, keyz, say)
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
                '  keyz ui; keyz status; keyz history api/deepseek; git -C "$PASSWORD_STORE_DIR" log -- .keyz'
            )
        return 0 if failures == 0 else 1
    finally:
        kills.hold()  # a kill now waits for the cleanup, then ends the demo
        simulator.stop()
        stop_agent(gnupghome)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
            say(
                "Removed the sandbox. On your own store: keyz init, keyz discover, keyz sync --commit."
            )
        if kills.restore():
            raise KeyboardInterrupt  # one held during the cleanup


class _Kills:
    """SIGTERM and SIGHUP (a closed terminal) during the demo end it as Ctrl-C does, so that
    its sandbox (a gpg-agent, a temporary store, the simulator's CA) is removed: Python's
    default would leave them. One that comes while the sandbox is being made or removed is
    held, and acted on once that is done. A signal ignored when keyz started (``nohup``)
    stays ignored."""

    def __init__(self) -> None:
        self.held, self.pending = True, False
        self.previous: dict[int, Any] = {}
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self.previous[sig] = signal.signal(sig, self._on)

    def _on(self, signum: int, frame: object) -> None:
        if not self.held:
            raise KeyboardInterrupt
        self.pending = True

    def release(self) -> None:
        """From now on a kill interrupts at once; one held meanwhile, now."""
        self.held = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def hold(self) -> None:
        self.held = True

    def restore(self) -> bool:
        """The handlers keyz had before; whether a kill came while held."""
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return self.pending


def notify_demo(store: Path, keyz: Callable[..., None], say: Say) -> None:
    """`check --notify` to a webhook on this machine; print what arrived there."""
    receiver = Receiver()
    try:
        config = store / ".keyz" / "config.toml"
        text = config.read_text().replace(
            "[defaults]\n", '[defaults]\nalert_below = "50 CNY"\nalert_below_percent = 10\n', 1
        )
        config.write_text(text + f'\n[notify]\ndestinations = ["{receiver.url}"]\n')
        say("Alerts can reach you by ntfy, email, Slack, ... (Apprise URLs kept in pass).")
        say(
            "Here a local webhook stands in for your phone, and config.toml holds the thresholds"
            f' a destination hears of:\n  [defaults] alert_below = "50 CNY", '
            f'alert_below_percent = 10\n  [notify] destinations = ["{receiver.url}"]'
        )
        keyz("check", "--notify", expect=1)
        for message in receiver.received:
            say(f"The webhook received: {message.get('title')!s}")
            for line in str(message.get("message", "")).splitlines():
                say(f"  | {line}")
        if not receiver.received:
            say("The webhook received nothing.")
        say("")
    finally:
        receiver.stop()


def serve(*, say: Say = print, refresh: float = 60.0) -> int:
    """The https simulator with every provider's demo account, until Ctrl-C (or SIGTERM).

    Prints the lines to paste into another shell. Any key gets its provider's demo account,
    so a copy of one's own store syncs as it is. Reset times are kept current by opening the
    accounts again every ``refresh`` seconds.
    """
    simulator = Simulator()
    simulator.any_key, simulator.record = True, False
    open_accounts(simulator)
    kills = _Kills()  # held throughout: a kill, even while it starts or stops, ends the loop
    try:
        simulator.start()
        say(f"# keyz demo server: every provider's API, offline, on {simulator.url}")
        say("# In another shell, paste these lines (SSL_CERT_FILE replaces the system's trust in")
        say("# that shell, so use it for keyz only):")
        hosted = [p.id for p in all_providers() if not p.host_from_entry]
        for name, value in sorted(simulator.env(*hosted).items()):
            say(f"export {name}={shlex.quote(value)}")
        for relay in (p.id for p in all_providers() if p.host_from_entry):
            say(
                f"# {relay}: its host is the entry's own line: base_url: {simulator.base_url(relay)}"
            )
        say("# then try keyz on a copy of your store, so demo figures never reach your ledger:")
        say('#   cp -a "${PASSWORD_STORE_DIR:-$HOME/.password-store}" /tmp/keyz-try')
        say("#   export PASSWORD_STORE_DIR=/tmp/keyz-try")
        say("#   keyz init; keyz discover --decrypt --apply; keyz sync; keyz status")
        say("# Every key gets its provider's demo account; keys never leave this machine.")
        say("# Serving until Ctrl-C.")
        try:
            due = time.monotonic() + refresh
            while not kills.pending:
                time.sleep(0.25)  # short waits: a kill is acted on soon (a Ctrl-C at once)
                if time.monotonic() >= due:
                    open_accounts(simulator)  # quota windows and reset times move with the clock
                    due += refresh
        except KeyboardInterrupt:
            pass
        say("# Stopped.")
        return 0
    finally:
        simulator.stop()
        kills.restore()


__all__ = ["DEMO_KEYS", "open_accounts", "run_demo", "serve"]
