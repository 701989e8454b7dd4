"""Output made for people: progress and rows as they come on a terminal, plain on a pipe.

Every test here runs the installed keyz on a real pseudo-terminal (tests/tty.py) or a pipe.
"""

from __future__ import annotations

import json

import pytest

from keyz.simulator import Answer, Simulator
from tests.conftest import OPENROUTER_KEY, Sandbox
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
