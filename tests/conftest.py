"""Shared fixtures: real gpg, real pass, real git, and the loopback simulator.

Every test runs with a clean environment (as pass's tests/setup.sh does): no
PASSWORD_STORE_*, GIT_*, GNUPG* or KEYZ_* from the outside, HOME in a temp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keyz.config import EntryConfig, init_keyz_dir, set_entry
from keyz.demo.sandbox import make_gnupghome, make_store, sandbox_env, stop_agent
from keyz.demo.simulator import Answer, Simulator
from keyz.redact import REDACTOR

from .forkserver import run_keyz

# A canary secret: searched for in every output a test can see. Shaped like a DeepSeek key.
CANARY = "sk-canary7e3f9a1c5b2d4e6f80a1b2c3d4e5f6"
OPENROUTER_KEY = "sk-or-v1-" + "c0ffee00" * 8
KEYZ = str(Path(sys.executable).with_name("keyz"))
# A provider failing for good: three 500s (the first try and both retries), each saying
# Retry-After: 0, so keyz retries at once instead of backing off for ~1.5 s. test_http.py
# checks the waits themselves; test_faults.py's "500" waits for the real backoff.
SERVER_ERROR = (Answer(500, headers={"Retry-After": "0"}),) * 3

needs_pass = pytest.mark.skipif(
    shutil.which("pass") is None, reason="pass is not installed (CI installs it)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test on a real store ``cli``; leave the benchmark smoke out off CI.

    A test whose fixtures reach ``gpg_key`` (``make_sandbox``, ``two_keys``, ...) runs real
    gpg, pass and git, and usually keyz as a subprocess: ``-m "not cli"`` is the fast subset.
    ``bench`` tests run where ``CI`` or ``KEYZ_BENCH_SMOKE=1`` is set, or when ``-m`` names them.
    """
    for item in items:
        if "gpg_key" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cli)
    ci = os.environ.get("CI", "").lower() not in ("", "0", "false")
    if ci or os.environ.get("KEYZ_BENCH_SMOKE") == "1" or "bench" in config.option.markexpr:
        return
    bench = [item for item in items if item.get_closest_marker("bench")]
    if bench:
        config.hook.pytest_deselected(items=bench)
        items[:] = [item for item in items if not item.get_closest_marker("bench")]


OUTSIDE = ("PASSWORD_STORE_", "GIT_", "GNUPG", "GPG_", "KEYZ_")  # never taken from the caller


def clean_env(home: Path) -> dict[str, str]:
    """The process environment as :func:`clean_environment` leaves it, for module fixtures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE)}
    return {**env, "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(OUTSIDE):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    REDACTOR.clear()


@dataclass(frozen=True)
class GpgKey:
    home: Path
    fingerprint: str


@pytest.fixture(scope="session")
def gpg_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgKey]:
    """One throwaway, passphrase-less key for the whole session (key generation is the slow part)."""
    home = tmp_path_factory.mktemp("gnupg")
    key = GpgKey(home, make_gnupghome(home))
    yield key
    stop_agent(home)


@dataclass
class Sandbox:
    root: Path
    store: Path
    env: dict[str, str]
    key: GpgKey

    def keyz(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run keyz as a subprocess, as a user would (forked from a server that has
        imported keyz already: see tests/forkserver.py)."""
        return run_keyz([KEYZ, *args], env={**self.env, **(env or {})}, cwd=cwd, timeout=timeout)

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.store), "--no-pager", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout


MakeStore = Callable[..., Sandbox]


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[object, Path]:
    return {}


