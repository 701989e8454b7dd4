"""``keyz cron``: one marked crontab line (or a systemd user timer) that runs keyz unattended.

The crontab is read with ``crontab -l`` and written back whole with ``crontab -``;
every line that is not keyz's stays byte for byte. keyz's line is found again by
the comment line just above it, which names the store, so installing twice
leaves one line and several stores can each have theirs. The line under that
comment is taken out only if it is recognisably keyz's job for that store
(``is_keyz_job``); a comment left above a line of the user's goes alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import socket
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Final

from keyz.alerts import format_duration, parse_duration
from keyz.errors import KeyzError, UsageError
from keyz.fsutil import atomic_write
from keyz.program import keyz_command

CRONTAB_TIMEOUT: Final = 10.0
SYSTEMCTL_TIMEOUT: Final = 30.0
MARK_PREFIX: Final = "# keyz: scheduled run for the store "
UNIT: Final = "keyz-sync"
_HOURS: Final = (1, 2, 3, 4, 6, 8, 12)
_MINUTES: Final = (5, 10, 15, 20, 30)


@dataclass(frozen=True)
class Plan:
    """What to run, and when."""

    store: Path
    every: timedelta | None  # None with ``at``
    at: str | None  # "HH:MM", daily
    commit: bool
    check: bool

    @property
    def interval(self) -> timedelta:
        return self.every or timedelta(days=1)

    def slot(self) -> tuple[int, int]:
        """A minute and hour that look random but stay the same for this machine and store."""
        seed = hashlib.sha256(f"{socket.gethostname()}:{self.store}".encode()).digest()
        return seed[0] % 60, seed[1] % 24


def make_plan(store: Path, every: str | None, at: str | None, commit: bool, check: bool) -> Plan:
    if every and at:
        raise UsageError("choose one of --every and --at")
    if at is not None:
        hour, _, minute = at.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise UsageError(f"--at {at!r} must be a time like 06:30")
        return Plan(store, None, f"{int(hour):02d}:{int(minute):02d}", commit, check)
    interval = parse_duration(every or "6h")
    minutes = int(interval.total_seconds() // 60)
    if not (
        interval == timedelta(days=1)
        or (minutes % 60 == 0 and minutes // 60 in _HOURS)
        or minutes in _MINUTES
    ):
        raise UsageError(
            "--every must divide the day evenly: "
            + ", ".join([f"{m}m" for m in _MINUTES] + [f"{h}h" for h in _HOURS] + ["1d"])
        )
    return Plan(store, interval, None, commit, check)


def cron_schedule(plan: Plan) -> str:
    """The five time fields."""
    minute, hour = plan.slot()
    if plan.at:
        hh, mm = plan.at.split(":")
        return f"{int(mm)} {int(hh)} * * *"
    minutes = int(plan.interval.total_seconds() // 60)
    if minutes < 60:
        return f"*/{minutes} * * * *"
    if minutes == 24 * 60:
        return f"{minute} {hour} * * *"
    return f"{minute} */{minutes // 60} * * *"


def keyz_argv(plan: Plan) -> list[str]:
    """The keyz command line: silent on success, loud on problems."""
    head = keyz_command()
    git = ["--commit"] if plan.commit else []
    if plan.check:
        max_age = format_duration(plan.interval * 2)
        return [*head, "check", "--sync", *git, "--max-age", max_age]
    return [*head, "sync", *git, "--quiet"]


def environment(plan: Plan) -> dict[str, str]:
    """What cron's bare environment lacks: the store, gpg's home, a PATH with gpg and git."""
    home = Path(os.environ.get("GNUPGHOME") or Path.home() / ".gnupg").absolute()
    dirs: list[str] = []
    for tool in ("gpg", "git", "pass"):
        found = shutil.which(tool)
        if found:
            dirs.append(str(Path(found).parent))
    dirs += ["/usr/local/bin", "/usr/bin", "/bin"]
    return {
        "PASSWORD_STORE_DIR": str(plan.store),
        "GNUPGHOME": str(home),
        "PATH": ":".join(dict.fromkeys(dirs)),
    }


def cron_block(plan: Plan) -> str:
    """Two lines: the marker comment and the job, with cron's % escaped."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in environment(plan).items())
    command = " ".join(shlex.quote(arg) for arg in keyz_argv(plan))
    job = f"{cron_schedule(plan)} {env} {command}".replace("%", "\\%")
    return f"{marker(plan.store)}\n{job}\n"


def marker(store: Path) -> str:
    text = str(store)
    if "\n" in text or "\r" in text:
        raise UsageError("the store path has a line break; keyz cannot schedule it")
    return MARK_PREFIX + text


