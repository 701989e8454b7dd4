"""keyz cron: a fake crontab on PATH (never the machine's), lines kept byte for byte."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from keyz.cron import cron_schedule, is_keyz_job, make_plan, without_block
from keyz.demo.sandbox import fake_crontab
from keyz.errors import UsageError
from tests.conftest import Sandbox

USER_TABLE = (
    "# my own jobs\n"
    "MAILTO=me@example.com\n"
    "SHELL=/bin/bash\n"
    "0 3 * * * /usr/local/bin/backup --quiet  # 100% mine\n"
    "@reboot   echo   spaced\tout\n"
)


@pytest.fixture
def cron_env(two_keys: Sandbox, tmp_path: Path) -> dict[str, str]:
    return fake_crontab(tmp_path / "fakebin", tmp_path / "crontab.txt", os.environ["PATH"])


@pytest.mark.cli
def test_install_is_idempotent_and_keeps_the_users_lines(
    two_keys: Sandbox, cron_env: dict[str, str]
) -> None:
    table = Path(cron_env["KEYZ_FAKE_CRONTAB"])
    table.write_text(USER_TABLE)
    first = two_keys.keyz("cron", "install", "--commit", "--check", env=cron_env)
    assert first.returncode == 0, first.stderr
    after = table.read_text()
    assert after.startswith(USER_TABLE)  # byte for byte
    added = after[len(USER_TABLE) :].splitlines()
    assert added[0] == f"# keyz: scheduled run for the store {two_keys.store}"
    job = added[1]
    minute, hour, *_ = job.split()
    assert 0 <= int(minute) < 60 and hour == "*/6"
    assert f"PASSWORD_STORE_DIR={two_keys.store}" in job
    assert f"GNUPGHOME={two_keys.env['GNUPGHOME']}" in job
    assert "check --sync --commit --max-age 12h" in job
    words = shlex.split(job.replace("\\%", "%"))
    program = next(word for word in words[5:] if "=" not in word)
    assert Path(program).is_absolute() and Path(program).name == "keyz"
    assert words[words.index(program) + 1 :][:2] == ["check", "--sync"]
    path_value = job.split("PATH=")[1].split()[0]
    assert "/usr/bin" in path_value
    second = two_keys.keyz("cron", "install", "--commit", "--check", env=cron_env)
    assert second.returncode == 0 and "unchanged" in second.stderr
    assert table.read_text() == after  # one line, same minute
    changed = two_keys.keyz("cron", "install", "--at", "07:30", env=cron_env)
    assert changed.returncode == 0
    lines = table.read_text()[len(USER_TABLE) :].splitlines()
    assert len(lines) == 2 and lines[1].startswith("30 7 * * * ")
    assert lines[1].endswith("sync --quiet")

    shown = two_keys.keyz("cron", "show", env=cron_env)
    assert shown.returncode == 0 and lines[1] in shown.stdout

    removed = two_keys.keyz("cron", "remove", env=cron_env)
    assert removed.returncode == 0
    assert table.read_text() == USER_TABLE
    assert "No keyz line" in two_keys.keyz("cron", "remove", env=cron_env).stderr


@pytest.mark.cli
def test_install_into_an_empty_crontab_and_percent_is_escaped(
    two_keys: Sandbox, cron_env: dict[str, str], tmp_path: Path
) -> None:
    odd = tmp_path / "100%store"
    subprocess.run(["cp", "-a", str(two_keys.store), str(odd)], check=True)
    result = two_keys.keyz("--store", str(odd), "cron", "install", env=cron_env)
    assert result.returncode == 0, result.stderr
    job = Path(cron_env["KEYZ_FAKE_CRONTAB"]).read_text().splitlines()[1]
    assert "100\\%store" in job and "100%store" not in job.replace("\\%", "")


@pytest.mark.cli
def test_the_written_line_runs_silently_in_a_bare_environment(
    two_keys: Sandbox, cron_env: dict[str, str]
) -> None:
    """Run the job exactly as cron would: /bin/sh, PATH=/usr/bin:/bin, no TTY, % unescaped."""
    assert two_keys.keyz("cron", "install", "--check", env=cron_env).returncode == 0
    job = Path(cron_env["KEYZ_FAKE_CRONTAB"]).read_text().splitlines()[1]
    command = job.split(None, 5)[5].replace("\\%", "%")
    bare = {"PATH": "/usr/bin:/bin", "HOME": two_keys.env["HOME"], "SHELL": "/bin/sh"}
    for name in ("KEYZ_DEEPSEEK_BASE_URL", "KEYZ_OPENROUTER_BASE_URL", "SSL_CERT_FILE"):
        bare[name] = two_keys.env[name]  # the simulator stands in for the providers
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        env=bare,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json").exists()


FAKE_SYSTEMCTL = """#!/bin/sh
# A stand-in for systemctl(1): logs its arguments, answers with $KEYZ_FAKE_SYSTEMCTL_RC.
echo "$*" >> "$KEYZ_FAKE_SYSTEMCTL_LOG"
if [ "${KEYZ_FAKE_SYSTEMCTL_RC:-0}" != 0 ]; then
  echo "Failed to connect to bus: No medium found" >&2
