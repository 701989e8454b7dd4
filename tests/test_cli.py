"""The installed keyz, run as a subprocess against a real store and the loopback simulator."""

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keyz.demo.simulator import Answer, Simulator

from .conftest import CANARY, KEYZ, OPENROUTER_KEY, MakeStore, Sandbox

pytestmark = pytest.mark.cli


def no_traceback(*streams: str) -> bool:
    return not any("Traceback" in s for s in streams)


def test_the_user_story(make_sandbox: MakeStore, simulator: Simulator) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n", "api/openrouter": f"{OPENROUTER_KEY}\n"})
    sandbox.env.update(simulator.env("deepseek", "openrouter"))
    simulator.deepseek(
        CANARY, [("CNY", "110.00", "10.00", "100.00"), ("USD", "5.25", "0.00", "5.25")]
    )
    simulator.openrouter(
        OPENROUTER_KEY, management=False, limit=20, limit_remaining=12.5, usage=7.5
    )

    assert sandbox.keyz("init").returncode == 0
    assert sandbox.keyz("track", "api/deepseek", "--provider", "deepseek").returncode == 0
    done = sandbox.keyz("track", "api/openrouter", "--provider", "openrouter")
    assert done.returncode == 0 and "management key" in done.stderr

    done = sandbox.keyz("sync", "--commit")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "api/deepseek    deepseek    CNY 110.00 · USD 5.25",
        "api/openrouter  openrouter  key limit: 12.50 of 20.00 USD left (monthly); spent USD 7.50 today · 7.50 this week · 7.50 this month; account balance needs a management key",
    ]
    assert "Committed" in done.stderr
    assert (
        sandbox.git("log", "-1", "--format=%s") == "keyz: sync 2 entries (deepseek, openrouter)\n"
    )

    simulator.stop()  # status must not need the network (nor gpg)
    status = sandbox.keyz("status")
    assert status.returncode == 0, status.stderr
    ages = re.compile(r"  (just now|\d+[smhd] ago)  ")  # the third column
    header, *lines = status.stdout.splitlines()
    assert header.split() == ["ENTRY", "PROVIDER", "CHECKED", "FIGURES"]
    assert all(ages.search(line) for line in lines)
    columns = re.compile(r" {2,}")
    assert [columns.sub("  ", ages.sub("  ", line, count=1)) for line in lines] == [
        columns.sub("  ", line) for line in done.stdout.splitlines()
    ]

    as_json = json.loads(sandbox.keyz("status", "--json").stdout)
    entry = as_json["entries"][0]
    assert (
        entry["entry"] == "api/deepseek"
        and entry["sidecar"]["balances"][0]["remaining"] == "110.00"
    )
    assert entry["problem"] is None


def test_a_failed_entry_exits_1_and_the_others_are_still_written(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    simulator.fail(
        CANARY,
        Answer(200, "<html><body>Please log in</body></html>", {"Content-Type": "text/html"}),
    )
    done = two_keys.keyz("sync")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "keyz: api/deepseek: deepseek balance: HTML page instead of the API's JSON: is the base_url right? (HTTP 200)"
    )
    assert "api/deepseek    deepseek    FAILED (no values yet)" in done.stdout
    assert (two_keys.store / ".keyz" / "entries" / "api" / "openrouter.json").exists()
    status = two_keys.keyz("status")
    assert "! last sync failed" in status.stdout