def is_keyz_job(line: str, store: Path) -> bool:
    """Whether a crontab line is keyz's job for ``store``, as any keyz version wrote it.

    That is: a schedule (five fields or ``@word``), then ``NAME=value`` words among which
    ``PASSWORD_STORE_DIR=<store>`` exactly, then keyz by absolute path (``/…/keyz``, or an
    absolute ``python… -m keyz``). A line that merely mentions keyz, runs another program,
    or names another store is not keyz's.
    """
    try:
        words = shlex.split(line.replace("\\%", "%"), comments=True)
    except ValueError:  # not shell words: not a line keyz wrote
        return False
    if not words:
        return False
    rest = words[1:] if words[0].startswith("@") else words[5:]
    assignments = []
    while rest and _ASSIGNMENT.fullmatch(rest[0]):
        assignments.append(rest.pop(0))
    if f"PASSWORD_STORE_DIR={store}" not in assignments or not rest:
        return False
    program = PurePosixPath(rest[0])
    if not program.is_absolute():
        return False
    return program.name == "keyz" or (
        program.name.startswith("python") and rest[1:3] == ["-m", "keyz"]
    )


_ASSIGNMENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)


def _scan(crontab: str, store: Path) -> tuple[str, str | None, int]:
    """The crontab without keyz's lines for ``store``, keyz's blocks, and how many of its
    comments had no keyz job under them (taken out alone, the line under them kept)."""
    lines = crontab.splitlines(keepends=True)
    mark = marker(store)
    kept: list[str] = []
    blocks: list[str] = []
    stale = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.rstrip("\r\n") != mark:
            kept.append(line)
            index += 1
        elif index + 1 < len(lines) and is_keyz_job(lines[index + 1].rstrip("\r\n"), store):
            blocks.append(line + lines[index + 1])
            index += 2
        else:
            stale += 1
            index += 1
    return "".join(kept), ("".join(blocks) or None), stale


def without_block(crontab: str, store: Path) -> tuple[str, str | None]:
    """The crontab without keyz's block for ``store``, and that block (None when absent).

    A marker comment with no keyz job under it is taken out, and the line under it kept.
    """
    rest, block, _ = _scan(crontab, store)
    return rest, block


def stale_markers(crontab: str, store: Path) -> int:
    """keyz's comments for ``store`` with something other than keyz's job under them."""
    return _scan(crontab, store)[2]


def with_block(crontab: str, plan: Plan) -> str:
    rest, _ = without_block(crontab, plan.store)
    if rest and not rest.endswith("\n"):
        rest += "\n"
    return rest + cron_block(plan)


