"""keyz cron: a fake crontab on PATH (never the machine's), lines kept byte for byte."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from keyz.cron import cron_schedule, make_plan
from keyz.errors import UsageError
from keyz.sandbox import fake_crontab
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


@pytest.mark.cli
def test_systemd_units_are_printed_or_written(two_keys: Sandbox, tmp_path: Path) -> None:
    config_home = tmp_path / "xdg"
    env = {"XDG_CONFIG_HOME": str(config_home)}
    printed = two_keys.keyz("cron", "install", "--systemd", "--print", "--every", "12h", env=env)
    assert printed.returncode == 0
    assert "Type=oneshot" in printed.stdout and "Persistent=true" in printed.stdout
    assert "RandomizedDelaySec=" in printed.stdout and "OnCalendar=*-*-* 00/12:" in printed.stdout
    assert not config_home.exists()
    written = two_keys.keyz("cron", "install", "--systemd", "--commit", "--check", env=env)
    assert written.returncode == 0 and "enable-linger" in written.stderr
    unit = config_home / "systemd" / "user" / "keyz-sync.service"
    assert "check --sync --commit" in unit.read_text().replace('"', "")
    assert two_keys.keyz("cron", "remove", "--systemd", env=env).returncode == 0
    assert not unit.exists()


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
