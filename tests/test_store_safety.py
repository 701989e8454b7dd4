"""A hostile .keyz/: symlinks (git carries them), FIFOs, devices, huge files, stale temp files,
and entry names keyz must either handle end to end or refuse everywhere alike."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keyz.demo.simulator import Simulator
from keyz.fsutil import clean_stale_temp_files
from tests.conftest import CANARY, KEYZ, MakeStore, Sandbox

pytestmark = pytest.mark.cli

NOT_FOLLOWED = "keyz will not follow it"


def keyz_bounded(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """keyz with 1 GiB of address space and 20 s: a read of /dev/zero or a FIFO cannot hurt."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [KEYZ, *args],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
        preexec_fn=limit,
        check=False,
    )


def entries_dir(sandbox: Sandbox) -> Path:
    return sandbox.store / ".keyz" / "entries"


def synced(sandbox: Sandbox) -> Sandbox:
    result = sandbox.keyz("sync")
    assert result.returncode == 0, result.stderr
    return sandbox


def test_a_symlinked_sidecar_directory_is_never_written_through(
    two_keys: Sandbox, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (entries_dir(two_keys)).mkdir(parents=True, exist_ok=True)
    (entries_dir(two_keys) / "api").symlink_to(elsewhere)
    result = two_keys.keyz("sync")
    assert result.returncode == 1
    assert list(elsewhere.iterdir()) == []
    assert f"{entries_dir(two_keys) / 'api'} is a symlink" in result.stderr
    assert NOT_FOLLOWED in result.stderr
    assert "Traceback" not in result.stderr


def test_untrack_never_deletes_through_a_symlink(two_keys: Sandbox, tmp_path: Path) -> None:
    synced(two_keys)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "deepseek.json").write_text("the user's own file\n")
    shutil.rmtree(entries_dir(two_keys) / "api")
    (entries_dir(two_keys) / "api").symlink_to(elsewhere)
    config = (two_keys.store / ".keyz" / "config.toml").read_bytes()
    result = two_keys.keyz("untrack", "api/deepseek")
    assert result.returncode == 1
    assert NOT_FOLLOWED in result.stderr
    assert (elsewhere / "deepseek.json").read_text() == "the user's own file\n"
    assert (two_keys.store / ".keyz" / "config.toml").read_bytes() == config  # nothing half done


def test_a_sidecar_linked_to_dev_zero_fails_that_entry_only(two_keys: Sandbox) -> None:
    synced(two_keys)
    sidecar = entries_dir(two_keys) / "api" / "deepseek.json"
    sidecar.unlink()
    sidecar.symlink_to("/dev/zero")
    status = keyz_bounded(two_keys, "status", "--json")
    assert status.returncode == 0, status.stderr
    rows = {row["entry"]: row for row in json.loads(status.stdout)["entries"]}
    assert f"{sidecar} is a symlink" in rows["api/deepseek"]["problem"]
    assert rows["api/openrouter"]["problem"] is None
    assert rows["api/openrouter"]["sidecar"]["key_limit"]["remaining"] == "12.5"

    sync = keyz_bounded(two_keys, "sync", "--json")
    assert sync.returncode == 1
    by_entry = {e["entry"]: e for e in json.loads(sync.stdout)["entries"]}
    assert NOT_FOLLOWED in by_entry["api/deepseek"]["error"]
    assert by_entry["api/openrouter"]["ok"] is True
    assert sidecar.is_symlink()  # left for the user to look at, never replaced

    check = keyz_bounded(two_keys, "check")
    assert check.returncode == 1
    assert f"api/deepseek: {sidecar} is a symlink" in check.stderr


@pytest.mark.parametrize("what", ["fifo", "huge"])
def test_a_sidecar_that_is_a_fifo_or_huge_is_refused_without_blocking(
    two_keys: Sandbox, what: str
) -> None:
    synced(two_keys)
    sidecar = entries_dir(two_keys) / "api" / "deepseek.json"
    sidecar.unlink()
    if what == "fifo":
        os.mkfifo(sidecar)
        expected = "is not a regular file"
    else:
        sidecar.write_bytes(b" " * (20 << 20))
        expected = "is larger than"
    status = keyz_bounded(two_keys, "status", "--json")
    rows = {row["entry"]: row for row in json.loads(status.stdout)["entries"]}
    assert f"{sidecar} {expected}" in rows["api/deepseek"]["problem"]
    assert rows["api/openrouter"]["problem"] is None


