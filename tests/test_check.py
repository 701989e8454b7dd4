"""keyz check: thresholds from config and --below, said once, top-ups, staleness, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from keyz.alerts import parse_duration, parse_threshold
from keyz.demo.simulator import Simulator
from keyz.errors import UsageError
from tests.conftest import CANARY, OPENROUTER_KEY, SERVER_ERROR, MakeStore, Sandbox
from tests.tty import run_tty


def set_deepseek(simulator: Simulator, cny: str) -> None:
    simulator.deepseek(CANARY, [("CNY", cny, "0.00", cny), ("USD", "5.25", "0.00", "5.25")])


def configure(sandbox: Sandbox, text: str) -> None:
    path = sandbox.store / ".keyz" / "config.toml"
    path.write_text(path.read_text().replace("[defaults]\n", f"[defaults]\n{text}\n", 1))


@pytest.mark.cli
def test_all_well_is_silent_and_exit_0(two_keys: Sandbox) -> None:
    assert two_keys.keyz("sync").returncode == 0
    result = two_keys.keyz("check", "--below", "1 USD")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.cli
def test_a_low_balance_is_said_once_and_again_after_a_top_up(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    configure(two_keys, 'alert_below = ["50 CNY", "1 USD"]')
    set_deepseek(simulator, "40.00")
    first = two_keys.keyz("check", "--sync")
    assert first.returncode == 1
    assert first.stderr == "keyz: api/deepseek: CNY 40.00 left, below 50 CNY\n"
    again = two_keys.keyz("check")
    assert (again.returncode, again.stderr) == (1, "")  # not repeated ...
    assert "below 50 CNY" in two_keys.keyz("check", "--repeat").stderr  # ... unless asked
    set_deepseek(simulator, "30.00")  # lower still: the same alert, not said again
    assert two_keys.keyz("check", "--sync").stderr == ""
    set_deepseek(simulator, "45.00")  # a top-up that leaves it low: said again
    assert "CNY 45.00 left" in two_keys.keyz("check", "--sync").stderr
    set_deepseek(simulator, "80.00")  # topped up above: cleared
    cleared = two_keys.keyz("check", "--sync")
    assert (cleared.returncode, cleared.stderr) == (0, "")
    set_deepseek(simulator, "10.00")  # crossing again speaks again
    assert "CNY 10.00 left" in two_keys.keyz("check", "--sync").stderr


@pytest.mark.cli
def test_a_keys_own_cap_is_checked_like_a_balance(two_keys: Sandbox, simulator: Simulator) -> None:
    low = two_keys.keyz("check", "--sync", "--below", "15 USD")
    assert low.returncode == 1
    assert low.stderr.splitlines() == [
        "keyz: api/deepseek: USD 5.25 left, below 15 USD",
        "keyz: api/openrouter: key limit USD 12.50 left of 20.00, below 15 USD",
    ]
    simulator.openrouter(OPENROUTER_KEY, management=False, limit=None, limit_remaining=None)
    uncapped = two_keys.keyz("check", "--sync", "--below", "15 USD", "--repeat")
    assert "api/openrouter" not in uncapped.stderr  # no cap, nothing to run out of


@pytest.mark.cli
def test_thresholds_per_entry_win_over_defaults_and_json(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    configure(two_keys, 'alert_below = "200 CNY"')
    path = two_keys.store / ".keyz" / "config.toml"
    text = path.read_text()
    text = text.replace(
        '[entries."api/deepseek"]\nprovider = "deepseek"',
        '[entries."api/deepseek"]\nprovider = "deepseek"\nalert_below = "100 CNY"',
    )
    path.write_text(text)
    assert two_keys.keyz("sync").returncode == 0
    result = two_keys.keyz("check", "--json")
    assert result.returncode == 0, result.stdout  # 110 CNY is above the entry's 100
    document = json.loads(result.stdout)
    assert document == {"ok": True, "problems": [], "git_error": None}


@pytest.mark.cli
def test_failed_and_stale_syncs_are_problems(two_keys: Sandbox, simulator: Simulator) -> None:
    configure(two_keys, "alert_failing_runs = 2")  # ride out one blip (default 1: at once)
    assert two_keys.keyz("sync").returncode == 0
    simulator.fail(CANARY, *SERVER_ERROR)
    blip = two_keys.keyz("check", "--sync")  # one failed run: status shows it, check waits
    assert (blip.returncode, blip.stderr) == (0, "")
    assert "last sync failed" in two_keys.keyz("status").stdout
    simulator.fail(CANARY, *SERVER_ERROR)
    result = two_keys.keyz("check", "--sync")
    assert result.returncode == 1
    assert "api/deepseek: sync failed 2 runs in a row, last: " in result.stderr
    assert "HTTP 500" in result.stderr
    assert CANARY not in result.stderr
    state = two_keys.store / ".keyz" / "state" / "entries.json"
    data = json.loads(state.read_text())
    old = (datetime.now(UTC) - timedelta(hours=13)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for entry in data["entries"].values():
        entry.update(last_success=old, last_error=None)
    state.write_text(json.dumps(data))
    stale = two_keys.keyz("check", "--max-age", "12h", "--json")
    problems = json.loads(stale.stdout)["problems"]
    assert stale.returncode == 1
    assert {p["kind"] for p in problems} == {"stale"}
    assert "older than max_age 12h" in problems[0]["message"]
    assert two_keys.keyz("check", "--max-age", "1d").returncode == 0


@pytest.mark.cli
def test_quota_percent_threshold(make_sandbox: MakeStore, simulator: Simulator) -> None:
    sandbox = make_sandbox({"api/minimax": "sk-cp-" + "9" * 30 + "\n"})
    sandbox.env.update(simulator.env("minimax"))
    simulator.minimax("sk-cp-" + "9" * 30, interval_percent="8", weekly_percent="50")
    assert sandbox.keyz("init").returncode == 0
    assert sandbox.keyz("track", "api/minimax", "-p", "minimax").returncode == 0
    configure(sandbox, "alert_below_percent = 10")
    result = sandbox.keyz("check", "--sync")
    assert result.returncode == 1
    assert "api/minimax: interval (5h) 8% left, below 10%" in result.stderr
    assert "weekly" not in result.stderr


def test_threshold_and_duration_syntax() -> None:
    assert str(parse_threshold("5 usd")) == "5 USD"
    assert parse_duration("12h") == timedelta(hours=12)
    for bad in (
        "5",
        "USD 5",
        "-1 USD",
        "x USD",
        "\u0661\u0660\u0660 USD",
        "1_000 USD",
        "1e9999 USD",
    ):
        with pytest.raises(UsageError):
            parse_threshold(bad)
    for bad in ("12", "0h", "1y", "h"):
        with pytest.raises(UsageError):
            parse_duration(bad)


@pytest.mark.parametrize(
    "text", ["99999999999999d", "3651d", "522w", "9" * 5000 + "m", "١٢h", "１h", "1_0h"]
)
def test_durations_are_bounded_and_ascii(text: str) -> None:
    with pytest.raises(UsageError, match="--max-age") as info:
        parse_duration(text, name="--max-age")
    assert len(str(info.value)) < 200
    assert parse_duration("3650d", name="--max-age") == timedelta(days=3650)


@pytest.mark.cli
def test_huge_durations_are_usage_and_config_errors(two_keys: Sandbox) -> None:
    done = two_keys.keyz("check", "--max-age", "99999999999999d")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--max-age" in done.stderr and "3650d" in done.stderr
    configure(two_keys, 'max_age = "99999999999999d"')
    for command in ("check", "status"):
        done = two_keys.keyz(command)
        assert done.returncode == 2 and "Traceback" not in done.stderr, command
        assert "[defaults] max_age" in done.stderr and "3650d" in done.stderr, command


@pytest.mark.cli
def test_check_usage_errors(two_keys: Sandbox) -> None:
    assert two_keys.keyz("check", "--below", "lots").returncode == 2
    assert two_keys.keyz("check", "--commit").returncode == 2
    configure(two_keys, 'alert_below = "five USD"')
    bad = two_keys.keyz("check")
    assert bad.returncode == 2 and "config.toml" in bad.stderr and "alert_below" in bad.stderr


def sync_at(sandbox: Sandbox, when: str) -> None:
    """A ``sync --commit`` as if it ran at ``when`` (keyz's clock, and git's)."""
    clock = {"KEYZ_NOW": when, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    done = sandbox.keyz("sync", "--commit", env=clock)
    assert done.returncode == 0, done.stderr


@pytest.mark.cli
def test_runway_from_the_ledger(two_keys: Sandbox, simulator: Simulator) -> None:
    configure(two_keys, "alert_runway_days = 7")
    later = {"KEYZ_NOW": "2026-11-03T12:00:00Z"}
    set_deepseek(simulator, "110.00")
    sync_at(two_keys, "2026-11-01T12:00:00Z")
    assert two_keys.keyz("check", env=later).returncode == 0  # one observation: no rate yet
    set_deepseek(simulator, "100.00")
    sync_at(two_keys, "2026-11-02T00:00:00Z")
    set_deepseek(simulator, "80.00")
    sync_at(two_keys, "2026-11-02T12:00:00Z")
    result = two_keys.keyz("check", env=later)
    assert result.returncode == 1
    # 30 spent in a day, 80 left: 2.7 days, until the small hours of Nov 5
    assert result.stderr == (
        "keyz: api/deepseek: CNY runs out in 2.7 days (around 2026-11-05) at the recent "
        "burn rate, below alert_runway_days 7\n"
    )  # USD and the key limit did not move: not spending, no runway, no alert


@pytest.mark.cli
def test_22_seconds_of_ledger_give_no_burn_no_runway_and_no_alert(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    configure(two_keys, "alert_runway_days = 7")
    set_deepseek(simulator, "110.00")
    sync_at(two_keys, "2026-11-01T12:00:00Z")
    set_deepseek(simulator, "92.50")
    sync_at(two_keys, "2026-11-01T12:00:22Z")
    clock = {"KEYZ_NOW": "2026-11-01T12:05:00Z"}

    human = two_keys.keyz("history", "api/deepseek", env=clock)
    assert human.returncode == 0, human.stderr
    assert (
        "CNY 92.50 · not enough history yet (needs 3 observations over 24 hours, "
        "top-ups excluded)" in human.stdout
    ), human.stdout
    assert "/day" not in human.stdout and "runway" not in human.stdout

    overview = two_keys.keyz("history", env=clock).stdout
    assert "api/deepseek" in overview and "not enough history yet" in overview
    assert "/day" not in overview and "runway" not in overview

    document = json.loads(two_keys.keyz("history", "--json", env=clock).stdout)
    cny = document["entries"][0]["summaries"][0]
    assert cny["currency"] == "CNY" and cny["remaining"] == "92.50"
    assert [cny[k] for k in ("burn_per_day_7d", "burn_per_day_30d", "runway_days")] == [None] * 3
    assert cny["runs_out_around"] is None
    assert cny["reason"].startswith("not enough history yet")

    check = two_keys.keyz("check", env=clock)
    assert (check.returncode, check.stderr) == (0, "")
    assert "runs out" not in two_keys.keyz("check", "--json", env=clock).stdout


@pytest.mark.cli
def test_said_once_per_destination_a_look_by_hand_leaves_crons_alert(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    configure(two_keys, 'alert_below = "50 CNY"')
    set_deepseek(simulator, "40.00")
    assert two_keys.keyz("sync").returncode == 0
    by_hand = run_tty("--no-color", "check", env=two_keys.env)
    assert by_hand.returncode == 1
    assert by_hand.text("tty") == "keyz: api/deepseek: CNY 40.00 left, below 50 CNY\n"
    again = run_tty("--no-color", "check", env=two_keys.env)  # at a terminal, never a silent exit 1
    assert (again.returncode, again.text("tty")) == (
        1,
        "keyz: 1 known problem (--repeat to show)\n",
    )
    cron = two_keys.keyz("check")  # unattended: the alert was not used up by the terminal
    assert (cron.returncode, cron.stderr) == (
        1,
        "keyz: api/deepseek: CNY 40.00 left, below 50 CNY\n",
    )
    quiet = two_keys.keyz("check")  # ... and cron is not mailed about it twice
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (1, "", "")
    state = json.loads((two_keys.store / ".keyz" / "state" / "alerts.json").read_text())
    assert state["schema_version"] == 3
    assert set(state["destinations"]) == {"terminal", "unattended"}


@pytest.mark.cli
def test_alert_state_is_versioned(two_keys: Sandbox, simulator: Simulator) -> None:
    configure(two_keys, 'alert_below = "50 CNY"')
    set_deepseek(simulator, "40.00")
    assert two_keys.keyz("sync").returncode == 0
    path = two_keys.store / ".keyz" / "state" / "alerts.json"
    path.parent.mkdir(exist_ok=True)
    said = {"api/deepseek": {"below:CNY": {"value": "40.00"}}}
    path.write_text(json.dumps({"schema_version": 1, "alerts": said}))  # what keyz 0.x wrote
    assert two_keys.keyz("check").stderr == ""  # it was cron's: cron is not told again
    assert "CNY 40.00 left" in run_tty("--no-color", "check", env=two_keys.env).text("tty")
    version2 = {"schema_version": 2, "destinations": {"terminal": said}}  # what keyz 1.x wrote
    path.write_text(json.dumps(version2))
    assert (
        run_tty("--no-color", "check", env=two_keys.env)
        .text("tty")
        .startswith("keyz: 1 known problem")
    )  # the terminal's record survived the upgrade ...
    assert "CNY 40.00 left" in two_keys.keyz("check").stderr  # ... and cron had not been told
    path.write_text(json.dumps({"schema_version": 4, "destinations": {}}))
    newer = two_keys.keyz("check")
    assert (
        newer.returncode == 1 and "newer keyz" in newer.stderr and "Traceback" not in newer.stderr
    )
    path.write_text(json.dumps({"schema_version": 2, "destinations": {"unattended": []}}))
    odd = two_keys.keyz("check")
    assert odd.returncode == 1 and "delete it" in odd.stderr


def test_a_spend_far_beyond_the_budget_is_an_alert_not_a_crash() -> None:
    """The largest spend a sidecar holds (15 digits) over the smallest budget config takes
    (12 decimals) is a percent of 30 digits: more than Decimal's default 28 to round it."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from keyz import sidecar as sc
    from keyz.alerts import parse_budget
    from keyz.check import _spend

    now = datetime(2026, 11, 20, tzinfo=UTC)
    current = sc.Sidecar(
        entry="api/x",
        provider="openai",
        observed_at=now,
        available=True,
        spend=[sc.Spend(period="this_month", currency="USD", amount=Decimal("999999999999999"))],
    )
    (problem,) = _spend("api/x", current, parse_budget("0.000000000001 USD/month"))
    assert "over the " in problem.message and "USD/month budget (" in problem.message
    assert problem.key == "spend:USD:2026-11:100"
