"""Every provider reads a compressed answer exactly like a plain one, as real APIs send them.

Real APIs gzip (CDN-fronted) or deflate their answers whenever the client accepts it, and
may send them chunked. Each provider's documented payload (its module's examples) is
served through respx plain, gzip- and deflate-encoded, and chunked: the reports must match.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from keyz.demo.simulator import Simulator
from keyz.providers import KNOWN, get_provider
from tests.providers.helpers import ACCOUNT_KEY, fetch

KEY = ACCOUNT_KEY
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def chunks(data: bytes) -> Iterator[bytes]:
    yield from (data[i : i + 7] for i in range(0, len(data), 7))


ENCODINGS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.compress, "deflate": zlib.compress}


def report(provider_id: str, encoding: str | None) -> object:
    simulator = Simulator()
    simulator.now = NOW
    simulator.account(provider_id, KEY)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        for path, (status, body) in simulator.payloads(KEY).items():
            if encoding is None:
                response = httpx.Response(status, content=body)
            else:
                encoded = ENCODINGS[encoding](body)
                response = httpx.Response(
                    status,
                    headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
                    stream=httpx.ByteStream(b"".join(chunks(encoded))),
                )
            mock.get(host="sim.test", path=path).mock(return_value=response)
        options = dict(get_provider(provider_id).example_options)
        return fetch(
            provider_id, KEY, options=options, base_url=f"https://sim.test/{provider_id}", now=NOW
        )


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("provider_id", KNOWN)
def test_a_compressed_answer_reads_like_a_plain_one(provider_id: str, encoding: str) -> None:
    plain = report(provider_id, None)
    assert plain == report(provider_id, encoding)
    assert any(getattr(plain, name) for name in ("balances", "key_limit", "spend", "quotas"))
