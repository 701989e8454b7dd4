"""Relays end to end: keyz as a subprocess, the https simulator as the relay, the host bound to
the key by the pass entry's base_url line, and every way around that binding refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyz.config import EntryConfig, init_keyz_dir, set_entry
from keyz.demo.simulator import Answer, Simulator
from tests.conftest import CANARY, MakeStore, Sandbox, files_text

SITE_KEY = "site-key-" + "5eed" * 8
MAPPING = {
    "path": "/balance",
    "remaining": "data.balance",
    "spend": "data.used",
    "currency": "data.currency",
}


@pytest.fixture
def attacker() -> Iterator[Simulator]:
    with Simulator() as other:
        yield other


def relays(make_sandbox: MakeStore, simulator: Simulator, *, track: bool = True) -> Sandbox:
    """A oneapi token (the canary) and an http-json key, each entry naming its relay's host."""
    sandbox = make_sandbox(
        {
            "api/relay": f"{CANARY}\nbase_url: {simulator.base_url('oneapi')}\n",
            "api/site": f"{SITE_KEY}\nbase_url: {simulator.base_url('http-json')}\n",
        }
    )
    sandbox.env["SSL_CERT_FILE"] = str(simulator.ca_file)
    simulator.account("oneapi", CANARY)
    simulator.account("http-json", SITE_KEY)
    if track:
        init_keyz_dir(sandbox.store / ".keyz")
        set_entry(sandbox.store / ".keyz", EntryConfig("api/relay", "oneapi"))
        set_entry(sandbox.store / ".keyz", EntryConfig("api/site", "http-json", MAPPING))
    return sandbox


def sidecar(sandbox: Sandbox, entry: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (sandbox.store / ".keyz" / "entries" / f"{entry}.json").read_text()
    )
    return data


def failing_gpg(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    """A PATH whose gpg fails loudly: proves nothing was decrypted."""
    fake = tmp_path / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "gpg").write_text("#!/bin/sh\necho 'gpg: decryption failed' >&2\nexit 2\n")
    (fake / "gpg").chmod(0o755)
    return {"PATH": f"{fake}:{sandbox.env['PATH']}"}


