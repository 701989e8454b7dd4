"""ZenMux, ngrok AI Gateway and Merge Gateway end to end: keyz as a subprocess, https simulator."""

from __future__ import annotations

import json

import pytest

from keyz.demo.simulator import Answer, Simulator
from tests.conftest import CANARY, MakeStore, Sandbox, files_text

GATEWAYS = ("zenmux", "ngrok", "merge")
KEYS = {"zenmux": CANARY, "ngrok": "ngrok-ai-e2e-" + "5eed" * 8, "merge": "mgmt_" + "5eed" * 8}


def store(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    sandbox = make_sandbox({f"api/{p}": f"{KEYS[p]}\n" for p in GATEWAYS})
    sandbox.env.update(simulator.env(*GATEWAYS))
    simulator.account("zenmux", KEYS["zenmux"])  # the documented figures
    simulator.account("ngrok", KEYS["ngrok"], balance_cents=98765)
    simulator.account("merge", KEYS["merge"], balance_usd="-3.5", total_spend_usd="53.5")
    assert sandbox.keyz("init").returncode == 0
    for p in GATEWAYS:
        result = sandbox.keyz("track", f"api/{p}", "--provider", p)
        assert result.returncode == 0, result.stderr
    return sandbox


def balance(sandbox: Sandbox, entry: str) -> dict[str, object]:
    data = json.loads((sandbox.store / ".keyz" / "entries" / f"{entry}.json").read_text())
    (item,) = data["balances"]
    assert isinstance(item, dict)
    return item


@pytest.mark.cli
def test_each_gateway_syncs_to_exact_dollars_and_never_shows_the_key(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = store(make_sandbox, simulator)
    result = sandbox.keyz("sync", "--commit")
    assert result.returncode == 0, result.stderr
    zenmux = balance(sandbox, "api/zenmux")
    assert (zenmux["currency"], zenmux["remaining"]) == ("USD", "482.74")
    assert (zenmux["topped_up"], zenmux["granted"]) == ("35", "447.74")  # 35.00 as JSON sends it
    assert balance(sandbox, "api/ngrok")["remaining"] == "987.65"
    merge = balance(sandbox, "api/merge")
    assert (merge["remaining"], merge["used"], merge["purchased"]) == ("-3.5", "53.5", "50")
    assert {r.path for r in simulator.requests} == {
        "/zenmux/api/v1/management/payg/balance",
        "/ngrok/credits/balance",
        "/merge/v1/credits",
    }
    status = sandbox.keyz("status")
    assert status.returncode == 0 and "987.65" in status.stdout
    everything = result.stdout + result.stderr + status.stdout + status.stderr
    assert CANARY not in everything and CANARY not in files_text(sandbox.store)


@pytest.mark.cli
def test_an_inference_key_is_told_a_management_key_is_needed(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = store(make_sandbox, simulator)
    refused = {"error": {"code": "403", "type": "access_denied", "message": f"bad {CANARY}"}}
    simulator.fail(CANARY, Answer(403, refused))
    simulator.fail(KEYS["merge"], Answer(422, {"detail": "unprocessable"}))
    result = sandbox.keyz("sync", "api/zenmux", "api/merge", "api/ngrok")
    assert result.returncode == 1
    assert (
        "needs a management key" in result.stderr
        and "zenmux.ai/platform/management" in result.stderr
    )
    assert "api/merge" in result.stderr and "HTTP 422" in result.stderr
    assert "Traceback" not in result.stderr and CANARY not in result.stdout + result.stderr
    assert balance(sandbox, "api/ngrok")["remaining"] == "987.65"  # one entry's failure is its own
    assert not (sandbox.store / ".keyz" / "entries" / "api" / "zenmux.json").exists()