@pytest.fixture
def make_sandbox(
    tmp_path: Path,
    gpg_key: GpgKey,
    monkeypatch: pytest.MonkeyPatch,
    store_templates: dict[object, Path],
) -> MakeStore:
    """Build a pass store holding ``entries`` (name -> text); the test process points at it too.

    Each distinct store is made once per session by pass (or gpg) and git, then copied: a
    store is plain files, and copying it is what pass users do when they clone theirs.
    """

    def build(
        entries: dict[str, str], *, use_pass: bool | None = None, git: bool = True
    ) -> Sandbox:
        store = tmp_path / "store"
        env = sandbox_env(Path(os.environ["HOME"]), gpg_key.home, store)
        key = (tuple(sorted(entries.items())), use_pass, git)
        template = store_templates.get(key)
        if template is None:
            template = Path(tempfile.mkdtemp(dir=gpg_key.home.parent)) / "store"
            make_store(
                template,
                {**env, "PASSWORD_STORE_DIR": str(template)},
                gpg_key.fingerprint,
                entries,
                use_pass=use_pass,
                git=git,
            )
            store_templates[key] = template
        shutil.copytree(template, store, symlinks=True)
        for name in ("GNUPGHOME", "PASSWORD_STORE_DIR"):
            monkeypatch.setenv(name, env[name])
        return Sandbox(tmp_path, store, env, gpg_key)

    return build


_stopping: list[threading.Thread] = []


@pytest.fixture(scope="session", autouse=True)
def simulators_stopped() -> Iterator[None]:
    """Every simulator a test started has stopped before the session ends."""
    yield
    for stopper in _stopping:
        stopper.join()


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    sim = Simulator().start()
    for name, value in sim.env("deepseek", "openrouter").items():
        monkeypatch.setenv(name, value)
    yield sim
    # shutdown() waits for the server's next poll (up to 50 ms); the next test need not
    stopper = threading.Thread(target=sim.stop, name="simulator-stop", daemon=True)
    stopper.start()
    _stopping.append(stopper)


@pytest.fixture
def two_keys(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """The user story's store: a DeepSeek key (the canary) and an ordinary OpenRouter key, tracked."""
    sandbox = make_sandbox(
        {"api/deepseek": f"{CANARY}\n", "api/openrouter": f"{OPENROUTER_KEY}\nuser: me\n"}
    )
    sandbox.env.update(simulator.env("deepseek", "openrouter"))
    simulator.deepseek(
        CANARY, [("CNY", "110.00", "10.00", "100.00"), ("USD", "5.25", "0.00", "5.25")]
    )
    simulator.openrouter(
        OPENROUTER_KEY, management=False, limit=20, limit_remaining=12.5, usage=7.5
    )
    keyz_dir = sandbox.store / ".keyz"
    init_keyz_dir(keyz_dir)  # `keyz init` and `keyz track` themselves are tested in test_cli.py
    set_entry(keyz_dir, EntryConfig("api/deepseek", "deepseek"))
    set_entry(keyz_dir, EntryConfig("api/openrouter", "openrouter"))
    return sandbox


def files_text(root: Path, *, skip_gpg: bool = True) -> str:
    """Every file under ``root`` as text (gpg files skipped), for canary searches."""
    parts = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not (skip_gpg and path.suffix == ".gpg"):
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def git_everything(sandbox: Sandbox) -> str:
    """Every commit (message, author, patch; no textconv, so no gpg runs) and every object's
    raw content, for canary searches."""
    log = sandbox.git("log", "-p", "--all", "--no-textconv")
    objects = subprocess.run(
        ["git", "-C", str(sandbox.store), "cat-file", "--batch-all-objects", "--batch"],
        env=sandbox.env,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "replace")
    return log + objects


def leaked(text: str, keys: Iterable[str]) -> list[str]:
    """Every 8-character piece of a key found in ``text``, in any letter case.

    A piece wholly inside the key's documented prefix ('sk-or-v1-') is public, not a leak:
    a provider's masked label ('sk-or-v1-0e6...1c96') starts with it.
    """
    folded = text.casefold()
    return [
        key[i : i + 8]
        for key in keys
        for i in range(len(key) - 7)
        if i + 8 > _public_prefix(key) and key[i : i + 8].casefold() in folded
    ]


def _public_prefix(key: str) -> int:
    from keyz.providers import all_providers

    documented = [p.text for one in all_providers() for p in one.key_prefixes]
    return max((len(text) for text in documented if key.startswith(text)), default=0)
