"""GitHub end to end: keyz as a subprocess against the https simulator, the account named by
``-o user=`` / ``-o org=`` or by a ``user:`` line in the pass entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from keyz.demo.simulator import Answer, Simulator
from tests.conftest import CANARY, MakeStore, Sandbox, files_text

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CLOCK = {"KEYZ_NOW": "2026-11-23T12:00:00Z"}
FINE = "github_pat_11E2E0000" + "f1n3" * 15  # a fine-grained token's look
CLASSIC = CANARY  # the org's token: must never show anywhere


@pytest.fixture
def github(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """A personal token whose entry names its user, and an org's token with no line."""
    sandbox = make_sandbox(
        {
            "api/github": f"{FINE}\nuser: monalisa\n",
            "work/copilot-org": f"{CLASSIC}\n",
        }
    )
    sandbox.env.update(simulator.env("github"))
    sandbox.env.update(CLOCK)
    simulator.now = NOW
    simulator.account("github", FINE, requests=250, net_dollars="6.04")
    simulator.account("github", CLASSIC, org="acme-inc", requests=1200, net_dollars="31.5")
    assert sandbox.keyz("init").returncode == 0
    return sandbox


def sidecar(sandbox: Sandbox, entry: str) -> dict[str, Any]:
    path = sandbox.store / ".keyz" / "entries" / f"{entry}.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.cli
def test_a_user_from_the_entry_and_an_org_from_the_option_sync_spend_and_requests(
    github: Sandbox, simulator: Simulator
) -> None:
    assert github.keyz("track", "api/github", "-p", "github").returncode == 0
    tracked = github.keyz("track", "work/copilot-org", "-p", "github", "-o", "org=acme-inc")
    assert tracked.returncode == 0, tracked.stderr
    result = github.keyz("sync", "--commit")
    assert result.returncode == 0, result.stderr

    mine = sidecar(github, "api/github")
    (quota,) = mine["quotas"]
    assert (quota["label"], quota["window"], quota["used"]) == ("premium requests", "1mo", "250")
    assert quota["remaining_percent"] is None and "limit" not in quota and "remaining" not in quota
    assert quota["resets_at"] == "2026-12-01T00:00:00Z"
    (spend,) = mine["spend"]
    assert (spend["period"], spend["currency"], spend["amount"]) == ("this_month", "USD", "6.04")
    assert spend["breakdown"] == [{"label": "Actions", "amount": "6.04"}]
    assert mine["balances"] == []
    org = sidecar(github, "work/copilot-org")
    assert org["quotas"][0]["used"] == "1200" and org["spend"][0]["amount"] == "31.5"
    assert "monalisa" not in json.dumps(mine) and "acme-inc" not in json.dumps(org)

    asked = {(r.token, r.path, r.query) for r in simulator.requests}
    assert asked == {
        (
            FINE,
            "/github/users/monalisa/settings/billing/premium_request/usage",
            "year=2026&month=11",
        ),
        (FINE, "/github/users/monalisa/settings/billing/usage", "year=2026&month=11"),
        (
            CLASSIC,
            "/github/organizations/acme-inc/settings/billing/premium_request/usage",
            "year=2026&month=11",
        ),
        (CLASSIC, "/github/organizations/acme-inc/settings/billing/usage", "year=2026&month=11"),
    }
    versions = {r.headers.get("X-GitHub-Api-Version") for r in simulator.requests}
    assert versions == {"2026-03-10"}

    status = github.keyz("status")
    lines = {line.split()[0]: line for line in status.stdout.splitlines() if line.strip()}
    assert "spent USD 6.04* this month" in lines["api/github"]
    assert "premium requests (1mo): 250 requests used, resets in" in lines["api/github"]
    seen = result.stdout + result.stderr + status.stdout + status.stderr
    assert CLASSIC not in seen and CLASSIC not in files_text(github.store)
    assert CLASSIC not in github.git("log", "-p", "--all", "--no-textconv")


@pytest.mark.cli
def test_no_account_or_two_accounts_fail_that_entry_before_anything_is_sent(
    github: Sandbox, simulator: Simulator
) -> None:
    assert github.keyz("track", "work/copilot-org", "-p", "github").returncode == 0  # no org
    assert github.keyz("track", "api/github", "-p", "github", "-o", "org=acme-inc").returncode == 0
    result = github.keyz("sync")
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    (neither,) = [line for line in lines if "work/copilot-org" in line]
    (both,) = [line for line in lines if "api/github" in line]
    assert "needs the account" in neither and "-o user=<login>" in neither
    assert "user or org, not both" in both
    assert "Traceback" not in result.stderr
    assert simulator.requests == []  # neither key was sent
    assert not (github.store / ".keyz" / "entries" / "api" / "github.json").exists()


@pytest.mark.cli
def test_a_refused_token_names_the_permission_and_never_echoes_the_key(
    github: Sandbox, simulator: Simulator
) -> None:
    assert (
        github.keyz("track", "work/copilot-org", "-p", "github", "-o", "org=acme-inc").returncode
        == 0
    )
    refusal = {
        "message": f"Resource not accessible by personal access token {CLASSIC}",
        "documentation_url": "https://docs.github.com/rest/billing/usage",
        "status": "403",
    }
    simulator.fail(CLASSIC, Answer(403, refusal))
    result = github.keyz("sync", "work/copilot-org")
    assert result.returncode == 1
    assert "work/copilot-org" in result.stderr and "HTTP 403" in result.stderr
    assert "Resource not accessible by personal access token" in result.stderr
    assert '"Administration" organization permission (read)' in result.stderr
    assert CLASSIC not in result.stdout + result.stderr
