"""A loopback stand-in for provider APIs, for the demo, the tests and the benchmarks.

Serves each provider's documented example answers (its module's ``examples``), one
account per bearer token, under a per-provider prefix — and answers the way the
real wire does: https with a throwaway CA (trustme), gzip whenever the client
accepts it, chunked transfer encoding for every other answer, kept-alive
connections:

    sim = Simulator().start()
    sim.deepseek("sk-test", [("CNY", "110.00", "10.00", "100.00")])  # or any provider:
    sim.account("fal", "fal-key", balance="3")  # its module's documented examples
    env.update(sim.env("deepseek"))  # KEYZ_DEEPSEEK_BASE_URL=https://127.0.0.1:PORT/deepseek
                                     # and SSL_CERT_FILE=<the throwaway CA>

Faults can be injected per token (status, headers, raw body, delay, and the ways
CDNs and networks fail: a bot-wall page, a maintenance page, a gzip bomb, a reset
mid-body), and an unknown token gets a 401 whose body echoes the key back, as some
providers do: keyz must never show it.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import ssl
import struct
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from keyz.errors import start_deaf_to_ctrl_c
from keyz.providers import get_provider


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # JSON-able object, or str/bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # how the body is sent: "whole"; "trickle" (a byte every trickle_every seconds);
    # "cut" (half of it, then the connection closes); "reset" (half of it, then a TCP
    # reset); "huge" (huge_bytes of JSON padding); "bomb" (gzip of huge_bytes zeros);
    # "cdn_block" / "maintenance" (the HTML pages a CDN serves instead of the API)
    mode: str = "whole"
    trickle_every: float = 2.0
    huge_bytes: int = 50 * 1024 * 1024
    compress: bool = True  # gzip when the client accepts it, as CDN-fronted APIs do


@dataclass
class Recorded:
    path: str
    token: str | None
    headers: dict[str, str]
    encoding: str = "identity"  # how the answer was sent: gzip when the client accepted it
    chunked: bool = False
    query: str = ""  # what followed the '?', as sent


CDN_BLOCK_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title></head>
<body><h1>Sorry, you have been blocked</h1><p>Cloudflare Ray ID: 8e1f2a3b4c5d6e7f</p></body></html>
"""
MAINTENANCE_PAGE = """<html><head><title>503 Service Temporarily Unavailable</title></head>
<body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center>
</body></html>
"""


