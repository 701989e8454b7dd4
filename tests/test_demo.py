"""`keyz demo`: the whole story once (a module fixture), its sandbox, and `--serve`."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from .conftest import CANARY, KEYZ, MakeStore, clean_env

pytestmark = pytest.mark.cli


@dataclass(frozen=True)
class DemoRun:
    home: Path  # HOME of the run: its .password-store must never appear
    root: Path  # the kept sandbox
    done: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """One whole `keyz demo --keep` for the module (seconds of gpg and git): every assertion
    about the story reads its output; --keep only adds the lines at the end, and cleaning up
    without --keep is tested on an interrupted run."""
    home = tmp_path_factory.mktemp("demo") / "home"
    home.mkdir()
    done = subprocess.run(
        [KEYZ, "demo", "--keep"],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    sandbox = re.search(r"Sandbox in (\S+):", done.stdout)
    assert sandbox is not None, done.stdout + done.stderr
    root = Path(sandbox.group(1))
    try:
        yield DemoRun(home, root, done)
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(root / "gnupg"), "--kill", "gpg-agent"], check=False
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.xdist_group("demo")  # one worker, one run of the fixture
def test_demo_runs_offline_and_tells_the_whole_story(demo: DemoRun) -> None:
    done = demo.done
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "$ keyz discover --decrypt --apply" in out and "Tracked 4:" in out
    assert "$ keyz sync --commit" in out
    assert re.search(r"api/deepseek +deepseek +CNY 110\.00", out)
    assert re.search(r"api/deepseek +deepseek +CNY 41\.20", out)
    assert "Nothing changed; no commit" in out
    assert "spent USD" in out and "interval (5h): 7% left" in out  # spend and quota kinds
    assert "top-ups: +37.50" in out and "runway" in out and "burn" in out  # history
    # a week of ledger is enough history: 106.30 spent in the 4 days without the top-up
    assert re.search(
        r"CNY 41\.20 · burn 26\.5[78]/day \(7d\) · 26\.5[78]/day \(30d\) · runway 1\.6 days, "
        r"runs out around \d{4}-\d\d-\d\d · top-ups: \+37\.50 on ",
        out,
    )
    # every entry has history, whatever kind of figure it has
    assert re.search(
        r"api/openrouter +openrouter +key limit USD 9\.80 · burn 1\.37/day \(7d\).* runway 7\.2 "
        r"days.*; spent USD 10\.20 today · 10\.20 this week · 10\.20 this month",
        out,
    )
    assert re.search(
        r"plan/minimax +minimax +interval \(5h\): 7% left; weekly \(7d\): 97% left", out
    )
    assert re.search(r"work/anthropic-admin +anthropic +spent USD 27\.6975 this month", out)
    assert "no balance" not in out and "not enough history" not in out
    assert "keyz: api/deepseek: CNY 41.20 left, below 50 CNY" in out  # check catches it
    assert "keyz: plan/minimax: interval (5h) 7% left, below 10%" in out
    assert "The webhook received: keyz: 2 alerts" in out  # check --notify reached a receiver
    assert "  | ALERT api/deepseek: CNY 41.20 left, below 50 CNY" in out
    assert "# keyz: scheduled run for the store" in out  # what cron install writes
    assert '-      "remaining": "130.00",' in out and '+      "remaining": "41.20",' in out
    for key in ("sk-demo0000deepseek", "sk-ant-admin01-demo", "sk-cp-demo"):
        assert key not in out + done.stderr
    assert not (demo.home / ".password-store").exists(), "the user's store is never touched"


@pytest.mark.xdist_group("demo")
def test_demo_keep_leaves_the_sandbox_and_says_how_to_use_it(demo: DemoRun) -> None:
    assert demo.done.returncode == 0
    assert (demo.root / "store" / ".keyz" / "entries" / "api" / "deepseek.json").exists()
    assert f"PASSWORD_STORE_DIR={demo.root / 'store'}" in demo.done.stdout
    assert "Removed the sandbox" not in demo.done.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])  # SIGHUP: as SIGTERM (below)
def test_demo_without_keep_removes_its_sandbox_even_when_interrupted(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """The sandbox goes in a finally: a Ctrl-C, a kill or a closed terminal in the middle of
    the story still removes it, and stops its gpg-agent."""
    demo = subprocess.Popen(
        [KEYZ, "demo"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each line as it is said
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert demo.stdout is not None
    lines: list[str] = []
    while not lines or lines[-1] != "$ keyz init":  # the key and the store are made by now
        line = first_line(demo.stdout, timeout=60)
        assert line is not None, lines
        lines.append(line)
    demo.send_signal(sig)
    out, err = demo.communicate(timeout=60)
    sandbox = re.search(r"Sandbox in (\S+):", lines[0])
    assert sandbox is not None
    assert demo.returncode == 130, err
    assert "Removed the sandbox" in out and "Traceback" not in err
    assert not Path(sandbox.group(1)).exists()
    assert not running_in(sandbox.group(1)), "the sandbox's gpg-agent is stopped"
    assert not (tmp_path / "home" / ".password-store").exists(), "the user's store is never touched"


def test_a_kill_while_the_sandbox_is_made_or_removed_waits_for_it_and_nohup_is_kept() -> None:
    """The demo's signal handling, with real signals to this process."""
    from keyz.demo.story import _Kills

    before = signal.getsignal(signal.SIGTERM)
    hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        kills = _Kills()  # held: the sandbox is being made
        assert signal.SIGHUP not in kills.previous
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # still here: held
        with pytest.raises(KeyboardInterrupt):
            kills.release()  # ... and acted on once the sandbox exists
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)  # interrupted at once
        kills.hold()  # the cleanup
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert kills.restore()  # after the cleanup, the demo raises it
        assert signal.getsignal(signal.SIGTERM) == before
    finally:
        signal.signal(signal.SIGTERM, before)
        signal.signal(signal.SIGHUP, hup)