fi
exit "${KEYZ_FAKE_SYSTEMCTL_RC:-0}"
"""


def fake_systemctl(tmp_path: Path, rc: int = 0) -> dict[str, str]:
    """A fake ``systemctl`` first on PATH (never the machine's), and where its calls are logged."""
    bin_dir = tmp_path / "systemctl-bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "systemctl"
    script.write_text(FAKE_SYSTEMCTL)
    script.chmod(0o755)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "KEYZ_FAKE_SYSTEMCTL_LOG": str(tmp_path / "systemctl.log"),
        "KEYZ_FAKE_SYSTEMCTL_RC": str(rc),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }


@pytest.mark.cli
def test_systemd_units_are_printed_or_written(two_keys: Sandbox, tmp_path: Path) -> None:
    config_home = tmp_path / "xdg"
    env = fake_systemctl(tmp_path)
    printed = two_keys.keyz("cron", "install", "--systemd", "--print", "--every", "12h", env=env)
    assert printed.returncode == 0
    assert "Type=oneshot" in printed.stdout and "Persistent=true" in printed.stdout
    assert "RandomizedDelaySec=" in printed.stdout and "OnCalendar=*-*-* 00/12:" in printed.stdout
    assert not config_home.exists()
    written = two_keys.keyz("cron", "install", "--systemd", "--commit", "--check", env=env)
    assert written.returncode == 0 and "enable-linger" in written.stderr
    unit = config_home / "systemd" / "user" / "keyz-sync.service"
    assert "check --sync --commit" in unit.read_text().replace('"', "")
    removed = two_keys.keyz("cron", "remove", "--systemd", env=env)
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists() and not unit.with_suffix(".timer").exists()
    assert (tmp_path / "systemctl.log").read_text().splitlines() == [
        "--user disable --now keyz-sync.timer",
        "--user daemon-reload",
    ]
    assert "Stopped and disabled keyz-sync.timer" in removed.stderr
    assert "First:" not in removed.stderr


@pytest.mark.cli
def test_systemd_remove_keeps_the_units_when_systemctl_fails(
    two_keys: Sandbox, tmp_path: Path
) -> None:
    env = fake_systemctl(tmp_path, rc=1)
    assert two_keys.keyz("cron", "install", "--systemd", env=env).returncode == 0
    units = tmp_path / "xdg" / "systemd" / "user"
    before = sorted(p.name for p in units.iterdir())
    refused = two_keys.keyz("cron", "remove", "--systemd", env=env)
    assert refused.returncode == 1
    assert "Failed to connect to bus" in refused.stderr
    assert "systemctl --user disable --now keyz-sync.timer" in refused.stderr
    assert (
        sorted(p.name for p in units.iterdir())
        == before
        == [
            "keyz-sync.service",
            "keyz-sync.timer",
        ]
    )


