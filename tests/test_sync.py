"""run_sync against a real pass store, real gpg and the loopback simulator."""

import json
import subprocess
from pathlib import Path

import pytest

from keyz.config import load_config
from keyz.errors import BusyError, KeyzError, UsageError
from keyz.lock import store_lock
from keyz.simulator import Answer, Simulator
from keyz.state import load_state
from keyz.store import PassStore
from keyz.sync import lock_path, run_sync

from .conftest import CANARY, Sandbox, needs_pass


def sync(sandbox: Sandbox, *names: str, git_mode: str = "off") -> "object":
    store = PassStore(sandbox.store)
    return run_sync(store, load_config(store.keyz_dir), names, git_mode=git_mode)


def sidecar(sandbox: Sandbox, entry: str) -> Path:
    return sandbox.store / ".keyz" / "entries" / f"{entry}.json"


def test_writes_one_sidecar_per_entry(two_keys: Sandbox) -> None:
    result = sync(two_keys)
    assert not result.failed  # type: ignore[attr-defined]
    deepseek = json.loads(sidecar(two_keys, "api/deepseek").read_text())
    assert deepseek["balances"][0] == {
        "currency": "CNY",
        "granted": "10.00",
        "remaining": "110.00",
        "topped_up": "100.00",
        "unit_kind": "currency",
        "source": "/user/balance",
    }
    openrouter = json.loads(sidecar(two_keys, "api/openrouter").read_text())
    assert openrouter["key_limit"] == {
        "currency": "USD",
        "limit": "20",
        "remaining": "12.5",
        "reset": "monthly",
        "usage": "7.5",
        "source": "/api/v1/key",
    }
    assert openrouter["balances"] == []
    assert openrouter["notes"] == ["account balance needs a management key"]


