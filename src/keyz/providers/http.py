"""The HTTP edge: base URLs, one GET with retries, and the one place transport errors are mapped.

The wire is the real one: https verified against the operating system's trust
store (or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), ``HTTPS_PROXY`` / ``NO_PROXY``
honoured, gzip/deflate and chunked answers decoded. Keys travel only in headers;
redirects are never followed (a 3xx is an error); the size cap applies to the
decoded body; JSON numbers become Decimal; 429/5xx are retried a bounded number
of times honouring Retry-After. A provider's error is told in its own words,
masked before it is cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import os
import random
import re
import ssl
import sys
import weakref
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from keyz.errors import AuthError, ConfigError, NetworkError, ParseError, ProviderError
from keyz.redact import REDACTOR, clean

# httpx imports its command-line client (httpx._main: rich, pygments, click) whenever those
# are installed, and keyz's UI brings rich: ~50 ms before the first request that keyz never
# uses. A None in sys.modules makes that one import fail, which httpx handles as it does
# when they are missing (its `httpx` console command is not keyz's).
_BLOCKED = "httpx" not in sys.modules and "httpx._main" not in sys.modules
if _BLOCKED:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]  # the import system's "absent"
import httpcore  # noqa: E402
import httpx  # noqa: E402

if _BLOCKED:
    del sys.modules["httpx._main"]

MAX_BODY: Final = 1 << 20  # 1 MiB: a balance answer is a few hundred bytes
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_CAP: Final = 10.0  # seconds; the per-entry deadline bounds the total anyway
CONNECT_TIMEOUT: Final = 5.0  # seconds to open a connection, whatever the budget
REQUEST_TIMEOUT: Final = httpx.Timeout(15.0, connect=CONNECT_TIMEOUT)  # outside any budget()
RAISE_TIMEOUT: Final = "raise [defaults] timeout in config.toml (up to 600) for a slow provider"
# (deadline on the event loop's clock, seconds given): set by budget() for one entry's task
_BUDGET: ContextVar[tuple[float, float] | None] = ContextVar("keyz_budget", default=None)


@contextlib.asynccontextmanager
async def budget(seconds: float) -> AsyncIterator[None]:
    """Everything inside gets ``seconds`` in all, and each request may wait for what is left.

    A fixed per-request limit shorter than the budget would fail a provider that answers
    in 20 s although [defaults] timeout allows 120 s.
    """
    token = _BUDGET.set((asyncio.get_running_loop().time() + seconds, seconds))
    try:
        async with asyncio.timeout(seconds):
            yield
    finally:
        _BUDGET.reset(token)


def request_timeout() -> httpx.Timeout:
    """The connect limit, and the rest of the budget (plus a margin, so that the budget's own
    deadline is the one that says why) for waiting on the answer."""
    given = _BUDGET.get()
    if given is None:
        return REQUEST_TIMEOUT
    left = max(given[0] - asyncio.get_running_loop().time(), 0.0)
    return httpx.Timeout(left + 1.0, connect=min(CONNECT_TIMEOUT, left + 0.1))


class _NonFinite(ValueError):
    """JSON's non-standard NaN / Infinity: never a figure keyz writes down."""


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


class _TooLong(ValueError):
    """A number longer than any figure: refused before int() or Decimal() work on it."""


MAX_NUMBER: Final = 100  # characters of one JSON number


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER:
        raise _TooLong
    return int(text)


def _decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER:
        raise _TooLong
    return Decimal(text)


def _loads(text: str) -> Any:
    """JSON with numbers as Decimal (bounded in length), no NaN/Infinity, no deep recursion."""
    return json.loads(text, parse_float=_decimal, parse_int=_int, parse_constant=_reject_constant)


def _retry_delay(response: httpx.Response, attempt: int) -> float:
    """Retry-After as seconds (ASCII digits) or an HTTP date, capped; anything else backs off.

    float() would take 'nan' (a sleep until the entry's deadline), 'inf', '-5' and '1_0'.
    """
    header = response.headers.get("retry-after", "").strip()
    delay: float = 0.5 * 2**attempt
    if re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,3})?", header):
        delay = float(header)
    elif header:
        with contextlib.suppress(TypeError, ValueError, OverflowError, IndexError):
            when = parsedate_to_datetime(header)
            if when.tzinfo is None:  # '-0000': UTC as far as the sender knows
                when = when.replace(tzinfo=UTC)
            delay = max((when - datetime.now(UTC)).total_seconds(), 0.0)
    return min(delay, RETRY_AFTER_CAP) + random.uniform(0, 0.25)  # noqa: S311  # jitter, not crypto


