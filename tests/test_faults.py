"""The loopback fault server: every way a provider can misbehave, through keyz as a subprocess.

Each case asserts the exit code, one line naming the entry and the cause, no traceback,
the other entry still written, the failing entry's last good sidecar untouched, and the
key nowhere in the output.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from pathlib import Path

import pytest

from keyz.simulator import Answer, Simulator
from tests.conftest import CANARY, Sandbox

HTML = "<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>"


def balance(total: str) -> str:
    """A DeepSeek answer with ``total`` as the raw JSON of its one figure."""
    return f'{{"is_available": true, "balance_infos": [{{"currency": "CNY", "total_balance": {total}}}]}}'


FAULTS = {
    "401": ([Answer(401, {"error": {"message": "Authentication Fails"}})], "HTTP 401"),
    "403": ([Answer(403, {"error": {"message": "Forbidden"}})], "HTTP 403"),
    "429 with Retry-After": (
        [Answer(429, {"error": "slow down"}, {"Retry-After": "1"})] * 3,
        "HTTP 429 after retries",
    ),
    "500": ([Answer(500)] * 3, "HTTP 500 after retries"),
    "502": ([Answer(502, HTML, {"Content-Type": "text/html"})] * 3, "HTTP 502 after retries"),
    "503": ([Answer(503)] * 3, "HTTP 503 after retries"),
    "hang": ([Answer(200, {}, delay=600)], "no result within 3s"),
    "trickle": (
        [Answer(200, {"is_available": True, "balance_infos": []}, mode="trickle")],
        "no result within 3s",
    ),
    "cut mid-body": (
        [Answer(200, {"is_available": True, "balance_infos": [{"currency": "CNY"}]}, mode="cut")]
        * 3,
        "connection broke",
    ),
    "html": ([Answer(200, HTML, {"Content-Type": "text/html"})], "HTML page instead of the API's"),
    "CDN bot wall": (
        [Answer(mode="cdn_block")],
        "HTML page from the CDN (cloudflare, cf-ray 8e1f2a3b4c5d6e7f-FRA): the request was blocked",
    ),
    "maintenance page": ([Answer(mode="maintenance")] * 3, "down or in maintenance"),
    "gzip bomb": (
        [Answer(mode="bomb", huge_bytes=8 << 30)],
        "larger than 1048576 bytes once decoded",
    ),
    "reset mid-body": (
        [Answer(200, {"is_available": True, "balance_infos": []}, mode="reset")],
        "connection",
    ),
    "corrupt gzip": (
        [Answer(200, b"not gzip at all", {"Content-Encoding": "gzip"}, compress=False)],
        "gzip answer is corrupt",
    ),
    "an encoding keyz did not ask for": (
        [Answer(200, b"\x1b\x00", {"Content-Encoding": "br"}, compress=False)],
        "compressed as 'br'",
    ),
    "wrong shape": ([Answer(200, {"data": {"balance": "1"}})], "no balance_infos"),
    "number where a string is expected": (
        [Answer(200, {"balance_infos": [{"currency": 156, "total_balance": "1"}]})],
        "has no currency",
    ),
    "NaN": ([Answer(200, '{"balance_infos": [{"currency": "CNY", "total_balance": NaN}]}')], "NaN"),
    "Infinity": (
        [Answer(200, '{"balance_infos": [{"currency": "CNY", "total_balance": Infinity}]}')],
        "Infinity",
    ),
    "50 MB body": ([Answer(200, mode="huge")], "larger than"),
    # a hostile world: 84 bytes that used to write a 100 MB sidecar, and their relatives
    "1e99999999": ([Answer(200, balance("1e99999999"))], "exponent of more than 3 digits"),
    "1e999999999 as text": ([Answer(200, balance('"1e999999999"'))], "exponent of more"),
    "-1e9999999": ([Answer(200, balance("-1e9999999"))], "exponent of more"),
    "1e30": ([Answer(200, balance('"1e30"'))], "more than 15 digits"),
    "a 5000-digit integer": ([Answer(200, balance("9" * 5000))], "too long"),
    "Arabic-Indic digits": ([Answer(200, balance('"١٠٠"'))], "not a plain decimal"),
    "full-width digits": ([Answer(200, balance('"１２３"'))], "not a plain decimal"),
    "digit separators": ([Answer(200, balance('"1_000"'))], "not a plain decimal"),
    "spaces around a figure": ([Answer(200, balance('" 7 "'))], "not a plain decimal"),
    "nested 100000 deep": ([Answer(200, "[" * 100_000)], "nested too deeply"),
    "no balances at all": (
        [Answer(200, {"is_available": True, "balance_infos": []})],
        "no balance",
    ),
    "the same currency twice": (
        [
            Answer(
                200,
                {
                    "balance_infos": [
                        {"currency": "CNY", "total_balance": "1"},
                        {"currency": "cny", "total_balance": "2"},
                    ]
                },
            )
        ],
        "values keyz cannot use (Value error, one balance per currency)",
    ),
    "redirect to another host": (
        [Answer(302, "", {"Location": "https://evil.example/steal"})],
        "redirect (HTTP 302)",
    ),
    "key echoed in every form": (
        [
            Answer(
                401,
                {
                    "error": {
                        "message": f"bad key {CANARY} ({urllib.parse.quote(CANARY)}) "
                        f"{base64.b64encode(CANARY.encode()).decode()}"
                    }
                },
            )
        ],
        "HTTP 401",
    ),
}


def good_sidecar(sandbox: Sandbox) -> bytes:
    return (sandbox.store / ".keyz" / "entries" / "api" / "deepseek.json").read_bytes()


@pytest.fixture
def synced(two_keys: Sandbox) -> Sandbox:
    assert two_keys.keyz("sync", "--commit").returncode == 0
    path = two_keys.store / ".keyz" / "config.toml"
    path.write_text(path.read_text().replace("timeout = 30", "timeout = 3"))
    return two_keys


@pytest.mark.cli
@pytest.mark.parametrize("name", list(FAULTS))
def test_a_misbehaving_provider(synced: Sandbox, simulator: Simulator, name: str) -> None:
    answers, cause = FAULTS[name]
    before = good_sidecar(synced)
    openrouter = synced.store / ".keyz" / "entries" / "api" / "openrouter.json"
    openrouter.unlink()
    simulator.fail(CANARY, *answers)
    started = time.monotonic()
    result = synced.keyz("sync", "--commit")
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    failed = [line for line in lines if line.startswith("keyz: api/deepseek: ")]
    assert len(failed) == 1 and cause in failed[0], lines
    assert "Traceback" not in result.stderr
    assert openrouter.exists()  # the other entry was still written, and committed
    assert synced.git("status", "--porcelain", "--", ".keyz") == ""
    assert synced.git("ls-files", "--", ".keyz/entries/api/openrouter.json")
    assert "internal error" not in result.stderr
    assert good_sidecar(synced) == before  # the last good values, byte for byte
    output = result.stdout + result.stderr
    assert CANARY not in output
    assert urllib.parse.quote(CANARY) not in output
    assert base64.b64encode(CANARY.encode()).decode() not in output
    assert "evil.example" not in [r.headers.get("Host") for r in simulator.requests]
    assert elapsed < 15, f"{name} took {elapsed:.1f}s"
    state = (synced.store / ".keyz" / "state" / "entries.json").read_text()
    assert CANARY not in state and json.loads(state)


@pytest.mark.cli
def test_a_hanging_provider_and_a_hanging_gpg_stay_within_the_deadline(
    synced: Sandbox, simulator: Simulator, tmp_path: Path
) -> None:
    simulator.fail(CANARY, Answer(200, {}, delay=600))
    started = time.monotonic()
    result = synced.keyz("sync")
    assert result.returncode == 1 and time.monotonic() - started < 8
    assert "api/openrouter" not in result.stderr  # the other entry was fine
    fake = tmp_path / "fakebin"
    fake.mkdir()
    for name in ("gpg", "gpg2"):
        (fake / name).write_text("#!/bin/sh\nexec sleep 600\n")
        (fake / name).chmod(0o755)
    started = time.monotonic()
    hung = synced.keyz("sync", env={"PATH": f"{fake}:{synced.env['PATH']}"})
    elapsed = time.monotonic() - started
    assert hung.returncode == 1
    assert "api/deepseek: no result within 3s" in hung.stderr
    assert "api/openrouter: no result within 3s" in hung.stderr
    assert elapsed < 10, f"a hung gpg kept keyz alive for {elapsed:.1f}s"
