"""The real wire: https with a CA from SSL_CERT_FILE, gzip and chunked answers, a CONNECT proxy,
an untrusted certificate, a gzip bomb, and a provider's own error words — keyz as a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from keyz.config import EntryConfig, init_keyz_dir, set_entry
from keyz.demo.simulator import Answer, Simulator
from tests.conftest import CANARY, KEYZ, OPENROUTER_KEY, MakeStore, Sandbox, files_text
from tests.proxy import ConnectProxy

ELEVENLABS_KEY = "el" + "e1" * 16
ZAI_KEY = "zai" + "5" * 30
PROVIDERS = {
    "deepseek": CANARY,
    "openrouter": OPENROUTER_KEY,
    "elevenlabs": ELEVENLABS_KEY,
    "zai": ZAI_KEY,
}


@pytest.fixture
def four(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    sandbox = make_sandbox({f"api/{p}": f"{key}\n" for p, key in PROVIDERS.items()})
    sandbox.env.update(simulator.env(*PROVIDERS))
    simulator.deepseek(CANARY, [("CNY", "110.00", "10.00", "100.00")])
    simulator.openrouter(OPENROUTER_KEY, management=False, limit=20, limit_remaining=12.5)
    simulator.elevenlabs(ELEVENLABS_KEY, used=6200, limit=10000)
    simulator.zai(ZAI_KEY, used_percent=28)
    keyz_dir = sandbox.store / ".keyz"
    init_keyz_dir(keyz_dir)
    for provider in PROVIDERS:
        set_entry(keyz_dir, EntryConfig(f"api/{provider}", provider))
    return sandbox


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    running = ConnectProxy().start()
    yield running
    running.stop()


def sidecar(sandbox: Sandbox, provider: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (sandbox.store / ".keyz" / "entries" / "api" / f"{provider}.json").read_text()
    )
    return data


def assert_exact_figures(sandbox: Sandbox) -> None:
    (cny,) = sidecar(sandbox, "deepseek")["balances"]
    assert (cny["currency"], cny["remaining"], cny["granted"]) == ("CNY", "110.00", "10.00")
    assert sidecar(sandbox, "openrouter")["key_limit"]["remaining"] == "12.5"
    (characters,) = sidecar(sandbox, "elevenlabs")["quotas"]
    assert (characters["used"], characters["limit"], characters["remaining"]) == (
        "6200",
        "10000",
        "3800",
    )
    percents = {q["remaining_percent"] for q in sidecar(sandbox, "zai")["quotas"]}
    assert "72" in percents  # 28 % used of the 5-hour tokens window


@pytest.mark.cli
def test_https_gzip_and_chunked_answers_sync_to_exact_figures(
    four: Sandbox, simulator: Simulator
) -> None:
    assert simulator.url.startswith("https://") and "SSL_CERT_FILE" in four.env
    result = four.keyz("sync", "--commit")
    assert result.returncode == 0, result.stderr
    assert_exact_figures(four)
    answered = [r for r in simulator.requests if r.token in PROVIDERS.values()]
    assert all("gzip" in r.headers.get("Accept-Encoding", "") for r in answered)
    assert {r.encoding for r in answered} == {"gzip"}  # every answer came compressed
    assert {r.chunked for r in answered} == {True, False}  # some chunked, some not


@pytest.mark.cli
def test_through_an_https_proxy_and_around_it_with_no_proxy(
    four: Sandbox, simulator: Simulator, proxy: ConnectProxy
) -> None:
    port = simulator.url.rsplit(":", 1)[1]
    result = four.keyz("sync", env={"HTTPS_PROXY": proxy.url, "NO_PROXY": ""})
    assert result.returncode == 0, result.stderr
    assert_exact_figures(four)
    assert proxy.tunnels and set(proxy.tunnels) == {f"127.0.0.1:{port}"}
    opened = len(proxy.tunnels)
    bypass = four.keyz("sync", env={"HTTPS_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"})
    assert bypass.returncode == 0, bypass.stderr
    assert len(proxy.tunnels) == opened  # NO_PROXY: straight to the host


@pytest.mark.cli
def test_a_proxy_that_is_down_is_named(four: Sandbox) -> None:
    result = four.keyz("sync", "api/deepseek", env={"HTTPS_PROXY": "http://127.0.0.1:9"})
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("keyz: api/deepseek: deepseek balance: cannot reach 127.0.0.1:")
    assert "through the proxy http://127.0.0.1:9" in line and "HTTPS_PROXY" in line


@pytest.mark.cli
def test_an_untrusted_certificate_sends_nothing_and_keeps_the_last_good_values(
    four: Sandbox, simulator: Simulator
) -> None:
    assert four.keyz("sync").returncode == 0
    before = {p: sidecar(four, p) for p in PROVIDERS}
    simulator.requests.clear()
    untrusted = {k: v for k, v in four.env.items() if k != "SSL_CERT_FILE"}
    result = subprocess.run(
        [KEYZ, "sync", "--commit"],
        env=untrusted,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    failed = [line for line in lines if line.startswith("keyz: api/")]
    assert len(failed) == 4, lines
    assert all("cannot verify the TLS certificate of 127.0.0.1" in line for line in failed)
    assert all("SSL_CERT_FILE" in line for line in failed)
    assert "Traceback" not in result.stderr
    assert simulator.requests == []  # the handshake failed: no request, no key, was sent
    assert {p: sidecar(four, p) for p in PROVIDERS} == before
    assert CANARY not in result.stdout + result.stderr + files_text(four.store)


@pytest.mark.cli
def test_a_restricted_elevenlabs_key_shows_elevenlabs_own_reason(
    four: Sandbox, simulator: Simulator
) -> None:
    assert four.keyz("sync", "api/elevenlabs").returncode == 0
    before = sidecar(four, "elevenlabs")
    detail = {
        "detail": {
            "status": "missing_permissions",
            "message": "The API key you used is missing the permission user_read to execute "
            "this operation.",
        }
    }
    simulator.fail(ELEVENLABS_KEY, Answer(401, detail))
    result = four.keyz("sync", "api/elevenlabs")
    assert result.returncode == 1
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("keyz: api/")]
    assert "missing_permissions: The API key you used is missing the permission user_read" in line
    assert sidecar(four, "elevenlabs") == before


@pytest.mark.cli
def test_a_gzip_bomb_stops_at_the_cap_in_bounded_time_and_memory(
    four: Sandbox, simulator: Simulator
) -> None:
    simulator.fail(CANARY, Answer(mode="bomb", huge_bytes=8 << 30))  # 8 GiB once decoded
    started = time.monotonic()
    # A child's peak RSS starts from its parent's at fork (and survives exec): measured from a
    # big pytest worker it says nothing about keyz. A fresh, small Python forks keyz instead.
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, KEYZ, "sync", "api/deepseek"],
        env=four.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    *lines, peak = done.stderr.splitlines()
    assert done.returncode == 1, done.stderr
    assert any("larger than 1048576 bytes once decoded" in line for line in lines), lines
    assert elapsed < 20, f"{elapsed:.1f}s"
    assert int(peak) < 120 * 1024, f"{peak} KiB"  # KiB on Linux; keyz itself is about 60 MB


MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.cli
def test_proxy_credentials_never_show_and_an_unusable_proxy_is_one_line(four: Sandbox) -> None:
    down = four.keyz(
        "sync", "api/deepseek", env={"HTTPS_PROXY": "http://alice:hunter22@127.0.0.1:9"}
    )
    assert down.returncode == 1 and "through the proxy http://127.0.0.1:9" in down.stderr
    state = (four.store / ".keyz" / "state" / "entries.json").read_text()
    assert "hunter22" not in down.stderr + state and "alice" not in down.stderr + state
    for proxy in ("ftp://proxy.example:21", "http://alice:hunter22@127.0.0.1:99999"):
        result = four.keyz("sync", "api/deepseek", env={"HTTPS_PROXY": proxy})
        assert result.returncode in (1, 2), result.stderr
        assert "Traceback" not in result.stderr and "hunter22" not in result.stderr
        assert len(result.stderr.splitlines()) == 1 and "proxy" in result.stderr.lower()


@pytest.mark.cli
def test_a_server_that_does_not_speak_tls_is_not_called_a_certificate_problem(
    four: Sandbox,
) -> None:
    with Simulator(tls=False) as plain:
        url = plain.base_url("deepseek").replace("http://", "https://")
        result = four.keyz("sync", "api/deepseek", env={"KEYZ_DEEPSEEK_BASE_URL": url})
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "the TLS handshake with 127.0.0.1:" in line and "Is it an https server?" in line
    assert "certificate" not in line


def test_a_cookie_one_key_got_never_rides_on_another_keys_request(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    """Providers behind a CDN set cookies (Cloudflare's __cf_bm). Sent back with the next
    entry's request on the same connection, they would tie two accounts' keys together at
    the provider; keyz keeps no cookie at all."""
    other = "sk-" + "7" * 32
    sandbox = make_sandbox({"api/a": f"{CANARY}\n", "api/b": f"{other}\n"})
    sandbox.env.update(simulator.env("deepseek"))
    body = {
        "is_available": True,
        "balance_infos": [
            {
                "currency": "CNY",
                "total_balance": "5.00",
                "granted_balance": "0.00",
                "topped_up_balance": "5.00",
            }
        ],
    }
    cookie = {"Set-Cookie": "__cf_bm=a1b2c3; Path=/; Secure; HttpOnly"}
    simulator.fail(CANARY, Answer(200, body, cookie))
    simulator.fail(other, Answer(200, body, cookie))
    keyz_dir = sandbox.store / ".keyz"
    init_keyz_dir(keyz_dir)
    for name in ("api/a", "api/b"):
        set_entry(keyz_dir, EntryConfig(name, "deepseek"))
    with (keyz_dir / "config.toml").open("a") as config:  # one connection: b's request follows a's
        config.write("\n[providers.deepseek]\nconcurrency = 1\n")
    result = sandbox.keyz("sync")
    assert result.returncode == 0, result.stderr
    asked = [r for r in simulator.requests if r.path.endswith("/user/balance")]
    assert len(asked) == 2
    assert [r.headers.get("Cookie") for r in asked] == [None, None]
