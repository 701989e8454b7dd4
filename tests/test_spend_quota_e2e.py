"""Spend and quota providers end to end: keyz as a subprocess against the loopback simulator."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from keyz.config import EntryConfig, init_keyz_dir, load_config, set_entry
from keyz.demo.simulator import Simulator
from tests.conftest import CANARY, MakeStore, Sandbox, files_text

PROVIDERS = ("anthropic", "openai", "minimax", "zai", "elevenlabs")
KEYS = {
    "anthropic": CANARY,
    "openai": "sk-admin-" + "0a1b" * 10,
    "minimax": "sk-cp-" + "77" * 20,
    "zai": "zai" + "5" * 30,
    "elevenlabs": "el" + "e1" * 16,
}


def accounts(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """A store with a key for every spend and quota provider, and their accounts."""
    sandbox = make_sandbox({f"api/{p}": f"{KEYS[p]}\n" for p in PROVIDERS})
    sandbox.env.update(simulator.env(*PROVIDERS))
    simulator.anthropic(KEYS["anthropic"], ["125", "250.5", "1000"])  # cents: today, -1d, -2d
    simulator.openai(KEYS["openai"], ["0.06", "1.5"])
    simulator.minimax(KEYS["minimax"], interval_percent="62")
    simulator.zai(KEYS["zai"], used_percent=28)
    simulator.elevenlabs(KEYS["elevenlabs"], used=6200, limit=10000)
    return sandbox


TRACKED = {f"api/{p}": EntryConfig(f"api/{p}", p) for p in PROVIDERS}  # what `keyz track` writes


@pytest.fixture
def plans(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """Every provider tracked in-process; the first test below tracks them through the CLI."""
    sandbox = accounts(make_sandbox, simulator)
    init_keyz_dir(sandbox.store / ".keyz")
    for entry in TRACKED.values():
        set_entry(sandbox.store / ".keyz", entry)
    return sandbox


def sidecar(sandbox: Sandbox, entry: str) -> dict[str, Any]:
    path = sandbox.store / ".keyz" / "entries" / f"{entry}.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.cli
def test_spend_and_quota_windows_are_tracked_written_and_shown(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    plans = accounts(make_sandbox, simulator)
    assert plans.keyz("init").returncode == 0
    for p in PROVIDERS:
        assert plans.keyz("track", f"api/{p}", "-p", p).returncode == 0
    assert load_config(plans.store / ".keyz").entries == TRACKED  # as the fixture has it
    result = plans.keyz("sync", "--commit")
    assert result.returncode == 0, result.stderr
    spend = {s["period"]: s for s in sidecar(plans, "api/anthropic")["spend"]}
    assert Decimal(spend["last_30_days"]["amount"]) == Decimal("13.755")
    assert spend["last_30_days"]["derived"] == ["amount"]
    assert sidecar(plans, "api/anthropic")["balances"] == []  # spend is not a balance
    openai = {s["period"]: s for s in sidecar(plans, "api/openai")["spend"]}
    assert Decimal(openai["last_30_days"]["amount"]) == Decimal("1.56")
    quotas = {q["label"]: q for q in sidecar(plans, "api/minimax")["quotas"]}
    assert quotas["interval"]["remaining_percent"] == "62"
    zai = {q["label"]: q for q in sidecar(plans, "api/zai")["quotas"]}
    assert zai["tokens"]["remaining_percent"] == "72"
    assert {(label, q["window"]) for label, q in zai.items()} == {
        ("tokens", "5h"),
        ("weekly tokens", "7d"),
        ("monthly mcp calls", "1mo"),
    }
    (chars,) = sidecar(plans, "api/elevenlabs")["quotas"]
    assert chars["remaining"] == "3800" and chars["unit"] == "characters"

    status = plans.keyz("status")
    assert status.returncode == 0
    lines = {line.split()[0]: line for line in status.stdout.splitlines()}
    assert "spent USD " in lines["api/anthropic"]  # this month's figure depends on the date
    assert "13.755* in 30 days" in lines["api/anthropic"]
    assert "interval (5h): 62% left, resets in" in lines["api/minimax"]
    assert "characters: 38%* left" in lines["api/elevenlabs"]
    as_json = json.loads(plans.keyz("status", "--json").stdout)
    rows = {r["entry"]: r for r in as_json["entries"]}
    zai_quotas = {q["label"]: q for q in rows["api/zai"]["sidecar"]["quotas"]}
    assert zai_quotas["tokens"]["resets_at"].endswith("Z")
    history = plans.keyz("history").stdout  # no balance, but quota windows and spend to chart
    minimax = next(line for line in history.splitlines() if line.startswith("api/minimax "))
    assert " ".join(minimax.split()[1:3]) == "minimax interval"
    assert "interval (5h): 62% left" in minimax
    anthropic = next(line for line in history.splitlines() if line.startswith("api/anthropic "))
    assert "13.755 in 30 days" in anthropic
    seen = result.stdout + result.stderr + status.stdout + status.stderr + history
    assert CANARY not in seen and CANARY not in files_text(plans.store)
    assert CANARY not in plans.git("log", "-p", "--all", "--no-textconv")


@pytest.mark.cli
def test_a_plan_error_in_a_200_answer_fails_that_entry_only(
    plans: Sandbox, simulator: Simulator
) -> None:
    simulator.minimax(KEYS["minimax"], status_code=2062)
    result = plans.keyz("sync", "api/minimax", "api/zai")
    assert result.returncode == 1
    assert "api/minimax" in result.stderr and "no active Token Plan" in result.stderr
    assert (plans.store / ".keyz" / "entries" / "api" / "zai.json").exists()
    assert "Traceback" not in result.stderr


@pytest.mark.cli
def test_tracking_elevenlabs_names_the_permission_its_key_needs(plans: Sandbox) -> None:
    result = plans.keyz("track", "api/elevenlabs", "-p", "elevenlabs")
    assert result.returncode == 0
    assert "user_read" in result.stderr  # /v1/user/subscription refuses keys without it