@pytest.mark.cli
def test_provider_test_shows_the_mapping_writes_nothing_then_sync_writes_it(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = relays(make_sandbox, simulator, track=False)
    assert sandbox.keyz("init").returncode == 0
    tracked = sandbox.keyz("track", "api/relay", "-p", "oneapi")
    assert tracked.returncode == 0 and "warning" not in tracked.stderr, tracked.stderr
    options = [x for name, value in MAPPING.items() for x in ("-o", f"{name}={value}")]
    assert sandbox.keyz("track", "api/site", "-p", "http-json", *options).returncode == 0
    log_before = sandbox.git("log", "--oneline")

    shown = sandbox.keyz("provider", "test", "api/relay")
    assert shown.returncode == 0, shown.stderr
    assert "api/relay (oneapi): key limit: 12.50 of 20.00 USD left" in shown.stdout
    assert "hard_limit_usd" in shown.stdout and "total_usage / 100" in shown.stdout
    assert "key_limit USD.remaining  12.5" in shown.stdout
    assert "Nothing was written" in shown.stderr
    document = json.loads(sandbox.keyz("provider", "test", "api/site", "--json").stdout)
    assert document["written"] is False
    figures = {f["figure"]: f["value"] for f in document["figures"]}
    assert figures["balance USD.remaining"] == "12.50" and figures["balance USD.used"] == "7.50"
    trace = {t["figure"]: (t["source"], t["raw"]) for t in document["trace"]}
    assert trace["balance.remaining"] == ("remaining = data.balance", '"12.50"')
    assert trace["currency"] == ("currency = data.currency", '"USD"')
    # nothing written: no sidecar, no state, no commit
    assert not (sandbox.store / ".keyz" / "entries" / "api").exists()
    assert not (sandbox.store / ".keyz" / "state").exists()
    assert sandbox.git("log", "--oneline") == log_before

    synced = sandbox.keyz("sync", "--commit")
    assert synced.returncode == 0, synced.stderr
    assert sidecar(sandbox, "api/relay")["key_limit"] == {
        "currency": "USD",
        "derived": ["remaining"],
        "limit": "20",
        "remaining": "12.5",
        "reset": None,
        "source": "/dashboard/billing/subscription",
        "usage": "7.5",
    }
    balances = sidecar(sandbox, "api/site")["balances"]
    assert isinstance(balances, list) and len(balances) == 1
    balance = balances[0]
    assert (balance["currency"], balance["remaining"], balance["used"]) == ("USD", "12.50", "7.50")
    relay_requests = [r for r in simulator.requests if r.token == CANARY]
    assert {r.path for r in relay_requests} == {
        "/oneapi/dashboard/billing/subscription",
        "/oneapi/dashboard/billing/usage",
    }
    assert all("start_date=" in r.query for r in relay_requests if r.path.endswith("usage"))
    everything = shown.stdout + shown.stderr + synced.stdout + synced.stderr
    assert CANARY not in everything and SITE_KEY not in everything
    assert CANARY not in files_text(sandbox.store) and SITE_KEY not in files_text(sandbox.store)


@pytest.mark.cli
def test_an_unlimited_token_syncs_as_no_limit(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = relays(make_sandbox, simulator)
    simulator.account("oneapi", CANARY, hard_limit=100000000, total_usage=1234)
    assert sandbox.keyz("sync", "api/relay").returncode == 0
    data = sidecar(sandbox, "api/relay")
    assert data["key_limit"] == {
        "currency": "USD",
        "limit": None,
        "remaining": None,
        "reset": None,
        "source": "/dashboard/billing/subscription",
        "usage": "12.34",
    }
    assert any("unlimited token" in note for note in data["notes"])  # type: ignore[attr-defined]
    status = sandbox.keyz("status").stdout
    assert "key limit: none, 12.34 USD used" in status and "100000000 USD" not in status
    assert "100000000.00" not in status


@pytest.mark.cli
def test_a_relay_entry_without_a_base_url_line_sends_nothing(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = make_sandbox({"api/relay": f"{CANARY}\n"})
    sandbox.env["SSL_CERT_FILE"] = str(simulator.ca_file)
    simulator.account("oneapi", CANARY)
    assert sandbox.keyz("init").returncode == 0
    tracked = sandbox.keyz("track", "api/relay", "-p", "oneapi")
    assert tracked.returncode == 0
    assert "has no 'base_url: https://…' line" in tracked.stderr
    assert "pass edit api/relay" in tracked.stderr
    for argv in (("sync",), ("provider", "test", "api/relay")):
        result = sandbox.keyz(*argv)
        assert result.returncode in (1, 2), argv
        assert "add a line 'base_url: https://your-relay.example'" in result.stderr, argv
        assert "pass edit api/relay" in result.stderr and "Nothing was sent" in result.stderr
    assert simulator.requests == []


@pytest.mark.cli
def test_a_config_or_env_base_url_cannot_retarget_a_relay_key(
    make_sandbox: MakeStore, simulator: Simulator, attacker: Simulator, tmp_path: Path
) -> None:
    sandbox = relays(make_sandbox, simulator)
    attacker.account("oneapi", CANARY)
    config = sandbox.store / ".keyz" / "config.toml"
    clean_config = config.read_text()
    config.write_text(
        clean_config + f'\n[providers.oneapi]\nbase_url = "{attacker.base_url("oneapi")}"\n'
    )
    env = {"SSL_CERT_FILE": str(attacker.ca_file)}
    trusted = sandbox.keyz("trust", "oneapi", "--yes", env=env)  # cannot be approved either
    assert trusted.returncode == 2 and "nothing to approve" in trusted.stderr
    no_gpg = {**env, **failing_gpg(sandbox, tmp_path)}
    for argv in (("sync", "api/relay"), ("provider", "test", "api/relay")):
        refused = sandbox.keyz(*argv, env=no_gpg)
        assert refused.returncode in (1, 2), argv
        assert "config.toml sets [providers.oneapi] base_url" in refused.stderr, argv
        assert "Nothing was decrypted or sent" in refused.stderr
        assert "decryption failed" not in refused.stderr  # refused before gpg ran
    config.write_text(clean_config)
    pointed = {**no_gpg, "KEYZ_ONEAPI_BASE_URL": attacker.base_url("oneapi")}
    refused = sandbox.keyz("sync", "api/relay", env=pointed)
    assert refused.returncode == 1 and "KEYZ_ONEAPI_BASE_URL is set" in refused.stderr
    assert attacker.requests == [] and simulator.requests == []
    assert not (sandbox.store / ".keyz" / "entries" / "api" / "relay.json").exists()


@pytest.mark.cli
def test_plain_http_to_a_relay_is_refused_and_a_redirect_is_not_followed(
    make_sandbox: MakeStore, simulator: Simulator, attacker: Simulator
) -> None:
    sandbox = make_sandbox(
        {
            "api/relay": f"{CANARY}\nbase_url: {simulator.base_url('oneapi')}\n",
            "api/plain": f"{SITE_KEY}\nbase_url: http://relay.example.com\n",
        }
    )
    sandbox.env["SSL_CERT_FILE"] = str(simulator.ca_file)
    init_keyz_dir(sandbox.store / ".keyz")
    set_entry(sandbox.store / ".keyz", EntryConfig("api/relay", "oneapi"))
    set_entry(sandbox.store / ".keyz", EntryConfig("api/plain", "oneapi"))
    simulator.account("oneapi", CANARY)
    moved = attacker.base_url("oneapi") + "/dashboard/billing/subscription"
    simulator.fail(CANARY, Answer(302, headers={"Location": moved}))
    result = sandbox.keyz("sync")
    assert result.returncode == 1
    lines = {
        line.split(":")[1].strip(): line for line in result.stderr.splitlines() if ": " in line
    }
    assert "only https is allowed, except for loopback hosts" in lines["api/plain"]
    assert "relay.example.com" not in result.stderr  # the entry's value is never shown
    assert "does not follow redirects" in lines["api/relay"]
    assert attacker.requests == []
    assert [r.path for r in simulator.requests] == ["/oneapi/dashboard/billing/subscription"]
    assert CANARY not in result.stdout + result.stderr


@pytest.mark.cli
def test_provider_test_works_for_any_provider_and_fails_as_sync_would(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    shown = two_keys.keyz("provider", "test", "api/deepseek")
    assert shown.returncode == 0, shown.stderr
    assert "balance CNY.remaining  110.00" in shown.stdout
    assert "How each figure was read" not in shown.stdout  # only mappings have a trace
    untracked = two_keys.keyz("provider", "test", "api/nothing")
    assert untracked.returncode == 2 and "not tracked: api/nothing" in untracked.stderr
    echo = {"error": {"message": f"Invalid key {CANARY}", "type": "authentication_error"}}
    simulator.fail(CANARY, Answer(401, echo))
    refused = two_keys.keyz("provider", "test", "api/deepseek", "--json")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("keyz: deepseek balance: the key was rejected (HTTP 401)")
    assert CANARY not in refused.stderr
    assert not (two_keys.store / ".keyz" / "entries" / "api").exists()  # never written
