"""keyz's one clock: the core never reads the environment for the time; the CLI sets it once."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from keyz import fields
from keyz.cli import cli
from keyz.clock import frozen_at, set_clock, utc_now

PRETEND = "2001-02-03T04:05:06Z"
THEN = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def system_clock_after() -> Iterator[None]:
    yield
    set_clock(None)


def near_now(when: datetime) -> bool:
    return abs(when - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_set_clock_is_everyones_until_it_is_reset() -> None:
    set_clock(frozen_at(PRETEND, "KEYZ_NOW"))
    assert utc_now() == THEN and fields.utc_now() == THEN
    set_clock(None)
    assert near_now(utc_now()) and utc_now().microsecond == 0


def test_the_core_never_reads_keyz_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYZ_NOW", PRETEND)
    assert near_now(utc_now())


def test_the_command_line_sets_the_clock_from_keyz_now_at_each_start() -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["completion", "bash"], env={"KEYZ_NOW": PRETEND})
    assert done.exit_code == 0, done.output
    assert utc_now() == THEN
    done = runner.invoke(cli, ["completion", "bash"], env={"KEYZ_NOW": None})
    assert done.exit_code == 0, done.output
    assert near_now(utc_now())  # a second run in the same process is not stuck in 2001


@pytest.mark.parametrize("text", ["yesterday", "2026-02-30T00:00:00Z", "2026-11-20 09:00"])
def test_a_keyz_now_that_is_not_a_time_is_a_usage_error(text: str) -> None:
    done = CliRunner().invoke(cli, ["completion", "bash"], env={"KEYZ_NOW": text})
    assert done.exit_code == 2
    assert done.stderr == f"keyz: KEYZ_NOW={text!r} is not a UTC time like 2026-11-20T09:00:00Z\n"
    assert "Traceback" not in done.output