def read_crontab() -> str:
    done = _crontab(["-l"], None)
    if done.returncode != 0:
        if "no crontab" in done.stderr.lower():
            return ""
        raise KeyzError(f"crontab -l failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def write_crontab(text: str) -> None:
    done = _crontab(["-"], text)
    if done.returncode != 0:
        raise KeyzError(f"crontab - refused the new table: {done.stderr.strip()}")


@dataclass(frozen=True)
class Edit:
    """What ``install_line`` or ``remove_line`` changed in the crontab."""

    block: str | None  # keyz's lines written (install) or taken out (remove); None: none were
    stale: int  # keyz's comments taken from above a line that is not keyz's job (kept)


def install_line(plan: Plan) -> Edit | None:
    """Write keyz's line for the plan's store; None when the crontab already had exactly it."""
    before = read_crontab()
    after = with_block(before, plan)
    if after == before:
        return None
    write_crontab(after)
    return Edit(cron_block(plan), stale_markers(before, plan.store))


def remove_line(store: Path) -> Edit | None:
    """Take keyz's line for ``store`` out, and nothing else; None when there was none."""
    before = read_crontab()
    after, block = without_block(before, store)
    if after == before:
        return None
    write_crontab(after)
    return Edit(block, stale_markers(before, store))


def installed_line(store: Path) -> str | None:
    """keyz's block for ``store`` in the crontab, None when there is none."""
    return without_block(read_crontab(), store)[1]


def _crontab(args: list[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
    if shutil.which("crontab") is None:
        raise KeyzError("crontab is not installed; use 'keyz cron install --systemd' instead")
    try:
        return subprocess.run(
            ["crontab", *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=CRONTAB_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise KeyzError(f"crontab did not answer within {CRONTAB_TIMEOUT:.0f}s") from None


# --- systemd user timer ------------------------------------------------------------------


def unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def systemd_units(plan: Plan) -> dict[str, str]:
    """``keyz-sync.service`` and ``keyz-sync.timer``."""

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'

    env = " ".join(quoted(f"{k}={v}") for k, v in environment(plan).items())
    command = " ".join(quoted(arg) for arg in keyz_argv(plan))
    minute, hour = plan.slot()
    if plan.at:
        calendar = f"*-*-* {plan.at}:00"
    else:
        minutes = int(plan.interval.total_seconds() // 60)
        if minutes < 60:
            calendar = f"*-*-* *:00/{minutes}:00"
        elif minutes == 24 * 60:
            calendar = f"*-*-* {hour:02d}:{minute:02d}:00"
        else:
            calendar = f"*-*-* 00/{minutes // 60}:{minute:02d}:00"
    service = f"""\
[Unit]
Description=keyz: check the API key balances in {plan.store}

[Service]
Type=oneshot
Environment={env}
ExecStart={command}
"""
    timer = f"""\
[Unit]
Description=keyz: run {UNIT}.service on a schedule

[Timer]
OnCalendar={calendar}
RandomizedDelaySec=5min
Persistent=true

[Install]
WantedBy=timers.target
"""
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def install_units(plan: Plan) -> list[Path]:
    """Write keyz's service and timer into the user's systemd folder; the paths written."""
    written = []
    for name, text in systemd_units(plan).items():
        path = unit_dir() / name
        atomic_write(path, text.encode())
        written.append(path)
    return written


def systemctl(*args: str) -> subprocess.CompletedProcess[str] | None:
    """``systemctl --user ARGS`` within a time limit; None when there is no systemctl."""
    if shutil.which("systemctl") is None:
        return None
    try:
        return subprocess.run(
            ["systemctl", "--user", *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=SYSTEMCTL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(
            args, 1, "", f"systemctl did not answer within {SYSTEMCTL_TIMEOUT:.0f}s"
        )


def remove_units() -> list[str]:
    """Stop and disable keyz's timer, then delete its units; what happened, one line each.

    When systemctl fails (no user bus over ssh or su, a manager reading another config
    folder) the units are kept and keyz stops: deleting them would leave a timer running that
    ``systemctl disable`` could no longer find. With no systemctl at all no systemd runs them
    here, so they go, with what to run wherever a systemd does.
    """
    folder = unit_dir()
    paths = [folder / f"{UNIT}.service", folder / f"{UNIT}.timer"]
    paths = [path for path in paths if path.exists() or path.is_symlink()]
    if not paths:
        return ["No keyz systemd units to remove"]
    disable = f"systemctl --user disable --now {UNIT}.timer"
    done = systemctl("disable", "--now", f"{UNIT}.timer")
    said = []
    if done is None:
        said.append(
            f"systemctl is not available, so nothing was stopped; where a systemd user manager "
            f"runs this timer, run '{disable}' and 'systemctl --user daemon-reload'"
        )
        link = folder / "timers.target.wants" / f"{UNIT}.timer"  # what 'enable' made
        if (
            link.is_symlink()
            and (link.parent / os.readlink(link)).resolve() == (folder / f"{UNIT}.timer").resolve()
        ):
            paths.append(link)
    elif done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise KeyzError(
            f"'{disable}' failed ({reason}); keyz kept the units so that the timer can still be "
            f"found and stopped: run it in your login session, then 'keyz cron remove --systemd' "
            f"again (or, if no timer runs, delete {folder}/{UNIT}.* yourself)"
        )
    else:
        said.append(f"Stopped and disabled {UNIT}.timer")
    for path in paths:
        path.unlink()
        said.append(f"Removed {path}")
    if done is not None:
        reload = systemctl("daemon-reload")
        if reload is None or reload.returncode != 0:
            said.append("Run 'systemctl --user daemon-reload' so that systemd forgets the units")
    return said


SYSTEMD_NEXT: Final = f"""\
Next:
  systemctl --user daemon-reload
  systemctl --user enable --now {UNIT}.timer
  loginctl enable-linger "$USER"      # run even when you are not logged in
Failures land in the journal: journalctl --user -u {UNIT}.service"""


__all__ = [
    "SYSTEMD_NEXT",
    "UNIT",
    "Edit",
    "Plan",
    "cron_block",
    "install_line",
    "install_units",
    "installed_line",
    "is_keyz_job",
    "make_plan",
    "read_crontab",
    "remove_line",
    "remove_units",
    "stale_markers",
    "systemd_units",
    "unit_dir",
    "with_block",
    "without_block",
    "write_crontab",
]
