"""The loopback fault server: every way a provider can misbehave, through keyz as a subprocess.

Each case asserts the exit code, one line naming the entry and the cause, no traceback,
the other entry still written, the failing entry's last good sidecar untouched, and the
key nowhere in the output; a retried status, that keyz asked three times.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
import urllib.parse
from pathlib import Path

import pytest

from keyz.demo.simulator import Answer, Simulator
from tests.conftest import CANARY, Sandbox

HTML = "<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>"
# Retried answers say Retry-After: 0, which keyz honours (test_http.py checks the waits it
# computes, with the sleep injected): the three attempts happen, without seconds of backoff.
# The plain "500" keeps the real backoff, and checks that it really waits.
NOW = {"Retry-After": "0"}
DEADLINE = 2  # seconds: the hanging cases wait this long for real (1 s flakes under load)


def balance(total: str) -> str:
    """A DeepSeek answer with ``total`` as the raw JSON of its one figure."""
    return f'{{"is_available": true, "balance_infos": [{{"currency": "CNY", "total_balance": {total}}}]}}'


FAULTS = {
    "401": ([Answer(401, {"error": {"message": "Authentication Fails"}})], "HTTP 401"),
    "403": ([Answer(403, {"error": {"message": "Forbidden"}})], "HTTP 403"),
    "429 with Retry-After": (
        [Answer(429, {"error": "slow down"}, NOW)] * 3,
        "HTTP 429 after retries",
    ),
    "500": ([Answer(500)] * 3, "HTTP 500 after retries"),
    "502": (
        [Answer(502, HTML, {"Content-Type": "text/html", **NOW})] * 3,
        "HTTP 502 after retries",
    ),
    "503": ([Answer(503, None, NOW)] * 3, "HTTP 503 after retries"),
    "hang": ([Answer(200, {}, delay=600)], f"no result within {DEADLINE}s"),
    "trickle": (
        [Answer(200, {"is_available": True, "balance_infos": []}, mode="trickle")],
        f"no result within {DEADLINE}s",
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
    "maintenance page": ([Answer(headers=NOW, mode="maintenance")] * 3, "down or in maintenance"),
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


RETRIED = ("429 with Retry-After", "500", "502", "503", "maintenance page")


def good_sidecar(sandbox: Sandbox) -> bytes:
    return (sandbox.store / ".keyz" / "entries" / "api" / "deepseek.json").read_bytes()


@pytest.fixture(scope="module")
def synced_stores() -> dict[str, Path]:
    return {}


@pytest.fixture
def synced(
    two_keys: Sandbox, synced_stores: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Sandbox:
    """two_keys after a good `sync --commit`, with a 3 s deadline.

    The first test of a worker syncs; the others get a copy of that store (a store is files,
    and the first sync is the same every time): a subprocess less per case.
    """
    template = synced_stores.get("store")
    if template is None:
        assert two_keys.keyz("sync", "--commit").returncode == 0
        template = tmp_path_factory.mktemp("synced") / "store"
        shutil.copytree(two_keys.store, template, symlinks=True)
        synced_stores["store"] = template
    else:
        shutil.rmtree(two_keys.store)
        shutil.copytree(template, two_keys.store, symlinks=True)
    deadline(two_keys, 3)
    return two_keys


def deadline(sandbox: Sandbox, seconds: int) -> None:
    path = sandbox.store / ".keyz" / "config.toml"
    text = re.sub(r"(?m)^timeout = \d+ ", f"timeout = {seconds} ", path.read_text())
    assert f"\ntimeout = {seconds} " in text
    path.write_text(text)


@pytest.mark.cli
@pytest.mark.parametrize("name", list(FAULTS))
def test_a_misbehaving_provider(synced: Sandbox, simulator: Simulator, name: str) -> None:
    answers, cause = FAULTS[name]
    if "no result within" in cause:
        deadline(synced, DEADLINE)
    before = good_sidecar(synced)
    openrouter = synced.store / ".keyz" / "entries" / "api" / "openrouter.json"
    openrouter.unlink()
    simulator.fail(CANARY, *answers)
    simulator.requests.clear()
    started = time.monotonic()
    result = synced.keyz("sync", "--commit")
    elapsed = time.monotonic() - started
    if name in RETRIED:  # the first attempt and both retries, whatever the wait
        assert [r.token for r in simulator.requests].count(CANARY) == 3
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
    if name == "500":  # no Retry-After: the backoff (0.5 s, then 1 s) is waited for real
        assert elapsed >= 1.5, f"{name} took only {elapsed:.1f}s"
    state = (synced.store / ".keyz" / "state" / "entries.json").read_text()
    assert CANARY not in state and json.loads(state)


@pytest.mark.cli
def test_a_hanging_provider_and_a_hanging_gpg_stay_within_the_deadline(
    synced: Sandbox, simulator: Simulator, tmp_path: Path
) -> None:
    deadline(synced, DEADLINE)
    simulator.fail(CANARY, Answer(200, {}, delay=600))
    started = time.monotonic()
    result = synced.keyz("sync")
    assert result.returncode == 1 and time.monotonic() - started < 8
    assert f"api/deepseek: no result within {DEADLINE}s" in result.stderr
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
    assert f"api/deepseek: no result within {DEADLINE}s" in hung.stderr
    assert f"api/openrouter: no result within {DEADLINE}s" in hung.stderr
    assert elapsed < 10, f"a hung gpg kept keyz alive for {elapsed:.1f}s"