class Simulator:
    """Threaded HTTPS server on 127.0.0.1 with an ephemeral port (plain HTTP with tls=False)."""

    def __init__(self, *, tls: bool = True) -> None:
        self._routes: dict[tuple[str, str], Answer] = {}  # (token, path) -> answer
        self._faults: dict[str, list[Answer]] = {}  # token -> answers to give first, in order
        self.latency = 0.0  # seconds added to every answer
        self.now: datetime | None = None  # the accounts' clock; None follows the real one
        self.requests: list[Recorded] = []
        self.record = True  # keep every request in ``requests`` (off for a long-running server)
        # answer a key no account has with the account that serves this path: `keyz demo
        # --serve` answers the keys of the user's own store with the demo accounts
        self.any_key = False
        self.tls = tls
        self.ca_file: Path | None = None  # the throwaway CA to trust (SSL_CERT_FILE)
        self._answered = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def _now(self) -> datetime:
        return self.now or datetime.now(UTC)

    # --- accounts, in each provider's documented shape -------------------------------------
    def account(self, provider_id: str, token: str, **figures: Any) -> None:
        """``token``'s account at this provider: the answers its module documents (its
        ``examples``), ``figures`` changing their numbers, on the accounts' clock."""
        for path, example in get_provider(provider_id).examples(self._now(), **figures).items():
            self.route(token, f"/{provider_id}{path}", Answer(example.status, example.body))

    # Shorthands, for the tests: ``sim.<id>(token, ...)`` is ``sim.account(<id>, token, ...)``,
    # with the figures the tests give by position. A new provider needs none.
    def deepseek(
        self, token: str, balances: list[tuple[str, str, str, str]], **figures: Any
    ) -> None:
        """balances: (currency, total, granted, topped_up) as the decimal strings DeepSeek sends."""
        self.account("deepseek", token, balances=balances, **figures)

    def anthropic(self, token: str, daily_cents: list[str]) -> None:
        """One cost-report page: ``daily_cents[i]`` was spent i days ago (strings in cents)."""
        self.account("anthropic", token, daily_cents=daily_cents)

    def openai(self, token: str, daily_dollars: list[str]) -> None:
        """One costs page: ``daily_dollars[i]`` spent i days ago (sent as numbers)."""
        self.account("openai", token, daily_dollars=daily_dollars)

    def openrouter(self, token: str, *, management: bool, **figures: Any) -> None:
        """A management key's account, or an ordinary key's (its credits refused)."""
        self.account("openrouter", token, management=management, **figures)

    def moonshot(self, token: str, **figures: Any) -> None:
        self.account("moonshot", token, **figures)

    def novita(self, token: str, **figures: Any) -> None:
        self.account("novita", token, **figures)

    def xai(self, token: str, **figures: Any) -> None:
        self.account("xai", token, **figures)

    def siliconflow(self, token: str, **figures: Any) -> None:
        self.account("siliconflow", token, **figures)

    def fal(self, token: str, **figures: Any) -> None:
        self.account("fal", token, **figures)

    def venice(self, token: str, **figures: Any) -> None:
        self.account("venice", token, **figures)

    def poe(self, token: str, **figures: Any) -> None:
        self.account("poe", token, **figures)

    def minimax(self, token: str, **figures: Any) -> None:
        self.account("minimax", token, **figures)

    def zai(self, token: str, **figures: Any) -> None:
        self.account("zai", token, **figures)

    def elevenlabs(self, token: str, **figures: Any) -> None:
        self.account("elevenlabs", token, **figures)

    def route(self, token: str, path: str, answer: Answer) -> None:
        with self._lock:
            self._routes[(token, path)] = answer

    def payloads(self, token: str) -> dict[str, tuple[int, bytes]]:
        """path -> (status, body bytes) of the account ``token`` (for respx-level tests)."""
        with self._lock:
            return {
                path: (answer.status, _body(answer.body))
                for (owner, path), answer in self._routes.items()
                if owner == token
            }

    def fail(self, token: str, *answers: Answer) -> None:
        """The next requests with ``token`` get these answers, in order, whatever the path."""
        with self._lock:
            self._faults.setdefault(token, []).extend(answers)

    # --- server --------------------------------------------------------------------------------
    def start(self) -> Simulator:
        simulator = self
        context = self._tls_context() if self.tls else None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real APIs
            timeout = 30  # an idle kept-alive connection is closed after this
            # TCP_NODELAY, as real servers (nginx's tcp_nodelay is on): headers and body go
            # out as separate writes, and Nagle held the body until the client's delayed ACK
            # (~40 ms added to every answer on loopback)
            disable_nagle_algorithm = True

            def setup(self) -> None:
                if context is not None:  # the handshake runs in this connection's thread
                    self.request = context.wrap_socket(self.request, server_side=True)
                super().setup()

            def handle(self) -> None:
                with contextlib.suppress(ssl.SSLError, OSError):
                    super().handle()

            def finish(self) -> None:
                with contextlib.suppress(OSError):
                    super().finish()
                if context is not None:  # the server closes only the raw socket it accepted
                    self.request.close()

            def do_GET(self) -> None:  # http.server's naming
                simulator._handle(self)

            def version_string(self) -> str:  # the Server header: the CDN's, when it answers
                return str(getattr(self, "server_header", "keyz-simulator"))

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        start_deaf_to_ctrl_c(  # its request threads inherit that: Ctrl-C goes to the main one
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name="keyz-simulator",
            )
        )
        return self

    def _tls_context(self) -> ssl.SSLContext:
        import trustme

        ca = trustme.CA(organization_name="keyz simulator (throwaway)")
        self._tmp = tempfile.TemporaryDirectory(prefix="keyz-sim-ca-")
        self.ca_file = Path(self._tmp.name) / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost", "::1").configure_cert(context)
        return context

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the simulator first"
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def base_url(self, provider_id: str) -> str:
        return f"{self.url}/{provider_id}"

    def env(self, *provider_ids: str) -> dict[str, str]:
        """KEYZ_<ID>_BASE_URL for each provider, pointing here, and SSL_CERT_FILE to trust it."""
        env = {
            f"KEYZ_{p.upper().replace('-', '_')}_BASE_URL": self.base_url(p) for p in provider_ids
        }
        if self.ca_file is not None:
            env["SSL_CERT_FILE"] = str(self.ca_file)
        return env

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        token = _token(handler.headers)
        path, _, query = handler.path.partition("?")
        recorded = Recorded(path, token, dict(handler.headers), query=query)
        with self._lock:
            if self.record:
                self.requests.append(recorded)
            queued = self._faults.get(token or "")
            answer = queued.pop(0) if queued else self._routes.get((token or "", path))
            if answer is None and self.any_key:
                answer = next((a for (_, p), a in self._routes.items() if p == path), None)
            self._answered += 1
            chunked = self._answered % 2 == 0  # every other answer, as real servers vary
        if answer is None:
            if any(p == path for _, p in self._routes):
                # an unknown key; real providers sometimes echo it back: keyz must not show it
                answer = Answer(
                    401, {"error": {"message": f"Invalid API key: {token}", "code": 401}}
                )
            else:
                answer = Answer(404, {"error": {"message": f"no route {path}"}})
        time.sleep(self.latency + answer.delay)
        gzip_ok = "gzip" in handler.headers.get("Accept-Encoding", "").lower()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            _send(handler, answer, recorded, gzip_ok=gzip_ok and answer.compress, chunked=chunked)


