"""keyz history: exact arithmetic, and reads of real git histories."""

import csv
import io
import json
import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from keyz import sidecar as sc
from keyz.git_ops import GitRepo
from keyz.history import (
    NOT_ENOUGH,
    History,
    Point,
    Version,
    balance,
    burn,
    burn_per_day,
    changes_table,
    csv_rows,
    overview_line,
    read_history,
    series,
    sparkline,
    summaries,
    summarize,
    summary_json,
    summary_line,
)

from .conftest import CANARY, MakeStore, Sandbox, needs_pass

START = datetime(2026, 11, 1, 12, tzinfo=UTC)
D = Decimal


def points(*values: str, step: timedelta = timedelta(days=1)) -> list[Point]:
    return [Point(START + i * step, D(v)) for i, v in enumerate(values)]


def history_of(*values: str) -> History:
    versions = []
    for i, value in enumerate(values):
        sidecar = sc.Sidecar(
            entry="api/x",
            provider="deepseek",
            observed_at=START + timedelta(days=i),
            available=True,
            balances=[sc.Balance(currency="USD", remaining=D(value))],
        )
        versions.append(Version(f"{i:040x}", sidecar))
    return History("api/x", versions)


def test_burn_is_spend_per_day_and_top_ups_are_not_spend() -> None:
    assert burn_per_day(points("100", "90", "80"), 7) == D("10")
    # a top-up of 50 between days 2 and 3 is not negative spend, and the day it happened in
    # says nothing about spending: 20 spent in the 2 other days
    assert burn_per_day(points("100", "90", "140", "130"), 7) == D("10")


def test_burn_looks_only_at_the_window() -> None:
    series = points(
        *[str(1000 - 5 * i) for i in range(20)] + [str(905 - 20 * i) for i in range(1, 11)]
    )
    assert burn_per_day(series, 7) == D("20")
    assert burn_per_day(series, 30) == D(19 * 5 + 20 + 9 * 20) / D(29)  # whole series: 29 days


def test_a_straddling_pair_counts_only_its_part_inside_the_window() -> None:
    series = [Point(START, D("100")), Point(START + timedelta(days=10), D("0"))]
    assert burn_per_day(series, 7) == D("10")


def test_too_little_history_gives_no_rate() -> None:
    assert burn_per_day(points("5"), 7) is None
    same_time = [Point(START, D("5")), Point(START, D("4"))]
    assert burn_per_day(same_time, 7) is None


def test_summary_runway_and_top_ups() -> None:
    summary = summarize(history_of("100", "90", "80", "130", "120"), balance("USD"))
    assert summary is not None
    assert summary.latest == D("120")
    assert summary.burn_7d == D("10")  # 30 spent in the 3 days without the top-up of 50
    assert summary.runway_days == D("12")
    assert summary.runs_out == (START + timedelta(days=4 + 12)).date()
    assert summary.top_ups == [(START + timedelta(days=3), D("50"))]
    assert summary.reason is None


def test_not_spending_means_no_runway() -> None:
    summary = summarize(history_of("10", "10", "10"), balance("USD"))
    assert summary is not None and summary.burn_7d == 0 and summary.runway_days is None
    assert summary.reason == "not spending"
    assert summarize(history_of("10"), balance("CNY")) is None


def test_the_confidence_rule() -> None:
    """3 observations over 24 hours, top-ups excluded; below that, never a figure."""
    seconds = timedelta(seconds=22)
    assert not burn(points("110", "92.50", step=seconds), 7).confident
    assert not burn(points("110", "100", "90", step=timedelta(hours=11)), 7).confident  # 22 h
    assert burn(points("110", "100", "90", step=timedelta(hours=12)), 7).confident  # 24 h
    assert not burn(points("110", "100"), 7).confident  # 24 h, but 2 observations
    # 3 observations over 2 days, but one of the two steps is a top-up
    assert not burn(points("110", "150", "140"), 7).confident
    # a top-up, then 2 days in 2 steps of spending: enough
    assert burn(points("110", "150", "140", "130"), 7).confident
    summary = summarize(
        History("api/x", versions_at([(START, "110"), (START + seconds, "92.50")])),
        balance("USD"),
    )
    assert summary is not None
    assert (summary.burn_7d, summary.burn_30d, summary.runway_days, summary.runs_out) == (
        None,
        None,
        None,
        None,
    )
    assert summary.reason == NOT_ENOUGH and summary.reason.startswith("not enough history yet")
    assert summary_line(summary) == f"USD 92.50 · {NOT_ENOUGH}"


