"""``keyz export``: the whole ledger state for other tools, as JSON or Prometheus metrics.

Reads only: the sidecars, ``.keyz/state/`` and the git ledger (``git log`` and
``git cat-file``, no textconv, so no gpg). No decryption, no network, no git writes.

The Prometheus text comes from ``prometheus_client`` (its exposition format escapes label
values); keyz writes it with :func:`keyz.fsutil.atomic_write` (a temp file in the target's
directory, fsynced, then renamed), so the node_exporter textfile collector never reads half
a file. Values are float64, as Prometheus stores them; ``--json`` has the exact decimals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from keyz import __version__
from keyz import sidecar as sc
from keyz.config import Config
from keyz.errors import KeyzError
from keyz.fields import utc_now
from keyz.forecast import Forecast, for_entries
from keyz.fsutil import atomic_write
from keyz.health import last_seen
from keyz.redact import redact
from keyz.status import StatusRow, collect_status
from keyz.store import PassStore
from keyz.totals import Totals, total

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

EXPORT_SCHEMA_VERSION: Final = 1  # the shape of `keyz export --json` (docs/commands.md)


@dataclass
class LedgerState:
    """Every tracked entry's current figures, health and forecasts, and the totals."""

    generated_at: datetime
    rows: list[StatusRow]
    forecasts: dict[str, list[Forecast]]
    totals: Totals

    def to_json(self) -> dict[str, object]:
        return {
            "format": "keyz-export",
            "schema_version": EXPORT_SCHEMA_VERSION,
            "keyz_version": __version__,
            "generated_at": sc.format_time(self.generated_at),
            "entries": [
                {
                    **row.to_json(),
                    "problems": [p.to_json() for p in row.problems],
                    "forecasts": [f.to_json() for f in self.forecasts.get(row.entry, [])],
                }
                for row in self.rows
            ],
            "totals": self.totals.to_json(),
        }

    def json_text(self) -> str:
        text = json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
        return redact(text) + "\n"


def collect(store: PassStore, config: Config, now: datetime | None = None) -> LedgerState:
    now = now or utc_now()
    rows = collect_status(store, config, now)
    forecasts = for_entries(store.root, ((r.entry, r.sidecar) for r in rows), now)
    return LedgerState(now, rows, forecasts, total(rows, config.rates))


# --- Prometheus --------------------------------------------------------------------------

ENTRY: Final = ("entry", "provider")


class _Ledger:
    """A prometheus_client collector over one LedgerState: gauges only, no timestamps (the
    textfile collector refuses them); a figure keyz does not know is absent, never 0."""

    def __init__(self, state: LedgerState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        def gauge(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=[*ENTRY, *labels])

        balance = gauge("keyz_balance", "Money (or a provider's unit) left", "currency")
        cap = gauge("keyz_key_limit_remaining", "What the key's own cap still allows", "currency")
        spend = gauge(
            "keyz_spend", "Spend the provider reported over a period", "currency", "period"
        )
        quota = gauge(
            "keyz_quota_remaining_percent", "Percent left in a quota window", "window", "label"
        )
        success = gauge(
            "keyz_last_success_timestamp_seconds", "When these figures were last confirmed"
        )
        stale = gauge("keyz_stale", "1 when the figures may be out of date (failed or too old)")
        runway = gauge(
            "keyz_runway_days",
            "Days until money runs out at the ledger's burn rate (derived; only with enough history)",
            "currency",
            "kind",
        )
        month_end = gauge(
            "keyz_spend_month_end_projected",
            "This month's spend projected to its end from daily buckets (derived)",
            "currency",
        )
        lasts = gauge(
            "keyz_quota_lasts_until_reset",
            "1 when a quota window lasts until its reset at the recent rate (derived)",
            "window",
            "label",
        )
        for row in self.state.rows:
            ids = [row.entry, row.provider]
            stale.add_metric(ids, 1.0 if row.stale else 0.0)
            current = row.sidecar
            if current is None:
                continue
            success.add_metric(ids, last_seen(current, row.state).timestamp())
            for item in current.balances:
                if item.remaining is not None:
                    balance.add_metric([*ids, item.currency], float(item.remaining))
            limit = current.key_limit
            if limit is not None and limit.limit is not None and limit.remaining is not None:
                cap.add_metric([*ids, limit.currency], float(limit.remaining))
            for spent in current.spend:
                spend.add_metric([*ids, spent.currency, spent.period], float(spent.amount))
            for window in current.quotas:
                if window.remaining_percent is not None and not window.unlimited:
                    quota.add_metric(
                        [*ids, window.window or "", window.label], float(window.remaining_percent)
                    )
            for found in self.state.forecasts.get(row.entry, []):
                if found.kind == "runway" and found.days is not None:
                    labels = [*ids, str(found.currency), str(found.figure)]
                    runway.add_metric(labels, float(found.days))
                elif found.kind == "month_end_spend" and found.amount is not None:
                    month_end.add_metric([*ids, str(found.currency)], float(found.amount))
                elif found.kind == "quota_until_reset" and found.lasts is not None:
                    lasts.add_metric(
                        [*ids, found.window or "", str(found.label)], 1.0 if found.lasts else 0.0
                    )
        yield from (balance, cap, spend, quota, success, stale, runway, month_end, lasts)


def prometheus_text(state: LedgerState) -> bytes:
    """The node_exporter textfile format, as prometheus_client writes it."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Ledger(state))
    return redact(generate_latest(registry).decode("utf-8")).encode("utf-8")


def write_file(path: str | Path, data: bytes) -> None:
    """``data`` at ``path``, atomically: readers see the old file or the new one."""
    target = Path(path)
    if not target.parent.is_dir():  # never made: a typo in a cron line should not grow a tree
        raise KeyzError(f"export: {target.parent} is not a directory; create it first")
    try:
        atomic_write(target, data)
    except KeyzError as exc:
        raise KeyzError(f"export: {exc}") from None


__all__ = [
    "EXPORT_SCHEMA_VERSION",
    "LedgerState",
    "collect",
    "prometheus_text",
    "write_file",
]
