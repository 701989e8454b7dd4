"""One health model: keyz status and keyz check always agree on what is wrong with an entry."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from keyz.demo.simulator import Simulator
from keyz.fields import format_time, parse_time
from tests.conftest import CANARY, SERVER_ERROR, Sandbox
from tests.test_check import configure


def both(sandbox: Sandbox, hours_later: float) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """status --json rows by entry, and check's "entry:kind" problems, ``hours_later`` the sync."""
    state = json.loads((sandbox.store / ".keyz" / "state" / "entries.json").read_text())
    synced = max(parse_time(e["last_checked"]) for e in state["entries"].values())
    env = {"KEYZ_NOW": format_time(synced + timedelta(hours=hours_later))}
    status = sandbox.keyz("status", "--json", env=env)
    check = sandbox.keyz("check", "--json", env=env)
    assert status.returncode == 0, status.stderr
    assert check.returncode == (1 if json.loads(check.stdout)["problems"] else 0)
    rows = {row["entry"]: row for row in json.loads(status.stdout)["entries"]}
    return rows, {f"{p['entry']}:{p['kind']}" for p in json.loads(check.stdout)["problems"]}


@pytest.mark.cli
def test_status_and_check_agree_on_staleness_under_max_age(two_keys: Sandbox) -> None:
    status, check = two_keys.keyz("status", "--json"), two_keys.keyz("check", "--json")
    assert {r["problem"] for r in json.loads(status.stdout)["entries"]} == {
        "never synced; run keyz sync"
    }
    assert {p["kind"] for p in json.loads(check.stdout)["problems"]} == {"never"}
    assert two_keys.keyz("sync").returncode == 0
    rows, problems = both(two_keys, 30)  # the default max_age, 2d: fine in both
    assert problems == set()
    assert [(r["stale"], r["problem"]) for r in rows.values()] == [(False, None)] * 2
    configure(two_keys, 'max_age = "1d"')
    rows, problems = both(two_keys, 30)
    assert problems == {"api/deepseek:stale", "api/openrouter:stale"}
    assert all(r["stale"] for r in rows.values())
    assert rows["api/deepseek"]["problem"] == "stale: not checked for over 1 day"
    rows, problems = both(two_keys, 23)
    assert problems == set() and not any(r["stale"] for r in rows.values())


@pytest.mark.cli
def test_status_and_check_agree_on_a_failed_and_a_never_synced_entry(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    simulator.fail(CANARY, *SERVER_ERROR)
    assert two_keys.keyz("sync").returncode == 1
    rows, problems = both(two_keys, 1)
    assert problems == {"api/deepseek:failed"}  # never synced, because it failed
    assert rows["api/deepseek"]["problem"].startswith("last sync failed: ")
    assert rows["api/deepseek"]["stale"] is False  # no figures to call stale
    assert rows["api/openrouter"]["problem"] is None
    assert two_keys.keyz("sync").returncode == 0
    simulator.fail(CANARY, *SERVER_ERROR)
    assert two_keys.keyz("sync").returncode == 1
    rows, problems = both(two_keys, 1)
    assert problems == {"api/deepseek:failed"}
    assert rows["api/deepseek"]["stale"] is True  # the last good figures, not refreshed
    rows, problems = both(two_keys, 72)  # failed, and by now stale as well: both say so
    assert problems == {"api/deepseek:failed", "api/deepseek:stale", "api/openrouter:stale"}
    assert rows["api/deepseek"]["problem"].startswith("last sync failed: ")
    assert rows["api/openrouter"]["problem"] == "stale: not checked for over 2 days"
    (two_keys.store / ".keyz" / "entries" / "api" / "openrouter.json").write_text("{")
    rows, problems = both(two_keys, 1)
    assert "api/openrouter:unreadable" in problems
    assert "is not valid JSON" in rows["api/openrouter"]["problem"]
    assert rows["api/openrouter"]["stale"] is False  # no figures to call stale