def versions_at(values: list[tuple[datetime, str]]) -> list[Version]:
    return [
        Version(
            f"{i:040x}",
            sc.Sidecar(
                entry="api/x",
                provider="deepseek",
                observed_at=at,
                available=True,
                balances=[sc.Balance(currency="USD", remaining=D(value))],
            ),
        )
        for i, (at, value) in enumerate(values)
    ]


@pytest.mark.parametrize(
    "values",
    [
        # a trillionth spent in 30 days from the largest balance: a runway of 29 digits
        ("999999999999999.999999999999",) + ("999999999999999.999999999998",) * 9,
        ("999999999999999.999999999999", "-999999999999999.999999999999") * 3,
        ("0.000000000002", "0.000000000001", "0.000000000001"),
    ],
)
def test_every_history_display_is_total_for_figures_at_the_bounds(values: tuple[str, ...]) -> None:
    history = history_of(*values)
    (summary,) = summaries(history, [])
    assert summary_line(summary).startswith("USD ")
    document: dict[str, Any] = summary_json(history, [])  # a JSON document, read as one
    assert document["summaries"][0]["remaining"] is not None
    assert changes_table(history, [balance("USD")]) and csv_rows(history, ["USD"])
    assert sparkline([p.remaining for p in series(history, balance("USD"))])

    # the same figures as a key limit, as spend, next to a quota window
    def every_kind(version: Version) -> Version:
        value = version.sidecar.balances[0].remaining
        assert value is not None
        update = {
            "key_limit": sc.KeyLimit(limit=value, remaining=value),
            "spend": [sc.Spend(period="today", currency="USD", amount=value)],
            "quotas": [sc.Quota(label="tokens", remaining_percent=D("0.000000000001"))],
        }
        return Version(version.commit, version.sidecar.model_copy(update=update))

    history = History("api/x", [every_kind(v) for v in history.versions])
    found = summaries(history, [])
    assert [s.figure.kind for s in found] == ["balance", "key_limit", "spend", "quota"]
    assert all(summary_line(s) for s in found) and overview_line(found)
    listed = summary_json(history, [])["summaries"]
    assert isinstance(listed, list) and len(listed) == 4
    assert len(changes_table(history, [s.figure for s in found])[1]) == 6
    assert len(csv_rows(history, [])) == 1 + 4 * len(values)


def test_sparkline() -> None:
    assert sparkline([D(1), D(8), D(4)]) == "▁█▄"
    assert sparkline([D(3), D(3)]) == "▄▄"
    assert sparkline([]) == ""


# --- real repositories ---------------------------------------------------------------------

IDENTITY = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@x.invalid",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@x.invalid",
}


