"""Every balance provider end to end: keyz as a subprocess against the loopback simulator."""

from __future__ import annotations

import json

import pytest

from keyz.config import EntryConfig, init_keyz_dir, load_config, set_entry
from keyz.demo.simulator import Answer, Simulator
from tests.conftest import CANARY, OPENROUTER_KEY, MakeStore, Sandbox, files_text

PROVIDERS = (
    "moonshot",
    "novita",
    "xai",
    "siliconflow",
    "fal",
    "venice",
    "poe",
    "cloudflare",
    "stepfun",
    "deepgram",
)
KEYS = {p: f"sk-{p}-" + "5eed" * 8 for p in PROVIDERS}
KEYS["xai"] = CANARY  # the canary rides on the provider with the most requests
CF_ACCOUNT = "0123456789abcdef0123456789abcdef"  # given with -o account_id=… at track
DG_PROJECT = "6d1f5c1e-2b7a-4a43-9e39-0c7f2d1b8e55"  # a project_id: line of the entry


def accounts(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """A store with a key for every provider, each with its account in the simulator."""
    entries = {f"api/{p}": f"{KEYS[p]}\n" for p in PROVIDERS}
    entries["api/moonshot"] += "region: cn\n"  # a hint line in the entry picks the region
    entries["api/deepgram"] += f"project_id: {DG_PROJECT}\n"  # a required option, from the entry
    sandbox = make_sandbox(entries)
    sandbox.env.update(simulator.env(*PROVIDERS))
    simulator.moonshot(KEYS["moonshot"])
    simulator.novita(KEYS["novita"])
    simulator.xai(KEYS["xai"], team_id="team-abc", total_cents="-250")
    simulator.siliconflow(KEYS["siliconflow"])
    simulator.fal(KEYS["fal"])
    simulator.venice(KEYS["venice"])
    simulator.poe(KEYS["poe"])
    simulator.account("cloudflare", KEYS["cloudflare"], account_id=CF_ACCOUNT, balance=2550)
    simulator.account("stepfun", KEYS["stepfun"], balance="13.77", total_voucher="13.77")
    simulator.account(
        "deepgram",
        KEYS["deepgram"],
        project_id=DG_PROJECT,
        balances=[("150.25", "usd"), ("49.75", "usd"), ("12.5", "hour")],
    )
    return sandbox


TRACKED = {f"api/{p}": EntryConfig(f"api/{p}", p) for p in PROVIDERS}  # what `keyz track` writes
TRACKED["api/cloudflare"] = EntryConfig("api/cloudflare", "cloudflare", {"account_id": CF_ACCOUNT})
TRACK_OPTIONS = {"cloudflare": ("-o", f"account_id={CF_ACCOUNT}")}


@pytest.fixture
def every_provider(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """Every provider tracked in-process; the first test below tracks them through the CLI."""
    sandbox = accounts(make_sandbox, simulator)
    init_keyz_dir(sandbox.store / ".keyz")
    for entry in TRACKED.values():
        set_entry(sandbox.store / ".keyz", entry)
    return sandbox


def sidecar(sandbox: Sandbox, entry: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (sandbox.store / ".keyz" / "entries" / f"{entry}.json").read_text()
    )
    return data


def balances(sandbox: Sandbox, entry: str) -> list[tuple[str, str, str | None]]:
    items = sidecar(sandbox, entry)["balances"]
    assert isinstance(items, list)
    return [(b["currency"], b["unit_kind"], b["remaining"]) for b in items]


@pytest.mark.cli
def test_every_provider_is_tracked_and_syncs_to_exact_major_units(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    every_provider = accounts(make_sandbox, simulator)
    assert every_provider.keyz("init").returncode == 0
    for p in PROVIDERS:
        result = every_provider.keyz(
            "track", f"api/{p}", "--provider", p, *TRACK_OPTIONS.get(p, ())
        )
        assert result.returncode == 0, result.stderr
        assert "warning" not in result.stderr  # required options given: by -o, or by the entry
    assert load_config(every_provider.store / ".keyz").entries == TRACKED  # as the fixture has it
    result = every_provider.keyz("sync", "--commit")
    assert result.returncode == 0, result.stderr
    assert balances(every_provider, "api/moonshot") == [("CNY", "currency", "49.58894")]
    assert balances(every_provider, "api/novita") == [("USD", "currency", "100")]
    assert balances(every_provider, "api/xai") == [("USD", "currency", "2.5")]
    assert balances(every_provider, "api/siliconflow") == [("CNY", "currency", "88.88")]
    assert balances(every_provider, "api/fal") == [("USD", "currency", "24.5")]
    assert balances(every_provider, "api/venice") == [
        ("DIEM", "provider", "90.5"),
        ("USD", "currency", "25"),
    ]
    assert balances(every_provider, "api/poe") == [("POINTS", "provider", "1500")]
    assert balances(every_provider, "api/cloudflare") == [("USD", "currency", "25.5")]
    assert balances(every_provider, "api/stepfun") == [("CNY", "currency", "13.77")]
    assert balances(every_provider, "api/deepgram") == [
        ("HOUR", "provider", "12.5"),
        ("USD", "currency", "200.00"),
    ]
    assert sidecar(every_provider, "api/venice")["available"] is True
    # the account id from -o and the project id from the entry's line chose the paths
    assert {r.path for r in simulator.requests if r.token == KEYS["cloudflare"]} == {
        f"/cloudflare/client/v4/accounts/{CF_ACCOUNT}/ai-gateway/billing/credit-balance"
    }
    assert {r.path for r in simulator.requests if r.token == KEYS["deepgram"]} == {
        f"/deepgram/v1/projects/{DG_PROJECT}/balances"
    }
    assert DG_PROJECT not in result.stdout + result.stderr  # an entry's values stay private
    # the region hint sent the moonshot key only to the simulator's moonshot routes
    paths = {r.path for r in simulator.requests if r.token == KEYS["moonshot"]}
    assert paths == {"/moonshot/v1/users/me/balance"}
    # team id discovered from the key, then used
    xai_paths = [r.path for r in simulator.requests if r.token == CANARY]
    assert xai_paths == [
        "/xai/auth/management-keys/validation",
        "/xai/v1/billing/teams/team-abc/prepaid/balance",
    ]
    status = every_provider.keyz("status", "--json")
    assert status.returncode == 0
    rows = {row["entry"]: row for row in json.loads(status.stdout)["entries"]}
    assert rows["api/poe"]["sidecar"]["balances"][0]["currency"] == "POINTS"
    human = every_provider.keyz("status").stdout
    assert "1500 POINTS" in human or "POINTS 1500" in human
    everything = result.stdout + result.stderr + status.stdout + human
    assert CANARY not in everything
    assert CANARY not in files_text(every_provider.store)
    assert "user@example.com" not in files_text(every_provider.store)


@pytest.mark.cli
def test_a_wrong_kind_of_key_names_the_key_needed_and_never_echoes_it(
    every_provider: Sandbox, simulator: Simulator
) -> None:
    echo = {"error": {"message": f"Invalid management key {CANARY}"}}
    simulator.fail(CANARY, Answer(401, echo))
    result = every_provider.keyz("sync", "api/xai", "api/poe")
    assert result.returncode == 1
    assert "api/xai" in result.stderr and "needs a management key" in result.stderr
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stdout + result.stderr
    assert balances(every_provider, "api/poe") == [("POINTS", "provider", "1500")]


@pytest.mark.cli
def test_a_key_is_never_sent_to_the_other_regions_host(every_provider: Sandbox) -> None:
    result = every_provider.keyz(
        "sync", "api/moonshot", env={"KEYZ_MOONSHOT_BASE_URL": "https://api.moonshot.ai"}
    )
    assert result.returncode == 1
    assert "region-bound" in result.stderr
    assert not (every_provider.store / ".keyz" / "entries" / "api" / "moonshot.json").exists()


@pytest.mark.cli
def test_unsupported_providers_are_explained(every_provider: Sandbox) -> None:
    result = every_provider.keyz("track", "api/poe", "--provider", "mistral")
    assert result.returncode == 2
    assert "cannot check Mistral" in result.stderr and "admin.mistral.ai" in result.stderr
    listing = json.loads(every_provider.keyz("providers", "--json").stdout)
    supported = {p["id"] for p in listing["providers"]}
    assert set(PROVIDERS) | {"deepseek", "openrouter"} <= supported
    unsupported = {u["id"] for u in listing["unsupported"]}
    assert {"mistral", "together", "groq", "cerebras", "perplexity", "gemini"} <= unsupported
    assert {"xiaomi-mimo", "cohere", "huggingface", "replicate"} <= unsupported
    assert {"alibaba", "volcengine", "baidu", "tencent"} <= unsupported
    assert not supported & unsupported


@pytest.mark.cli
def test_clouds_that_sign_requests_and_console_only_billing_are_explained(
    every_provider: Sandbox,
) -> None:
    for provider in ("alibaba", "volcengine", "baidu", "tencent"):
        result = every_provider.keyz("track", "api/poe", "-p", provider)
        assert result.returncode == 2, provider
        assert "unknown provider" not in result.stderr
        assert "signed cloud access keys" in result.stderr and "AccessKey ID" in result.stderr
        assert "not a bearer API key" in result.stderr and "Traceback" not in result.stderr
    mistral = every_provider.keyz("track", "api/poe", "-p", "mistral").stderr
    assert "Enterprise-only Admin API" in mistral and "admin key" in mistral
    together = every_provider.keyz("track", "api/poe", "-p", "together").stderr
    assert "fully prepaid" in together and "no balance API" in together


@pytest.mark.cli
def test_a_missing_required_option_sends_nothing_and_says_how_to_set_it(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = make_sandbox(
        {"api/cloudflare": f"{KEYS['cloudflare']}\n", "api/poe": f"{KEYS['poe']}\n"}
    )
    sandbox.env.update(simulator.env("cloudflare", "poe"))
    simulator.account("cloudflare", KEYS["cloudflare"], account_id=CF_ACCOUNT)
    simulator.poe(KEYS["poe"])
    assert sandbox.keyz("init").returncode == 0
    tracked = sandbox.keyz("track", "api/cloudflare", "-p", "cloudflare")
    assert tracked.returncode == 0
    assert "warning: cloudflare needs the account_id option" in tracked.stderr
    assert sandbox.keyz("track", "api/poe", "-p", "poe").returncode == 0
    result = sandbox.keyz("sync")
    assert result.returncode == 1
    assert "api/cloudflare" in result.stderr
    assert "cloudflare needs the account_id option" in result.stderr
    assert "-o account_id=" in result.stderr and "nothing was sent" in result.stderr
    as_json = sandbox.keyz("sync", "--json")
    rows = {e["entry"]: e for e in json.loads(as_json.stdout)["entries"]}
    assert rows["api/cloudflare"]["error_kind"] == "config" and rows["api/poe"]["ok"]
    assert not [r for r in simulator.requests if r.token == KEYS["cloudflare"]]
    assert balances(sandbox, "api/poe") == [("POINTS", "provider", "1500")]
    # set it, and the next sync reads the credits
    fixed = sandbox.keyz(
        "track", "api/cloudflare", "-p", "cloudflare", "-o", f"account_id={CF_ACCOUNT}"
    )
    assert fixed.returncode == 0 and "warning" not in fixed.stderr
    assert sandbox.keyz("sync").returncode == 0
    assert balances(sandbox, "api/cloudflare") == [("USD", "currency", "10")]


@pytest.mark.cli
def test_a_management_key_writes_which_key_spends(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    """OpenRouter /keys over https: the breakdown in the sidecar, status, history; no key."""
    sandbox = make_sandbox({"api/openrouter": f"{OPENROUTER_KEY}\n"})
    sandbox.env.update(simulator.env("openrouter"))
    simulator.openrouter(
        OPENROUTER_KEY,
        management=True,
        keys=[
            {},  # the documented example key
            {
                "hash": "0b" * 32,
                "name": "batch jobs",
                "label": "sk-or-v1-7d2...04be",
                "usage": 40,
                "usage_daily": 1.25,
                "usage_weekly": 9,
                "usage_monthly": 30,
                "limit": None,
                "limit_remaining": None,
                "limit_reset": None,
            },
            {"hash": "ff" * 32, "name": "leaky", "label": f"copy of {OPENROUTER_KEY}"},
            {"hash": "0b" * 32, "name": "batch jobs again"},  # listed twice: counted once
        ],
    )
    init_keyz_dir(sandbox.store / ".keyz")  # what `keyz init` and `keyz track` write
    set_entry(sandbox.store / ".keyz", EntryConfig("api/openrouter", "openrouter"))
    synced = sandbox.keyz("sync", "--commit")
    assert synced.returncode == 0, synced.stderr

    data = sidecar(sandbox, "api/openrouter")
    assert data["schema_version"] == 3
    assert data["balances"] == [
        {
            "currency": "USD",
            "derived": ["remaining"],
            "purchased": "100.5",
            "remaining": "74.75",
            "source": "/api/v1/credits",
            "unit_kind": "currency",
            "used": "25.75",
        }
    ]
    keys = data["account_keys"]
    assert isinstance(keys, list)
    assert [k["hash"] for k in keys] == [
        "0b" * 32,
        "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
        "ff" * 32,
    ]
    assert keys[0] == {
        "currency": "USD",
        "disabled": False,
        "hash": "0b" * 32,
        "label": "sk-or-v1-7d2...04be",
        "name": "batch jobs",
        "created_at": "2025-08-24T10:30:00Z",
        "source": "/api/v1/keys",
        "usage": "40",
        "usage_this_month": "30",
        "usage_this_week": "9",
        "usage_today": "1.25",
    }
    assert "label" not in keys[2] and keys[2]["name"] == "leaky"  # withheld: it held the key
    assert data["notes"] == ["key names, labels or hashes withheld as they held a key: 1"]
    asked = [r for r in simulator.requests if r.path == "/openrouter/api/v1/keys"]
    assert [r.query for r in asked] == ["include_disabled=true"]

    shown = sandbox.keyz("status", "api/openrouter")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    head = lines.index("  3 keys of the account, most spent this month first:")
    assert lines[head + 1 :] == [
        "    batch jobs (sk-or-v1-7d2...04be): USD 1.25 today · 9.00 this week · 30.00 this "
        "month · 40.00 in all",
        "    My Production Key (sk-or-v1-0e6...1c96): USD 25.50 today · 25.50 this week · 25.50 "
        "this month · 25.50 in all; cap 74.50 of 100.00 left (monthly)",
        "    leaky: USD 25.50 today · 25.50 this week · 25.50 this month · 25.50 in all; cap "
        "74.50 of 100.00 left (monthly)",
    ]
    table = sandbox.keyz("status").stdout
    assert "USD 74.75*" in table and "keys of the account" not in table  # details only
    as_json = json.loads(sandbox.keyz("status", "--json").stdout)
    assert as_json["entries"][0]["sidecar"]["account_keys"] == keys
    versions = json.loads(sandbox.keyz("history", "api/openrouter", "--json").stdout)
    assert versions[-1]["account_keys"] == keys
    csv = sandbox.keyz("history", "api/openrouter", "--csv").stdout
    assert csv.count(",account_key,") == 3 and "0b" * 32 in csv

    everything = synced.stdout + synced.stderr + shown.stdout + table + csv
    everything += files_text(sandbox.store) + sandbox.git("log", "-p", "--no-textconv")
    assert OPENROUTER_KEY not in everything
    assert OPENROUTER_KEY[9:] not in everything


@pytest.mark.cli
def test_a_refused_key_list_keeps_the_balance_and_says_why(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = make_sandbox({"api/openrouter": f"{OPENROUTER_KEY}\n"})
    sandbox.env.update(simulator.env("openrouter"))
    simulator.openrouter(OPENROUTER_KEY, management=True)
    refused = {"error": {"code": 403, "message": f"Forbidden for {OPENROUTER_KEY}"}}
    simulator.route(OPENROUTER_KEY, "/openrouter/api/v1/keys", Answer(403, refused))
    init_keyz_dir(sandbox.store / ".keyz")
    set_entry(sandbox.store / ".keyz", EntryConfig("api/openrouter", "openrouter"))
    synced = sandbox.keyz("sync")
    assert synced.returncode == 0, synced.stderr
    data = sidecar(sandbox, "api/openrouter")
    assert balances(sandbox, "api/openrouter") == [("USD", "currency", "74.75")]
    assert "account_keys" not in data
    notes = data["notes"]
    assert isinstance(notes, list) and len(notes) == 1
    note = str(notes[0])
    assert note.startswith("per-key spend left out: ") and "HTTP 403" in note
    assert OPENROUTER_KEY not in note and "[REDACTED]" in note
