"""Output made for people: progress and rows as they come on a terminal, plain on a pipe.

Every test here runs the installed keyz on a real pseudo-terminal (tests/tty.py) or a pipe.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from keyz.demo.simulator import Answer, Simulator
from keyz.render import DERIVED_NOTE
from tests.conftest import CANARY, OPENROUTER_KEY, SERVER_ERROR, MakeStore, Sandbox
from tests.tty import run_tty

pytestmark = pytest.mark.cli

HANG = 3.0  # seconds the slow provider takes to answer


def slow_openrouter(simulator: Simulator) -> None:
    """OpenRouter's key endpoint answers HANG seconds late; DeepSeek at once."""
    path = "/openrouter/api/v1/key"
    status, body = simulator.payloads(OPENROUTER_KEY)[path]
    simulator.route(OPENROUTER_KEY, path, Answer(status, json.loads(body), delay=HANG))


def test_progress_from_the_first_moment_and_rows_as_entries_finish(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    slow_openrouter(simulator)
    run = run_tty("sync", env=two_keys.env)
    assert run.returncode == 0, run.text("tty")
    started = run.first("tty", "syncing 0/2 · decrypting…")
    assert started is not None and started < run.ended - HANG + 1, run.chunks
    fast = run.first("tty", "api/deepseek    deepseek    CNY 110.00")
    slow = run.first("tty", "api/openrouter  openrouter  key limit")
    assert fast is not None and slow is not None
    assert fast < slow - HANG / 2  # DeepSeek's row did not wait for OpenRouter
    assert "waiting for openrouter" in run.text("tty")
    screen = run.text("tty").split("\r\x1b[K")[-1]  # what is left once the last progress cleared
    assert "syncing" not in screen


def test_on_a_pipe_no_progress_and_the_rows_at_the_end_in_order(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    slow_openrouter(simulator)
    run = run_tty("sync", env=two_keys.env, stdout_tty=False)  # keyz sync | less
    assert run.returncode == 0
    assert "syncing 0/2" in run.text("tty")  # the person at the terminal still sees progress
    assert run.text("stdout").splitlines()[0].startswith("api/deepseek ")
    assert run.text("stdout").splitlines()[1].startswith("api/openrouter ")
    simulator.openrouter(OPENROUTER_KEY, management=False, limit=20, limit_remaining=12.5)
    piped = two_keys.keyz("sync")  # nothing on a terminal at all
    assert "syncing" not in piped.stderr and "\x1b" not in piped.stdout + piped.stderr
    assert [line.split()[0] for line in piped.stdout.splitlines()] == [
        "api/deepseek",
        "api/openrouter",
    ]


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def line_of(text: str, entry: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(entry) or entry in line)


def configure(sandbox: Sandbox, text: str) -> None:
    path = sandbox.store / ".keyz" / "config.toml"
    path.write_text(path.read_text().replace("[defaults]\n", f"[defaults]\n{text}\n", 1))


def age_state(sandbox: Sandbox, entry: str, days: int) -> None:
    path = sandbox.store / ".keyz" / "state" / "entries.json"
    data = json.loads(path.read_text())
    old = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data["entries"][entry].update(last_checked=old, last_success=old)
    path.write_text(json.dumps(data))


def test_colour_on_a_terminal_only_low_failed_and_stale_stand_out(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    assert two_keys.keyz("sync").returncode == 0
    configure(
        two_keys, 'alert_below = "10 USD"'
    )  # DeepSeek's USD 5.25 is low; OpenRouter's 12.50 is not
    shown = run_tty("status", env=two_keys.env, columns=200).text("tty")
    assert "\x1b[1mENTRY" in shown  # a bold header
    assert "\x1b[31m" in line_of(shown, "api/deepseek")  # low: red
    assert "\x1b[" not in line_of(shown, "api/openrouter")
    age_state(two_keys, "api/openrouter", 3)
    stale = run_tty("status", env=two_keys.env, columns=200).text("tty")
    assert "\x1b[33m" in line_of(stale, "api/openrouter") and "! stale" in stale  # yellow
    simulator.fail(CANARY, *SERVER_ERROR)
    failed = run_tty("sync", env=two_keys.env, columns=200).text("tty")
    assert "\x1b[31m" in line_of(failed, "FAILED")
    for plain in (
        run_tty("status", env=two_keys.env, extra={"NO_COLOR": "1"}),
        run_tty("--no-color", "status", env=two_keys.env),
        run_tty("status", env=two_keys.env, extra={"NO_COLOR": "1", "FORCE_COLOR": "1"}),
    ):
        assert ANSI.search(plain.text("tty")) is None, plain.text("tty")
        assert "ENTRY" in plain.text("tty")
    piped = two_keys.keyz("status")
    assert "\x1b" not in piped.stdout + piped.stderr and piped.stdout.startswith("ENTRY ")
    for forced in (
        two_keys.keyz("--color", "status"),
        two_keys.keyz("status", env={"FORCE_COLOR": "1"}),
    ):
        assert "\x1b[31m" in forced.stdout


def test_lines_fit_the_terminal_and_nothing_is_cut_on_a_pipe(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    synced = run_tty("sync", env=two_keys.env, columns=80)
    assert synced.returncode == 0
    screen = ANSI.sub("", synced.text("tty").replace("\r", "\n"))
    assert max(len(line) for line in screen.splitlines()) <= 80
    assert line_of(screen, "api/openrouter  openrouter").endswith("…")
    status = ANSI.sub("", run_tty("status", env=two_keys.env, columns=80).text("tty"))
    assert max(len(line) for line in status.splitlines()) <= 80, status
    assert line_of(status, "api/openrouter").endswith("…")
    full = two_keys.keyz("status").stdout  # a pipe: every character, whatever COLUMNS says
    assert line_of(full, "api/openrouter").endswith("account balance needs a management key")
    assert len(line_of(full, "api/openrouter")) > 150
    one = ANSI.sub(
        "", run_tty("status", "api/openrouter", env=two_keys.env, columns=40).text("tty")
    )
    assert one.splitlines()[0].startswith("api/openrouter (openrouter), checked just now")
    assert "  key limit: 12.50 of 20.00 USD left (monthly)" in one.splitlines()  # never cut
    assert "  account balance needs a management key" in one.splitlines()
    age_state(two_keys, "api/openrouter", 3)
    marked = ANSI.sub("", run_tty("status", env=two_keys.env, columns=100).text("tty"))
    row = line_of(marked, "api/openrouter")
    assert len(row) <= 100 and "…  ! stale: not checked for over 2 days" in row  # the mark stays


def test_the_derived_note_goes_wherever_the_mark_does(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    simulator.openrouter(OPENROUTER_KEY, management=True)  # credits - usage: derived by keyz
    synced = two_keys.keyz("sync")
    assert "USD 74.75*" in synced.stdout and DERIVED_NOTE in synced.stderr
    status = two_keys.keyz("status")
    assert "USD 74.75*" in status.stdout and DERIVED_NOTE in status.stderr
    checked = two_keys.keyz("check", "--below", "100 USD")
    assert "api/openrouter: USD 74.75* left, below 100 USD" in checked.stderr
    assert DERIVED_NOTE in checked.stderr
    only = two_keys.keyz("sync", "api/deepseek")  # no mark, no note
    assert "*" not in only.stdout and DERIVED_NOTE not in only.stderr


def test_nothing_tracked_says_how_to_start_without_an_empty_line(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n"})
    assert sandbox.keyz("init").returncode == 0
    hint = "Nothing tracked yet: keyz discover finds provider keys; or keyz track ENTRY -p ID\n"
    for command in ("status", "sync", "check", "history"):
        run = run_tty(command, env=sandbox.env)
        assert (run.returncode, run.text("tty")) == (0, hint), command


def test_other_tables_fit_too(two_keys: Sandbox) -> None:
    shown = run_tty("providers", env=two_keys.env, columns=120).text("tty")
    assert max(len(line) for line in shown.splitlines()) <= 120
    assert "…" in shown
    piped = two_keys.keyz("providers").stdout
    assert "GET https://openrouter.ai/api/v1/credits, GET https://openrouter.ai/api/v1/key" in piped