def commit_version(root: Path, entry: str, content: bytes | None, day: int) -> None:
    path = root / ".keyz" / "entries" / f"{entry}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    env = {**os.environ, **IDENTITY, "GIT_COMMITTER_DATE": f"2026-11-{day:02d}T12:00:00Z"}
    subprocess.run(["git", "-C", str(root), "add", "--all", ".keyz"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", f"day {day}"], check=True, env=env)


def balance_bytes(entry: str, day: int, cny: str, usd: str = "5.25") -> bytes:
    return sc.dumps(
        sc.Sidecar(
            entry=entry,
            provider="deepseek",
            observed_at=datetime(2026, 11, day, 12, tzinfo=UTC),
            available=True,
            balances=[
                sc.Balance(currency="CNY", remaining=D(cny)),
                sc.Balance(currency="USD", remaining=D(usd)),
            ],
        )
    )


@pytest.fixture
def ledger(two_keys: Sandbox) -> Sandbox:
    root = two_keys.store
    for day, cny in ((1, "110.00"), (2, "100.00"), (3, "90.00"), (4, "140.00"), (5, "130.00")):
        commit_version(root, "api/deepseek", balance_bytes("api/deepseek", day, cny), day)
    return two_keys


def test_reads_every_version_oldest_first(ledger: Sandbox) -> None:
    history = read_history(GitRepo.require(ledger.store, "history"), "api/deepseek")
    assert [str(v.sidecar.balances[0].remaining) for v in history.versions] == [
        "110.00",
        "100.00",
        "90.00",
        "140.00",
        "130.00",
    ]
    assert [v.commit for v in history.versions] == ledger.git(
        "log", "--reverse", "--format=%H", "--", ".keyz/entries/api/deepseek.json"
    ).split()
    assert history.skipped == []


def test_corrupt_and_out_of_order_versions_are_reported_and_skipped(ledger: Sandbox) -> None:
    commit_version(ledger.store, "api/deepseek", b'{"schema_version": 1, "entr', 6)
    commit_version(
        ledger.store, "api/deepseek", balance_bytes("api/deepseek", 2, "1.00"), 7
    )  # observed earlier
    commit_version(ledger.store, "api/deepseek", None, 8)  # deleted ...
    commit_version(
        ledger.store, "api/deepseek", balance_bytes("api/deepseek", 9, "120.00"), 9
    )  # ... and back
    history = read_history(GitRepo.require(ledger.store, "history"), "api/deepseek")
    assert [str(v.sidecar.balances[0].remaining) for v in history.versions][-2:] == [
        "130.00",
        "120.00",
    ]
    assert len(history.skipped) == 2
    assert "not valid JSON" in history.skipped[0] and "rewritten history" in history.skipped[1]


def test_history_json_and_human_output(ledger: Sandbox) -> None:
    done = ledger.keyz("history", "api/deepseek", "--json")
    assert done.returncode == 0, done.stderr
    versions = json.loads(done.stdout)
    assert [v["observed_at"] for v in versions][:2] == [
        "2026-11-01T12:00:00Z",
        "2026-11-02T12:00:00Z",
    ]
    assert set(versions[0]) >= {"commit", "observed_at", "balances"}
    assert len(versions[0]["commit"]) == 40

    human = ledger.keyz("history", "api/deepseek", "--currency", "cny").stdout
    assert "100.00  (-10.00)" in human and "140.00  (+50.00)" in human
    assert "CNY 130.00 · burn 10.00/day (7d) · 10.00/day (30d)" in human
    assert "runway 13.0 days, runs out around 2026-11-18" in human
    assert "top-ups: +50.00 on 2026-11-04" in human
    assert "USD" not in human


def test_history_filters_and_csv(ledger: Sandbox) -> None:
    done = ledger.keyz(
        "history",
        "api/deepseek",
        "--csv",
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-03T23:00Z",
        "-c",
        "CNY",
    )
    rows = list(csv.reader(io.StringIO(done.stdout)))
    # v1's columns stay first, where scripts found them
    assert rows[0][:8] == [
        "commit",
        "observed_at",
        "currency",
        "remaining",
        "granted",
        "topped_up",
        "purchased",
        "used",
    ]
    assert [(r[1], r[2], r[3], r[8]) for r in rows[1:]] == [
        ("2026-11-02T12:00:00Z", "CNY", "100.00", "balance"),
        ("2026-11-03T12:00:00Z", "CNY", "90.00", "balance"),
    ]


def test_history_without_entry_summarizes_every_tracked_entry(ledger: Sandbox) -> None:
    done = ledger.keyz("history")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("api/deepseek") and "CNY 130.00 · burn 10.00/day (7d)" in lines[0]
    assert lines[1].startswith("api/openrouter") and "nothing committed yet" in lines[1]
    document = json.loads(ledger.keyz("history", "--json").stdout)
    cny = document["entries"][0]["summaries"][0]
    assert (cny["kind"], cny["currency"], cny["remaining"]) == ("balance", "CNY", "130.00")
    assert (cny["burn_per_day_7d"], cny["runway_days"]) == ("10.00", "13.0")
    assert (cny["runs_out_around"], cny["reason"]) == ("2026-11-18", None)
    assert cny["top_ups"] == [{"at": "2026-11-04T12:00:00Z", "amount": "50.00"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("history", "api/nope"), "not tracked"),
        (("history", "api/deepseek", "--since", "soon"), "not a date"),
        (("history", "api/deepseek", "--json", "--csv"), "choose one"),
    ],
)
def test_history_usage_errors(ledger: Sandbox, args: tuple[str, ...], message: str) -> None:
    done = ledger.keyz(*args)
    assert done.returncode == 2 and message in done.stderr


def test_history_needs_a_git_store(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n"}, git=False)
    sandbox.keyz("init")
    sandbox.keyz("track", "api/deepseek", "-p", "deepseek")
    done = sandbox.keyz("history", "api/deepseek")
    assert done.returncode == 2 and "git repository" in done.stderr


@needs_pass
def test_history_never_runs_gpg_in_a_pass_git_store(ledger: Sandbox, tmp_path: Path) -> None:
    assert "textconv" in ledger.git("config", "--get-regexp", "diff.gpg"), (
        "pass git init set up its gpg diff driver"
    )
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    marker = tmp_path / "gpg-was-run"
    for name in ("gpg", "gpg2"):
        fake = fake_bin / name
        fake.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 2\n")
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{fake_bin}:{os.environ['PATH']}"}
    for args in (
        ("history", "api/deepseek"),
        ("history", "api/deepseek", "--json"),
        ("history",),
        ("status",),
    ):
        done = ledger.keyz(*args, env=env)
        assert done.returncode == 0, done.stderr
    assert not marker.exists()


def test_json_is_the_same_for_v1_and_v2_versions(ledger: Sandbox) -> None:
    """Versions already in the current format are emitted as written; older ones as migrated."""
    fixtures = Path(__file__).parent / "fixtures" / "sidecars"
    v1 = json.loads((fixtures / "deepseek.v1.json").read_text())
    v1["observed_at"] = "2026-11-06T12:00:00Z"
    commit_version(ledger.store, "api/deepseek", json.dumps(v1).encode(), 6)
    v2 = {**v1, "observed_at": "2026-11-07T12:00:00Z"}
    v2_bytes = sc.dumps(sc.loads(json.dumps(v2).encode()))
    commit_version(ledger.store, "api/deepseek", v2_bytes, 7)
    versions = json.loads(ledger.keyz("history", "api/deepseek", "--json").stdout)
    migrated, current = versions[-2], versions[-1]
    assert migrated.pop("commit") != current.pop("commit")
    assert current == {**migrated, "observed_at": "2026-11-07T12:00:00Z"}
    assert current == json.loads(v2_bytes)
    assert current["schema_version"] == 3


def dated_bytes(entry: str, when: datetime, cny: str) -> bytes:
    return sc.dumps(
        sc.Sidecar(
            entry=entry,
            provider="deepseek",
            observed_at=when,
            available=True,
            balances=[sc.Balance(currency="CNY", remaining=D(cny))],
        )
    )


def test_one_future_dated_commit_decides_nothing(ledger: Sandbox) -> None:
    """A machine whose clock ran years ahead committed once; the later, right commits count."""
    future = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4000)
    commit_version(ledger.store, "api/deepseek", dated_bytes("api/deepseek", future, "120.00"), 6)
    for day, cny in ((7, "110.00"), (8, "100.00")):
        when = datetime(2026, 11, day, 12, tzinfo=UTC)
        commit_version(ledger.store, "api/deepseek", dated_bytes("api/deepseek", when, cny), day)
    history = read_history(GitRepo.require(ledger.store, "history"), "api/deepseek")
    assert [v.sidecar.observed_at.day for v in history.versions] == [1, 2, 3, 4, 5, 7, 8]
    assert len(history.skipped) == 1 and "in the future" in history.skipped[0]
    done = ledger.keyz("history", "--json", "--currency", "CNY")
    assert done.returncode == 0, done.stderr
    (cny,) = json.loads(done.stdout)["entries"][0]["summaries"]
    # 60 spent in the 6 days to Nov 8 without the top-up of 50: 10/day, 100 left
    assert (cny["remaining"], cny["burn_per_day_7d"], cny["runway_days"]) == (
        "100.00",
        "10.00",
        "10.0",
    )
    assert "in the future" in done.stderr


def test_a_commit_that_goes_back_in_time_is_the_one_left_out(ledger: Sandbox) -> None:
    """Once a wrong timestamp is in the past, it is still the odd one out, not what follows it."""
    commit_version(
        ledger.store,
        "api/deepseek",
        dated_bytes("api/deepseek", datetime(2026, 11, 20, 12, tzinfo=UTC), "120.00"),
        6,
    )
    for day, cny in ((7, "110.00"), (8, "100.00"), (9, "90.00")):
        when = datetime(2026, 11, day, 12, tzinfo=UTC)
        commit_version(ledger.store, "api/deepseek", dated_bytes("api/deepseek", when, cny), day)
    history = read_history(GitRepo.require(ledger.store, "history"), "api/deepseek")
    assert [v.sidecar.observed_at.day for v in history.versions] == [1, 2, 3, 4, 5, 7, 8, 9]
    assert len(history.skipped) == 1 and "2026-11-20" in history.skipped[0]


def test_burn_never_uses_a_future_observation() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    versions = [
        Version(
            f"{i:040x}",
            sc.Sidecar(
                entry="api/x",
                provider="deepseek",
                observed_at=now + timedelta(days=days),
                available=True,
                balances=[sc.Balance(currency="USD", remaining=D(value))],
            ),
        )
        for i, (days, value) in enumerate(((-3, "110"), (-2, "100"), (-1, "90"), (1000, "89")))
    ]
    (summary,) = summaries(History("api/x", versions), [])
    assert summary.burn_7d == D(10) and summary.latest == D(90)


def test_burn_near_the_first_representable_day() -> None:
    first = datetime(1, 1, 1, tzinfo=UTC)
    series = [Point(first, D("100")), Point(first + timedelta(days=2), D("90"))]
    assert burn_per_day(series, 7) == D(5)


def every_kind(day: int, key_left: str, spent: str, percent: str) -> bytes:
    """A sidecar with a key limit, spend (with a breakdown), a quota window and a note."""
    return sc.dumps(
        sc.Sidecar.model_validate(
            {
                "entry": "api/openrouter",
                "provider": "openrouter",
                "observed_at": f"2026-11-{day:02d}T12:00:00Z",
                "available": True,
                "key_limit": {
                    "limit": "20.00",
                    "remaining": key_left,
                    "usage": str(D(20) - D(key_left)),
                    "reset": "monthly",
                    "source": "/key",
                },
                "spend": [
                    {
                        "period": "this_month",
                        "start": "2026-11-01T00:00:00Z",
                        "currency": "USD",
                        "amount": spent,
                        "breakdown": [{"label": "model-a", "amount": spent}],
                        "derived": ["amount"],
                    }
                ],
                "quotas": [
                    {
                        "label": "requests",
                        "window": "5h",
                        "remaining_percent": percent,
                        "used": "10",
                        "limit": "100",
                        "unit": "requests",
                        "resets_at": "2026-11-30T00:00:00Z",
                    }
                ],
                "notes": ["account balance needs a management key"],
            }
        )
    )


@pytest.fixture
def all_kinds(two_keys: Sandbox) -> Sandbox:
    for day, key_left, spent, percent in (
        (1, "18.00", "2.00", "91"),
        (3, "15.20", "4.80", "64"),
        (5, "13.90", "6.10", "88"),
        (7, "9.80", "10.20", "7"),
    ):
        body = every_kind(day, key_left, spent, percent)
        commit_version(two_keys.store, "api/openrouter", body, day)
    return two_keys


def test_history_shows_key_limits_spend_and_quotas(all_kinds: Sandbox) -> None:
    done = all_kinds.keyz("history", "api/openrouter")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = [cell.strip() for cell in lines[0].split("  ") if cell.strip()]
    assert header[2:] == ["key limit USD", "spent USD this month", "requests (5h) % left"]
    assert (
        "15.20  (-2.80)" in lines[2] and "4.80  (+2.80)" in lines[2] and "64%  (-27%)" in lines[2]
    )
    assert "9.80  (-4.10)" in lines[4] and "7%  (-81%)" in lines[4]
    # money burns and has a runway (8.20 in 6 days); spend and quotas are figures, not money left
    assert (
        "█▅▄▁  key limit USD 9.80 · burn 1.37/day (7d) · 1.37/day (30d) · runway 7.2 days"
        in done.stdout
    )
    assert "runs out around 2026-11-14" in done.stdout
    assert "▁▃▄█  spent USD 10.20 this month" in done.stdout
    assert "█▅▇▁  requests (5h): 7% left" in done.stdout
    assert "OBSERVED  COMMIT\n" not in done.stdout

    overview = all_kinds.keyz("history").stdout.splitlines()[1]
    assert overview.startswith("api/openrouter") and "no balance" not in overview
    assert "key limit USD 9.80 · burn 1.37/day (7d)" in overview
    assert "spent USD 10.20 this month" in overview and "requests (5h): 7% left" in overview

    entry = json.loads(all_kinds.keyz("history", "--json").stdout)["entries"][1]
    kinds = {s["kind"]: s for s in entry["summaries"]}
    assert set(kinds) == {"key_limit", "spend", "quota"}
    assert kinds["key_limit"]["remaining"] == "9.80" and kinds["key_limit"]["runway_days"] == "7.2"
    assert kinds["key_limit"]["top_ups"] == []
    assert (kinds["spend"]["period"], kinds["spend"]["amount"]) == ("this_month", "10.20")
    assert "runway_days" not in kinds["spend"] and "runway_days" not in kinds["quota"]
    assert (kinds["quota"]["label"], kinds["quota"]["window"]) == ("requests", "5h")
    assert kinds["quota"]["remaining_percent"] == "7"


def test_csv_carries_every_field_of_the_format(all_kinds: Sandbox) -> None:
    from keyz.history import CSV_FIELDS

    sections = {
        "schema_version",
        "balances",
        "key_limit",
        "spend",
        "quotas",
        "account_keys",
        "notes",
    }
    models = (sc.Balance, sc.KeyLimit, sc.Spend, sc.Quota, sc.SpendLine, sc.AccountKey, sc.Sidecar)
    every = {name for model in models for name in model.model_fields} - sections - {"breakdown"}
    assert every <= set(CSV_FIELDS), every - set(CSV_FIELDS)

    done = all_kinds.keyz("history", "api/openrouter", "--csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    last = [r for r in rows if r["observed_at"] == "2026-11-07T12:00:00Z"]
    by_kind = {r["kind"]: r for r in last}
    assert set(by_kind) == {"key_limit", "spend", "spend_line", "quota", "note"}
    cap = by_kind["key_limit"]
    assert (cap["currency"], cap["limit"], cap["remaining"], cap["usage"]) == (
        "USD",
        "20.00",
        "9.80",
        "10.20",
    )
    assert (cap["reset"], cap["source"], cap["available"]) == ("monthly", "/key", "true")
    spend = by_kind["spend"]
    assert (spend["period"], spend["amount"], spend["derived"]) == ("this_month", "10.20", "amount")
    assert spend["start"] == "2026-11-01T00:00:00Z" and spend["end"] == ""
    assert (by_kind["spend_line"]["label"], by_kind["spend_line"]["amount"]) == ("model-a", "10.20")
    quota = by_kind["quota"]
    assert (quota["label"], quota["window"], quota["remaining_percent"]) == ("requests", "5h", "7")
    assert (quota["used"], quota["limit"], quota["unit"], quota["unlimited"]) == (
        "10",
        "100",
        "requests",
        "false",
    )
    assert quota["resets_at"] == "2026-11-30T00:00:00Z"
    assert by_kind["note"]["note"] == "account balance needs a management key"
    assert {r["provider"] for r in rows} == {"openrouter"}
    assert {r["entry"] for r in rows} == {"api/openrouter"}
    usd = list(
        csv.DictReader(
            io.StringIO(all_kinds.keyz("history", "api/openrouter", "--csv", "-c", "usd").stdout)
        )
    )
    assert {r["kind"] for r in usd} == {"key_limit", "spend", "spend_line"}


def test_an_empty_range_says_so_and_what_range_there_is(ledger: Sandbox) -> None:
    done = ledger.keyz("history", "api/deepseek", "--since", "2026-12-01")
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr == (
        "api/deepseek: no commits since 2026-12-01T00:00:00Z; its 5 commits run from "
        "2026-11-01 to 2026-11-05\n"
    )
    assert "No committed history" not in done.stderr
    early = ledger.keyz("history", "api/deepseek", "--until", "2026-10-01", "--json")
    assert early.stdout.strip() == "[]" and "no commits until 2026-10-01T00:00:00Z" in early.stderr
    overview = ledger.keyz("history", "--since", "2026-12-01").stdout.splitlines()
    assert "no commits since 2026-12-01T00:00:00Z" in overview[0]
    assert "nothing committed yet" in overview[1]  # api/openrouter never was


def test_a_currency_the_entry_never_had_is_an_error(ledger: Sandbox) -> None:
    for args in ((), ("--csv",), ("--json",)):
        done = ledger.keyz("history", "api/deepseek", "--currency", "EUR", *args)
        assert (done.returncode, done.stdout) == (1, ""), args
        assert done.stderr == (
            "keyz: api/deepseek has no EUR figures in its history (it has CNY, USD); "
            "leave out --currency or name one of those\n"
        )
    both = ledger.keyz("history", "api/deepseek", "-c", "cny", "-c", "eur")
    assert both.returncode == 1 and "no EUR figures" in both.stderr
    assert ledger.keyz("history", "api/deepseek", "-c", "usd").returncode == 0
    overview = ledger.keyz("history", "-c", "EUR").stdout.splitlines()
    assert "no EUR figures in 5 commits" in overview[0]


def test_versions_without_figures_say_so(two_keys: Sandbox) -> None:
    for day, note in ((1, "account balance needs a management key"), (2, "key has no cap")):
        body = sc.dumps(
            sc.Sidecar(
                entry="api/openrouter",
                provider="openrouter",
                observed_at=datetime(2026, 11, day, 12, tzinfo=UTC),
                available=True,
                key_limit=sc.KeyLimit(limit=None, remaining=None, usage=D("3.00")),
                notes=[note],
            )
        )
        commit_version(two_keys.store, "api/openrouter", body, day)
    done = two_keys.keyz("history", "api/openrouter")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "no figures in 2 commits (notes or availability only)"
    overview = two_keys.keyz("history").stdout.splitlines()[1]
    assert overview.split(None, 2)[2] == "no figures in 2 commits"
    rows = list(
        csv.DictReader(io.StringIO(two_keys.keyz("history", "api/openrouter", "--csv").stdout))
    )
    assert [r["kind"] for r in rows] == ["key_limit", "note"] * 2 and rows[0]["usage"] == "3.00"