@pytest.mark.cli
def test_systemd_remove_without_systemctl_removes_the_files_and_says_what_to_run(
    two_keys: Sandbox, tmp_path: Path
) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "PATH": str(tmp_path / "empty-bin")}
    assert two_keys.keyz("cron", "install", "--systemd", env=env).returncode == 0
    units = tmp_path / "xdg" / "systemd" / "user"
    wants = units / "timers.target.wants"
    wants.mkdir()
    (wants / "keyz-sync.timer").symlink_to(units / "keyz-sync.timer")  # as enable made it
    (wants / "other.timer").symlink_to(units / "other.timer")
    removed = two_keys.keyz("cron", "remove", "--systemd", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "systemctl is not available" in removed.stderr
    assert "systemctl --user disable --now keyz-sync.timer" in removed.stderr
    assert sorted(p.name for p in units.rglob("*")) == ["other.timer", "timers.target.wants"]


STALE = "# keyz: scheduled run for the store {store}\n"
MINE = "0 4 * * * PASSWORD_STORE_DIR={store} /usr/local/bin/backup-pass  # mine\n"


@pytest.mark.cli
def test_a_stale_marker_never_takes_the_users_next_line_with_it(
    two_keys: Sandbox, cron_env: dict[str, str]
) -> None:
    table = Path(cron_env["KEYZ_FAKE_CRONTAB"])
    stale, mine = STALE.format(store=two_keys.store), MINE.format(store=two_keys.store)
    table.write_text(USER_TABLE + stale + mine)
    removed = two_keys.keyz("cron", "remove", env=cron_env)
    assert removed.returncode == 0, removed.stderr
    assert table.read_text() == USER_TABLE + mine
    assert "not keyz's" in removed.stderr and "kept" in removed.stderr
    table.write_text(USER_TABLE + stale + mine)
    installed = two_keys.keyz("cron", "install", env=cron_env)
    assert installed.returncode == 0, installed.stderr
    after = table.read_text()
    assert after.startswith(USER_TABLE + mine)
    assert after.count("# keyz: scheduled run") == 1 and after.count(mine) == 1
    assert two_keys.keyz("cron", "remove", env=cron_env).returncode == 0
    assert table.read_text() == USER_TABLE + mine


@pytest.mark.cli
def test_install_replaces_a_line_an_older_keyz_wrote(
    two_keys: Sandbox, cron_env: dict[str, str]
) -> None:
    table = Path(cron_env["KEYZ_FAKE_CRONTAB"])
    old = (
        f"{STALE.format(store=two_keys.store)}"
        f"5 */6 * * * PASSWORD_STORE_DIR={two_keys.store} GNUPGHOME=/old/gnupg "
        "PATH=/usr/bin:/bin /opt/old-venv/bin/keyz sync --quiet\n"
    )
    table.write_text(USER_TABLE + old)
    assert two_keys.keyz("cron", "install", "--check", env=cron_env).returncode == 0
    lines = table.read_text()[len(USER_TABLE) :].splitlines()
    assert len(lines) == 2 and "/opt/old-venv" not in lines[1] and "check --sync" in lines[1]


@pytest.mark.parametrize(
    ("line", "ours"),
    [
        (
            "17 */6 * * * PASSWORD_STORE_DIR=/s GNUPGHOME=/g PATH=/bin /v/bin/keyz sync --quiet",
            True,
        ),
        ("17 */6 * * * PASSWORD_STORE_DIR='/s' /usr/bin/python3 -m keyz check --sync", True),
        ("@daily PASSWORD_STORE_DIR=/s /v/bin/keyz sync --quiet", True),
        ("17 */6 * * * PASSWORD_STORE_DIR=/other /v/bin/keyz sync --quiet", False),
        ("17 */6 * * * PASSWORD_STORE_DIR=/s keyz sync --quiet", False),  # not keyz's absolute path
        ("17 */6 * * * /v/bin/keyz sync --quiet", False),  # no store
        ("17 */6 * * * PASSWORD_STORE_DIR=/s /usr/local/bin/backup  # keyz", False),
        ("17 */6 * * * PASSWORD_STORE_DIR=/s echo /v/bin/keyz", False),
        ("# 17 */6 * * * PASSWORD_STORE_DIR=/s /v/bin/keyz sync", False),
        ("17 */6 * * * PASSWORD_STORE_DIR=/s /v/bin/keyz 'unbalanced", False),
        ("", False),
    ],
)
def test_what_counts_as_keyzs_job(line: str, ours: bool) -> None:
    assert is_keyz_job(line, Path("/s")) is ours


def test_without_block_keeps_a_line_that_is_not_keyzs() -> None:
    table = "# keyz: scheduled run for the store /s\n0 4 * * * /usr/local/bin/mine\n"
    rest, block = without_block(table, Path("/s"))
    assert (rest, block) == ("0 4 * * * /usr/local/bin/mine\n", None)


def test_schedules() -> None:
    store = Path("/s")
    assert cron_schedule(make_plan(store, "30m", None, False, False)) == "*/30 * * * *"
    assert cron_schedule(make_plan(store, None, "6:05", False, False)) == "5 6 * * *"
    assert cron_schedule(make_plan(store, "2h", None, False, False)).endswith(" */2 * * *")
    assert make_plan(store, "1d", None, False, True).interval.days == 1
    for bad in ("7h", "45m", "2d"):
        with pytest.raises(UsageError):
            make_plan(store, bad, None, False, False)
    with pytest.raises(UsageError):
        make_plan(store, "6h", "06:00", False, False)
    with pytest.raises(UsageError):
        make_plan(store, None, "25:00", False, False)
