"""The HTTP edge: base URLs, one GET with retries, and the one place transport errors are mapped.

Keys travel only in headers; redirects are never followed (a 3xx is an error);
bodies are read with a size cap; JSON numbers become Decimal; 429/5xx are
retried a bounded number of times honouring Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from keyz.errors import AuthError, ConfigError, ProviderError
from keyz.redact import redact

MAX_BODY: Final = 1 << 20  # 1 MiB: a balance answer is a few hundred bytes
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_CAP: Final = 10.0  # seconds; the per-entry deadline bounds the total anyway
REQUEST_TIMEOUT: Final = httpx.Timeout(15.0, connect=5.0)


def resolve_base_url(provider_id: str, default: str, configured: str | None) -> str:
    """``KEYZ_<ID>_BASE_URL``, else ``[providers.<id>] base_url``, else the documented host."""
    env_name = f"KEYZ_{provider_id.upper().replace('-', '_')}_BASE_URL"
    raw = os.environ.get(env_name) or configured or default
    source = (
        env_name
        if os.environ.get(env_name)
        else (f"[providers.{provider_id}] base_url" if configured else "default")
    )
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{source}: {raw!r} is not a base URL like https://host[:port][/prefix]")
    if parts.username or parts.password:
        raise ConfigError(f"{source}: credentials do not belong in a URL; keys live in pass")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"{source}: only https is allowed, except for loopback hosts (127.0.0.1, ::1, localhost)"
        )
    return raw.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    def make_async_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            follow_redirects=False,
            timeout=REQUEST_TIMEOUT,
            headers={"Accept": "application/json", "User-Agent": "keyz"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def get_json(self, url: str, *, headers: Mapping[str, str], what: str) -> Any:
        """GET ``url`` and return its JSON; ``what`` names the call in errors (e.g. 'deepseek balance')."""
        for attempt in range(self.retries + 1):
            response = await self._send(url, headers, what)
            try:
                if response.status_code in RETRY_STATUSES and attempt < self.retries:
                    await self._sleep(_retry_delay(response, attempt))
                    continue
                body = await _read_capped(response, what)
            finally:
                await response.aclose()
            return _decode(response, body, what)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, url: str, headers: Mapping[str, str], what: str) -> httpx.Response:
        request = self.client.build_request("GET", url, headers=dict(headers))
        try:
            return await self.client.send(request, stream=True)
        except httpx.TimeoutException:
            raise ProviderError(f"{what}: no answer from {urlsplit(url).netloc} in time") from None
        except httpx.TransportError as exc:
            # str(exc) of a transport error names the host and the OS error, never headers
            reason = redact(str(exc)) or type(exc).__name__
            raise ProviderError(f"{what}: cannot reach {urlsplit(url).netloc} ({reason})") from None


async def _read_capped(response: httpx.Response, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > MAX_BODY:
                raise ProviderError(
                    f"{what}: answer larger than {MAX_BODY} bytes; not a balance answer"
                )
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise ProviderError(f"{what}: the answer stalled and timed out") from None
    except httpx.TransportError:
        raise ProviderError(f"{what}: the connection broke while reading the answer") from None
    data = b"".join(chunks)
    encoding = response.headers.get("content-encoding", "identity").lower()
    if encoding not in ("identity", ""):
        raise ProviderError(f"{what}: unexpected content-encoding {encoding!r}")
    return data


def _decode(response: httpx.Response, body: bytes, what: str) -> Any:
    status = response.status_code
    if response.is_redirect or 300 <= status < 400:
        raise ProviderError(
            f"{what}: answered with a redirect (HTTP {status}); keyz does not follow redirects, "
            "check the provider's base_url"
        )
    detail = _error_detail(body)
    if status == 401:
        raise _auth_error(
            what, status, "the key was rejected (HTTP 401); check the key in the pass entry", detail
        )
    if status == 403:
        raise _auth_error(what, status, "the key is not allowed to read this (HTTP 403)", detail)
    if status >= 400:
        hint = " after retries" if status in RETRY_STATUSES else ""
        raise _provider_error(what, status, f"the provider answered HTTP {status}{hint}", detail)
    try:
        return _loads(body.decode("utf-8"))
    except _NonFinite as exc:
        raise ProviderError(f"{what}: the answer has {exc}, which is not a number") from None
    except _TooLong:
        raise ProviderError(
            f"{what}: the answer has a number too long to be a figure "
            f"(over {MAX_NUMBER} characters)"
        ) from None
    except RecursionError:
        raise ProviderError(f"{what}: the answer is nested too deeply to be a balance") from None
    except (UnicodeDecodeError, ValueError):
        kind = response.headers.get("content-type", "unknown type").split(";")[0]
        raise ProviderError(
            f"{what}: the answer is not JSON ({kind}); is the base_url right?"
        ) from None


def _error_detail(body: bytes) -> str:
    """The provider's own error message, if it sent one as JSON: short and redacted."""
    try:
        payload = _loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ""
    message: Any = None
    if isinstance(payload, dict):
        error = payload.get("error")
        message = (
            error.get("message") if isinstance(error, dict) else error or payload.get("message")
        )
    if not isinstance(message, str):
        return ""
    message = " ".join(message.split())
    return redact(message[:200])


def _auth_error(what: str, status: int, text: str, detail: str) -> AuthError:
    return AuthError(f"{what}: {text}" + (f": {detail}" if detail else ""), status=status)


def _provider_error(what: str, status: int, text: str, detail: str) -> ProviderError:
    return ProviderError(f"{what}: {text}" + (f": {detail}" if detail else ""), status=status)


__all__ = ["MAX_BODY", "HttpClient", "resolve_base_url"]
