"""keyz status: spendable figures per unit, derived marks, age and staleness, from files only."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from keyz import sidecar as sc
from keyz.config import load_config
from keyz.render import summarize
from keyz.status import collect_status
from keyz.store import PassStore
from keyz.sync import run_sync

from .conftest import Sandbox

FIXTURES = Path(__file__).parent / "fixtures" / "sidecars"


def test_spendable_and_staleness(two_keys: Sandbox) -> None:
    store = PassStore(two_keys.store)
    config = load_config(store.keyz_dir)
    run_sync(store, config)
    soon = datetime.now(UTC) + timedelta(hours=1)
    rows = {r.entry: r for r in collect_status(store, config, now=soon)}
    deepseek = rows["api/deepseek"].to_json()
    assert deepseek["spendable"] == [
        {"unit": "CNY", "unit_kind": "currency", "amount": "110.00", "derived": False},
        {"unit": "USD", "unit_kind": "currency", "amount": "5.25", "derived": False},
    ]
    assert deepseek["stale"] is False and deepseek["problem"] is None
    assert rows["api/openrouter"].to_json()["spendable"] == []  # a key limit is not a balance
    later = datetime.now(UTC) + timedelta(days=3)
    old = {r.entry: r for r in collect_status(store, config, now=later)}
    assert old["api/deepseek"].stale is True
    assert "stale" in (old["api/deepseek"].problem or "")


def test_derived_figures_are_marked() -> None:
    current = sc.loads((FIXTURES / "openrouter-credits.v2.json").read_bytes())
    assert summarize(current) == "USD 74.75*"
    poe = sc.Sidecar.model_validate(
        {
            "entry": "p",
            "provider": "poe",
            "observed_at": "2026-11-22T10:15:00Z",
            "available": None,
            "balances": [{"currency": "POINTS", "unit_kind": "provider", "remaining": "1500"}],
        }
    )
    assert summarize(poe) == "POINTS 1500"


def test_sync_rewrites_an_unchanged_v1_sidecar_as_current_keeping_its_time(
    two_keys: Sandbox,
) -> None:
    path = two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json"
    path.parent.mkdir(parents=True)
    v1 = json.loads((FIXTURES / "deepseek.v1.json").read_text())
    v1["balances"][1].update(granted="0.00", topped_up="5.25")  # what the simulator reports
    path.write_text(json.dumps(v1, indent=2, sort_keys=True) + "\n")
    store = PassStore(two_keys.store)
    run_sync(store, load_config(store.keyz_dir), ["api/deepseek"])
    after = json.loads(path.read_text())
    assert after["schema_version"] == sc.SCHEMA_VERSION == 3
    assert after["observed_at"] == "2026-11-22T10:15:00Z"  # same values: same observation
    shutil.rmtree(path.parent)


def test_short_line_for_a_status_bar() -> None:
    from keyz.render import short_amount, short_line

    def sidecar(**fields: object) -> sc.Sidecar:
        base: dict[str, object] = {
            "entry": "x",
            "provider": "x",
            "observed_at": "2026-11-22T10:15:00Z",
            "available": None,
        }
        return sc.Sidecar.model_validate({**base, **fields})

    ds = sidecar(balances=[{"currency": "CNY", "remaining": "98.40"}])
    orr = sidecar(balances=[{"currency": "USD", "remaining": "74.75"}])
    mm = sidecar(
        quotas=[
            {"label": "interval", "remaining_percent": "62.5"},
            {"label": "weekly", "remaining_percent": "90"},
        ]
    )
    line = short_line(
        [
            ("api/ds", "deepseek", ds, False),
            ("api/or", "openrouter", orr, False),
            ("plan/mm", "minimax", mm, True),
        ]
    )
    assert line == "ds ¥98 · or $74 · mm 62%!"
    # whole units, money left rounded down: never more than is left, never $0 while cents remain
    assert short_amount(Decimal("5.259"), "USD") == "$5"
    assert short_amount(Decimal("0.40"), "USD") == "<$1"
    assert short_amount(Decimal("0"), "USD") == "$0"
    assert short_amount(Decimal("1500.9"), "POINTS") == "1500 POINTS"
    assert short_amount(Decimal("-3.5"), "USD") == "-$4"  # owing 3.50 is less than -$3
    # spend rounded up: never less than was spent
    assert short_amount(Decimal("4.50"), "USD", spent=True) == "$5"
    assert short_amount(Decimal("27.00"), "USD", spent=True) == "$27"
    oa = sidecar(spend=[{"period": "this_month", "currency": "USD", "amount": "4.50"}])
    assert short_line([("api/oa", "openai", oa, False)]) == "oa $5/mo"
    two = short_line([("a/one", "deepseek", ds, False), ("b/two", "deepseek", None, False)])
    assert two == "ds:one ¥98 · ds:two ?"


def test_status_format_short_from_the_cli(two_keys: Sandbox) -> None:
    assert two_keys.keyz("sync").returncode == 0
    done = two_keys.keyz("status", "--format", "short")
    assert done.returncode == 0
    assert done.stdout == "ds ¥110/$5 · or $12\n"  # whole units; the key limit left, rounded down
    helped = two_keys.keyz("status", "--help").stdout
    assert "whole units" in " ".join(helped.split())


BOUNDS = ("999999999999999.999999999999", "-999999999999999.999999999999", "0.000000000001")


def extreme(figure: str) -> sc.Sidecar:
    """A sidecar with ``figure`` in every money field it has: the largest a file may hold."""
    item = {"remaining": figure, "granted": figure, "used": figure, "purchased": figure}
    return sc.Sidecar.model_validate(
        {
            "entry": "x",
            "provider": "openrouter",
            "observed_at": "2026-11-22T10:15:00Z",
            "available": False,
            "balances": [
                {"currency": "USD", **item},
                {"currency": "POINTS", "unit_kind": "provider", **item},
            ],
            "key_limit": {"limit": figure, "remaining": figure, "usage": figure, "reset": "daily"},
            "spend": [
                {
                    "period": p,
                    "currency": "USD",
                    "amount": figure,
                    "breakdown": [{"label": "m", "amount": figure}],
                }
                for p in ("today", "this_month")
            ],
            "quotas": [
                {"label": "q", "remaining_percent": figure, "used": figure, "limit": figure}
            ],
        }
    )


def test_every_display_is_total_for_figures_at_the_bounds() -> None:
    from keyz.render import short_line

    for figure in BOUNDS:
        current = extreme(figure)
        text = summarize(current)
        assert "USD" in text and "key limit" in text and "spent USD" in text
        assert short_line([("x", "openrouter", current, False)])
        assert sc.loads(sc.dumps(current)) == current


@pytest.mark.cli
def test_an_out_of_bound_figure_arriving_by_pull_is_that_entrys_problem(two_keys: Sandbox) -> None:
    """A hand-made (or another keyz's) sidecar with 1e30 in it: refused on read, never displayed."""
    assert two_keys.keyz("sync", "--commit").returncode == 0
    path = two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json"
    path.write_bytes(path.read_bytes().replace(b'"110.00"', b'"1' + b"0" * 30 + b'"'))
    two_keys.git("commit", "-qam", "as if pulled from another machine")
    status = two_keys.keyz("status")
    assert "Traceback" not in status.stderr and "internal error" not in status.stderr
    assert "15 digits before the point" in status.stdout + status.stderr
    assert "$12.50" in status.stdout or "12.50" in status.stdout  # the other entry is shown
    check = two_keys.keyz("check")
    assert check.returncode == 1 and "keyz: api/deepseek: " in check.stderr
    assert "Traceback" not in check.stderr
    history = two_keys.keyz("history", "api/deepseek")
    assert history.returncode == 0 and "Traceback" not in history.stderr
    assert "15 digits" in history.stdout + history.stderr
    sync = two_keys.keyz("sync")
    assert sync.returncode == 1 and "Traceback" not in sync.stderr
    assert "api/deepseek" in sync.stderr and "api/openrouter" not in sync.stderr


def test_which_key_spends_is_shown_biggest_spender_first() -> None:
    from keyz.render import account_key_lines

    current = sc.loads((FIXTURES / "openrouter-keys.v3.json").read_bytes())
    assert account_key_lines(current) == [
        "3 keys of the account, most spent this month first:",
        "  My Production Key (sk-or-v1-0e6...1c96): USD 25.50 today · 25.50 this week · "
        "25.50 this month · 25.50 in all; cap 74.50 of 100.00 left (monthly)",
        "  old laptop [disabled]: USD 3.20 in all",
        "  Staging (sk-or-v1-7d2...04be): USD 0.00 today · 0.00 this week · 0.00 this month · "
        "0.00 in all; cap 20.00 of 20.00 left (daily)",
    ]
    bare = current.model_copy(
        update={
            "account_keys": [
                sc.AccountKey(hash="ab" * 32, limit=Decimal(5)),
                sc.AccountKey(label="sk-or-v1-abc...xyz", usage=Decimal("0.5")),
                sc.AccountKey(),
            ]
        }
    )
    assert account_key_lines(bare)[1:] == [
        "  sk-or-v1-abc...xyz: USD 0.50 in all",
        "  key abababababab: spend unknown; cap 5.00",
        "  a key (name withheld): spend unknown",
    ]
    assert account_key_lines(current.model_copy(update={"account_keys": []})) == []
    assert "keys of the account" not in summarize(current)  # one-line summaries stay short
