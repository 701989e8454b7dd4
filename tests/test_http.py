import asyncio
import ssl
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import trustme

from keyz.errors import AuthError, ConfigError, NetworkError, ProviderError
from keyz.providers.hosts import resolve_base_url
from keyz.providers.http import MAX_BODY, HttpClient, abort_connections, budget, ssl_context
from keyz.redact import REDACTOR

URL = "https://api.example.test/v1/balance"
KEY = "sk-0123456789abcdefghijklmnop"


def call(
    sleeps: list[float] | None = None, retries: int = 2
) -> Callable[[], Coroutine[Any, Any, Any]]:
    async def record(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    async def go() -> Any:
        async with HttpClient.make_async_client() as client:
            http = HttpClient(client, retries=retries, sleep=record)
            return await http.get_json(URL, headers={"Authorization": f"Bearer {KEY}"})

    return go


def run(sleeps: list[float] | None = None, retries: int = 2) -> Any:
    return asyncio.run(call(sleeps, retries)())


@respx.mock
def test_json_numbers_become_decimals_and_the_key_goes_only_in_the_header() -> None:
    route = respx.get(URL).respond(json={"x": 0.1})
    assert str(run()["x"]) == "0.1"
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(request.url)


@respx.mock
def test_redirects_are_errors_and_never_followed() -> None:
    respx.get(URL).respond(302, headers={"Location": "https://evil.test/steal"})
    evil = respx.get("https://evil.test/steal").respond(json={})
    with pytest.raises(ProviderError, match="redirect"):
        run()
    assert not evil.called


@respx.mock
def test_401_is_an_auth_error_without_the_echoed_key() -> None:
    REDACTOR.add(KEY)
    respx.get(URL).respond(401, json={"error": {"message": f"Invalid key {KEY}"}})
    with pytest.raises(AuthError) as info:
        run()
    assert info.value.status == 401
    assert KEY not in str(info.value) and "[REDACTED]" in str(info.value)


@respx.mock
def test_401_and_403_are_not_retried() -> None:
    route = respx.get(URL).respond(403, json={"error": "forbidden"})
    with pytest.raises(AuthError, match="HTTP 403"):
        run()
    assert route.call_count == 1


@respx.mock
def test_5xx_is_retried_then_succeeds() -> None:
    route = respx.get(URL).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(502),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    sleeps: list[float] = []
    assert run(sleeps) == {"ok": True}
    assert route.call_count == 3 and len(sleeps) == 2


@respx.mock
def test_429_honours_retry_after_within_a_cap() -> None:
    respx.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json={}),
        ]
    )
    sleeps: list[float] = []
    run(sleeps)
    assert 2 <= sleeps[0] <= 10.5
    respx.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3600"}),
            httpx.Response(200, json={}),
        ]
    )
    sleeps.clear()
    run(sleeps)
    assert sleeps[0] <= 10.5


@respx.mock
def test_retries_are_bounded() -> None:
    route = respx.get(URL).respond(500)
    with pytest.raises(ProviderError, match="HTTP 500 after retries"):
        run([])
    assert route.call_count == 3


@respx.mock
def test_connect_errors_name_the_host() -> None:
    respx.get(URL).mock(side_effect=httpx.ConnectError("Connection refused"))
    with pytest.raises(ProviderError, match=r"cannot reach api\.example\.test"):
        run()


@respx.mock
def test_timeouts_are_reported() -> None:
    respx.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderError, match="no answer"):
        run()


@respx.mock
def test_a_request_may_wait_for_all_that_is_left_of_the_entrys_budget() -> None:
    route = respx.get(URL).respond(json={})

    async def within(seconds: float) -> None:
        async with budget(seconds):
            await call()()

    asyncio.run(within(120))
    limits = route.calls.last.request.extensions["timeout"]
    assert limits["read"] > 119 and limits["connect"] == 5  # not a fixed 15 s per request
    respx.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderError, match=r"within 120s; raise \[defaults\] timeout"):
        asyncio.run(within(120))


@respx.mock
@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"<html>login</html>", "text/html"),
        (b'{"x": NaN}', "application/json"),
        (b'{"x": Infinity}', "application/json"),
    ],
)
def test_non_json_and_non_finite_numbers_are_refused(body: bytes, ctype: str) -> None:
    respx.get(URL).respond(200, content=body, headers={"Content-Type": ctype})
    with pytest.raises(
        ProviderError, match=r"HTML page instead of the API's JSON|which is not a number"
    ):
        run()