@pytest.mark.parametrize(
    ("relative", "command"),
    [
        ("state/entries.json", "status"),
        ("state/entries.json", "sync"),
        ("state/alerts.json", "check"),
        ("config.toml", "status"),
    ],
)
@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_state_and_config_files_are_capped_and_never_followed(
    two_keys: Sandbox, relative: str, command: str, target: str
) -> None:
    synced(two_keys)
    path = two_keys.store / ".keyz" / relative
    path.parent.mkdir(exist_ok=True)
    path.unlink(missing_ok=True)
    if target == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(target)
    result = keyz_bounded(two_keys, command)
    assert result.returncode in (1, 2)
    reason = "is not a regular file" if target == "fifo" else f"is a symlink, {NOT_FOLLOWED}"
    assert f"{path} {reason}" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_keyz_dir_itself_as_a_symlink_is_refused(two_keys: Sandbox, tmp_path: Path) -> None:
    real = tmp_path / "real-keyz"
    (two_keys.store / ".keyz").rename(real)
    (two_keys.store / ".keyz").symlink_to(real)
    for command in ("status", "sync", "init"):
        result = two_keys.keyz(command)
        assert result.returncode != 0, command
        assert f"{two_keys.store / '.keyz'} is a symlink, {NOT_FOLLOWED}" in result.stderr
    assert not (real / "entries" / "api").exists()


def test_migrate_reports_symlinks_and_touches_nothing_behind_them(
    two_keys: Sandbox, tmp_path: Path
) -> None:
    synced(two_keys)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    old = {"schema_version": 1, "entry": "x", "provider": "deepseek"}
    old |= {"observed_at": "2026-01-01T00:00:00Z", "available": True, "balances": []}
    (elsewhere / "x.json").write_text(json.dumps(old))
    (entries_dir(two_keys) / "linked").symlink_to(elsewhere)
    (entries_dir(two_keys) / "one.json").symlink_to(elsewhere / "x.json")
    result = two_keys.keyz("migrate")
    assert result.returncode == 1
    assert f"{entries_dir(two_keys) / 'linked'} is a symlink" in result.stderr
    assert f"{entries_dir(two_keys) / 'one.json'} is a symlink" in result.stderr
    assert json.loads((elsewhere / "x.json").read_text()) == old
    assert [p.name for p in elsewhere.iterdir()] == ["x.json"]


def test_a_symlink_under_keyz_is_never_staged(two_keys: Sandbox, tmp_path: Path) -> None:
    (entries_dir(two_keys)).mkdir(parents=True, exist_ok=True)
    # what an editor leaves next to a file it has open (emacs: .#name -> user@host.pid)
    (entries_dir(two_keys) / ".#deepseek.json").symlink_to("me@host.1234:1700000000")
    result = two_keys.keyz("sync", "--commit")
    assert result.returncode == 0, result.stderr
    assert ".#deepseek.json" not in two_keys.git("ls-files", "-s", ".keyz")


def test_stale_keyz_temp_files_are_cleaned_and_nothing_else(two_keys: Sandbox) -> None:
    api = entries_dir(two_keys) / "api"
    api.mkdir(parents=True, exist_ok=True)
    state = two_keys.store / ".keyz" / "state"
    state.mkdir(exist_ok=True)
    stale = [
        api / ".deepseek.json.bhv7d3kz.tmp",  # what kill -9 inside atomic_write leaves
        state / ".entries.json.x_9k2m4q.tmp",
        two_keys.store / ".keyz" / ".config.toml.a1b2c3d4.tmp",
    ]
    fresh = api / ".openrouter.json.zz8y7x6w.tmp"  # another keyz (track, check) may be writing it
    mine = [
        api / "notes.tmp",
        two_keys.store / ".keyz" / ".scratch.tmp",
        two_keys.store / ".keyz" / ".notes.txt.abcdefgh.tmp",
        two_keys.store / ".deepseek.json.bhv7d3kz.tmp",  # outside .keyz/
    ]
    hour_ago = time.time() - 3600
    for path in [*stale, fresh, *mine]:
        path.write_text("half\n")
        if path != fresh:
            os.utime(path, (hour_ago, hour_ago))
    result = two_keys.keyz("sync")
    assert result.returncode == 0, result.stderr
    assert [p for p in stale if p.exists()] == []
    assert fresh.exists()
    assert all(p.read_text() == "half\n" for p in mine)

    stale[0].write_text("half\n")
    os.utime(stale[0], (hour_ago, hour_ago))
    assert two_keys.keyz("migrate").returncode == 0
    assert not stale[0].exists()


