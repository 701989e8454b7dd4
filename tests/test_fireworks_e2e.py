"""Fireworks end to end: keyz as a subprocess against the loopback simulator, the required
``account_id`` option given through the CLI (``track -o``) or as a line of the pass entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from keyz.config import EntryConfig, init_keyz_dir, load_config, set_entry
from keyz.demo.simulator import Simulator
from tests.conftest import CANARY, MakeStore, Sandbox, files_text

TEAM_KEY = "fw_" + "T3amK3y0Fireworks" * 2
LONE_KEY = "fw_" + "N0Acc0untF1reworks" * 2
TEAM_ACCOUNT = "team-acct-7f3a"  # from the entry's line: private, like the rest of the entry
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # keyz's clock (KEYZ_NOW) and the accounts'


def sidecar(sandbox: Sandbox, entry: str) -> dict[str, Any]:
    path = sandbox.store / ".keyz" / "entries" / f"{entry}.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def spend(sandbox: Sandbox, entry: str) -> dict[str, tuple[str, Decimal]]:
    return {
        s["period"]: (s["currency"], Decimal(s["amount"])) for s in sidecar(sandbox, entry)["spend"]
    }


@pytest.fixture
def fireworks(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    sandbox = make_sandbox(
        {
            "api/fireworks": f"{CANARY}\n",  # the account id comes from `track -o`
            "work/fireworks": f"{TEAM_KEY}\naccount_id: {TEAM_ACCOUNT}\n",  # from the entry
            "old/fireworks": f"{LONE_KEY}\n",  # none at all
        }
    )
    sandbox.env.update(simulator.env("fireworks"))
    sandbox.env["KEYZ_NOW"] = "2026-11-23T12:00:00Z"
    simulator.now = NOW
    simulator.account("fireworks", CANARY, account_id="my-account")  # the documented figures
    simulator.account(
        "fireworks", TEAM_KEY, account_id=TEAM_ACCOUNT, daily=[("0", 5), ("12", 340_000_000)]
    )
    simulator.account("fireworks", LONE_KEY)
    return sandbox


@pytest.mark.cli
def test_account_id_from_the_cli_or_the_entry_and_spend_to_the_nano(
    fireworks: Sandbox, simulator: Simulator
) -> None:
    assert fireworks.keyz("init").returncode == 0
    tracked = fireworks.keyz(
        "track", "api/fireworks", "-p", "fireworks", "-o", "account_id=my-account"
    )
    assert tracked.returncode == 0, tracked.stderr
    assert fireworks.keyz("track", "work/fireworks", "-p", "fireworks").returncode == 0
    entries = load_config(fireworks.store / ".keyz").entries
    assert entries["api/fireworks"].options == {"account_id": "my-account"}
    assert entries["work/fireworks"].options == {}  # its account id stays in the entry

    result = fireworks.keyz("sync", "--commit")
    assert result.returncode == 0, result.stderr
    # the module's documented example: 3 two days ago, 0.40 yesterday, 1.25 today
    assert spend(fireworks, "api/fireworks") == {
        "today": ("USD", Decimal("1.25")),
        "this_month": ("USD", Decimal("4.65")),
        "last_30_days": ("USD", Decimal("4.65")),
    }
    assert spend(fireworks, "work/fireworks")["today"] == ("USD", Decimal("5E-9"))
    assert spend(fireworks, "work/fireworks")["last_30_days"] == ("USD", Decimal("12.340000005"))
    assert sidecar(fireworks, "api/fireworks")["balances"] == []

    paths = {r.token: (r.path, r.query) for r in simulator.requests}
    assert len(simulator.requests) == 2  # one request per entry
    assert paths[CANARY][0] == "/fireworks/v1/accounts/my-account/billing/summary"
    assert paths[TEAM_KEY][0] == f"/fireworks/v1/accounts/{TEAM_ACCOUNT}/billing/summary"
    assert sorted(paths[CANARY][1].split("&")) == [
        "endTime=2026-11-24T00%3A00%3A00Z",
        "granularity=DAILY",
        "startTime=2026-10-25T00%3A00%3A00Z",
    ]

    status = fireworks.keyz("status")
    assert status.returncode == 0
    line = next(s for s in status.stdout.splitlines() if s.startswith("api/fireworks "))
    assert "4.65* in 30 days" in line
    seen = result.stdout + result.stderr + status.stdout + status.stderr
    for secret in (CANARY, TEAM_KEY):
        assert secret not in seen and secret not in files_text(fireworks.store)
        assert secret not in fireworks.git("log", "-p", "--all", "--no-textconv")
    assert TEAM_ACCOUNT not in files_text(fireworks.store)  # neither config nor sidecar has it


@pytest.mark.cli
def test_without_account_id_the_entry_fails_and_nothing_is_sent(
    fireworks: Sandbox, simulator: Simulator
) -> None:
    init_keyz_dir(fireworks.store / ".keyz")  # what `keyz init` and `keyz track` write
    for name in ("old/fireworks", "work/fireworks"):
        set_entry(fireworks.store / ".keyz", EntryConfig(name, "fireworks"))
    result = fireworks.keyz("sync", "--json")
    assert result.returncode == 1
    rows = {r["entry"]: r for r in json.loads(result.stdout)["entries"]}
    assert rows["old/fireworks"]["error_kind"] == "config"
    assert "account_id" in rows["old/fireworks"]["error"]
    assert "nothing was sent" in rows["old/fireworks"]["error"]
    assert rows["work/fireworks"].get("error") is None  # the other entry went on
    assert LONE_KEY not in {r.token for r in simulator.requests}
    assert "Traceback" not in result.stderr and LONE_KEY not in result.stdout + result.stderr


@pytest.mark.cli
def test_a_malformed_account_id_is_refused_when_tracking(fireworks: Sandbox) -> None:
    init_keyz_dir(fireworks.store / ".keyz")
    result = fireworks.keyz("track", "api/fireworks", "-p", "fireworks", "-o", "account_id=../x")
    assert result.returncode == 2
    assert "account_id" in result.stderr
    assert "api/fireworks" not in load_config(fireworks.store / ".keyz").entries