@respx.mock
def test_bodies_are_read_with_a_size_cap() -> None:
    respx.get(URL).respond(200, content=b"[" + b"0," * MAX_BODY + b"0]")
    with pytest.raises(ProviderError, match="larger than"):
        run()


def test_base_url_precedence_and_path_joining(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        resolve_base_url("deepseek", "https://api.deepseek.com", None) == "https://api.deepseek.com"
    )
    assert (
        resolve_base_url("deepseek", "https://api.deepseek.com", "https://proxy.test/ds/")
        == "https://proxy.test/ds"
    )
    monkeypatch.setenv("KEYZ_DEEPSEEK_BASE_URL", "http://127.0.0.1:8765/x")
    assert (
        resolve_base_url("deepseek", "https://api.deepseek.com", "https://proxy.test")
        == "http://127.0.0.1:8765/x"
    )
    monkeypatch.setenv("KEYZ_MY_PROV_BASE_URL", "http://[::1]:9/")
    assert resolve_base_url("my-prov", "https://x.test", None) == "http://[::1]:9"


@pytest.mark.parametrize(
    "url",
    [
        "http://api.deepseek.com",
        "http://10.0.0.1",
        "ftp://127.0.0.1",
        "https://u:p@host.test",
        "https://h.test/?key=1",
        "nohost",
    ],
)
def test_base_url_must_be_https_unless_loopback(url: str) -> None:
    with pytest.raises(ConfigError):
        resolve_base_url("deepseek", "https://api.deepseek.com", url)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (  # Anthropic
            b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}',
            "authentication_error: invalid x-api-key",
        ),
        (  # OpenAI
            b'{"error":{"message":"Incorrect API key provided","type":"invalid_request_error",'
            b'"param":null,"code":"invalid_api_key"}}',
            "invalid_request_error: Incorrect API key provided",
        ),
        (  # ElevenLabs
            b'{"detail":{"status":"missing_permissions","message":"The API key you used is '
            b'missing the permission user_read to execute this operation."}}',
            "missing_permissions: The API key you used is missing the permission user_read",
        ),
        (b'{"code":1001,"msg":"Authorization Token Missing","success":false}', "Token Missing"),
        (b'{"base_resp":{"status_code":1004,"status_msg":"login fail"}}', "login fail"),
        (  # Cloudflare
            b'{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],'
            b'"messages":[],"result":null}',
            "10000: Authentication error",
        ),
        (  # Cloudflare, two errors
            b'{"success":false,"errors":[{"code":10000,"message":"Authentication error"},'
            b'{"code":9109,"message":"Invalid access token"}]}',
            "10000: Authentication error; 9109: Invalid access token",
        ),
        (b'{"success":false,"errors":[{"code":true,"message":"odd code"}]}', "odd code"),
        (  # Deepgram, older shape
            b'{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"u"}',
            "INVALID_AUTH: Invalid credentials.",
        ),
        (  # Deepgram, newer shape
            b'{"category":"INVALID_JSON","message":"Invalid JSON submitted.",'
            b'"details":"Json deserialize error","request_id":"u"}',
            "INVALID_JSON: Invalid JSON submitted.",
        ),
        (b"Invalid token", "Invalid token"),  # SiliconFlow's plain-text 401
        (b'"Invalid token"', "Invalid token"),
        (b'{"detail":"Not authenticated"}', "Not authenticated"),
    ],
)
def test_a_refusal_is_told_in_the_providers_own_words(body: bytes, reason: str) -> None:
    from keyz.providers.http import error_detail

    assert reason in error_detail(body)


@respx.mock
def test_a_cdn_block_page_is_named_not_dumped_and_is_no_auth_error() -> None:
    page = b"<!DOCTYPE html><html><title>Attention Required!</title>" + b"x" * 5000
    respx.get(URL).respond(
        403,
        content=page,
        headers={"Content-Type": "text/html", "Server": "cloudflare", "cf-ray": "8e1f-FRA"},
    )
    with pytest.raises(ProviderError) as info:
        run()
    assert not isinstance(info.value, AuthError)  # no "needs a management key" hint on a CDN page
    assert str(info.value) == (  # the provider call adds '<id> <endpoint>: ' in front
        "HTML page from the CDN (cloudflare, cf-ray 8e1f-FRA): the request "
        "was blocked (bot protection or region); try again later (HTTP 403)"
    )


