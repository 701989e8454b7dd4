"""``keyz provider test ENTRY``: ask the provider once and say what the mapping yields.

The same steps as a sync (every check before anything is sent, the same resolve and fetch),
but nothing is written: no sidecar, no state, no git. For http-json and oneapi it also says
how each figure was read: the expression (or field) and the raw value the answer had.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

from keyz import sidecar as sc
from keyz.config import Config, ProviderConfig
from keyz.money import format_amount
from keyz.redact import clean
from keyz.store import PassStore
from keyz.sync import fetch, normalize, resolve, select_entries


@dataclass(frozen=True)
class Row:
    """One figure the answer yielded."""

    figure: str  # 'key_limit.remaining', 'balance USD.remaining'
    value: str | None  # a decimal string; None: unknown
    derived: bool = False


@dataclass(frozen=True)
class TraceRow:
    figure: str
    source: str  # the expression or field that produced it
    raw: str  # the value the answer had there (masked, cut)


@dataclass
class ProbeResult:
    entry: str
    provider: str
    sidecar: sc.Sidecar
    asked: list[str] = field(default_factory=list)  # 'subscription /dashboard/billing/...'
    rows: list[Row] = field(default_factory=list)
    trace: list[TraceRow] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The ``keyz provider test --json`` document."""
        return {
            "entry": self.entry,
            "provider": self.provider,
            "asked": self.asked,
            "figures": [
                {"figure": r.figure, "value": r.value, "derived": r.derived} for r in self.rows
            ],
            "trace": [{"figure": t.figure, "source": t.source, "raw": t.raw} for t in self.trace],
            "sidecar": sc.json_ready(self.sidecar),
            "written": False,
        }


def run_probe(store: PassStore, config: Config, name: str) -> ProbeResult:
    """Fetch once for the tracked entry ``name``; raise its KeyzError when that fails."""
    from keyz.providers import get_provider
    from keyz.providers.hosts import check_configured_base_url
    from keyz.providers.http import HttpClient, budget

    (entry,) = select_entries(config, [name])
    provider = get_provider(entry.provider)
    provider.check_options(entry.options, origin=f"[entries.{entry.name!r}]")
    configured = config.providers.get(entry.provider, ProviderConfig()).base_url
    check_configured_base_url(  # before decrypting, as sync does
        store.root, provider.id, configured, entry_bound=provider.host_from_entry
    )
    try:
        secret = store.decrypt(entry.name)
    finally:
        store.close()
    now = sc.utc_now()

    async def ask() -> tuple[sc.Sidecar, list[str], list[TraceRow]]:
        async with HttpClient.make_async_client() as client, budget(config.timeout):
            ctx = resolve(
                entry, secret, http=HttpClient(client), now=now, configured_base_url=configured
            )
            report = await fetch(entry, ctx)
            asked = [f"{e.name} {e.path}" for e in ctx.calls]
            trace = [
                TraceRow(t.figure, clean(t.source, 200), clean(t.raw, 80)) for t in report.trace
            ]
            return normalize(entry, report, now), asked, trace

    sidecar, asked, trace = asyncio.run(ask())
    return ProbeResult(entry.name, entry.provider, sidecar, asked, figure_rows(sidecar), trace)


def figure_rows(sidecar: sc.Sidecar) -> list[Row]:
    """Every figure of the sidecar, one row each, unknown ones included (as None)."""
    rows: list[Row] = []

    def add(
        prefix: str, item: sc.Balance | sc.KeyLimit | sc.Spend | sc.Quota | sc.AccountKey
    ) -> None:
        for name in item.FIGURES:
            value = getattr(item, name)
            if value is None and name not in ("remaining", "limit", "amount"):
                continue
            shown = format_amount(value) if isinstance(value, Decimal) else None
            rows.append(Row(f"{prefix}.{name}", shown, name in item.derived))

    for balance in sidecar.balances:
        add(f"balance {balance.currency}", balance)
    if sidecar.key_limit is not None:
        add(f"key_limit {sidecar.key_limit.currency}", sidecar.key_limit)
    for spend in sidecar.spend:
        add(f"spend {spend.period} {spend.currency}", spend)
    for quota in sidecar.quotas:
        add(f"quota {quota.label}", quota)
    for key in sidecar.account_keys:  # which key spends: named by its hash, else its name
        add(f"account_key {(key.hash or '')[:12] or key.name or key.label or '?'}", key)
    return rows


__all__ = ["ProbeResult", "Row", "TraceRow", "figure_rows", "run_probe"]
