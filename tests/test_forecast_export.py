"""Forecasts, totals and ``keyz export``: exact arithmetic, and a real ledger of several syncs."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from keyz import sidecar as sc
from keyz.config import DEFAULT_CONFIG, EntryConfig, init_keyz_dir, load_config, set_entry
from keyz.demo.simulator import Simulator
from keyz.errors import ConfigError
from keyz.export import LedgerState, prometheus_text
from keyz.forecast import (
    NOT_ENOUGH_BUCKETS,
    NOT_ENOUGH_QUOTA,
    forecasts,
    month_end,
    quota_outlooks,
    window_length,
)
from keyz.history import NOT_ENOUGH, History, Version
from keyz.state import EntryState
from keyz.status import StatusRow
from keyz.totals import total

from .conftest import CANARY, MakeStore, Sandbox, files_text
from .test_check import configure, set_deepseek, sync_at

D = Decimal
T = datetime(2026, 11, 20, 10, tzinfo=UTC)


def spend_sidecar(observed: datetime, amount: str, *, derived: bool = True) -> sc.Sidecar:
    return sc.Sidecar.model_validate(
        {
            "entry": "api/anthropic",
            "provider": "anthropic",
            "observed_at": sc.format_time(observed),
            "available": None,
            "spend": [
                {
                    "period": "this_month",
                    "start": "2026-11-01T00:00:00Z",
                    "currency": "USD",
                    "amount": amount,
                    "derived": ["amount"] if derived else [],
                }
            ],
        }
    )


# --- month-end spend -----------------------------------------------------------------------


def test_month_end_needs_seven_days_of_buckets() -> None:
    (early,) = month_end(spend_sidecar(datetime(2026, 11, 7, 23, tzinfo=UTC), "70"))
    assert early.amount is None and early.reason == NOT_ENOUGH_BUCKETS
    assert early.text() == f"month-end USD: {NOT_ENOUGH_BUCKETS}"
    (ready,) = month_end(spend_sidecar(datetime(2026, 11, 8, tzinfo=UTC), "70"))
    assert ready.amount == D("300.00") and ready.month == "2026-11" and ready.derived
    assert ready.text() == "~USD 300.00* by month end (2026-11)"


def test_month_end_is_exact_and_never_below_what_was_spent() -> None:
    # 95.00 over 9.5 days of a 30-day month: exactly 300; 100.00: 315.789... to the cent
    (exact,) = month_end(spend_sidecar(datetime(2026, 11, 10, 12, tzinfo=UTC), "95.00"))
    assert exact.amount == D("300.00")
    (cents,) = month_end(spend_sidecar(datetime(2026, 11, 10, 12, tzinfo=UTC), "100"))
    assert cents.amount == D("315.79")
    assert cents.to_json()["amount"] == "315.79"


def test_month_end_only_from_daily_buckets() -> None:
    """A provider's own monthly figure has no buckets keyz summed: no projection from it."""
    assert month_end(spend_sidecar(datetime(2026, 11, 20, tzinfo=UTC), "50", derived=False)) == []


# --- quota windows -------------------------------------------------------------------------


def quota_history(*steps: tuple[int, str], resets: datetime, window: str = "5h") -> History:
    """Versions of one quota window: (minutes after T, percent left)."""
    versions = []
    for minutes, percent in steps:
        sidecar = sc.Sidecar.model_validate(
            {
                "entry": "api/minimax",
                "provider": "minimax",
                "observed_at": sc.format_time(T + timedelta(minutes=minutes)),
                "available": True,
                "quotas": [
                    {
                        "label": "interval",
                        "window": window,
                        "remaining_percent": percent,
                        "resets_at": sc.format_time(resets),
                    }
                ],
            }
        )
        versions.append(Version(f"{minutes:040x}", sidecar))
    return History("api/minimax", versions)


def outlook(history: History, minutes_later: int = 0) -> dict[str, object]:
    last = history.versions[-1].sidecar
    (found,) = quota_outlooks(history, last, last.observed_at + timedelta(minutes=minutes_later))
    return found.to_json()


