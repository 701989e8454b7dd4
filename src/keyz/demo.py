"""``keyz demo``: the whole flow, offline, on a sandbox it creates and removes.

A throwaway gpg key, a pass store in git, and the loopback simulator. Every
keyz step runs as its own process with the sandbox's environment, exactly as a
user would type it; the user's own store and gpg home are never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from keyz.sandbox import make_gnupghome, make_store, sandbox_env, stop_agent
from keyz.simulator import Simulator

# Fake keys of the providers' shapes; they only ever reach the local simulator.
DEEPSEEK_KEY = "sk-demo0000deepseek0000000000000000"
OPENROUTER_KEY = "sk-or-v1-" + "0123456789abcdef" * 4

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
    env = sandbox_env(home, gnupghome, store, simulator.env("deepseek", "openrouter"))
    try:
        say(
            f"Sandbox in {root}: a throwaway gpg key, a pass store in git, and a local provider simulator.\n"
        )
        fingerprint = make_gnupghome(gnupghome)
        make_store(
            store,
            env,
            fingerprint,
            {
                "api/deepseek": f"{DEEPSEEK_KEY}\n",
                "api/openrouter": f"{OPENROUTER_KEY}\nnote: an ordinary key\n",
            },
        )
        simulator.deepseek(
            DEEPSEEK_KEY, [("CNY", "110.00", "10.00", "100.00"), ("USD", "5.25", "0.00", "5.25")]
        )
        simulator.openrouter(
            OPENROUTER_KEY, management=False, limit=20, limit_remaining=12.5, usage=7.5
        )

        def keyz(*args: str) -> int:
            say(f"$ keyz {' '.join(args)}")
            done = subprocess.run(
                [sys.executable, "-m", "keyz", *args],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            for stream in (done.stdout, done.stderr):
                if stream.strip():
                    say(stream.rstrip())
            say("")
            return done.returncode

        say("The store holds two API keys, encrypted like any pass entry:")
        say(
            subprocess.run(
                ["pass", "ls"], env=env, capture_output=True, text=True, check=False
            ).stdout
            if shutil.which("pass")
            else "api/deepseek\napi/openrouter\n"
        )
        failures = 0
        failures += keyz("init")
        failures += keyz("track", "api/deepseek", "--provider", "deepseek")
        failures += keyz("track", "api/openrouter", "--provider", "openrouter")
        say(
            "First sync: keyz decrypts each key, asks its provider, writes .keyz/entries/*.json and commits them."
        )
        failures += keyz("sync", "--commit")
        say("A day of work later, some credit is spent. Sync again:")
        simulator.deepseek(
            DEEPSEEK_KEY, [("CNY", "96.40", "0.00", "96.40"), ("USD", "5.25", "0.00", "5.25")]
        )
        simulator.openrouter(
            OPENROUTER_KEY, management=False, limit=20, limit_remaining=9.8, usage=10.2
        )
        failures += keyz("sync", "--commit")
        say("Nothing changed since? Then nothing is written and nothing is committed:")
        failures += keyz("sync", "--commit")
        say("`keyz status` reads the sidecars only: no network, no gpg.")
        failures += keyz("status")
        say("The ledger is plain git; anyone can read it without keyz:")
        say("$ git log -p -- .keyz/entries/api/deepseek.json")
        log = subprocess.run(
            [
                "git",
                "-C",
                str(store),
                "--no-pager",
                "log",
                "--no-textconv",
                "-p",
                "--format=%h %s",
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
            say("Kept the sandbox. To explore it:")
            say(f"  export HOME={home} GNUPGHOME={gnupghome} PASSWORD_STORE_DIR={store}")
            say("  keyz status   # (the simulator has stopped: sync will fail to connect)")
        return 0 if failures == 0 else 1
    finally:
        simulator.stop()
        stop_agent(gnupghome)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
            say("Removed the sandbox. Try it on your own store: keyz init, then keyz track.")


__all__ = ["run_demo"]