# --- the network under httpcore: asyncio's own transports --------------------------------

_READ_AHEAD: Final = 1 << 16  # bytes buffered before the socket is no longer read
_OPEN: Final[weakref.WeakSet[asyncio.Transport]] = weakref.WeakSet()  # for abort_connections


def abort_connections() -> None:
    """Abort every connection keyz opened and still holds: each read or write waiting on
    one ends at once with a broken connection (Ctrl-C during a sync)."""
    for transport in list(_OPEN):
        transport.abort()


class _Protocol(asyncio.Protocol):
    """What arrived on one connection, for :class:`_Stream` to read; at most ~64 KiB ahead."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # the peer closed, or the connection was lost
        self.error: OSError | None = None  # why it was lost, if it broke
        self.paused = False  # reading stopped while the buffer is full
        self.can_write = True
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_AHEAD and not self.paused and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        if isinstance(exc, OSError):
            self.error = exc
        elif exc is not None:
            self.error = OSError(str(exc) or type(exc).__name__)
        self.can_write = True
        self._wake()

    def pause_writing(self) -> None:
        self.can_write = False

    def resume_writing(self) -> None:
        self.can_write = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def until(
        self, ready: Callable[[], bool], timeout: float | None, late: type[Exception]
    ) -> None:
        """Wait until ``ready()`` or the connection ended; ``late`` after ``timeout`` s."""
        try:
            async with asyncio.timeout(timeout):
                while not ready() and not self.ended:
                    self._waiter = asyncio.get_running_loop().create_future()
                    try:
                        await self._waiter
                    finally:
                        self._waiter = None
        except TimeoutError:
            raise late(f"no progress within {timeout} s") from None

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self.paused and len(self.buffer) <= _READ_AHEAD and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data


class _HandshakeCut(OSError):
    """The server closed or reset the connection in the middle of the TLS handshake (a
    plain-http server, a filtering firewall or middlebox): a handshake failure, not an
    unreachable host."""

    def __str__(self) -> str:
        return "the server closed the connection during it"


class _Stream(httpcore.AsyncNetworkStream):
    """One connection for httpcore, on asyncio's transport and :class:`_Protocol`.

    httpcore's default (anyio) streams rebuild anyio's attribute tables and cancel scopes on
    every read and on every scan of the pool (~20 % of keyz's own CPU in a 100-entry
    sync); this one is a buffer, a future and ``asyncio.timeout``. Errors are httpcore's,
    with the OS or TLS error as their cause, as its own backends raise them.
    """

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport, self._protocol = transport, protocol
        _OPEN.add(transport)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        await protocol.until(lambda: bool(protocol.buffer), timeout, httpcore.ReadTimeout)
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error)) from protocol.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.ended or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed") from protocol.error
        self._transport.write(buffer)
        await protocol.until(lambda: protocol.can_write, timeout, httpcore.WriteTimeout)
        if protocol.error is not None:
            raise httpcore.WriteError(str(protocol.error)) from protocol.error

    async def aclose(self) -> None:
        self._transport.abort()  # no TLS close_notify exchange, like httpcore's own streams

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.abort()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except ConnectionError:  # closed or reset: asyncio says no more than that
            self._transport.abort()
            try:  # as the context, which survives httpcore's pool re-raising it "from None"
                raise _HandshakeCut() from None
            except _HandshakeCut as cut:
                raise httpcore.ConnectError(str(cut)) from cut
        except OSError as exc:  # ssl.SSLError included
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # pragma: no cover  # only for a closed loop
            raise httpcore.ConnectError("the TLS handshake did not complete")
        assert isinstance(transport, asyncio.Transport)
        return _Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of idle connections: anything there means it is done
            return bool(self._protocol.buffer) or self._protocol.ended
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        if name in ("ssl_object", "sockname", "peername", "socket"):
            return self._transport.get_extra_info(name)
        return None


class _Backend(httpcore.AsyncNetworkBackend):
    """Connections for httpcore from asyncio's ``create_connection`` (TCP_NODELAY set, and
    happy eyeballs at RFC 8305's 250 ms, as httpcore's default backend does)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out connecting") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        socket = transport.get_extra_info("socket")
        for option in socket_options or ():
            socket.setsockopt(*option)
        assert isinstance(transport, asyncio.Transport)
        return _Stream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover  # keyz speaks TCP only
        raise httpcore.ConnectError("keyz does not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Transport(httpx.AsyncHTTPTransport):
    """httpx's transport (its request and error mapping) over :class:`_Backend`."""

    def __init__(self, *, verify: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_Backend(),
        )


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing. A cookie one key's answer sets (a CDN's __cf_bm, a
    session) would otherwise go back with the next request on that client, made with another
    entry's key: two accounts tied together at the provider. keyz needs no cookie, and
    httpx's parsing of each answer's cookies was ~10 % of a request's CPU."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