def test_one_failure_never_stops_the_others_and_keeps_the_last_good_sidecar(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    sync(two_keys)
    good = sidecar(two_keys, "api/deepseek").read_bytes()
    simulator.fail(CANARY, Answer(500), Answer(500), Answer(500))
    simulator.openrouter(
        "sk-or-v1-" + "c0ffee00" * 8, management=False, limit=20, limit_remaining=11, usage=9
    )
    result = sync(two_keys)
    by_entry = {e.entry: e for e in result.entries}  # type: ignore[attr-defined]
    assert "HTTP 500" in by_entry["api/deepseek"].error
    assert by_entry["api/openrouter"].error is None and by_entry["api/openrouter"].changed
    assert sidecar(two_keys, "api/deepseek").read_bytes() == good
    assert (
        json.loads(sidecar(two_keys, "api/openrouter").read_text())["key_limit"]["remaining"]
        == "11"
    )
    state = load_state(two_keys.store / ".keyz")
    assert "HTTP 500" in (state["api/deepseek"].last_error or "")
    assert state["api/openrouter"].last_error is None


def test_an_answer_keyz_cannot_file_fails_that_entry_only(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    sync(two_keys)
    good = sidecar(two_keys, "api/deepseek").read_bytes()
    simulator.deepseek(CANARY, [("CNY", "1.00", "0", "1.00"), ("CNY", "2.00", "0", "2.00")])
    result = sync(two_keys)
    by_entry = {e.entry: e for e in result.entries}  # type: ignore[attr-defined]
    assert "one balance per currency" in by_entry["api/deepseek"].error
    assert by_entry["api/openrouter"].error is None
    assert sidecar(two_keys, "api/deepseek").read_bytes() == good
    assert "one balance per currency" in (
        load_state(two_keys.store / ".keyz")["api/deepseek"].last_error or ""
    )


def test_a_no_op_resync_writes_nothing(two_keys: Sandbox) -> None:
    sync(two_keys)
    path = sidecar(two_keys, "api/deepseek")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    result = sync(two_keys)
    assert not any(e.changed for e in result.entries)  # type: ignore[attr-defined]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_corrupt_sidecar_is_reported_and_never_overwritten(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    path = sidecar(two_keys, "api/deepseek")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"schema_version": 1, "entry": ')
    result = sync(two_keys)
    error = result.entries[0].error  # type: ignore[attr-defined]
    assert "not valid JSON" in error and "deepseek.json" in error
    assert path.read_text() == '{"schema_version": 1, "entry": '
    assert not any(r.token == CANARY for r in simulator.requests), (
        "a corrupt entry is not even fetched"
    )


def test_a_sidecar_from_a_newer_keyz_is_refused_and_untouched(two_keys: Sandbox) -> None:
    path = sidecar(two_keys, "api/deepseek")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"schema_version": 9}\n')
    result = sync(two_keys)
    assert "upgrade keyz" in result.entries[0].error  # type: ignore[attr-defined]
    assert path.read_text() == '{"schema_version": 9}\n'


def test_a_tracked_entry_that_left_the_store(two_keys: Sandbox) -> None:
    (two_keys.store / "api" / "deepseek.gpg").unlink()
    result = sync(two_keys)
    assert "no entry 'api/deepseek'" in result.entries[0].error  # type: ignore[attr-defined]
    assert result.entries[1].error is None  # type: ignore[attr-defined]


def test_a_hand_written_entry_with_an_unknown_provider_fails_alone(two_keys: Sandbox) -> None:
    config = two_keys.store / ".keyz" / "config.toml"
    config.write_text(config.read_text() + '\n[entries."api/other"]\nprovider = "nope"\n')
    result = sync(two_keys)
    errors = {e.entry: e.error for e in result.entries}  # type: ignore[attr-defined]
    assert errors["api/other"].startswith("[entries.'api/other'] in config.toml: unknown provider")
    assert errors["api/deepseek"] is None and errors["api/openrouter"] is None
    assert sidecar(two_keys, "api/deepseek").is_file()


def test_the_per_entry_deadline_bounds_a_hanging_provider(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    config = two_keys.store / ".keyz" / "config.toml"
    config.write_text(config.read_text().replace("timeout = 30", "timeout = 1"))
    simulator.fail(CANARY, Answer(200, {}, delay=5))
    result = sync(two_keys)
    assert "no result within 1s" in result.entries[0].error  # type: ignore[attr-defined]
    assert result.entries[1].error is None  # type: ignore[attr-defined]


def test_wrong_shapes_and_odd_values_are_errors_not_zero(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    for body in (
        {"balance_infos": [{"currency": "CNY", "total_balance": None}]},
        "<html></html>",
        {"balance_infos": [{"currency": "not a currency code!", "total_balance": "1"}]},
    ):
        simulator.fail(CANARY, Answer(200, body))
        result = sync(two_keys, "api/deepseek")
        assert result.entries[0].error, body  # type: ignore[attr-defined]
        assert not sidecar(two_keys, "api/deepseek").exists()


def test_only_the_named_entries_are_synced(two_keys: Sandbox) -> None:
    sync(two_keys, "api/openrouter")
    assert sidecar(two_keys, "api/openrouter").exists()
    assert not sidecar(two_keys, "api/deepseek").exists()
    with pytest.raises(UsageError, match="not tracked: api/nope"):
        sync(two_keys, "api/nope")


def test_a_second_sync_waits_then_reports_busy(
    two_keys: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from keyz.git_ops import GitRepo

    store = PassStore(two_keys.store)
    monkeypatch.setenv("KEYZ_LOCK_WAIT", "0.3")
    started = time.monotonic()
    with (
        store_lock(lock_path(store, GitRepo.find(store.root)), wait=0),
        pytest.raises(BusyError) as info,
    ):
        run_sync(store, load_config(store.keyz_dir))
    assert info.value.exit_code == 75
    assert 0.3 <= time.monotonic() - started < 3
    assert not sidecar(two_keys, "api/deepseek").exists()


def test_commit_mode_commits_the_sidecars_and_config(two_keys: Sandbox) -> None:
    result = sync(two_keys, git_mode="commit")
    assert result.commit is not None and result.commit.commit  # type: ignore[attr-defined]
    files = two_keys.git("show", "--name-only", "--format=", "HEAD").split()
    assert files == [
        ".keyz/.gitattributes",
        ".keyz/.gitignore",
        ".keyz/README.md",
        ".keyz/config.toml",
        ".keyz/entries/api/deepseek.json",
        ".keyz/entries/api/openrouter.json",
    ]
    message = two_keys.git("log", "-1", "--format=%B")
    assert message.startswith("keyz: sync 2 entries (deepseek, openrouter)\n\n")
    assert "api/deepseek: CNY 110.00 · USD 5.25" in message
    assert sync(two_keys, git_mode="commit").commit.commit is None  # type: ignore[attr-defined]


@needs_pass
@pytest.mark.cli
def test_a_refused_commit_leaves_nothing_staged_for_pass_to_sweep_in(two_keys: Sandbox) -> None:
    hook = two_keys.store / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy: no commits today' >&2\nexit 1\n")
    hook.chmod(0o755)
    head = two_keys.git("rev-parse", "HEAD")
    refused = two_keys.keyz("sync", "--commit")
    assert refused.returncode == 1
    assert "policy: no commits today" in refused.stderr
    assert "written but not committed" in refused.stderr and "next --commit" in refused.stderr
    assert two_keys.git("rev-parse", "HEAD") == head
    assert two_keys.git("diff", "--cached", "--name-only") == ""
    hook.unlink()
    subprocess.run(
        ["pass", "insert", "-m", "web/mail"],
        input="hunter2\n",
        env=two_keys.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert two_keys.git("show", "--name-only", "--format=", "HEAD").split() == ["web/mail.gpg"]
    assert two_keys.keyz("sync", "--commit").returncode == 0
    assert len(two_keys.git("show", "--name-only", "--format=", "HEAD").split()) == 6


@pytest.mark.cli
def test_a_store_that_ignores_json_still_gets_its_ledger(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    (two_keys.store / ".gitignore").write_text("*.json\n")
    first = two_keys.keyz("sync", "--commit")
    assert first.returncode == 0, first.stderr
    assert "Nothing changed" not in first.stderr
    assert first.stderr.count("warning: .gitignore:1: *.json") == 1
    committed = two_keys.git("show", "--name-only", "--format=", "HEAD").split()
    assert ".keyz/entries/api/deepseek.json" in committed
    simulator.deepseek(CANARY, [("CNY", "90.00", "0.00", "90.00")])
    second = two_keys.keyz("sync", "--commit")
    assert second.returncode == 0 and "warning" not in second.stderr
    assert two_keys.git("show", "--name-only", "--format=", "HEAD").split() == [
        ".keyz/entries/api/deepseek.json"
    ]


def test_an_unreadable_state_file_stops_before_any_request(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    state = two_keys.store / ".keyz" / "state" / "entries.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("{not json")
    with pytest.raises(KeyzError, match=r"entries\.json is unreadable; delete it"):
        sync(two_keys)
    assert simulator.requests == []
    assert state.read_text() == "{not json", "never silently replaced"


def test_entries_are_scheduled_round_robin_over_providers() -> None:
    from keyz.config import EntryConfig
    from keyz.sync import interleave

    entries = [EntryConfig(f"a/{i}", "deepseek") for i in range(3)] + [
        EntryConfig("b/0", "novita"),
        EntryConfig("c/0", "poe"),
        EntryConfig("c/1", "poe"),
    ]
    order = [e.name for e in interleave(entries)]
    assert order == ["a/0", "b/0", "c/0", "a/1", "c/1", "a/2"]
    assert interleave([]) == []


def test_quiet_sync_prints_nothing_when_all_is_well(two_keys: Sandbox) -> None:
    done = two_keys.keyz("sync", "--quiet")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