def test_a_quota_window_below_the_rule_says_not_enough_history() -> None:
    resets = T + timedelta(hours=4)
    two = quota_history((0, "90"), (80, "50"), resets=resets)  # 2 observations only
    assert outlook(two)["reason"] == NOT_ENOUGH_QUOTA
    assert outlook(two)["lasts_until_reset"] is None
    short = quota_history((0, "90"), (30, "70"), (60, "50"), resets=resets)  # 60 min < 5h / 4
    assert outlook(short)["reason"] == NOT_ENOUGH_QUOTA


def test_a_quota_window_that_runs_out_before_its_reset() -> None:
    # 90 -> 50 in 80 minutes: 50 left lasts 100 more minutes, the reset is 160 minutes away
    history = quota_history((0, "90"), (40, "70"), (80, "50"), resets=T + timedelta(hours=4))
    found = outlook(history)
    assert found["lasts_until_reset"] is False and found["reason"] is None
    assert found["runs_out_at"] == "2026-11-20T13:00:00Z" and found["derived"] is True
    last = history.versions[-1].sidecar
    (told,) = quota_outlooks(history, last, last.observed_at)
    assert told.text() == "interval (5h) runs out before the reset* around 2026-11-20T13:00:00Z"


def test_a_quota_window_that_lasts_and_one_that_reset() -> None:
    slow = quota_history((0, "90"), (40, "88"), (80, "86"), resets=T + timedelta(hours=4))
    assert outlook(slow)["lasts_until_reset"] is True
    # a rise is a reset: only what came after it counts, so three points are too few
    reset = quota_history(
        (0, "90"), (40, "20"), (80, "100"), (120, "95"), resets=T + timedelta(hours=4)
    )
    assert outlook(reset)["reason"] == NOT_ENOUGH_QUOTA
    # the reset time has passed since the last look: nothing to say about this window
    assert str(outlook(slow, minutes_later=200)["reason"]).startswith("the window has reset")


def test_window_lengths() -> None:
    assert window_length("5h") == timedelta(hours=5)
    assert window_length("7d") == timedelta(days=7)
    assert window_length("1mo") == timedelta(days=28)
    assert window_length(None) is None and window_length("5 hours") is None


# --- rates and totals ----------------------------------------------------------------------