class HttpClient:
    """One AsyncClient for a whole sync; every provider GET goes through :meth:`get_json`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        retries: int = 2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.retries = retries
        self._sleep = sleep

    @staticmethod
    def make_async_client(
        *, connections: int = 64, verify: ssl.SSLContext | None = None
    ) -> httpx.AsyncClient:
        """A client whose pool holds up to ``connections``; ``keyz sync`` gives each request in
        flight a client of one connection (:class:`keyz.sync._Lane`), so that httpcore never
        queues a request nor rescans a pool. ``verify``: a context to share between clients
        (one per client otherwise)."""
        # trust_env (httpx's default) reads HTTPS_PROXY, ALL_PROXY and NO_PROXY.
        _check_proxy_settings()
        try:
            verify = verify or ssl_context()
            limits = httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections
            )
            client = httpx.AsyncClient(
                verify=verify,
                cookies=_NoCookies(),
                follow_redirects=False,
                timeout=REQUEST_TIMEOUT,
                # exactly what _read_capped decodes, whatever else this install could
                headers={
                    "Accept": "application/json",
                    "Accept-Encoding": "gzip, deflate",
                    "User-Agent": "keyz",
                },
                limits=limits,
            )
            # Direct connections (no proxy, or NO_PROXY) on asyncio's own streams: httpx takes
            # the environment's proxies only when it makes this default transport itself, so it
            # is swapped in after, and a test fails if httpx ever renames it.
            client._transport = _Transport(verify=verify, limits=limits)
            return client
        except (ValueError, ImportError, httpx.InvalidURL) as exc:  # a proxy URL httpx cannot use
            raise ConfigError(
                f"the proxy setting cannot be used ({clean(str(exc), 120)}); check HTTPS_PROXY, "
                "HTTP_PROXY and ALL_PROXY (http://, https:// or socks5:// with a valid port)"
            ) from None

    async def get_json(self, url: str, *, headers: Mapping[str, str]) -> Any:
        """GET ``url`` and return its JSON. Errors say what went wrong, not where: the caller
        (Provider.report) names the provider and endpoint once."""
        for attempt in range(self.retries + 1):
            response = await self._send(url, headers)
            try:
                if response.status_code in RETRY_STATUSES and attempt < self.retries:
                    await self._sleep(_retry_delay(response, attempt))
                    continue
                body = await _read_capped(response)
            finally:
                await response.aclose()
            return _decode(response, body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, url: str, headers: Mapping[str, str]) -> httpx.Response:
        limits = request_timeout()
        request = self.client.build_request("GET", url, headers=dict(headers), timeout=limits)
        host = urlsplit(url).netloc
        try:
            return await self.client.send(request, stream=True)
        except httpx.ConnectTimeout:
            raise NetworkError(
                f"no connection to {host} within {limits.connect:g}s; is the host up, "
                "and the network (or HTTPS_PROXY) right?"
            ) from None
        except httpx.TimeoutException:
            given = _BUDGET.get()
            limit = f"{given[1]:g}s; {RAISE_TIMEOUT}" if given else f"{limits.read or 0:g}s"
            raise NetworkError(f"no answer from {host} within {limit}") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, OverflowError) as exc:
            raise NetworkError(
                f"cannot send to {host} ({clean(str(exc), 120) or type(exc).__name__}); "
                "check the base_url and HTTPS_PROXY / ALL_PROXY"
            ) from None
        except httpx.ProxyError as exc:
            reason = clean(str(exc)) or type(exc).__name__
            raise NetworkError(
                f"the proxy refused the tunnel to {host} ({reason}); check HTTPS_PROXY and NO_PROXY"
            ) from None
        except httpx.TransportError as exc:
            certificate, handshake = _tls_failure(exc)
            if certificate:
                raise NetworkError(
                    f"cannot verify the TLS certificate of {host} ({certificate}); "
                    "nothing was sent. If a proxy or company CA signs its traffic, point "
                    "SSL_CERT_FILE at a PEM file of the CA certificates to trust"
                ) from None
            if handshake:
                raise NetworkError(
                    f"the TLS handshake with {host} failed ({handshake}); nothing was "
                    "sent. Is it an https server? (a plain-http server, or a proxy that answers "
                    "CONNECT with a page of its own, fails this way)"
                ) from None
            # str(exc) of a transport error names the host and the OS error, never headers
            reason = clean(str(exc)) or type(exc).__name__
            proxy = _proxy_for(url)
            if isinstance(exc, httpx.ConnectError) and proxy:
                raise NetworkError(
                    f"cannot reach {host} through the proxy {proxy} ({reason}); check "
                    "HTTPS_PROXY and NO_PROXY"
                ) from None
            if isinstance(exc, httpx.ConnectError):
                raise NetworkError(f"cannot reach {host} ({reason})") from None
            raise NetworkError(
                f"the connection to {host} broke before the answer came ({reason})"
            ) from None


_PROXY_VARIABLES: Final = ("https_proxy", "http_proxy", "all_proxy")


def _check_proxy_settings() -> None:
    """Mask a proxy's user and password (its own error text may echo them); refuse a bad port."""
    for name, value in os.environ.items():
        if name.lower() not in _PROXY_VARIABLES or not value:
            continue
        netloc = urlsplit(value if "://" in value else f"http://{value}").netloc
        userinfo, _, hostport = netloc.rpartition("@")
        for part in {userinfo, *userinfo.split(":", 1)} - {""}:
            REDACTOR.add(part, min_length=3)
            REDACTOR.add(unquote(part), min_length=3)
        port = hostport.rpartition("]")[2].rpartition(":")[2] if ":" in hostport else ""
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(
                f"{name}: the proxy's port {clean(port, 12)!r} is not a port (1-65535)"
            )


