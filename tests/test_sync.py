"""run_sync against a real pass store, real gpg and the loopback simulator."""

import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from keyz.config import GitMode, load_config
from keyz.demo.simulator import Answer, Simulator
from keyz.errors import BusyError, KeyzError, UsageError
from keyz.lock import store_lock
from keyz.state import load_state
from keyz.store import PassStore
from keyz.sync import SyncResult, lock_path, run_sync

from .conftest import CANARY, KEYZ, SERVER_ERROR, MakeStore, Sandbox, needs_pass


def sync(sandbox: Sandbox, *names: str, git_mode: GitMode = "off") -> SyncResult:
    store = PassStore(sandbox.store)
    return run_sync(store, load_config(store.keyz_dir), names, git_mode=git_mode)


def sidecar(sandbox: Sandbox, entry: str) -> Path:
    return sandbox.store / ".keyz" / "entries" / f"{entry}.json"


def test_writes_one_sidecar_per_entry(two_keys: Sandbox) -> None:
    result = sync(two_keys)
    assert not result.failed
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
    simulator.fail(CANARY, *SERVER_ERROR)
    simulator.openrouter(
        "sk-or-v1-" + "c0ffee00" * 8, management=False, limit=20, limit_remaining=11, usage=9
    )
    result = sync(two_keys)
    by_entry = {e.entry: e for e in result.entries}
    assert "HTTP 500" in str(by_entry["api/deepseek"].error)
    failed = by_entry["api/deepseek"].error
    assert failed is not None and failed.kind == "provider"
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
    by_entry = {e.entry: e for e in result.entries}
    assert "one balance per currency" in str(by_entry["api/deepseek"].error)
    failed = by_entry["api/deepseek"].error
    assert failed is not None and failed.kind == "parse"
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
    assert not any(e.changed for e in result.entries)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_corrupt_sidecar_is_reported_and_never_overwritten(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    path = sidecar(two_keys, "api/deepseek")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"schema_version": 1, "entry": ')
    result = sync(two_keys)
    error = str(result.entries[0].error)
    assert "not valid JSON" in error and "deepseek.json" in error
    assert path.read_text() == '{"schema_version": 1, "entry": '
    assert not any(r.token == CANARY for r in simulator.requests), (
        "a corrupt entry is not even fetched"
    )


def _gpg_spawns_logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """gpg on PATH logs '<pid> <time>' as it starts (a decryption then takes 1 s), and keyz
    takes 0.3 s to register each gpg it starts: the window in which keyz could exit and leave
    that gpg running is wide open."""
    from keyz import store as store_module

    real = shutil.which("gpg2") or shutil.which("gpg")
    log, fake = tmp_path / "gpg-started", tmp_path / "bin"
    fake.mkdir()
    script = (
        f'#!/bin/sh\necho "$$ $(date +%s.%N)" >> "{log}"\n'
        f'case "$*" in *--decrypt*) sleep 1;; esac\nexec "{real}" "$@"\n'
    )
    for name in ("gpg", "gpg2"):
        (fake / name).write_text(script)
        (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    add = store_module._Processes.add

    def slow_add(self: object, process: object) -> None:
        time.sleep(0.3)
        add(self, process)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module._Processes, "add", slow_add)
    return log


@pytest.mark.parametrize("names", [(), ("api/deepseek",)])
def test_a_key_dropped_with_its_sidecar_leaves_no_gpg_behind(
    two_keys: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, names: tuple[str, ...]
) -> None:
    """Every sidecar corrupt (or the one entry named): nothing is fetched, and the run ends
    only once no thread of it can still start a gpg. (A keyz exiting while a worker thread
    was between starting gpg and registering it left that gpg running after keyz.)"""
    for entry in ("api/deepseek", "api/openrouter"):
        sidecar(two_keys, entry).parent.mkdir(parents=True, exist_ok=True)
        sidecar(two_keys, entry).write_text("{")
    log = _gpg_spawns_logged(tmp_path, monkeypatch)
    result = sync(two_keys, *names)
    returned = time.time()
    assert all("is not valid JSON" in str(e.error) for e in result.entries)
    time.sleep(1.5)  # what a thread left running would do meanwhile
    started = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    assert [float(at) for _, at in started if float(at) > returned] == [], "gpg started after"
    for pid, _ in started:
        with contextlib.suppress(FileNotFoundError):
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
            assert state == "Z", f"gpg {pid} still running"


def test_a_decryption_that_will_not_end_is_waited_for_once_per_run(
    two_keys: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C settles the run and the ``finally`` after it settles again: a thread stuck in a gpg
    that cannot die (uninterruptible sleep on a hung network home) cost the wait twice."""
    from concurrent.futures import Future

    from keyz import sync as sync_module

    monkeypatch.setattr(sync_module, "SETTLE_TIMEOUT", 1.0)
    store = PassStore(two_keys.store)
    run = sync_module._Run(store, load_config(store.keyz_dir), {}, None, "off")
    stuck: Future[object] = Future()
    assert stuck.set_running_or_notify_cancel()  # its thread is in gpg and stays there
    run.decrypting["api/deepseek"] = stuck  # type: ignore[assignment]
    started = time.monotonic()
    run.settle()
    first = time.monotonic() - started
    run.settle()
    second = time.monotonic() - started - first
    assert first >= 0.9 and second < 0.5, (first, second)


def test_a_sidecar_from_a_newer_keyz_is_refused_and_untouched(two_keys: Sandbox) -> None:
    path = sidecar(two_keys, "api/deepseek")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"schema_version": 9}\n')
    result = sync(two_keys)
    assert "upgrade keyz" in str(result.entries[0].error)
    assert path.read_text() == '{"schema_version": 9}\n'


def test_a_tracked_entry_that_left_the_store(two_keys: Sandbox) -> None:
    (two_keys.store / "api" / "deepseek.gpg").unlink()
    result = sync(two_keys)
    assert "no entry 'api/deepseek'" in str(result.entries[0].error)
    assert result.entries[1].error is None


def test_a_hand_written_entry_with_an_unknown_provider_fails_alone(two_keys: Sandbox) -> None:
    config = two_keys.store / ".keyz" / "config.toml"
    config.write_text(config.read_text() + '\n[entries."api/other"]\nprovider = "nope"\n')
    result = sync(two_keys)
    errors = {e.entry: e.error for e in result.entries}
    assert str(errors["api/other"]).startswith(
        "[entries.'api/other'] in config.toml: unknown provider"
    )
    assert errors["api/deepseek"] is None and errors["api/openrouter"] is None
    assert sidecar(two_keys, "api/deepseek").is_file()


def test_an_entry_with_an_unknown_provider_still_shows_its_last_good_figures(
    two_keys: Sandbox,
) -> None:
    """Its sidecar is read as every other entry's: the row says 'FAILED (last good: ...)',
    `--json` gives the file's figures as `sidecar`, and a corrupt sidecar is still the error
    named (it is what blocks the entry), as before issue 20."""
    assert sync(two_keys).entries[0].error is None
    config = two_keys.store / ".keyz" / "config.toml"
    config.write_text(config.read_text().replace('provider = "deepseek"', 'provider = "gone"'))
    entry = sync(two_keys).entries[0]
    assert str(entry.error).startswith("[entries.'api/deepseek'] in config.toml: unknown provider")
    assert entry.sidecar is not None and entry.sidecar.balances, "the last good figures"
    shown = two_keys.keyz("sync")
    assert shown.returncode == 1
    assert "FAILED (last good: CNY 110.00" in shown.stdout, shown.stdout
    document = json.loads(two_keys.keyz("sync", "--json").stdout)
    assert document["entries"][0]["sidecar"]["balances"][0]["remaining"] == "110.00"
    sidecar(two_keys, "api/deepseek").write_text("{")
    entry = sync(two_keys).entries[0]
    assert entry.error is not None and entry.error.kind == "sidecar"
    assert "is not valid JSON" in str(entry.error)


def test_entries_that_fail_before_any_request_are_reported_in_entry_order(
    two_keys: Sandbox,
) -> None:
    """On a terminal each row is printed as its entry is done: the entries that fail before
    anything is fetched (a corrupt sidecar, an unknown provider) come in the config's order."""
    sidecar(two_keys, "api/deepseek").parent.mkdir(parents=True, exist_ok=True)
    sidecar(two_keys, "api/deepseek").write_text("{")
    config = two_keys.store / ".keyz" / "config.toml"
    config.write_text(config.read_text().replace('provider = "openrouter"', 'provider = "gone"'))
    store = PassStore(two_keys.store)
    seen: list[str] = []
    run_sync(store, load_config(store.keyz_dir), on_result=lambda r: seen.append(r.entry))
    assert seen == ["api/deepseek", "api/openrouter"]


def test_the_per_entry_deadline_bounds_a_hanging_provider(
    two_keys: Sandbox, simulator: Simulator
) -> None:
    config = two_keys.store / ".keyz" / "config.toml"
    config.write_text(config.read_text().replace("timeout = 30", "timeout = 1"))
    simulator.fail(CANARY, Answer(200, {}, delay=5))
    result = sync(two_keys)
    error = result.entries[0].error
    assert error is not None and "no result within 1s" in str(error) and error.kind == "network"
    assert result.entries[1].error is None


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
        assert result.entries[0].error, body
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
    assert result.commit is not None and result.commit.commit
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
    outcome = sync(two_keys, git_mode="commit").commit
    assert outcome is not None and outcome.commit is None


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


@pytest.mark.cli
def test_local_state_files_are_typed_and_versioned(two_keys: Sandbox) -> None:
    assert two_keys.keyz("sync").returncode == 0
    state = two_keys.store / ".keyz" / "state" / "entries.json"
    written = state.read_text()
    states = load_state(two_keys.store / ".keyz")
    assert states["api/deepseek"].last_success == states["api/deepseek"].last_checked
    assert states["api/deepseek"].last_success is not None
    document = json.loads(written)
    document["entries"]["api/deepseek"]["last_success"] = "yesterday"  # was a traceback
    for bad, told in [
        (document, "has an unknown format; delete it"),
        (
            {"schema_version": 3, "entries": {}},
            "was written by a newer keyz; upgrade keyz, or delete it",
        ),
        ([], "has an unknown format; delete it"),
    ]:
        state.write_text(json.dumps(bad))
        for command in ("status", "check", "sync"):
            done = two_keys.keyz(command)
            assert (
                done.returncode == 1
                and done.stderr
                == f"keyz: {state} {told} (it only holds last check times and errors)\n"
            ), command
    alerts = two_keys.store / ".keyz" / "state" / "alerts.json"
    state.write_text(written)
    alerts.write_text(
        json.dumps(
            {
                "schema_version": 2,
                "destinations": {"unattended": {"api/deepseek": {"below:CNY": {"value": "lots"}}}},
            }
        )
    )
    done = two_keys.keyz("check")
    assert done.returncode == 1 and f"{alerts} has an unknown format; delete it" in done.stderr


def test_each_providers_entries_are_spread_over_the_run() -> None:
    from keyz.config import EntryConfig
    from keyz.sync import interleave

    entries = [EntryConfig(f"a/{i}", "deepseek") for i in range(3)] + [
        EntryConfig("b/0", "novita"),
        EntryConfig("c/0", "poe"),
        EntryConfig("c/1", "poe"),
    ]
    caps = {"deepseek": 16, "novita": 8, "poe": 8}
    order = [e.name for e in interleave(entries, caps)]
    assert order == ["a/0", "c/0", "a/1", "b/0", "c/1", "a/2"]
    assert interleave([], caps) == []


def test_entries_needing_two_round_trips_are_decrypted_in_the_first_half() -> None:
    """openrouter asks /credits, then /keys: its last key must not be the run's last."""
    from keyz.config import EntryConfig
    from keyz.providers import get_provider
    from keyz.sync import interleave

    assert get_provider("openrouter").round_trips == 2
    entries = [EntryConfig(f"ds/{i}", "deepseek") for i in range(10)] + [
        EntryConfig(f"or/{i}", "openrouter") for i in range(10)
    ]
    order = [e.name for e in interleave(entries, {"deepseek": 16, "openrouter": 16})]
    assert sorted(order) == sorted(e.name for e in entries)
    assert max(order.index(f"or/{i}") for i in range(10)) < 15  # all of them by 3/4 of the way
    assert order[-5:] == [f"ds/{i}" for i in range(5, 10)]
    assert [n for n in order if n.startswith("or/")] == [f"or/{i}" for i in range(10)]


def test_the_lane_with_the_most_work_left_gets_its_keys_first() -> None:
    """300 keys through a lane of 8 take twice as long as 300 through a lane of 16: the
    narrow lane's keys are decrypted first until both have as much left, then two for one,
    so that neither lane still has a queue when the last key is decrypted."""
    from keyz.config import EntryConfig
    from keyz.sync import interleave

    entries = [EntryConfig(f"ds/{i:03d}", "deepseek") for i in range(300)] + [
        EntryConfig(f"nv/{i:03d}", "novita") for i in range(300)
    ]
    order = [e.provider for e in interleave(entries, {"deepseek": 16, "novita": 8})]
    assert order[:150] == ["novita"] * 150
    # from then on, the two lanes' work left (in round trips) stays even, until the end,
    # where each key needs one round trip anyway
    for done in range(150, len(order) - 32):
        left_novita = order[done:].count("novita") / 8
        left_deepseek = order[done:].count("deepseek") / 16
        assert abs(left_novita - left_deepseek) <= 1 / 8, done
    assert sorted(order[-24:]).count("novita") == 8  # the last 24: each lane's last batch
    # the same lanes the other way round (config.toml's concurrency): deepseek's keys first
    swapped = [e.provider for e in interleave(entries, {"deepseek": 4, "novita": 8})]
    assert swapped[:150] == ["deepseek"] * 150


def test_the_configured_concurrency_is_each_lanes_size(tmp_path: Path) -> None:
    from keyz.config import EntryConfig, init_keyz_dir, load_config
    from keyz.sync import lane_caps

    keyz_dir = tmp_path / ".keyz"
    init_keyz_dir(keyz_dir)
    (keyz_dir / "config.toml").write_text(
        "schema_version = 1\n[providers.novita]\nconcurrency = 3\n"
    )
    entries = [EntryConfig("a", "deepseek"), EntryConfig("b", "novita"), EntryConfig("c", "poe")]
    assert lane_caps(load_config(keyz_dir), entries) == {"deepseek": 16, "novita": 3, "poe": 8}


def test_quiet_sync_prints_nothing_when_all_is_well(two_keys: Sandbox) -> None:
    done = two_keys.keyz("sync", "--quiet")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


ZAI_KEY = "zai" + "5" * 30
OPENAI_KEY = "sk-admin-" + "0a1b" * 10


@pytest.fixture
def three_keys(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """DeepSeek beside two providers whose answers can carry values the parsers choke on."""
    sandbox = make_sandbox(
        {"api/deepseek": f"{CANARY}\n", "api/zai": f"{ZAI_KEY}\n", "api/openai": f"{OPENAI_KEY}\n"}
    )
    sandbox.env.update(simulator.env("deepseek", "zai", "openai"))
    simulator.deepseek(CANARY, [("CNY", "110.00", "10.00", "100.00")])
    simulator.zai(ZAI_KEY)
    simulator.openai(OPENAI_KEY, ["0.06"])
    assert sandbox.keyz("init").returncode == 0
    for entry, provider in (
        ("api/deepseek", "deepseek"),
        ("api/zai", "zai"),
        ("api/openai", "openai"),
    ):
        assert sandbox.keyz("track", entry, "-p", provider).returncode == 0
    assert sandbox.keyz("sync", "--commit").returncode == 0
    return sandbox


ZAI_OVERFLOW = {
    "success": True,
    "code": 200,
    "data": {"limits": [{"type": "TOKENS_LIMIT", "percentage": 5, "nextResetTime": 10**23}]},
}
OPENAI_BUG = {"data": [{"start_time": 1763000000, "results": 5}], "has_more": False}


@pytest.mark.cli
@pytest.mark.parametrize(
    ("entry", "key", "body", "cause"),
    [
        ("api/zai", ZAI_KEY, ZAI_OVERFLOW, "zai: the answer has values keyz cannot use ("),
        ("api/openai", OPENAI_KEY, OPENAI_BUG, "internal error in openai parser: TypeError"),
        ("api/zai", ZAI_KEY, "[" * 100_000, "the answer is nested too deeply"),
    ],
)
def test_any_exception_in_one_answer_stays_that_entrys_error(
    three_keys: Sandbox, simulator: Simulator, entry: str, key: str, body: object, cause: str
) -> None:
    path = sidecar(three_keys, entry)
    before = path.read_bytes()
    deepseek = sidecar(three_keys, "api/deepseek")
    deepseek.unlink()
    simulator.fail(key, Answer(200, body))
    result = three_keys.keyz("sync", "--commit")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error; this is a bug" not in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("keyz: ")]
    assert len(failed) == 1 and failed[0].startswith(f"keyz: {entry}: ") and cause in failed[0]
    assert CANARY not in result.stderr and key not in result.stderr
    assert path.read_bytes() == before  # the last good figures stay
    assert deepseek.exists()  # the other entries were written, and committed
    assert three_keys.git("status", "--porcelain", "--", ".keyz") == ""
    state = json.loads((three_keys.store / ".keyz" / "state" / "entries.json").read_text())
    assert cause in json.dumps(state, ensure_ascii=False)


def test_an_unexpected_exception_is_reported_as_a_bug_of_that_parser() -> None:
    from keyz.config import EntryConfig
    from keyz.sync import unusable

    entry = EntryConfig("api/x", "zai")
    bug = unusable(entry, TypeError("'int' object is not iterable"))
    assert (str(bug), bug.kind) == (
        "internal error in zai parser: TypeError; this is a bug, please report it",
        "internal",
    )
    assert str(unusable(entry, KeyError(CANARY))) == (
        "internal error in zai parser: KeyError; this is a bug, please report it"
    )
    overflow = unusable(entry, OverflowError("timestamp out of range for platform time_t"))
    assert (str(overflow), overflow.kind) == (
        "zai: the answer has values keyz cannot use (timestamp out of range for platform time_t)",
        "parse",
    )
    from decimal import Decimal, InvalidOperation

    try:
        Decimal("1e30").quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        assert str(unusable(entry, exc)) == (
            "zai: the answer has values keyz cannot use (a figure out of range)"
        )


@pytest.mark.cli
def test_a_sidecar_from_a_clock_that_ran_ahead_is_rewritten_with_the_real_time(
    two_keys: Sandbox,
) -> None:
    ahead = two_keys.keyz("sync", "--commit", env={"KEYZ_NOW": "2031-01-01T00:00:00Z"})
    assert ahead.returncode == 0, ahead.stderr
    path = sidecar(two_keys, "api/deepseek")
    assert json.loads(path.read_text())["observed_at"] == "2031-01-01T00:00:00Z"
    assert two_keys.keyz("sync", "--commit").returncode == 0  # same values, the right clock
    observed = json.loads(path.read_text())["observed_at"]
    assert observed < "2031"  # not kept as 'unchanged': the time was wrong
    assert two_keys.git("status", "--porcelain", "--", ".keyz") == ""
    history = two_keys.keyz("history", "api/deepseek", "--json")
    assert [v["observed_at"] for v in json.loads(history.stdout)] == [observed]
    assert "in the future" in history.stderr


def read_only(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str] | None:
    """Run keyz with the store on a read-only bind mount (a mount namespace); None if not allowed."""
    if shutil.which("unshare") is None:
        return None
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(sandbox.store), KEYZ, *args],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "mount:" in done.stderr or "unshare:" in done.stderr:
        return None  # no permission for mount namespaces here
    return done


@pytest.mark.cli
def test_a_read_only_store_is_one_clear_line(two_keys: Sandbox) -> None:
    assert two_keys.keyz("sync", "--commit").returncode == 0
    done = read_only(two_keys, "sync", "--commit")
    if done is None:
        pytest.skip("mount namespaces are not allowed here")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("keyz: the store is not writable") and "keyz.lock" in line
    reading = read_only(two_keys, "status")
    assert reading is not None
    assert reading.returncode == 0, reading.stderr  # reading still works
    for command in ("check", "history", "migrate"):
        other = read_only(two_keys, command)
        assert other is not None
        assert "Traceback" not in other.stderr, (command, other.stderr)


@pytest.mark.cli
def test_a_lock_file_that_cannot_be_opened_is_one_clear_line(two_keys: Sandbox) -> None:
    """Stands in for a read-only .git/ where mounts are not allowed: open() fails the same way."""
    (two_keys.store / ".git" / "keyz.lock").mkdir()
    done = two_keys.keyz("sync")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("keyz: the store is not writable") and "Is a directory" in line
    assert not sidecar(two_keys, "api/deepseek").exists()


def break_deepseek(case: str, sandbox: Sandbox, simulator: Simulator) -> dict[str, str]:
    """Make api/deepseek fail the way ``case`` names; the environment to run keyz with."""
    keyz_dir = sandbox.store / ".keyz"
    if case == "auth":
        simulator.fail(CANARY, Answer(401, {"error": {"message": "Authentication Fails"}}))
    elif case == "network":  # nothing listens on the discard port: connection refused
        return {"KEYZ_DEEPSEEK_BASE_URL": "https://127.0.0.1:9"}
    elif case == "provider":
        simulator.fail(CANARY, Answer(400, {"error": {"message": "bad request"}}))
    elif case == "parse":
        simulator.fail(CANARY, Answer(200, "balance: plenty"))
    elif case == "config":  # a host only the committed config.toml names: not trusted here
        with (keyz_dir / "config.toml").open("a") as config:
            config.write('\n[providers.deepseek]\nbase_url = "https://deepseek.example"\n')
        return {"KEYZ_DEEPSEEK_BASE_URL": ""}
    elif case == "gpg":
        (sandbox.store / "api" / "deepseek.gpg").write_bytes(b"not an OpenPGP message")
    elif case == "sidecar":
        path = sidecar(sandbox, "api/deepseek")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{")
    return {}


@pytest.mark.cli
@pytest.mark.parametrize(
    "kind", ["auth", "network", "provider", "parse", "config", "gpg", "sidecar"]
)
def test_sync_json_names_the_kind_of_each_failure(
    two_keys: Sandbox, simulator: Simulator, kind: str
) -> None:
    env = break_deepseek(kind, two_keys, simulator)
    done = two_keys.keyz("sync", "--json", env=env)
    assert done.returncode == 1, done.stderr
    deepseek, openrouter = json.loads(done.stdout)["entries"]
    assert (deepseek["ok"], deepseek["error_kind"]) == (False, kind), deepseek["error"]
    assert deepseek["error"]
    assert (openrouter["ok"], openrouter["error_kind"]) == (True, None)


@pytest.mark.cli
def test_sync_json_names_a_bug_in_a_parser_internal(
    three_keys: Sandbox, simulator: Simulator
) -> None:
    simulator.fail(OPENAI_KEY, Answer(200, OPENAI_BUG))
    done = three_keys.keyz("sync", "--json")
    by_entry = {e["entry"]: e for e in json.loads(done.stdout)["entries"]}
    assert by_entry["api/openai"]["error_kind"] == "internal"
    assert by_entry["api/zai"]["error_kind"] is None


@pytest.mark.cli
@pytest.mark.parametrize(
    ("marker", "kind", "code"), [("MERGE_HEAD", "git", 1), ("index.lock", "busy", 75)]
)
def test_sync_json_names_the_kind_of_a_git_failure(
    two_keys: Sandbox, marker: str, kind: str, code: int
) -> None:
    (two_keys.store / ".git" / marker).write_text(two_keys.git("rev-parse", "HEAD"))
    done = two_keys.keyz("sync", "--commit", "--json")
    assert done.returncode == code, done.stderr
    git = json.loads(done.stdout)["git"]
    assert git["error_kind"] == kind and git["error"] and git["commit"] is None