def write_config(tmp_path: Path, text: str) -> Path:
    keyz_dir = tmp_path / ".keyz"
    keyz_dir.mkdir(exist_ok=True)
    (keyz_dir / "config.toml").write_text(DEFAULT_CONFIG + text)
    return keyz_dir


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ("CNY = 0.14", 'CNY must be a string like "0.14 USD"'),
        ('CNY = "0.14"', 'CNY must be a string like "0.14 USD"'),
        ('CNY = "1e3 USD"', 'CNY must be a string like "0.14 USD"'),
        ('CNY = "١ USD"', 'CNY must be a string like "0.14 USD"'),
        ('CNY = "0.1234567890123 USD"', "at most 12 decimals"),
        ('CNY = "0 USD"', "CNY must be above zero"),
        ('cny = "0.14 USD"', "the key must be an ISO 4217 code"),
        ('USD = "1 USD"', "converts USD to itself"),
        (
            'CNY = "0.14 USD"\nEUR = "0.9 GBP"',
            "must all convert to one currency, these name GBP, USD",
        ),
        ('CNY = "0.14 USD"\nUSD = "0.9 EUR"', "must all convert to one currency"),
        ('CNY = "7 EUR"\nEUR = "1.08 USD"', "must all convert to one currency"),
    ],
)
def test_rates_are_checked_strictly(tmp_path: Path, table: str, said: str) -> None:
    keyz_dir = write_config(tmp_path, f"\n[rates]\n{table}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(keyz_dir)
    assert said in str(caught.value) and "config.toml: [rates]" in str(caught.value)


def row(entry: str, sidecar: sc.Sidecar | None, provider: str = "deepseek") -> StatusRow:
    return StatusRow(entry, provider, sidecar, EntryState(), [])


def balances(entry: str, *pairs: tuple[str, str | None], unit_kind: str = "currency") -> sc.Sidecar:
    return sc.Sidecar.model_validate(
        {
            "entry": entry,
            "provider": "deepseek",
            "observed_at": "2026-11-20T10:00:00Z",
            "available": True,
            "balances": [{"currency": c, "remaining": a, "unit_kind": unit_kind} for c, a in pairs],
        }
    )


def test_totals_sum_per_currency_and_convert_only_at_the_users_rates(tmp_path: Path) -> None:
    rates = load_config(write_config(tmp_path, '\n[rates]\nCNY = "0.14 USD"\n')).rates
    rows = [
        row("api/a", balances("api/a", ("CNY", "110.00"), ("USD", "5.25"))),
        row("api/b", balances("api/b", ("CNY", "0.10"), ("USD", None))),
        row("api/poe", balances("api/poe", ("POINTS", "1500"), unit_kind="provider")),
        row("api/none", None),
    ]
    sums = total(rows, rates).to_json()
    by = {(t["kind"], t["currency"]): t for t in sums["by_currency"]}  # type: ignore[attr-defined]
    assert by[("balances", "CNY")]["amount"] == "110.10"
    assert by[("balances", "USD")]["amount"] == "5.25"
    assert by[("balances", "USD")]["unknown"] == ["api/b"]  # unknown is left out, never 0
    assert ("balances", "POINTS") not in by
    assert sums["not_summed"] == ["api/poe: POINTS (a provider's own unit)"]
    (usd,) = total(rows, rates).converted
    assert usd.to_json() == {  # 110.10 x 0.14 + 5.25, exactly
        "kind": "balances",
        "currency": "USD",
        "amount": "20.6640",
        "missing_rates": [],
        "derived": True,
    }
    eur_rows = [*rows, row("api/e", balances("api/e", ("EUR", "3")))]
    (missing,) = total(eur_rows, rates).converted
    assert missing.amount is None and missing.missing == ["EUR"]
    assert total(rows, {}).converted == []  # no rates: never converted
    lines = total(eur_rows, rates).lines()
    assert lines[0].startswith("total balances: CNY 110.10* · EUR 3.00* · USD 5.25*")
    assert 'in USD: no rate for EUR (set [rates] EUR = "AMOUNT USD")' in lines[0]


# --- prometheus text -----------------------------------------------------------------------


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_label_values_are_escaped_and_unknown_figures_are_absent() -> None:
    odd = 'api/we"ird\\name\nx'
    sidecar = balances(odd, ("CNY", "7.5"), ("USD", None))
    state = LedgerState(T, [row(odd, sidecar)], {}, total([], {}))
    text = prometheus_text(state).decode()
    assert 'entry="api/we\\"ird\\\\name\\nx"' in text
    metrics = families(text)
    assert metrics["keyz_balance"] == [
        ({"entry": odd, "provider": "deepseek", "currency": "CNY"}, 7.5)
    ]  # USD is unknown: no sample at all, never 0
    assert "keyz_runway_days" not in metrics


# --- a real ledger -------------------------------------------------------------------------

MINIMAX_KEY = "sk-cp-" + "77" * 20
ANTHROPIC_KEY = "sk-ant-admin01-" + "ab" * 20


@pytest.fixture
def ledger(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """DeepSeek, MiniMax and Anthropic synced and committed several times over two days."""
    sandbox = make_sandbox(
        {
            "api/deepseek": f"{CANARY}\n",
            "api/minimax": f"{MINIMAX_KEY}\n",
            "api/anthropic": f"{ANTHROPIC_KEY}\n",
        }
    )
    sandbox.env.update(simulator.env("deepseek", "minimax", "anthropic"))
    keyz_dir = sandbox.store / ".keyz"
    init_keyz_dir(keyz_dir)
    for name in ("deepseek", "minimax", "anthropic"):
        set_entry(keyz_dir, EntryConfig(f"api/{name}", name))
    window = datetime(2026, 11, 10, 9, 30, tzinfo=UTC)  # the 5h window: 08:30 to 13:30
    simulator.now = window
    simulator.anthropic(ANTHROPIC_KEY, ["1000"] * 10)  # 10.00 USD a day, Nov 1 to Nov 10
    for when, cny, percent in (
        ("2026-11-09T09:30:00Z", "130.00", "99"),
        ("2026-11-09T21:30:00Z", "120.00", "99"),
        ("2026-11-10T09:30:00Z", "110.00", "90"),
        ("2026-11-10T10:10:00Z", "110.00", "70"),
        ("2026-11-10T10:50:00Z", "110.00", "50"),
    ):
        set_deepseek(simulator, cny)
        simulator.minimax(MINIMAX_KEY, interval_percent=percent)
        sync_at(sandbox, when)
    return sandbox


LATER = {"KEYZ_NOW": "2026-11-10T12:00:00Z"}


@pytest.mark.cli
def test_export_prometheus_from_a_real_ledger(ledger: Sandbox) -> None:
    folder = ledger.root / "textfile"
    folder.mkdir()
    target = folder / "keyz.prom"
    head = ledger.git("rev-parse", "HEAD")
    done = ledger.keyz("export", "--prometheus", str(target), env=LATER)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done.stderr
    assert os.listdir(folder) == ["keyz.prom"]  # the temp file was renamed, none is left
    assert ledger.git("rev-parse", "HEAD") == head and ledger.git("status", "--porcelain") == ""
    metrics = families(target.read_text())

    def value(name: str, **labels: str) -> float:
        (found,) = [v for lab, v in metrics[name] if labels.items() <= lab.items()]
        return found

    assert value("keyz_balance", entry="api/deepseek", currency="CNY") == 110.0
    assert value("keyz_balance", entry="api/deepseek", currency="USD") == 5.25
    # 20 CNY over 24 h: 110 left is 5.5 days
    assert value("keyz_runway_days", entry="api/deepseek", currency="CNY", kind="balance") == 5.5
    assert not [lab for lab, _ in metrics["keyz_runway_days"] if lab["currency"] == "USD"]
    assert value("keyz_spend", entry="api/anthropic", period="this_month") == 100.0
    assert value("keyz_spend", entry="api/anthropic", period="last_30_days") == 100.0
    # 100.00 in 9 days 10 h 50 min of a 30-day month
    assert value("keyz_spend_month_end_projected", entry="api/anthropic") == pytest.approx(319.29)
    assert value("keyz_quota_remaining_percent", entry="api/minimax", label="interval") == 50.0
    assert value("keyz_quota_remaining_percent", window="5h", label="interval") == 50.0
    # 90 -> 50 in 80 minutes, reset at 13:30: runs out at 12:30, before the reset
    assert value("keyz_quota_lasts_until_reset", label="interval", window="5h") == 0.0
    assert value("keyz_quota_lasts_until_reset", label="weekly", window="7d") == 1.0
    synced = datetime(2026, 11, 10, 10, 50, tzinfo=UTC).timestamp()
    assert value("keyz_last_success_timestamp_seconds", entry="api/deepseek") == synced
    assert value("keyz_stale", entry="api/deepseek") == 0.0
    text = target.read_text()
    assert CANARY not in text and MINIMAX_KEY not in text and ANTHROPIC_KEY not in text


@pytest.mark.cli
def test_runway_is_absent_below_the_rule_never_zero(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n"})
    sandbox.env.update(simulator.env("deepseek"))
    init_keyz_dir(sandbox.store / ".keyz")
    set_entry(sandbox.store / ".keyz", EntryConfig("api/deepseek", "deepseek"))
    set_deepseek(simulator, "110.00")
    sync_at(sandbox, "2026-11-01T12:00:00Z")
    set_deepseek(simulator, "100.00")
    sync_at(sandbox, "2026-11-01T18:00:00Z")
    target = sandbox.root / "keyz.prom"
    done = sandbox.keyz("export", "--prometheus", str(target), "--json", env=LATER)
    assert done.returncode == 0, done.stderr
    metrics = families(target.read_text())
    assert metrics.get("keyz_runway_days") is None
    assert [v for _, v in metrics["keyz_balance"]] == [100.0, 5.25]
    (entry,) = json.loads(done.stdout)["entries"]
    runway = {f["currency"]: f for f in entry["forecasts"] if f["kind"] == "runway"}
    assert runway["CNY"]["runway_days"] is None and runway["CNY"]["reason"] == NOT_ENOUGH
    human = sandbox.keyz("status", "--forecast", env=LATER)
    assert "CNY runway: not enough history yet" in human.stdout and "runway 0" not in human.stdout


@pytest.mark.cli
def test_export_json_is_the_whole_ledger_state_with_exact_decimals(ledger: Sandbox) -> None:
    configure(ledger, "")
    path = ledger.store / ".keyz" / "config.toml"
    path.write_text(path.read_text() + '\n[rates]\nCNY = "0.1385 USD"\n')
    out = ledger.root / "out" / "ledger.json"
    out.parent.mkdir()  # keyz never makes the directory: a typo in a cron line would grow a tree
    done = ledger.keyz("export", "--json", str(out), env=LATER)
    assert done.returncode == 0 and done.stdout == "", done.stderr
    document = json.loads(out.read_text(), parse_float=Decimal)
    assert (document["format"], document["schema_version"]) == ("keyz-export", 1)
    assert document["generated_at"] == "2026-11-10T12:00:00Z"
    entries = {e["entry"]: e for e in document["entries"]}
    assert set(entries) == {"api/anthropic", "api/deepseek", "api/minimax"}
    deepseek = entries["api/deepseek"]
    assert deepseek["sidecar"]["balances"][0]["remaining"] == "110.00"  # strings, exact
    assert deepseek["problems"] == [] and deepseek["stale"] is False
    (cny,) = [f for f in deepseek["forecasts"] if f["currency"] == "CNY"]
    assert cny == {
        **cny,
        "kind": "runway",
        "runway_days": "5.5",
        "runs_out_around": "2026-11-15",
        "derived": True,
    }
    (month,) = [f for f in entries["api/anthropic"]["forecasts"] if f["kind"] == "month_end_spend"]
    assert month["amount"] == "319.29" and month["month"] == "2026-11" and month["derived"]
    converted = {c["kind"]: c for c in document["totals"]["converted"]}
    # 110.00 CNY at 0.1385 + 5.25 USD: exact, no float on the way
    assert (
        converted["balances"]["amount"] == "20.485000"
        and converted["balances"]["currency"] == "USD"
    )
    stdout = ledger.keyz("export", "--json", env=LATER)
    assert json.loads(stdout.stdout) == json.loads(out.read_text())
    seen = out.read_text() + stdout.stdout + stdout.stderr + files_text(ledger.store)
    assert CANARY not in seen and MINIMAX_KEY not in seen and ANTHROPIC_KEY not in seen


@pytest.mark.cli
def test_status_total_and_forecast_mark_what_keyz_derived(ledger: Sandbox) -> None:
    path = ledger.store / ".keyz" / "config.toml"
    path.write_text(path.read_text() + '\n[rates]\nCNY = "0.14 USD"\n')
    done = ledger.keyz("status", "--total", "--forecast", env=LATER)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert "CNY runway 5.5 days*, runs out around 2026-11-15" in lines["api/deepseek"]
    assert "~USD 319.29* by month end (2026-11)" in lines["api/anthropic"]
    assert "interval (5h) runs out before the reset*" in lines["api/minimax"]
    assert "weekly (7d) lasts until the reset*" in lines["api/minimax"]
    totals = [line for line in done.stdout.splitlines() if line.startswith("total ")]
    assert totals == [
        "total balances: CNY 110.00* · USD 5.25*; in USD at your [rates]: 20.65*",
        "total spent this month: USD 100.00*; in USD at your [rates]: 100.00*",
    ]
    assert "derived by keyz" in done.stderr  # the footnote goes with the marks
    one = ledger.keyz("status", "api/minimax", "--forecast", env=LATER).stdout
    assert "interval (5h) runs out before the reset* around 2026-11-10T12:30:00Z" in one
    assert "weekly (7d) lasts until the reset*" in one
    document = json.loads(ledger.keyz("status", "--json", env=LATER).stdout)
    assert "forecasts" not in document["entries"][0]  # only with --forecast (reads git)
    assert document["totals"]["by_currency"][0] == {
        "kind": "balances",
        "currency": "CNY",
        "amount": "110.00",
        "entries": ["api/deepseek"],
        "unknown": [],
        "stale": [],
        "derived": True,
    }
    plain = ledger.keyz("status", env=LATER).stdout
    assert "runway" not in plain and "total" not in plain


@pytest.mark.cli
def test_export_usage_and_rates_errors(two_keys: Sandbox) -> None:
    none = two_keys.keyz("export")
    assert none.returncode == 2 and "--prometheus FILE, --json [FILE]" in none.stderr
    warned = two_keys.keyz("export", "--prometheus", str(two_keys.root / "metrics.txt"))
    assert warned.returncode == 0 and "does not end in .prom" in warned.stderr
    stdout = two_keys.keyz("export", "--prometheus", "-", cwd=two_keys.root)
    assert stdout.returncode == 0 and "# TYPE keyz_balance gauge" in stdout.stdout
    assert not (two_keys.root / "-").exists()  # '-' is stdout, as everywhere, not a file
    both = two_keys.keyz("export", "--prometheus", "-", "--json")
    assert both.returncode == 2 and "only one of" in both.stderr
    empty = two_keys.keyz("export", "--prometheus", "")
    assert empty.returncode == 2 and "an empty file name" in empty.stderr
    typo = two_keys.keyz("export", "--prometheus", str(two_keys.root / "no" / "such" / "k.prom"))
    assert typo.returncode != 0 and "is not a directory; create it first" in typo.stderr
    assert not (two_keys.root / "no").exists()
    short = two_keys.keyz("status", "--format", "short", "--total")
    assert short.returncode == 2
    path = two_keys.store / ".keyz" / "config.toml"
    path.write_text(path.read_text() + "\n[rates]\nCNY = 0.14\n")
    bad = two_keys.keyz("status", "--total")
    assert bad.returncode == 2 and '[rates] CNY must be a string like "0.14 USD"' in bad.stderr
    assert two_keys.keyz("export", "--json").returncode == 2


def test_totals_of_the_largest_figures_are_never_rounded() -> None:
    big = "999999999999999.999999999999"  # the bounds of a sidecar figure: 27 digits
    rows = [row(f"api/{i}", balances(f"api/{i}", ("USD", big))) for i in range(3)]
    (usd,) = total(rows, {}).totals
    assert usd.to_json()["amount"] == "2999999999999999.999999999997"


def test_a_ledger_with_nothing_committed_yet_says_not_enough_history_not_nothing() -> None:
    """Synced but never committed (or a first commit still to come): the runway is a reason,
    as the confidence rule says, not a forecast left out without a word."""
    now = datetime(2026, 11, 20, tzinfo=UTC)
    sidecar = sc.Sidecar(
        entry="api/x",
        provider="deepseek",
        observed_at=now,
        available=True,
        balances=[sc.Balance(currency="CNY", remaining=Decimal("40.00"))],
    )
    (runway,) = forecasts(sidecar, History("api/x", []), now)
    assert (runway.kind, runway.days, runway.reason) == ("runway", None, NOT_ENOUGH)
    assert runway.text(short=True) == "CNY runway: not enough history yet"
