"""Two machines, one store: sidecars merge by keeping the newer observation."""

import os
import subprocess
from pathlib import Path

from keyz.merge import merge_sidecars

from .conftest import Sandbox
from .test_history import IDENTITY, balance_bytes, commit_version


def test_the_newer_observation_wins_whichever_side_it_is_on(tmp_path: Path) -> None:
    older, newer = balance_bytes("api/x", 2, "100.00"), balance_bytes("api/x", 3, "90.00")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for mine, other, expected in ((older, newer, newer), (newer, older, newer)):
        ours.write_bytes(mine)
        theirs.write_bytes(other)
        assert merge_sidecars(ours, theirs)
        assert ours.read_bytes() == expected


def test_a_side_observed_in_the_future_never_wins_over_a_right_one(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from .test_history import dated_bytes

    future = dated_bytes("api/x", datetime.now(UTC) + timedelta(days=400), "1.00")
    right = balance_bytes("api/x", 3, "90.00")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for mine, other in ((future, right), (right, future)):
        ours.write_bytes(mine)
        theirs.write_bytes(other)
        assert merge_sidecars(ours, theirs)
        assert ours.read_bytes() == right


def test_an_unreadable_side_is_left_to_git(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.write_bytes(balance_bytes("api/x", 2, "1.00"))
    theirs.write_text("<<<<<<< not json")
    assert not merge_sidecars(ours, theirs)
    assert ours.read_bytes() == balance_bytes("api/x", 2, "1.00")


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **IDENTITY}
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=False
    )


def test_two_clones_pull_each_other_without_conflicts(two_keys: Sandbox, tmp_path: Path) -> None:
    laptop = two_keys.store
    assert two_keys.keyz("init").returncode == 0  # registers the driver in the laptop's .git/config
    assert "merge-driver %O %A %B" in git(laptop, "config", "merge.keyz.driver").stdout
    commit_version(laptop, "api/deepseek", balance_bytes("api/deepseek", 1, "110.00"), 1)

    server = tmp_path / "server"
    assert git(laptop, "clone", "-q", str(laptop), str(server)).returncode == 0
    assert two_keys.keyz("--store", str(server), "init").returncode == 0

    commit_version(laptop, "api/deepseek", balance_bytes("api/deepseek", 2, "100.00"), 2)
    commit_version(server, "api/deepseek", balance_bytes("api/deepseek", 3, "95.00"), 3)

    pulled = git(server, "-c", "pull.rebase=false", "pull", "--no-edit", "-q", str(laptop), "HEAD")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert (server / ".keyz/entries/api/deepseek.json").read_bytes() == balance_bytes(
        "api/deepseek", 3, "95.00"
    )

    back = git(laptop, "-c", "pull.rebase=false", "pull", "--no-edit", "-q", str(server), "HEAD")
    assert back.returncode == 0, back.stdout + back.stderr
    assert (laptop / ".keyz/entries/api/deepseek.json").read_bytes() == balance_bytes(
        "api/deepseek", 3, "95.00"
    )


def test_without_the_driver_the_same_pull_conflicts(two_keys: Sandbox, tmp_path: Path) -> None:
    laptop = two_keys.store
    commit_version(laptop, "api/deepseek", balance_bytes("api/deepseek", 1, "110.00"), 1)
    server = tmp_path / "server"
    git(laptop, "clone", "-q", str(laptop), str(server))
    commit_version(laptop, "api/deepseek", balance_bytes("api/deepseek", 2, "100.00"), 2)
    commit_version(server, "api/deepseek", balance_bytes("api/deepseek", 3, "95.00"), 3)
    pulled = git(server, "-c", "pull.rebase=false", "pull", "--no-edit", "-q", str(laptop), "HEAD")
    assert pulled.returncode != 0 and "CONFLICT" in pulled.stdout + pulled.stderr


def test_git_cron_and_pass_run_this_very_keyz(tmp_path: Path) -> None:
    """One answer to 'which keyz': the install that is running, not the first one on PATH."""
    import shlex
    import sys

    from keyz.cron import keyz_argv, make_plan
    from keyz.merge import driver_command
    from keyz.passext import script
    from keyz.program import keyz_command

    head = keyz_command()
    assert head == [str(Path(sys.executable).with_name("keyz"))]
    assert driver_command() == f"{shlex.join(head)} merge-driver %O %A %B"
    assert f"exec {shlex.join(head)} --store" in script()
    plan = make_plan(tmp_path, "1h", None, commit=True, check=False)
    assert keyz_argv(plan)[: len(head)] == head