DOTTED = {".hidden/deepseek": f"{CANARY}\n", "api/.deepseek": f"{CANARY}\n"}


def test_entries_whose_names_start_with_a_dot_are_committed(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = make_sandbox(DOTTED)
    sandbox.env.update(simulator.env("deepseek"))
    simulator.deepseek(CANARY, [("CNY", "7.00", "0.00", "7.00")])
    assert sandbox.keyz("init").returncode == 0
    for name in DOTTED:
        assert sandbox.keyz("track", name, "-p", "deepseek").returncode == 0
    result = sandbox.keyz("sync", "--commit")
    assert result.returncode == 0, result.stderr
    committed = sandbox.git("ls-files", ".keyz/entries").split()
    assert committed == [".keyz/entries/.hidden/deepseek.json", ".keyz/entries/api/.deepseek.json"]
    assert sandbox.git("status", "--porcelain", ".keyz") == ""
    assert "sync 2 entries" in sandbox.git("log", "-1", "--format=%s")


def test_discover_never_tracks_a_name_track_refuses(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n"})
    assert sandbox.keyz("init").returncode == 0
    source = sandbox.store / "api" / "deepseek.gpg"
    bad = ["deepseek/evil\x1b[2Jname", "deepseek/two\nlines"]
    (sandbox.store / "deepseek").mkdir()
    for name in bad:
        shutil.copy(source, sandbox.store / f"{name}.gpg")
        assert sandbox.keyz("track", name, "-p", "deepseek").returncode == 2  # as track says

    result = sandbox.keyz("discover", "--apply")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr  # shown escaped, never raw
    assert "'deepseek/evil\\x1b[2Jname'" in result.stdout
    assert "control characters" in result.stdout
    config = (sandbox.store / ".keyz" / "config.toml").read_text()
    assert "evil" not in config and "two" not in config
    assert '[entries."api/deepseek"]' in config  # the good one is still tracked

    found = json.loads(sandbox.keyz("discover", "--json", "--apply").stdout)
    by_entry = {c["entry"]: c for c in found["candidates"]}
    assert all(by_entry[name]["confident"] is False for name in bad)
    assert found["tracked"] == []


def test_the_temp_file_a_killed_write_leaves_is_one_keyz_cleans(tmp_path: Path) -> None:
    keyz_dir = tmp_path / ".keyz"
    killed = (  # kill -9 between the temp file's fsync and its rename
        "import os, sys; from pathlib import Path; from keyz.fsutil import atomic_write; "
        "os.replace = lambda *a: os._exit(9); atomic_write(Path(sys.argv[1]), b'{}')"
    )
    target = keyz_dir / "entries" / "api" / "deepseek.json"
    done = subprocess.run([sys.executable, "-c", killed, str(target)], check=False)
    assert done.returncode == 9
    left = list(target.parent.iterdir())
    assert len(left) == 1 and left[0].name.startswith(".deepseek.json.")
    assert clean_stale_temp_files(keyz_dir) == []  # young: it may be another keyz's write
    assert clean_stale_temp_files(keyz_dir, now=time.time() + 120) == left
    assert list(target.parent.iterdir()) == []


THREE_KEYS = {"api/a": "sk-" + "a1" * 16, "api/b": "sk-" + "b2" * 16, "api/c": "sk-" + "c3" * 16}
REFUSED = {
    "corrupt": "is not valid JSON (Expecting value: line 1 column 32 (char 31)); fix or delete "
    "it (keyz will not overwrite a file it cannot read)",
    "newer": "has schema_version 9, written by a newer keyz; upgrade keyz (this one knows up "
    "to version 3). The file was left untouched.",
    "symlink": f"is a symlink, {NOT_FOLLOWED} (nothing under .keyz/ may lead elsewhere); "
    "replace it with the real file or directory",
    "directory": "is not a regular file (a directory, FIFO or device), keyz will not read it; "
    "put the real file there, or remove it",
    "fifo": "is not a regular file (a directory, FIFO or device), keyz will not read it; put "
    "the real file there, or remove it",
    "10 MB": "is larger than 1048576 bytes, far more than keyz writes; is it the right file?",
}


def _spoil(path: Path, how: str, outside: Path) -> None:
    if how == "corrupt":
        path.write_text('{"schema_version": 1, "entry": ')
    elif how == "newer":
        path.write_text('{"schema_version": 9}\n')
    elif how == "symlink":
        outside.write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(outside)
    elif how == "directory":
        path.unlink()
        path.mkdir()
    elif how == "fifo":
        path.unlink()
        os.mkfifo(path)
    else:
        path.write_bytes(b" " * (10 << 20))


def _gpg_running(pids: list[int]) -> list[int]:
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.append(pid)
    return running


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("how", list(REFUSED))
@pytest.mark.parametrize("spoilt", [("api/b",), ("api/a", "api/b", "api/c"), ("only api/b",)])
def test_a_refused_sidecar_sends_nothing_with_its_key_and_leaves_no_gpg(
    make_sandbox: MakeStore,
    simulator: Simulator,
    tmp_path: Path,
    how: str,
    spoilt: tuple[str, ...],
) -> None:
    """Its key is being decrypted when the sidecar is read (issue 20): the entry is reported
    as before, its key goes nowhere, its file stays as it was, the others sync, and no gpg
    outlives keyz (each gpg keyz starts writes its pid; a decryption takes 0.3 s longer)."""
    sandbox = make_sandbox({name: f"{key}\n" for name, key in THREE_KEYS.items()})
    sandbox.env.update(simulator.env("deepseek"))
    keyz_dir = sandbox.store / ".keyz"
    from keyz.config import EntryConfig, init_keyz_dir, set_entry

    init_keyz_dir(keyz_dir)
    for name, key in THREE_KEYS.items():
        set_entry(keyz_dir, EntryConfig(name, "deepseek"))
        simulator.deepseek(key, [("CNY", "1.00", "0.00", "1.00")])
    synced(sandbox)
    names = ("api/b",) if spoilt == ("only api/b",) else ()
    spoilt = ("api/b",) if names else spoilt
    for name in spoilt:
        _spoil(keyz_dir / "entries" / f"{name}.json", how, tmp_path / f"{name[4:]}-outside.json")
    before = {p: (p.is_symlink(), p.is_dir()) for p in (keyz_dir / "entries").rglob("*")}
    real = shutil.which("gpg2") or shutil.which("gpg")
    fake, pids = tmp_path / "bin", tmp_path / "gpg-pids"
    fake.mkdir()
    script = (
        f'#!/bin/sh\necho $$ >> "{pids}"\ncase "$*" in *--decrypt*) sleep 0.3;; esac\n'
        f'exec "{real}" "$@"\n'
    )
    for name in ("gpg", "gpg2"):
        (fake / name).write_text(script)
        (fake / name).chmod(0o755)
    simulator.requests.clear()
    result = sandbox.keyz("sync", *names, env={"PATH": f"{fake}:{os.environ['PATH']}"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"keyz: {name}: {keyz_dir / 'entries' / name}.json {REFUSED[how]}" for name in spoilt
    ]
    spoilt_keys = {THREE_KEYS[name] for name in spoilt}
    sent = [r.token or "" for r in simulator.requests]
    assert not spoilt_keys & set(sent)
    assert sorted(sent) == sorted(THREE_KEYS[n] for n in (names or THREE_KEYS) if n not in spoilt)
    after = {p: (p.is_symlink(), p.is_dir()) for p in (keyz_dir / "entries").rglob("*")}
    assert after == before  # nothing written in place of a refused file, nothing left beside
    started = [int(pid) for pid in pids.read_text().split()] if pids.exists() else []
    assert _gpg_running(started) == []
