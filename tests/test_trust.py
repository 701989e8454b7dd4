"""A base_url from the committed config.toml gets no key until this machine trusts it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyz.demo.simulator import Simulator
from tests.conftest import CANARY, MakeStore, Sandbox


@pytest.fixture
def attacker() -> Iterator[Simulator]:
    with Simulator() as other:
        yield other


def point_config_at(sandbox: Sandbox, url: str) -> None:
    """What a collaborator with push access does: edit the committed config."""
    config = sandbox.store / ".keyz" / "config.toml"
    config.write_text(config.read_text() + f'\n[providers.deepseek]\nbase_url = "{url}"\n')
    del sandbox.env["KEYZ_DEEPSEEK_BASE_URL"]  # the user's own override would win


@pytest.mark.cli
def test_a_committed_base_url_gets_no_key_and_nothing_is_decrypted(
    two_keys: Sandbox, attacker: Simulator, tmp_path: Path
) -> None:
    attacker.deepseek(CANARY, [("CNY", "1.00", "0", "1.00")])
    point_config_at(two_keys, attacker.base_url("deepseek"))
    fake = tmp_path / "fakebin"  # a gpg that fails loudly: proves nothing was decrypted
    fake.mkdir()
    (fake / "gpg").write_text("#!/bin/sh\necho 'gpg: decryption failed' >&2\nexit 2\n")
    (fake / "gpg").chmod(0o755)
    result = two_keys.keyz(
        "sync",
        "api/deepseek",
        env={"PATH": f"{fake}:{two_keys.env['PATH']}", "SSL_CERT_FILE": str(attacker.ca_file)},
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "keyz: api/deepseek: [providers.deepseek] base_url = 'https://127.0.0.1:"
    )
    assert "nothing was decrypted or sent" in line and "keyz trust deepseek" in line
    assert attacker.requests == []


@pytest.mark.cli
def test_keyz_trust_lets_the_key_go_there_from_this_machine_only(
    two_keys: Sandbox, attacker: Simulator
) -> None:
    attacker.deepseek(CANARY, [("CNY", "7.00", "0", "7.00")])
    point_config_at(two_keys, attacker.base_url("deepseek") + "/")
    env = {"SSL_CERT_FILE": str(attacker.ca_file)}
    unasked = two_keys.keyz("trust", "deepseek", env=env)  # no terminal to ask on: --yes
    assert unasked.returncode == 2 and "--yes" in unasked.stderr
    assert two_keys.keyz("trust").stdout == ""
    approved = two_keys.keyz("trust", "deepseek", "--yes", env=env)
    assert approved.returncode == 0, approved.stderr
    assert "deepseek keys of this store may now go to https://127.0.0.1:" in approved.stderr
    listed = two_keys.keyz("trust")
    assert listed.stdout.strip() == f"deepseek  {attacker.base_url('deepseek')}"
    result = two_keys.keyz("sync", "api/deepseek", env=env)
    assert result.returncode == 0, result.stderr
    assert [r.token for r in attacker.requests] == [CANARY]
    record = Path(two_keys.env["HOME"]) / ".config" / "keyz" / "trusted-base-urls.json"
    assert record.exists() and not str(record).startswith(str(two_keys.store))
    # the URL itself is approved: a changed URL needs approval again
    point_again = two_keys.store / ".keyz" / "config.toml"
    point_again.write_text(point_again.read_text().replace("/deepseek/", "/other/"))
    assert two_keys.keyz("sync", "api/deepseek", env=env).returncode == 1
    assert two_keys.keyz("trust", "deepseek", "--remove").returncode == 0
    assert two_keys.keyz("trust").stdout == ""


@pytest.mark.cli
def test_a_base_url_line_in_the_pass_entry_travels_with_the_key(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    from keyz.config import EntryConfig, init_keyz_dir, set_entry

    sandbox = make_sandbox(
        {"api/deepseek": f"{CANARY}\nbase_url: {simulator.base_url('deepseek')}\n"}
    )
    sandbox.env["SSL_CERT_FILE"] = str(simulator.ca_file)
    simulator.deepseek(CANARY, [("CNY", "3.00", "0", "3.00")])
    init_keyz_dir(sandbox.store / ".keyz")
    set_entry(sandbox.store / ".keyz", EntryConfig("api/deepseek", "deepseek"))
    result = sandbox.keyz("sync")
    assert result.returncode == 0, result.stderr
    assert [r.token for r in simulator.requests] == [CANARY]


@pytest.mark.cli
def test_the_refusal_shows_the_whole_host_and_a_base_url_with_controls_is_refused(
    two_keys: Sandbox,
) -> None:
    long_host = "my-proxy.corp.example." + "a" * 60 + "." + "b" * 40 + ".attacker.example"
    point_config_at(two_keys, f"https://{long_host}/deepseek")
    refused = two_keys.keyz("sync", "api/deepseek")
    assert refused.returncode == 1 and "attacker.example" in refused.stderr
    config = two_keys.store / ".keyz" / "config.toml"
    config.write_text(config.read_text().replace(long_host, "attacker.example/\\u001b[2K\\r"))
    shown = two_keys.keyz("trust", "deepseek", "--yes")
    assert shown.returncode == 2 and "\x1b" not in shown.stderr
    assert "is not a base URL" in shown.stderr


@pytest.mark.cli
def test_a_pushed_provider_or_region_cannot_move_a_key(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    from keyz.config import EntryConfig, init_keyz_dir, set_entry
    from tests.conftest import OPENROUTER_KEY

    moonshot_key = "sk-moonshot-" + "5eed" * 8
    sandbox = make_sandbox(
        {
            "api/openrouter": f"{OPENROUTER_KEY}\n",
            "api/moonshot": f"{moonshot_key}\nregion: ai\n",
            "api/bound": f"{CANARY}\nprovider: deepseek\n",
        }
    )
    sandbox.env.update(simulator.env("openai", "moonshot", "openrouter"))
    simulator.openai(OPENROUTER_KEY, ["1.00"])
    simulator.moonshot(moonshot_key)
    keyz_dir = sandbox.store / ".keyz"
    init_keyz_dir(keyz_dir)
    # what a collaborator with push access writes
    set_entry(keyz_dir, EntryConfig("api/openrouter", "openai"))
    set_entry(keyz_dir, EntryConfig("api/moonshot", "moonshot", {"region": "cn"}))
    set_entry(keyz_dir, EntryConfig("api/bound", "openrouter"))
    result = sandbox.keyz("sync")
    assert result.returncode == 1
    assert (
        "api/openrouter: the key looks like an OpenRouter key, not a key for openai"
        in result.stderr
    )
    assert "api/bound: config.toml tracks it with openrouter, but the pass entry's provider:" in (
        result.stderr
    )
    sent = {r.token for r in simulator.requests}
    assert OPENROUTER_KEY not in sent and CANARY not in sent
    # the entry's own region line wins: USD from the .ai platform, not CNY from .cn
    (balance,) = json.loads((keyz_dir / "entries" / "api" / "moonshot.json").read_text())[
        "balances"
    ]
    assert balance["currency"] == "USD"