def test_sync_json_is_one_document(two_keys: Sandbox) -> None:
    done = two_keys.keyz("sync", "--json")
    assert done.returncode == 0
    document = json.loads(done.stdout)
    assert [e["entry"] for e in document["entries"]] == ["api/deepseek", "api/openrouter"]
    assert all(e["ok"] and e["changed"] for e in document["entries"])
    assert document["git"] == {
        "mode": "off",
        "commit": None,
        "paths": [],
        "error": None,
        "error_kind": None,
    }
    assert all(e["error"] is None and e["error_kind"] is None for e in document["entries"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("track", "api/missing", "--provider", "deepseek"), "no entry 'api/missing'"),
        (("track", "api/deepseek", "--provider", "nope"), "unknown provider 'nope'"),
        (("track", "../etc/passwd", "--provider", "deepseek"), "'..' component"),
        (
            ("track", "api/deepseek", "--provider", "deepseek", "-o", "region=cn"),
            "deepseek has no option region",
        ),
        (("track", "api/deepseek", "--provider", "deepseek", "-o", "oops"), "key=value"),
        (("untrack", "api/never"), "is not tracked"),
        (("sync", "api/never"), "not tracked: api/never"),
        (("sync", "--bogus"), "No such option"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    two_keys: Sandbox, args: tuple[str, ...], message: str
) -> None:
    done = two_keys.keyz(*args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert no_traceback(done.stderr)


def test_commands_before_init_say_run_init(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n"})
    done = sandbox.keyz("sync")
    assert done.returncode == 2 and "run 'keyz init' first" in done.stderr


def test_a_corrupt_config_exits_2(two_keys: Sandbox) -> None:
    (two_keys.store / ".keyz" / "config.toml").write_text("schema_version = 1\n[entries\n")
    done = two_keys.keyz("status")
    assert done.returncode == 2 and "config.toml is not valid TOML" in done.stderr


def test_git_flags_need_a_git_store(make_sandbox: MakeStore, simulator: Simulator) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n"}, git=False)
    sandbox.env.update(simulator.env("deepseek"))
    simulator.deepseek(CANARY, [("CNY", "1.00", "0", "1.00")])
    sandbox.keyz("init")
    sandbox.keyz("track", "api/deepseek", "-p", "deepseek")
    done = sandbox.keyz("sync", "--commit")
    assert done.returncode == 2 and "pass git init" in done.stderr
    assert sandbox.keyz("sync").returncode == 0, "plain sync still works"


def test_index_lock_exits_75_with_the_sidecars_written(two_keys: Sandbox) -> None:
    lock = two_keys.store / ".git" / "index.lock"
    lock.write_text("")
    done = two_keys.keyz("sync", "--commit")
    assert done.returncode == 75, done.stderr
    assert "git is busy" in done.stderr and lock.exists()
    assert (two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json").exists()
    lock.unlink()
    again = two_keys.keyz("sync", "--commit")
    assert again.returncode == 0 and "Committed" in again.stderr


def test_a_running_keyz_makes_the_next_exit_75(two_keys: Sandbox) -> None:
    holder = subprocess.Popen(  # -o: only flock itself holds the lock, not its sleep
        ["flock", "-o", str(two_keys.store / ".git" / "keyz.lock"), "sleep", "30"],
        env=two_keys.env,
        start_new_session=True,
    )
    try:
        _until_locked(two_keys.store / ".git" / "keyz.lock")
        started = time.monotonic()
        done = two_keys.keyz("sync", env={"KEYZ_LOCK_WAIT": "0.5"})
        assert done.returncode == 75 and "another keyz" in done.stderr
        assert time.monotonic() - started < 5
        assert done.stdout == ""
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    assert two_keys.keyz("sync").returncode == 0, "the lock dies with its holder"


def _until_locked(path: Path, seconds: float = 20.0) -> None:
    """Wait until another process holds ``path``'s flock (a fixed sleep lost that race to a
    slow start of flock on a loaded machine, and the sync then ran unopposed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError), path.open("rb") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            fcntl.flock(file, fcntl.LOCK_UN)
        time.sleep(0.02)
    raise AssertionError(f"nothing took the lock on {path}")


def test_merge_in_progress_writes_but_does_not_commit(two_keys: Sandbox) -> None:
    head = two_keys.git("rev-parse", "HEAD")
    (two_keys.store / ".git" / "MERGE_HEAD").write_text(head)
    done = two_keys.keyz("sync", "--commit")
    assert done.returncode == 1 and "a merge is in progress" in done.stderr
    assert two_keys.git("rev-parse", "HEAD") == head
    assert (two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json").exists()


def test_stage_warns_about_pass_committing_the_index(two_keys: Sandbox) -> None:
    done = two_keys.keyz("sync", "--stage")
    assert done.returncode == 0
    assert "pass commits the whole index" in done.stderr
    staged = two_keys.git("diff", "--cached", "--name-only").split()
    assert ".keyz/entries/api/deepseek.json" in staged and all(
        p.startswith(".keyz/") for p in staged
    )


def test_untrack_removes_the_entry_and_its_sidecar(two_keys: Sandbox) -> None:
    two_keys.keyz("sync")
    done = two_keys.keyz("untrack", "api/deepseek")
    assert done.returncode == 0 and "history stays in git" in done.stderr
    assert not (two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json").exists()
    assert (two_keys.store / "api" / "deepseek.gpg").exists(), "the pass entry is never touched"
    assert "api/deepseek" not in two_keys.keyz("status").stdout


def test_providers_lists_capabilities_and_key_kinds(two_keys: Sandbox) -> None:
    document = json.loads(two_keys.keyz("providers", "--json").stdout)
    by_id = {p["id"]: p for p in document["providers"]}
    assert by_id["openrouter"]["key_kind"] == "management"
    assert by_id["deepseek"]["endpoints"] == [
        {"path": "/user/balance", "key_kind": "regular", "reports": ["balance"]}
    ]
    rows = {
        line.split()[0]: line for line in two_keys.keyz("providers").stdout.splitlines() if line
    }
    # a regular OpenRouter key is useful too: the table says which kind answers what
    assert "regular (balance, key spend: management)" in rows["openrouter"]
    assert rows["deepseek"].split()[2] == "regular"


@pytest.mark.parametrize(("argv", "code"), [(["--version"], 0), (["no-such-command"], 2)])
def test_keyz_freezes_what_it_leaves_before_python_exits(argv: list[str], code: int) -> None:
    """Python's exit searches every live object for garbage cycles, several times (~50 ms of a
    100-entry sync); a finished command's objects are frozen out of the collector's sight
    first, whatever the exit. A plain process: the tests' fork server freezes its own."""
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count()))\n"
        f"sys.argv = ['keyz', *{argv!r}]\n"
        "from keyz.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == code, done.stderr
    assert done.stdout.splitlines()[-1].startswith("frozen ")
    assert int(done.stdout.split()[-1]) > 10_000  # keyz's modules and what they made


# A real SIGINT, sent by the process to itself at one chosen moment: while Python imports
# keyz.cli (a finder asked for keyz.redact), while click reads the options (parse_args), or
# while a command imports what it needs, in a class body (Python 3.11 turns a
# KeyboardInterrupt in functools.cached_property's __set_name__ into a RuntimeError).
_CTRL_C_WHILE = {
    "importing": (
        "class Finder:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'keyz.redact':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Finder())\n",
        ["--version"],
    ),
    "in a callback Python cannot raise from": (  # dropped with a printed warning, before
        "import weakref\n"
        "class Lock: pass\n"
        "def interrupted(ref): raise KeyboardInterrupt\n"
        "def hook(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == 'parse_args':\n"
        "        sys.setprofile(None)\n"
        "        lock = Lock(); ref = weakref.ref(lock, interrupted); del lock\n"
        "sys.setprofile(hook)\n",
        ["status"],
    ),
    "reading the options": (
        "def hook(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == 'parse_args':\n"
        "        sys.setprofile(None)\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.setprofile(hook)\n",
        ["--version"],
    ),
    "a command importing": (
        "def hook(frame, event, arg):\n"
        "    code = frame.f_code\n"
        "    if event == 'call' and code.co_name == '__set_name__'\\\n"
        "            and code.co_filename.endswith('functools.py')\\\n"
        "            and hasattr(sys.modules.get('keyz.cli'), 'main'):\n"
        "        sys.setprofile(None)\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.setprofile(hook)\n",
        ["status"],
    ),
}


@pytest.mark.parametrize("moment", sorted(_CTRL_C_WHILE))
def test_ctrl_c_before_a_command_runs_is_interrupted_not_a_traceback(
    two_keys: Sandbox, moment: str
) -> None:
    """The first ~0.15 s of every keyz: Python imports keyz, click reads the options, the
    command imports what it needs. A Ctrl-C there ended in a traceback, click's "Aborted!"
    (exit 1), or "internal error; this is a bug"."""
    code, argv = _CTRL_C_WHILE[moment]
    probe = (
        f"import os, signal, sys\n{code}sys.argv = ['keyz', *{argv!r}]\n"
        "from keyz.__main__ import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=two_keys.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr, done.stdout) == (130, "keyz: interrupted\n", "")


def test_a_ctrl_c_is_known_however_python_wrapped_it() -> None:
    from keyz.__main__ import EXIT_INTERRUPTED
    from keyz.errors import EXIT_INTERRUPTED as EXIT_CODE
    from keyz.errors import is_ctrl_c

    def raised(exc: BaseException, cause: BaseException | None = None) -> BaseException:
        try:
            raise exc from cause
        except BaseException as caught:  # the object, with its cause
            return caught

    # a KeyboardInterrupt in a class body's __set_name__ (ipaddress, at import) comes out so
    assert is_ctrl_c(raised(RuntimeError("__set_name__"), KeyboardInterrupt()))
    assert not is_ctrl_c(raised(RuntimeError("a real error"), ValueError()))
    try:  # a handler that raises with a cause of its own: the Ctrl-C is its context
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("cleaning up") from ValueError()
    except RuntimeError as exc:
        assert is_ctrl_c(exc)
    assert is_ctrl_c(BaseExceptionGroup("tasks", [ValueError(), KeyboardInterrupt()]))
    looped = RuntimeError("loop")
    looped.__context__ = ValueError()
    looped.__context__.__context__ = looped
    assert not is_ctrl_c(looped)  # a cycle ends the walk
    assert EXIT_INTERRUPTED == EXIT_CODE


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["status", "--help"]])
def test_output_to_a_full_device_is_said_in_one_line(argv: list[str]) -> None:
    """``keyz ... > /dev/full`` (a full disk, a dead device behind a redirection) is not a bug."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [KEYZ, *argv], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, check=False
        )
    assert done.returncode == 1
    assert done.stderr == "keyz: cannot write the output (No space left on device)\n"


@pytest.mark.parametrize(
    ("argv", "closed"),
    [
        (["status"], ">&-"),
        (["status", "--json"], ">&-"),
        (["sync", "--quiet"], ">&-"),
        (["sync"], ">&- 2>&-"),
        (["status", "--no-such-flag"], "2>&-"),
        (["sync"], "<&-"),
        (["sync", "--commit", "--quiet"], "<&- >&- 2>&-"),
        (["ui"], "<&-"),
    ],
)
def test_a_closed_output_is_nowhere_to_write_not_a_bug(
    two_keys: Sandbox, argv: list[str], closed: str
) -> None:
    """``keyz sync --quiet >&-`` (a closed stream: None in Python) works as with /dev/null."""
    script = f'exec "$0" "$@" {closed}; '
    done = subprocess.run(
        ["sh", "-c", script, KEYZ, *argv],
        env=two_keys.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if argv[0] == "ui":  # no terminal: refused, not a traceback
        assert done.returncode == 2
        assert done.stderr.startswith("keyz: keyz ui needs a terminal"), done.stderr
        return
    assert done.returncode == (2 if "--no-such-flag" in argv else 0), done.stderr
    if "2>&-" not in closed:
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    if argv[0] == "sync":
        assert len(list((two_keys.store / ".keyz" / "entries").rglob("*.json"))) == 2


def test_an_os_error_elsewhere_is_still_reported_as_the_bug_it_is() -> None:
    probe = (
        "import sys\n"
        "from keyz.cli import cli, main\n"
        "@cli.command('boom')\n"
        "def boom() -> None:\n"
        "    raise OSError(5, 'Input/output error')\n"
        "sys.argv = ['keyz', 'boom']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "OSError: [Errno 5] Input/output error" in done.stderr
    assert done.stderr.endswith(
        "keyz: internal error; this is a bug, please report it with the lines above\n"
    )


def test_version_and_help(two_keys: Sandbox) -> None:
    assert two_keys.keyz("--version").stdout.startswith("keyz, version ")
    for command in ("sync", "status", "track", "untrack", "init", "providers", "demo", "history"):
        done = two_keys.keyz(command, "--help")
        assert done.returncode == 0 and "Example" in done.stdout, command