@respx.mock
def test_gzip_is_decoded_and_the_cap_applies_to_the_decoded_size() -> None:
    import gzip

    respx.get(URL).respond(
        200, content=gzip.compress(b'{"x": 1.50}'), headers={"Content-Encoding": "gzip"}
    )
    assert str(run()["x"]) == "1.50"
    bomb = gzip.compress(b"{" + b" " * (MAX_BODY + 10) + b"}")
    assert len(bomb) < MAX_BODY // 100
    respx.get(URL).respond(200, content=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ProviderError, match="once decoded"):
        run()


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"[" * 100_000, "nested too deeply"),
        (500, b"[" * 100_000, "HTTP 500"),  # the error detail is read from the body too
        (401, b"[" * 100_000, "HTTP 401"),
        (200, b'{"total": ' + b"9" * 5000 + b"}", "a number too long"),
        (400, b'{"error": ' + b"9" * 5000 + b"}", "HTTP 400"),
        (200, b'{"total": 1' + b"0" * 200 + b".5}", "a number too long"),
    ],
)
def test_hostile_json_is_a_clean_error(status: int, body: bytes, message: str) -> None:
    respx.get(URL).respond(status, content=body, headers={"Content-Type": "application/json"})
    with pytest.raises(ProviderError, match=message):
        run([])


def retry_after_sleep(value: str) -> float:
    respx.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": value}),
            httpx.Response(200, json={}),
        ]
    )
    sleeps: list[float] = []
    run(sleeps)
    (slept,) = sleeps
    return slept


@respx.mock
@pytest.mark.parametrize(
    "value", ["nan", "NaN", "inf", "-inf", "Infinity", "-5", "1e999", "1_0", "soon", ""]
)
def test_a_retry_after_that_is_not_a_count_of_seconds_falls_back_to_backoff(value: str) -> None:
    slept = retry_after_sleep(value)
    assert 0.5 <= slept <= 0.75  # the first backoff step and its jitter, not the deadline


@respx.mock
def test_a_retry_after_http_date_is_honoured_within_the_cap() -> None:
    from email.utils import format_datetime

    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    assert 3 <= retry_after_sleep(soon) <= 5.25
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert 0 <= retry_after_sleep(past) <= 0.25
    later = format_datetime(datetime.now(UTC) + timedelta(days=3650), usegmt=True)
    assert retry_after_sleep(later) <= 10.25
    assert 0 <= retry_after_sleep("0") <= 0.25
    assert 1.5 <= retry_after_sleep("1.5") <= 1.75


@respx.mock
def test_more_than_one_layer_of_compression_is_refused() -> None:
    import gzip

    twice = gzip.compress(gzip.compress(b'{"x": 1}'))
    respx.get(URL).respond(200, content=twice, headers={"Content-Encoding": "gzip, gzip"})
    with pytest.raises(ProviderError, match="compressed 2 times over; keyz decodes one layer"):
        run()


@respx.mock
def test_a_truncated_or_raw_deflate_answer() -> None:
    import gzip
    import zlib

    cut = gzip.compress(b'{"x": 1, "pad": "' + b"y" * 4000 + b'"}')[:-20]
    respx.get(URL).respond(200, content=cut, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ProviderError, match="gzip answer is corrupt"):
        run()
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = raw.compress(b'{"x": 2}') + raw.flush()
    respx.get(URL).respond(200, content=body, headers={"Content-Encoding": "deflate"})
    assert run() == {"x": 2}  # raw deflate, as some servers send it


# --- the connection layer: asyncio streams under httpcore, against a raw loopback server ---


def _answer(value: int) -> bytes:
    body = b'{"balance": %d}' % value
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


async def _serve(
    on_request: Callable[[asyncio.StreamWriter, int], Coroutine[Any, Any, None]],
) -> tuple[asyncio.Server, list[int]]:
    """A plain-http server on loopback: each request on each connection goes to ``on_request``
    with the request's number; returns the server and the number of connections seen."""
    connections = [0]
    requests = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                requests[0] += 1
                await on_request(writer, requests[0])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), connections


def test_direct_connections_are_asyncio_streams_kept_alive_between_requests() -> None:
    async def on_request(writer: asyncio.StreamWriter, number: int) -> None:
        writer.write(_answer(number))
        await writer.drain()

    async def go() -> tuple[list[Any], list[int], object]:
        server, connections = await _serve(on_request)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/balance"
        async with server, HttpClient.make_async_client(connections=2) as client:
            http = HttpClient(client)
            answers = [await http.get_json(url, headers={}) for _ in range(3)]
            response = await client.get(url)
            stream = response.extensions["network_stream"]
        return answers, connections, stream

    answers, connections, stream = asyncio.run(go())
    assert [a["balance"] for a in answers] == [1, 2, 3]
    assert connections == [1]  # one connection, reused
    assert type(stream).__name__ == "_Stream"  # keyz's, not httpcore's anyio stream