def _proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (as httpx reads it), without credentials."""
    import urllib.request

    parts = urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):  # type: ignore[attr-defined]  # in stdlib, not in typeshed
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    shown = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    port = shown.netloc.rpartition("@")[2].rpartition(":")[2] if ":" in shown.netloc else ""
    host = f"{shown.hostname}:{port}" if port.isdigit() else str(shown.hostname)
    return clean(f"{shown.scheme}://{host}", 80)


# Where the system's CA bundle may be when OpenSSL's own default paths hold none (the list
# truststore uses on Linux, after tiran/certifi-system-store)
_CA_FILES: Final = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)


def ssl_context() -> ssl.SSLContext:
    """The operating system's trust store, as a browser or curl uses it.

    truststore reads the platform's store (Keychain, Windows), so a company CA installed on
    the machine is trusted without any keyz setting. On Linux the store is OpenSSL's system
    paths (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` first), which truststore loads again for
    every connection (the 220 KB bundle: ~37 ms each, holding the GIL and the event loop);
    keyz loads them once, the same way.
    """
    if not sys.platform.startswith("linux"):
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names
    defaults = ssl.get_default_verify_paths()
    if defaults.cafile or (defaults.capath and _holds_hashed_certs(defaults.capath)):
        context.set_default_verify_paths()
    else:
        cafile = next((path for path in _CA_FILES if os.path.isfile(path)), None)
        if cafile is not None:
            context.load_verify_locations(cafile=cafile)
    return context


def _holds_hashed_certs(capath: str) -> bool:
    """A directory of certificates named by OpenSSL's subject hash ('5ad8a5d6.0')."""
    with contextlib.suppress(OSError):
        return any(re.fullmatch(r"[0-9a-fA-F]{8}\.[0-9]", name) for name in os.listdir(capath))
    return False


def _tls_failure(exc: BaseException) -> tuple[str | None, str | None]:
    """(the certificate problem, another TLS failure) behind a failed connection."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return clean(seen.verify_message or "certificate verify failed", 120), None
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):
            match = re.search(r"certificate verify failed: ([^(]+)", str(seen))
            return clean(
                match.group(1).strip() if match else "certificate verify failed", 120
            ), None
        if isinstance(seen, ssl.SSLError):
            return None, clean(getattr(seen, "reason", None) or str(seen), 120) or "TLS error"
        if isinstance(seen, _HandshakeCut):
            return None, str(seen)
        seen = seen.__cause__ or seen.__context__
    return None, None


async def _read_capped(response: httpx.Response) -> bytes:
    """The decoded body, refused once it passes MAX_BODY: a gzip bomb stops there.

    keyz decodes itself, with zlib's ``max_length``, rather than through httpx's
    decoders: those expand each network read whole, and one read can be 256 KiB
    (≈ 260 MB of zeros once inflated) when the reader falls behind.
    """
    unknown = _undecodable_encoding(response)
    if unknown:
        raise ParseError(
            f"the answer is compressed as {unknown!r}, which this install cannot decode"
        )
    layers = [
        e.strip().lower()
        for e in response.headers.get_list("content-encoding", split_commas=True)
        if e.strip().lower() not in ("", "identity")
    ]
    if len(layers) > 1:  # each layer multiplies what one read expands to
        raise ParseError(
            f"the answer is compressed {len(layers)} times over; keyz decodes one layer"
        )
    inflate = _Inflater(layers[0]) if layers else None
    chunks: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw():
            chunk = inflate.feed(raw, MAX_BODY - size + 1) if inflate else raw
            size += len(chunk)
            if size > MAX_BODY or (inflate and inflate.pending):
                raise ParseError(
                    f"answer larger than {MAX_BODY} bytes once decoded; not a balance answer"
                )
            chunks.append(chunk)
        if inflate:
            chunks.append(inflate.finish())
    except zlib.error:
        raise ParseError(f"the {layers[0]} answer is corrupt and cannot be decoded") from None
    except httpx.TimeoutException:
        raise NetworkError("the answer stalled and timed out") from None
    except httpx.TransportError:
        raise NetworkError("the connection broke while reading the answer") from None
    return b"".join(chunks)


class _Inflater:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), bounded per call."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else 0)
        self._first = encoding == "deflate"
        self.pending = False  # output beyond the limit is waiting: the body is too large

    def feed(self, data: bytes, limit: int) -> bytes:
        try:
            out = self._zlib.decompress(data, max(limit, 1))
        except zlib.error:
            if not self._first:
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
            out = self._zlib.decompress(data, max(limit, 1))
        self._first = False
        self.pending = bool(self._zlib.unconsumed_tail)
        return out

    def finish(self) -> bytes:
        rest = self._zlib.flush()
        if not self._zlib.eof:  # the stream stopped short: not a whole answer
            raise zlib.error("truncated")
        return rest


def _undecodable_encoding(response: httpx.Response) -> str | None:
    """An encoding we did not advertise: httpx would silently pass it through undecoded."""
    sent = response.request.headers.get("accept-encoding", "")
    accepted = {"identity", *(e.strip().lower() for e in sent.split(",") if e.strip())}
    for value in response.headers.get_list("content-encoding", split_commas=True):
        name = value.strip().lower()
        if name and name not in accepted:
            return clean(name, 40)
    return None


def _decode(response: httpx.Response, body: bytes) -> Any:
    status = response.status_code
    if response.is_redirect or 300 <= status < 400:
        raise ProviderError(
            f"answered with a redirect (HTTP {status}); keyz does not follow redirects, "
            "check the provider's base_url"
        )
    page = _html_page(response, body)
    if page:  # a CDN or a proxy answered, not the API: never an auth problem, never dumped
        hint = " after retries" if status in RETRY_STATUSES else ""
        raise ProviderError(f"{page} (HTTP {status}{hint})", status=status)
    # an error's own words only: a good answer was parsed (and masked) twice for nothing
    detail = error_detail(body) if status >= 400 else ""
    if status == 401:
        raise _auth_error(
            status, "the key was rejected (HTTP 401); check the key in the pass entry", detail
        )
    if status == 403:
        raise _auth_error(status, "the key is not allowed to read this (HTTP 403)", detail)
    if status >= 400:
        hint = " after retries" if status in RETRY_STATUSES else ""
        raise _provider_error(status, f"the provider answered HTTP {status}{hint}", detail)
    try:
        return _loads(body.decode("utf-8"))
    except _NonFinite as exc:
        raise ParseError(f"the answer has {exc}, which is not a number") from None
    except _TooLong:
        raise ParseError(
            f"the answer has a number too long to be a figure (over {MAX_NUMBER} characters)"
        ) from None
    except RecursionError:
        raise ParseError("the answer is nested too deeply to be a balance") from None
    except (UnicodeDecodeError, ValueError):
        kind = response.headers.get("content-type", "unknown type").split(";")[0]
        raise ParseError(
            f"the answer is not JSON ({clean(kind, 60)}); is the base_url right?"
        ) from None


def _html_page(response: httpx.Response, body: bytes) -> str | None:
    """'HTML page from the CDN (cloudflare, cf-ray …): blocked or down', for a page, else None."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    start = body[:512].lstrip().lower()
    if kind not in ("text/html", "application/xhtml+xml") and not start.startswith(
        (b"<!doctype html", b"<html")
    ):
        return None
    server = clean(response.headers.get("server", ""), 40)
    ray = clean(response.headers.get("cf-ray", ""), 40)
    cdn = ray or server.lower() in ("cloudflare", "akamaighost", "cloudfront", "tengine")
    where = ", ".join(x for x in (server, f"cf-ray {ray}" if ray else "") if x)
    source = "HTML page from the CDN" if cdn else "HTML page instead of the API's JSON"
    if response.status_code in (403, 429):
        why = "the request was blocked (bot protection or region); try again later"
    elif response.status_code >= 500:
        why = "the API is down or in maintenance; try again later"
    else:
        why = "is the base_url right?"
    return f"{source}{f' ({where})' if cdn and where else ''}: {why}"


def error_detail(body: bytes) -> str:
    """The provider's own reason, from its documented error shape: masked, then cut.

    Anthropic/OpenAI ``error.type`` + ``error.message``; ElevenLabs ``detail.status``
    + ``detail.message``; z.ai ``msg``; MiniMax ``base_resp.status_msg``; Cloudflare
    ``errors[].code`` + ``errors[].message``; Deepgram ``err_code`` + ``err_msg`` (and
    ``category`` + ``message``); ``message`` / ``error`` / ``detail`` strings; a plain-text
    or JSON-string body (SiliconFlow's 401).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    try:
        payload = _loads(text)
    except (ValueError, RecursionError):
        plain = text.strip()
        return "" if not plain or plain.startswith("<") else clean(plain)
    return payload_detail(payload)


def payload_detail(payload: Any) -> str:
    """:func:`error_detail` of an answer already decoded (an error sent with HTTP 200)."""
    return clean("; ".join(r for r in _reasons(payload) if r))


def _reasons(payload: Any) -> list[str]:
    if isinstance(payload, str):
        return [payload]
    if not isinstance(payload, dict):
        return []
    error = payload.get("error")
    if isinstance(error, dict):
        parts = [error.get("type"), error.get("code"), error.get("message")]
        kind = next((p for p in parts[:2] if isinstance(p, str) and p), None)
        message = parts[2] if isinstance(parts[2], str) else None
        return [f"{kind}: {message}" if kind and message else kind or message or ""]
    detail = payload.get("detail")
    if isinstance(detail, dict):
        status, message = detail.get("status"), detail.get("message")
        both = [x for x in (status, message) if isinstance(x, str) and x]
        return [": ".join(both)] if both else []
    base = payload.get("base_resp")
    if isinstance(base, dict) and isinstance(base.get("status_msg"), str):
        return [base["status_msg"]]
    errors = payload.get("errors")
    if isinstance(errors, list):  # Cloudflare: [{"code": 10000, "message": "..."}]
        return [
            _coded(e.get("code"), e["message"])
            for e in errors[:3]
            if isinstance(e, dict) and isinstance(e.get("message"), str)
        ]
    if isinstance(payload.get("err_msg"), str):  # Deepgram's older shape
        return [_coded(payload.get("err_code"), payload["err_msg"])]
    if isinstance(payload.get("category"), str) and isinstance(payload.get("message"), str):
        return [_coded(payload["category"], payload["message"])]  # Deepgram's newer shape
    for name in ("error", "detail", "msg", "message", "error_msg"):
        if isinstance(payload.get(name), str):
            return [payload[name]]
    return []


def _coded(code: Any, message: str) -> str:
    """'10000: Authentication error', or the message alone when the code is not a word or number."""
    if isinstance(code, bool) or not isinstance(code, int | str) or not str(code).strip():
        return message
    return f"{str(code)[:40]}: {message}"


def _auth_error(status: int, text: str, detail: str) -> AuthError:
    return AuthError(text + (f": {detail}" if detail else ""), status=status)


def _provider_error(status: int, text: str, detail: str) -> ProviderError:
    return ProviderError(text + (f": {detail}" if detail else ""), status=status)


__all__ = [
    "MAX_BODY",
    "RAISE_TIMEOUT",
    "HttpClient",
    "abort_connections",
    "budget",
    "error_detail",
    "payload_detail",
    "request_timeout",
    "ssl_context",
]