class _QuietServer(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: a client opening its pool's connections at once
    # lost SYNs and waited the kernel's 1 s retransmit (real servers: nginx 511, Linux 4096)
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gives up mid-handshake (keyz refusing the certificate) is no news."""


def _send(
    handler: BaseHTTPRequestHandler,
    answer: Answer,
    recorded: Recorded,
    *,
    gzip_ok: bool,
    chunked: bool,
) -> None:
    """Write one answer the way a real server (or the CDN in front of it) would."""
    status, headers, data = answer.status, {"Content-Type": "application/json"}, _body(answer.body)
    if answer.mode in ("cdn_block", "maintenance"):
        blocked = answer.mode == "cdn_block"
        status = answer.status if answer.status != 200 else (403 if blocked else 503)
        data = (CDN_BLOCK_PAGE if blocked else MAINTENANCE_PAGE).encode()
        headers = {"Content-Type": "text/html; charset=UTF-8"}
        if blocked:
            headers["cf-ray"] = "8e1f2a3b4c5d6e7f-FRA"
    headers.update(answer.headers)
    server = {"cdn_block": "cloudflare", "maintenance": "nginx"}.get(answer.mode, "keyz-simulator")
    handler.server_header = headers.pop("Server", server)  # type: ignore[attr-defined]
    if answer.mode == "bomb":
        headers["Content-Encoding"] = "gzip"
    elif gzip_ok and answer.mode in ("whole", "cdn_block", "maintenance"):
        data = gzip.compress(data, mtime=0)
        headers["Content-Encoding"] = "gzip"
    elif answer.mode not in ("whole", "cdn_block", "maintenance"):
        chunked = False  # the fault modes below control the framing themselves
    recorded.encoding = headers.get("Content-Encoding", "identity")
    recorded.chunked = chunked = chunked or answer.mode == "bomb"
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    if chunked:
        handler.send_header("Transfer-Encoding", "chunked")
    else:
        size = answer.huge_bytes if answer.mode == "huge" else len(data)
        handler.send_header("Content-Length", str(size))
    handler.end_headers()
    out = handler.wfile
    if answer.mode == "trickle":
        for byte in data:
            out.write(bytes([byte]))
            out.flush()
            time.sleep(answer.trickle_every)
    elif answer.mode in ("cut", "reset"):
        out.write(data[: len(data) // 2])
        out.flush()
        handler.close_connection = True
        if answer.mode == "reset":  # SO_LINGER 0: close() sends a TCP RST, no TLS close_notify
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.connection.close()
        else:
            handler.connection.shutdown(socket.SHUT_RDWR)
    elif answer.mode == "huge":
        out.write(b'{"pad": "')
        chunk = b"x" * 65536
        for _ in range(answer.huge_bytes // len(chunk)):
            out.write(chunk)
    elif answer.mode == "bomb":  # ~1000:1: a few MB on the wire, huge_bytes once decoded
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = b"\0" * (1 << 20)
        for _ in range(answer.huge_bytes >> 20):
            _chunk(out, compressor.compress(zeros))
        _chunk(out, compressor.flush())
        out.write(b"0\r\n\r\n")
    elif chunked:
        for start in range(0, len(data), 512):
            _chunk(out, data[start : start + 512])
        out.write(b"0\r\n\r\n")
    else:
        out.write(data)


def _chunk(out: Any, data: bytes) -> None:
    if data:  # an empty chunk would end the body
        out.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def _body(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, default=_number).encode()


def _token(headers: Any) -> str | None:
    """The key, however the provider wants it sent (Bearer, Key, Token, x-api-key, xi-api-key,
    raw)."""
    auth = headers.get("Authorization", "")
    for scheme in ("Bearer ", "Key ", "Token "):
        if auth.startswith(scheme):
            return str(auth[len(scheme) :])
    value = headers.get("x-api-key") or headers.get("xi-api-key") or auth
    return str(value) if value else None


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):  # as a provider sends it: 25, or 49.58894 (shortest repr)
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot send {type(value).__name__}")


__all__ = ["CDN_BLOCK_PAGE", "MAINTENANCE_PAGE", "Answer", "Recorded", "Simulator"]