def running_in(path: str) -> list[str]:
    """The command lines of this machine's processes that name ``path``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        if any(path.encode() in word for word in words):
            found.append(" ".join(w.decode(errors="replace") for w in words))
    return found


def first_line(stream: IO[str], timeout: float) -> str | None:
    """The next line of ``stream``, or None when none comes within ``timeout`` seconds."""
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0].rstrip("\n") if found and found[0] else None


def test_demo_serve_lets_a_store_of_ones_own_sync_offline(make_sandbox: MakeStore) -> None:
    """keyz demo --serve: paste its lines, sync a store whose keys no demo account knows."""
    server = subprocess.Popen(
        [KEYZ, "demo", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "# Serving until Ctrl-C.":
            line = first_line(server.stdout, timeout=30)
            assert line is not None, lines  # it said all it has to say within 30 s
            lines.append(line)
        exports = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        from keyz.providers import all_providers

        hosted = [p.id for p in all_providers() if not p.host_from_entry]
        wanted = {f"KEYZ_{p.upper()}_BASE_URL" for p in hosted} | {"SSL_CERT_FILE"}
        assert set(exports) == wanted
        # a relay's host is the entry's own line: no variable could set it, so none is printed
        assert any(line.startswith("# oneapi: ") and "base_url: https://" in line for line in lines)
        assert all(url.startswith("https://127.0.0.1:") for k, url in exports.items() if "URL" in k)
        sandbox = make_sandbox(
            {
                "api/deepseek": f"{CANARY}\n",  # one's own key: no demo account has it
                "api/kimi": "sk-my-own-kimi-key-000000000000\nregion: cn\n",
                "plan/glm": "my-own-glm-key.0000000000\n",
            }
        )
        sandbox.env.update(exports)
        assert sandbox.keyz("init").returncode == 0
        for entry, provider in (
            ("api/deepseek", "deepseek"),
            ("api/kimi", "moonshot"),
            ("plan/glm", "zai"),
        ):
            assert sandbox.keyz("track", entry, "-p", provider).returncode == 0
        synced = sandbox.keyz("sync")
        assert synced.returncode == 0, synced.stderr
        assert "api/deepseek  deepseek  CNY 41.20" in synced.stdout  # the demo's figures
        assert "api/kimi      moonshot  CNY 49.58894" in synced.stdout  # region cn: CNY
        assert "tokens (5h): 72%* left" in synced.stdout
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode in (0, 130), err
    assert "Traceback" not in err and CANARY not in out + err
    assert "# Stopped." in out
    assert not Path(exports["SSL_CERT_FILE"]).exists()  # the throwaway CA went with it


def test_demo_serve_and_keep_do_not_go_together() -> None:
    done = subprocess.run(
        [KEYZ, "demo", "--serve", "--keep"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "choose one" in done.stderr