def test_bytes_arriving_on_an_idle_connection_retire_it_never_answer_the_next_request() -> None:
    """A server (or what sits in between) that pushes an unasked-for answer onto a kept-alive
    connection must not have it read as the answer to the next entry's request."""

    async def on_request(writer: asyncio.StreamWriter, number: int) -> None:
        writer.write(_answer(number))
        await writer.drain()
        if number == 1:
            await asyncio.sleep(0.05)
            writer.write(_answer(999))  # nobody asked
            await writer.drain()

    async def go() -> tuple[list[Any], list[int]]:
        server, connections = await _serve(on_request)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/balance"
        async with server, HttpClient.make_async_client(connections=1) as client:
            http = HttpClient(client)
            first = await http.get_json(url, headers={})
            await asyncio.sleep(0.2)
            second = await http.get_json(url, headers={})
        return [first["balance"], second["balance"]], connections

    answers, connections = asyncio.run(go())
    assert 999 not in answers
    assert answers[0] == 1
    assert connections == [2]  # the pushed-on connection was dropped, a new one opened


def test_a_server_that_closes_mid_answer_is_a_broken_connection() -> None:
    async def on_request(writer: asyncio.StreamWriter, number: int) -> None:
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"bal')
        await writer.drain()
        writer.close()

    async def go() -> Any:
        server, _ = await _serve(on_request)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/balance"
        async with server, HttpClient.make_async_client() as client:
            return await HttpClient(client, retries=0).get_json(url, headers={})

    with pytest.raises(NetworkError, match="broke"):
        asyncio.run(go())


def test_a_server_that_never_answers_runs_into_the_budget() -> None:
    async def on_request(writer: asyncio.StreamWriter, number: int) -> None:
        await asyncio.sleep(30)

    async def go() -> Any:
        server, _ = await _serve(on_request)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/balance"
        async with server, HttpClient.make_async_client() as client, budget(0.3):
            return await HttpClient(client, retries=0).get_json(url, headers={})

    with pytest.raises(TimeoutError):  # the budget's own deadline, which sync reports
        asyncio.run(go())


def test_a_server_that_hangs_up_on_the_client_hello_is_a_tls_handshake_failure() -> None:
    """A plain server, a filtering firewall or a middlebox that closes on the ClientHello: the
    host was reached, the handshake failed (not "cannot reach")."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)  # the ClientHello
        writer.close()

    async def go() -> Any:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/balance"
        async with server, HttpClient.make_async_client() as client:
            return await HttpClient(client, retries=0).get_json(url, headers={})

    with pytest.raises(NetworkError) as caught:
        asyncio.run(go())
    message = str(caught.value)
    assert "TLS handshake" in message and "closed the connection" in message, message
    assert "cannot reach" not in message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="truststore's own store elsewhere")
def test_the_trust_store_honours_ssl_cert_file_and_is_loaded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Linux the system paths are loaded into the context once, not for every connection
    (truststore re-read the 220 KB bundle per connection: ~37 ms each, holding the loop)."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-such-dir"))
    context = ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 1  # that CA, and nothing else
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "other.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "other.pem"))
    for _ in range(3):  # a connection reads no bundle again (truststore's added "other" here)
        context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="api.example.test")
    assert context.cert_store_stats()["x509_ca"] == 1


def test_aborting_the_connections_ends_a_wait_on_a_silent_server_at_once() -> None:
    """What Ctrl-C during a sync does to the network, whatever happens to the cancellation."""

    asked = asyncio.Event()

    async def on_request(writer: asyncio.StreamWriter, number: int) -> None:
        asked.set()
        await asyncio.sleep(30)

    async def go() -> tuple[Any, float]:
        server, _ = await _serve(on_request)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/balance"
        async with server, HttpClient.make_async_client() as client:
            waiting = asyncio.ensure_future(HttpClient(client, retries=0).get_json(url, headers={}))
            await asyncio.wait_for(asked.wait(), 20)  # the request is on its connection
            started = asyncio.get_running_loop().time()
            abort_connections()
            outcome = (await asyncio.gather(waiting, return_exceptions=True))[0]
            return outcome, asyncio.get_running_loop().time() - started

    outcome, took = asyncio.run(go())
    assert isinstance(outcome, NetworkError) and "broke" in str(outcome), outcome
    assert took < 5  # not the server's 30 s
