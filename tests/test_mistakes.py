"""Mistakes a CLI must not allow (issue 15): each is refused with one clear line, or done right."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

import pytest

from keyz.demo.simulator import Answer, Simulator

from .conftest import CANARY, KEYZ, OPENROUTER_KEY, MakeStore, Sandbox

pytestmark = pytest.mark.cli


@pytest.mark.parametrize(
    "args",
    [
        ("sync", "--no-git", "--commit"),
        ("sync", "--commit", "--stage"),
        ("sync", "--stage", "--no-git"),
        ("sync", "--json", "--quiet"),
        ("check", "--sync", "--commit", "--stage"),
        ("status", "--json", "--format", "short"),
        ("history", "api/deepseek", "--json", "--csv"),
        ("migrate", "--check", "--commit"),
        ("cron", "show", "--every", "1h", "--at", "06:00"),
        ("trust", "deepseek", "--remove", "--yes"),
    ],
)
def test_contradictory_flags_exit_2_naming_both(two_keys: Sandbox, args: tuple[str, ...]) -> None:
    done = two_keys.keyz(*args)
    flags = [a for a in args if a.startswith("--") and a != "--sync"]
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "choose one of" in done.stderr and all(f" {flag}" in done.stderr for flag in flags)
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (two_keys.store / ".keyz" / "entries" / "api").exists(), "nothing was synced"


GMAIL = "correct horse battery staple"
TRACKABLE = {
    "api/deepseek": f"{CANARY}\n",
    "api/openrouter": f"{OPENROUTER_KEY}\n",
    "api/bound": f"{CANARY}\nprovider: deepseek\n",
    "email/gmail": f"{GMAIL}\nlogin: me@example.com\n",
    "web/forum": "hunter2\n",
    "web/bank": "Tr0ub4dor&3-Horse!Battery\n",
    "deepseek/login": f"{GMAIL}\n",  # the path says deepseek; the first line is a passphrase
    "work/claude": "sk-ant-api03-" + "ef" * 20 + "\n",
}
SECRETS = [GMAIL, CANARY, OPENROUTER_KEY, "hunter2", "Tr0ub4dor&3-Horse!Battery"]


@pytest.fixture
def trackable(make_sandbox: MakeStore) -> Sandbox:
    sandbox = make_sandbox(TRACKABLE)
    assert sandbox.keyz("init").returncode == 0
    return sandbox


def tracked(sandbox: Sandbox) -> dict[str, str]:
    """What config.toml tracks: entry -> provider."""
    from keyz.config import load_config

    entries = load_config(sandbox.store / ".keyz").entries
    return {name: entry.provider for name, entry in entries.items()}


def told(done: subprocess.CompletedProcess[str]) -> str:
    """stderr, once it is known to be one line, without a trace, without any secret."""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr
    return done.stderr


@pytest.mark.parametrize("entry", ["email/gmail", "web/forum", "web/bank"])
def test_track_refuses_what_is_not_an_api_key_unless_forced(trackable: Sandbox, entry: str) -> None:
    done = trackable.keyz("track", entry, "-p", "deepseek")
    assert done.returncode == 2
    assert f"{entry}: the first line does not look like an API key" in told(done)
    assert "--force" in done.stderr and entry not in tracked(trackable)
    forced = trackable.keyz("track", entry, "-p", "deepseek", "--force")
    assert forced.returncode == 0, forced.stderr
    assert tracked(trackable) == {entry: "deepseek"}
    assert not any(secret in forced.stderr + forced.stdout for secret in SECRETS)


def test_track_refuses_a_key_that_names_another_provider_even_forced(trackable: Sandbox) -> None:
    for force in ((), ("--force",)):
        done = trackable.keyz("track", "api/openrouter", "-p", "deepseek", *force)
        assert done.returncode == 2
        assert "the key looks like an OpenRouter key, not a key for deepseek" in told(done)
        assert "keyz track api/openrouter -p openrouter" in done.stderr
        bound = trackable.keyz("track", "api/bound", "-p", "openrouter", *force)
        assert bound.returncode == 2
        assert "the pass entry's provider: line names another provider" in told(bound)
    assert tracked(trackable) == {}  # sync would refuse them too: nothing to force


def test_track_refuses_to_move_a_tracked_key_to_another_provider(trackable: Sandbox) -> None:
    assert trackable.keyz("track", "api/deepseek", "-p", "deepseek").returncode == 0
    moved = trackable.keyz("track", "api/deepseek", "-p", "openrouter")
    assert moved.returncode == 2
    assert "api/deepseek is tracked with deepseek" in told(moved) and "--force" in moved.stderr
    assert tracked(trackable) == {"api/deepseek": "deepseek"}
    again = trackable.keyz("track", "api/deepseek", "-p", "deepseek")
    assert again.returncode == 0 and "Already tracking" in again.stderr
    forced = trackable.keyz("track", "api/deepseek", "-p", "openrouter", "--force")
    assert forced.returncode == 0 and tracked(trackable) == {"api/deepseek": "openrouter"}


def test_track_warns_about_a_kind_of_key_the_provider_cannot_use(trackable: Sandbox) -> None:
    done = trackable.keyz("track", "work/claude", "-p", "anthropic")
    assert done.returncode == 0 and tracked(trackable) == {"work/claude": "anthropic"}
    assert "warning: the key looks like an Anthropic API key (not an admin key)" in done.stderr


def test_track_says_in_one_line_why_it_cannot_decrypt(trackable: Sandbox, tmp_path: Path) -> None:
    empty = tmp_path / "empty-gnupg"
    empty.mkdir(mode=0o700)
    done = trackable.keyz("track", "api/deepseek", "-p", "deepseek", env={"GNUPGHOME": str(empty)})
    assert done.returncode == 1
    message = told(done)
    assert message.startswith("keyz: cannot decrypt api/deepseek to check its key: ")
    assert "not tracked" in message and "api/deepseek" not in tracked(trackable)


def test_discover_apply_never_tracks_what_decrypt_found_is_not_a_key(trackable: Sandbox) -> None:
    done = trackable.keyz("discover", "--decrypt", "--apply", "--json")
    assert done.returncode == 0, done.stderr
    found = {c["entry"]: c for c in json.loads(done.stdout)["candidates"]}
    assert found["deepseek/login"]["confident"] is False
    assert "does not look like an API key" in found["deepseek/login"]["why"]
    assert "deepseek/login" not in tracked(trackable)
    assert tracked(trackable)["api/deepseek"] == "deepseek"  # a real key is still tracked
    assert not any(secret in done.stdout + done.stderr for secret in SECRETS)


def with_timeout(sandbox: Sandbox, seconds: int) -> None:
    path = sandbox.store / ".keyz" / "config.toml"
    path.write_text(path.read_text().replace("timeout = 30", f"timeout = {seconds}"))


DEEPSEEK_ANSWER = {
    "is_available": True,
    "balance_infos": [
        {
            "currency": "CNY",
            "total_balance": "7.00",
            "granted_balance": "0.00",
            "topped_up_balance": "7.00",
        }
    ],
}


def test_a_slow_provider_gets_the_whole_configured_timeout(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    # scaled down: a provider answering in 2 s with 3 s configured (the old fixed per-request
    # limit was 15 s; with it set to 1 s, this answer never arrived)
    with_timeout(two_keys, 3)
    simulator.fail(CANARY, Answer(200, DEEPSEEK_ANSWER, delay=2))
    done = two_keys.keyz("sync", "api/deepseek")
    assert done.returncode == 0, done.stderr
    assert "CNY 7.00" in done.stdout


def test_a_timeout_says_the_limit_and_how_to_raise_it(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    with_timeout(two_keys, 1)
    simulator.fail(CANARY, Answer(200, DEEPSEEK_ANSWER, delay=2))
    done = two_keys.keyz("sync", "api/deepseek")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("keyz: api/deepseek: no result within 1s")
    assert "raise [defaults] timeout in config.toml" in line


def test_ctrl_c_during_sync_exits_130_and_says_what_was_written(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    simulator.fail(CANARY, Answer(200, DEEPSEEK_ANSWER, delay=30))  # deepseek hangs
    written = two_keys.store / ".keyz" / "entries" / "api" / "openrouter.json"
    sync = subprocess.Popen(
        [KEYZ, "sync", "--commit"],
        env=two_keys.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not written.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert written.exists(), "openrouter answered at once"
        sync.send_signal(signal.SIGINT)
        out, err = sync.communicate(timeout=10)
    finally:
        sync.kill()
    assert sync.returncode == 130, err
    assert "Aborted!" not in err and "Traceback" not in err and CANARY not in out + err
    (line,) = err.splitlines()
    assert line.startswith("keyz: interrupted; wrote .keyz/entries/api/openrouter.json")
    assert "not committed" in line and "keyz sync --commit" in line
    assert not (two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json").exists()
    assert "keyz:" not in two_keys.git("log", "--format=%s")  # no commit of keyz's
    again = two_keys.keyz("sync", "--commit")  # picks up what the interrupted run wrote
    assert again.returncode == 0, again.stderr
    committed = two_keys.git("ls-files", ".keyz/entries").split()
    assert committed == [".keyz/entries/api/deepseek.json", ".keyz/entries/api/openrouter.json"]


@pytest.mark.parametrize(
    ("hook", "whole_group"),
    [("pre-commit", True), ("pre-commit", False), ("post-commit", True)],
    ids=["ctrl-c-in-pre-commit", "kill-int-keyz-alone", "ctrl-c-in-post-commit"],
)
def test_ctrl_c_while_git_commits_exits_at_once_and_says_what_git_did(
    two_keys: Sandbox, tmp_path: Path, hook: str, whole_group: bool
) -> None:
    """Ctrl-C on a terminal reaches keyz, git and the hook it runs; ``kill -INT`` keyz alone.
    GitPython's time limit on the commit (a timer thread keyz's exit waits for) was left
    running when the wait for git was interrupted: keyz said "interrupted" and then hung for
    GIT_TIMEOUT (120 s). Now git is stopped first (SIGINT, which lets it remove index.lock),
    and keyz says what git did: committed or not, and nothing of keyz's left staged."""
    started = tmp_path / "hook-started"
    script = two_keys.store / ".git" / "hooks" / hook
    script.write_text(f"#!/bin/sh\ntouch '{started}'\nsleep 30\n")
    script.chmod(0o755)
    head = two_keys.git("rev-parse", "HEAD")
    sync = subprocess.Popen(
        [KEYZ, "sync", "--commit"],
        env=two_keys.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the commit never ran its hook"
        if whole_group:
            os.killpg(sync.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
        else:
            sync.send_signal(signal.SIGINT)  # git and its hook hear nothing of it
        out, err = sync.communicate(timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sync.pid, signal.SIGKILL)  # the hook's sleep, when keyz alone was told
        sync.wait()
    assert sync.returncode == 130, (out, err)
    assert "Traceback" not in err and CANARY not in out + err
    (line,) = err.splitlines()
    assert not (two_keys.store / ".git" / "index.lock").exists()
    assert two_keys.git("diff", "--cached", "--name-only") == ""  # nothing of keyz's staged
    if hook == "post-commit":
        now = two_keys.git("rev-parse", "HEAD")
        assert now != head
        assert line.startswith(
            f"keyz: interrupted after git committed keyz's files (commit {now[:12]})"
        )
    else:
        assert line.startswith("keyz: interrupted; wrote .keyz/entries/api/"), line
        assert "not committed (the next 'keyz sync --commit' commits them)" in line
        time.sleep(0.5)  # a git left running would commit now
        assert two_keys.git("rev-parse", "HEAD") == head
    script.unlink()
    again = two_keys.keyz("sync", "--commit")  # picks up where the interrupted run stopped
    assert again.returncode == 0, again.stderr
    assert two_keys.git("status", "--porcelain", "--", ".keyz") == ""


def test_ctrl_c_on_a_terminal_leaves_no_false_progress(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    simulator.fail(CANARY, Answer(200, DEEPSEEK_ANSWER, delay=30))
    written = two_keys.store / ".keyz" / "entries" / "api" / "openrouter.json"
    controller, terminal = pty.openpty()  # stderr on a terminal: progress is shown
    sync = subprocess.Popen(
        [KEYZ, "sync"],
        env=two_keys.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    shown = b""
    try:
        deadline = time.monotonic() + 20
        while not written.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        sync.send_signal(signal.SIGINT)
        sync.wait(timeout=10)
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        sync.kill()
        os.close(controller)
    assert sync.returncode == 130
    text = shown.decode()
    assert "syncing 1/2" in text and "syncing 2/2" not in text  # deepseek never finished
    assert text.rstrip().endswith("keyz: interrupted; wrote .keyz/entries/api/openrouter.json")
    assert "\r\x1b[Kkeyz: interrupted" in text  # on a line of its own, the progress cleared


@pytest.mark.parametrize(
    ("signum", "nohup"),
    [(signal.SIGTERM, False), (signal.SIGHUP, False), (signal.SIGHUP, True)],
    ids=["kill", "terminal-closed", "nohup"],
)
def test_a_kill_to_keyz_ui_gives_the_terminal_back(
    two_keys: Sandbox, signum: signal.Signals, nohup: bool
) -> None:
    """Python's default for SIGTERM/SIGHUP left the terminal in the app's alternate screen,
    echo and line editing off (the shell then looks dead). Under nohup, SIGHUP stays ignored."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    before = termios.tcgetattr(terminal)
    ui = subprocess.Popen(
        [KEYZ, "ui"],
        env={**two_keys.env, "TERM": "xterm-256color"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,  # its own terminal, as a shell gives it
        preexec_fn=(lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)) if nohup else None,
    )
    shown = b""

    def read_for(seconds: float, until: bytes | None = None) -> None:
        nonlocal shown
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (until and until in shown):
            ready, _, _ = select.select([controller], [], [], 0.05)
            if ready:
                try:
                    shown += os.read(controller, 65536)
                except OSError:  # EIO: nothing holds the terminal any more
                    return

    try:
        read_for(30, until=b"2 tracked")  # the app is up and has read the store
        assert b"2 tracked" in shown, shown[-300:]
        ui.send_signal(signum)
        if nohup:
            read_for(1.5)
            assert ui.poll() is None, "an ignored SIGHUP ended keyz ui"
            os.write(controller, b"q")
        ui.wait(timeout=20)
        read_for(1)
        after = termios.tcgetattr(terminal)
    finally:
        ui.kill()
        os.close(controller)
        os.close(terminal)
    text = shown.decode("utf-8", "replace")
    assert text.count("\x1b[?1049h") == 1 and text.rfind("\x1b[?1049l") > text.find("\x1b[?1049h")
    assert after[3] & termios.ECHO and after[3] & termios.ICANON and after == before
    if nohup:
        assert ui.returncode == 0 and "interrupted" not in text
    else:
        assert ui.returncode == 130
        assert text.rstrip().endswith("keyz: interrupted")  # said on the terminal given back
        assert text.rfind("keyz: interrupted") > text.rfind("\x1b[?1049l")


def as_a_user(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """keyz without root's power to read any file (tests run as root): what a user meets."""
    command = [KEYZ, *args]
    if os.geteuid() == 0:
        drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
        probe = subprocess.run([*drop, "true"], capture_output=True, check=False)
        if probe.returncode != 0:
            pytest.skip("cannot drop root's file access here (setpriv)")
        command = [*drop, *command]
    return subprocess.run(
        command, env=sandbox.env, capture_output=True, text=True, check=False, timeout=60
    )


UNREADABLE_FIX = "check the owner and permissions of it and its folders (ls -ld)"


@pytest.mark.parametrize("args", [("status",), ("sync",), ("untrack", "api/deepseek"), ("init",)])
def test_an_unreadable_config_exits_2_with_the_path_and_the_fix(
    two_keys: Sandbox, args: tuple[str, ...]
) -> None:
    config = two_keys.store / ".keyz" / "config.toml"
    config.chmod(0)
    done = as_a_user(two_keys, *args)
    assert done.returncode == 2, done.stderr
    assert f"cannot read {config}: Permission denied; {UNREADABLE_FIX}" in told(done)


@pytest.mark.parametrize("args", [("status",), ("init",)])
def test_an_unreadable_keyz_folder_exits_2_with_the_path_and_the_fix(
    two_keys: Sandbox, args: tuple[str, ...]
) -> None:
    keyz_dir = two_keys.store / ".keyz"
    keyz_dir.chmod(0)
    try:
        done = as_a_user(two_keys, *args)
    finally:
        keyz_dir.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert "Permission denied" in told(done) and str(keyz_dir) in done.stderr
    assert UNREADABLE_FIX in done.stderr


@pytest.mark.parametrize(
    "args", [("status",), ("track", "api/deepseek", "-p", "deepseek"), ("init",)]
)
def test_a_config_that_is_a_directory_exits_2_with_the_path_and_the_fix(
    two_keys: Sandbox, args: tuple[str, ...]
) -> None:
    config = two_keys.store / ".keyz" / "config.toml"
    config.unlink()
    config.mkdir()
    done = two_keys.keyz(*args)
    assert done.returncode == 2, done.stderr
    assert (
        f"{config} is not a regular file" in told(done) and "put the real file there" in done.stderr
    )


@pytest.mark.parametrize("args", [("status",), ("init",)])
def test_a_keyz_that_is_a_file_exits_2_with_the_path_and_the_fix(
    make_sandbox: MakeStore, args: tuple[str, ...]
) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n"})
    (sandbox.store / ".keyz").write_text("")
    done = sandbox.keyz(*args)
    assert done.returncode == 2, done.stderr
    assert f"{sandbox.store / '.keyz'} is not a directory" in told(done)
    assert "move it away, then run 'keyz init'" in done.stderr


def test_init_outside_a_pass_store_says_how_to_make_one(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n"})
    (sandbox.store / ".gpg-id").unlink()
    done = sandbox.keyz("init")
    assert done.returncode == 2
    assert f"{sandbox.store} is not a pass store (it has no .gpg-id)" in told(done)
    assert "pass init <gpg-id>" in done.stderr and not (sandbox.store / ".keyz").exists()


def test_status_shows_only_the_entries_asked_for(two_keys: Sandbox) -> None:
    assert two_keys.keyz("sync").returncode == 0
    done = two_keys.keyz("status", "api/openrouter")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("api/openrouter") and "api/deepseek" not in done.stdout
    document = json.loads(two_keys.keyz("status", "api/deepseek", "--json").stdout)
    assert [row["entry"] for row in document["entries"]] == ["api/deepseek"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("email/gmail", "email/gmail is not tracked; keyz track email/gmail -p ID tracks it"),
        ("api/nothing", "api/nothing is neither tracked nor a pass entry"),
    ],
)
def test_status_of_an_untracked_entry_says_so(
    make_sandbox: MakeStore, entry: str, message: str
) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n", "email/gmail": f"{GMAIL}\n"})
    assert sandbox.keyz("init").returncode == 0
    assert sandbox.keyz("track", "api/deepseek", "-p", "deepseek").returncode == 0
    done = sandbox.keyz("status", "api/deepseek", entry)
    assert done.returncode == 2 and done.stdout == ""
    assert message in told(done)


def test_completion_offers_provider_ids(two_keys: Sandbox) -> None:
    def complete(words: str) -> list[str]:
        cword = len(words.split()) - (0 if words.endswith(" ") else 1)
        env = {"_KEYZ_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        return two_keys.keyz(env=env).stdout.split()

    assert complete("keyz track api/deepseek -p deeps") == ["plain,deepseek"]
    assert "plain,openrouter" in complete("keyz track api/openrouter --provider ")
    assert "plain,mistral" not in complete("keyz track api/x -p ")  # keyz cannot track it
    assert complete("keyz trust open") == ["plain,openai", "plain,openrouter"]


def test_keyz_helper_threads_leave_ctrl_c_to_the_main_thread() -> None:
    """The kernel hands a process's SIGINT to any thread not blocking it; Python acts on it in
    the main thread only, so a helper thread that took it left keyz asleep in a wait."""
    from keyz.errors import start_deaf_to_ctrl_c

    masks: list[set[int | signal.Signals]] = []

    def helper() -> None:
        masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        inner = threading.Thread(target=lambda: masks.append(signal.pthread_sigmask(0, [])))
        inner.start()  # a thread it starts inherits it (the simulator's request threads)
        inner.join()

    thread = threading.Thread(target=helper)
    start_deaf_to_ctrl_c(thread)
    thread.join()
    assert len(masks) == 2 and all(signal.SIGINT in mask for mask in masks)
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # main: unchanged


def _thousand_entries(two_keys: Sandbox) -> list[str]:
    """1,000 tracked deepseek entries (one ciphertext copied: the same key), each with a
    sidecar: reading them takes ~0.1 s, the window a Ctrl-C is tested in."""
    synced = two_keys.keyz("sync", "api/deepseek")
    assert synced.returncode == 0, synced.stderr
    keyz_dir = two_keys.store / ".keyz"
    template = (keyz_dir / "entries" / "api" / "deepseek.json").read_text()
    names = [f"many/e{i:04d}" for i in range(1000)]
    (two_keys.store / "many").mkdir()
    (keyz_dir / "entries" / "many").mkdir()
    ciphertext = (two_keys.store / "api" / "deepseek.gpg").read_bytes()
    config = keyz_dir / "config.toml"
    lines = [config.read_text()]
    for name in names:
        (two_keys.store / f"{name}.gpg").write_bytes(ciphertext)
        (keyz_dir / "entries" / f"{name}.json").write_text(
            template.replace('"api/deepseek"', f'"{name}"')
        )
        lines.append(f'\n[entries."{name}"]\nprovider = "deepseek"\n')
    config.write_text("".join(lines))
    return names


def test_ctrl_c_while_the_sidecars_are_read_exits_130_and_stops_every_gpg(
    two_keys: Sandbox, simulator: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Decryptions are submitted before the sidecars are read (issue 20): a Ctrl-C landing
    in that loop (here: on the 500th file) is the interrupted message, the state is saved,
    nothing is written, and no decryption goes on or starts after the run."""
    from keyz import sidecar as sc
    from keyz.config import load_config
    from keyz.errors import Interrupted
    from keyz.store import PassStore
    from keyz.sync import run_sync

    names = _thousand_entries(two_keys)
    real = shutil.which("gpg2") or shutil.which("gpg")
    fake, log = tmp_path / "bin", tmp_path / "gpg-started"
    fake.mkdir()
    for name in ("gpg", "gpg2"):  # each gpg says when it starts
        (fake / name).write_text(f'#!/bin/sh\ndate +%s.%N >> "{log}"\nexec "{real}" "$@"\n')
        (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    read, calls = sc.read_entry, []

    def interrupted_at_500(keyz_dir: Path, entry: str) -> object:
        calls.append(entry)
        if len(calls) == 500:
            raise KeyboardInterrupt
        return read(keyz_dir, entry)

    monkeypatch.setattr(sc, "read_entry", interrupted_at_500)
    store = PassStore(two_keys.store)
    config = load_config(store.keyz_dir)
    before = {p: p.stat().st_mtime_ns for p in (store.keyz_dir / "entries").rglob("*.json")}
    simulator.requests.clear()
    with pytest.raises(Interrupted, match=r"^interrupted; no sidecar was written$"):
        run_sync(store, config, ["api/openrouter", *names])
    assert simulator.requests == []
    assert before == {p: p.stat().st_mtime_ns for p in (store.keyz_dir / "entries").rglob("*.json")}
    returned = time.time()
    time.sleep(0.5)  # what the decryption threads would do meanwhile
    started = [float(at) for at in log.read_text().split()]
    assert started and [at for at in started if at > returned] == [], "gpg started after"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_ctrl_c_at_any_moment_of_a_1000_entry_start_exits_130_and_leaves_no_gpg(
    two_keys: Sandbox, simulator: Simulator, tmp_path: Path
) -> None:
    """SIGINT at ten moments from the first gpg keyz starts (decryptions submitted, sidecars
    read, HTTP set up, first requests): always 130, a 'keyz: interrupted' line, no
    traceback, and no gpg keyz started still running once it exited. (Earlier, during
    Python's own imports, a Ctrl-C is Python's, as it always was.)"""
    import shutil

    _thousand_entries(two_keys)
    real = shutil.which("gpg2") or shutil.which("gpg")
    fake, pids = tmp_path / "bin", tmp_path / "gpg-pids"
    fake.mkdir()
    for name in ("gpg", "gpg2"):
        (fake / name).write_text(f'#!/bin/sh\necho $$ >> "{pids}"\nexec "{real}" "$@"\n')
        (fake / name).chmod(0o755)
    env = {**two_keys.env, "PATH": f"{fake}:{os.environ['PATH']}"}
    for delay in [0.02 * i for i in range(10)]:
        pids.write_text("")
        sync = subprocess.Popen(
            [KEYZ, "sync"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while not pids.read_text() and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(delay)
            sync.send_signal(signal.SIGINT)
            out, err = sync.communicate(timeout=30)
        finally:
            sync.kill()
        if sync.returncode == 1:  # it finished first: nothing to interrupt
            continue
        assert sync.returncode == 130, (delay, err[-2000:])
        assert "Traceback" not in err and CANARY not in out + err
        assert err.splitlines()[-1].startswith("keyz: interrupted"), (delay, err[-500:])
        left = []
        for pid in pids.read_text().split():
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if state != "Z" and b"gpg" in command:  # not a pid reused since (pid_max 32768)
                left.append(pid)
        assert left == [], f"gpg still running after a Ctrl-C at {delay:.2f}s"
