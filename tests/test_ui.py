"""keyz ui, headless: Textual's Pilot on a real store (gpg, git, pass) and the https simulator.

Every action (r, R, c, t, a, /, ?, q), a failing provider, an empty store, a store of 200
entries, and SVG snapshots of the main screens (fixed clock, fixed size).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Static, Tree

from keyz import sidecar as sc
from keyz.clock import frozen_at, set_clock
from keyz.config import Config, EntryConfig, init_keyz_dir, load_config, set_entry
from keyz.demo.simulator import Answer, Simulator
from keyz.errors import ConfigError
from keyz.lock import store_lock
from keyz.store import PassStore
from keyz.sync import run_sync
from keyz.ui import HelpScreen, KeyzApp, TrackScreen
from tests.conftest import CANARY, OPENROUTER_KEY, SERVER_ERROR, MakeStore, Sandbox, leaked

NOW = "2026-11-05T12:00:00Z"
SIZE = (110, 30)
SECOND_DEEPSEEK = "sk-" + "5eed" * 8  # a DeepSeek-shaped key, untracked
Steps = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    set_clock(frozen_at(NOW, "KEYZ_NOW"))
    yield
    set_clock(None)


@pytest.fixture
def sandbox(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    """Two tracked keys, an untracked DeepSeek key and an untracked password."""
    box = make_sandbox(
        {
            "api/deepseek": f"{CANARY}\n",
            "api/openrouter": f"{OPENROUTER_KEY}\nuser: me\n",
            "more/deepseek": f"{SECOND_DEEPSEEK}\n",
            "web/mail": "correct horse battery staple\n",
        }
    )
    simulator.deepseek(
        CANARY, [("CNY", "110.00", "10.00", "100.00"), ("USD", "5.25", "0.00", "5.25")]
    )
    simulator.deepseek(SECOND_DEEPSEEK, [("CNY", "7.00", "0.00", "7.00")])
    simulator.openrouter(
        OPENROUTER_KEY, management=False, limit=20, limit_remaining=12.5, usage=7.5
    )
    keyz_dir = box.store / ".keyz"
    init_keyz_dir(keyz_dir)
    set_entry(keyz_dir, EntryConfig("api/deepseek", "deepseek"))
    set_entry(keyz_dir, EntryConfig("api/openrouter", "openrouter"))
    return box


def app_for(root: Path) -> KeyzApp:
    store = PassStore(root)
    return KeyzApp(
        store, load_config(store.keyz_dir), load_config=lambda: load_config(store.keyz_dir)
    )


def drive(app: KeyzApp, steps: Steps) -> None:
    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await steps(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[Any]) -> None:
    """Until every worker (sync, commit, track, history) is done and its result drawn."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def select(pilot: Pilot[Any], name: str) -> None:
    app = pilot.app
    assert isinstance(app, KeyzApp)
    await settle(pilot)  # the store is read in a worker after the first screen
    app.query_one("#tree", Tree).move_cursor(app.nodes[name])
    await settle(pilot)


def text_of(app: KeyzApp, widget: str) -> str:
    return str(app.query_one(widget, Static).render())


def label(app: KeyzApp, name: str) -> str:
    return str(app.nodes[name].label)


def screen_text(app: KeyzApp) -> str:
    return app.export_screenshot()


def commit_history(sandbox: Sandbox, simulator: Simulator) -> None:
    """Three committed syncs a day apart, DeepSeek spending then topped up: a history."""
    for day, cny in ((3, "110.00"), (2, "90.00"), (1, "70.00"), (0, "95.00")):
        set_clock(frozen_at(f"2026-11-0{5 - day}T12:00:00Z", "KEYZ_NOW"))
        simulator.deepseek(CANARY, [("CNY", cny, "0.00", cny)])
        store = PassStore(sandbox.store)  # one per run, as each keyz command has its own
        done = run_sync(store, load_config(store.keyz_dir), git_mode="commit")
        assert not done.failed
    set_clock(frozen_at(NOW, "KEYZ_NOW"))


# --- navigation and each action -------------------------------------------------------------


def test_the_tree_lists_every_entry_and_moves(sandbox: Sandbox) -> None:
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        assert sorted(app.nodes) == ["api/deepseek", "api/openrouter", "more/deepseek", "web/mail"]
        assert app.selected() == "api/"  # the first line: a directory
        assert "4 entries, 2 tracked" in text_of(app, "#detail") or "2 tracked" in text_of(
            app, "#detail"
        )
        await pilot.press("down")
        assert app.selected() == "api/deepseek"
        assert "deepseek (ds)" in text_of(app, "#detail")
        assert "no figures yet" in text_of(app, "#detail")
        await pilot.press("j", "j")  # vi keys too
        assert app.selected() == "more/"
        await pilot.press("space")  # folds the directory
        await pilot.press("down")
        assert app.selected() == "web/"
        await pilot.press("down")
        assert app.selected() == "web/mail"
        assert "not tracked" in text_of(app, "#detail")
        assert "ds" in label(app, "api/deepseek") and "new" in label(app, "api/deepseek")
        assert label(app, "web/mail") == "mail"  # untracked: the name alone, dim
        assert ".keyz" not in screen_text(app)

    drive(app, steps)


def test_r_syncs_the_selected_entry_only(sandbox: Sandbox) -> None:
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        await select(pilot, "api/deepseek")
        await pilot.press("r")
        await settle(pilot)
        assert "synced 1 of 1" in text_of(app, "#status")
        assert label(app, "api/deepseek") == "deepseek  ds ¥110/$5 live"
        assert "new" in label(app, "api/openrouter")  # not synced
        detail = text_of(app, "#detail")
        assert "CNY 110.00" in detail and "reported · /user/balance" in detail
        assert "nothing committed yet" in text_of(app, "#trend")  # git is off by default
        assert not leaked(screen_text(app), [CANARY, OPENROUTER_KEY])

    drive(app, steps)
    assert (sandbox.store / ".keyz" / "entries" / "api" / "deepseek.json").is_file()
    assert not (sandbox.store / ".keyz" / "entries" / "api" / "openrouter.json").exists()


def test_R_syncs_the_directory_and_c_commits_only_keyz_files(sandbox: Sandbox) -> None:
    (sandbox.store / "notes.txt").write_text("mine\n")
    sandbox.git("add", "notes.txt")  # staged by the user: c must not commit it
    before = sandbox.git("rev-parse", "HEAD")
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        await select(pilot, "api/openrouter")
        await pilot.press("R")
        await settle(pilot)
        assert "synced 2 of 2" in text_of(app, "#status")
        assert "live" in label(app, "api/deepseek") and "$12 live" in label(app, "api/openrouter")
        assert "key limit: 12.50 of 20.00 USD left" in text_of(app, "#detail")
        await pilot.press("c")
        await settle(pilot)
        assert "committed" in text_of(app, "#status")
        await pilot.press("c")
        await settle(pilot)
        assert "nothing changed; no commit" in text_of(app, "#status")

    drive(app, steps)
    changed = sandbox.git("diff", "--name-only", f"{before.strip()}..HEAD").split()
    assert changed and all(path.startswith(".keyz/") for path in changed)
    assert sandbox.git("diff", "--cached", "--name-only").split() == ["notes.txt"]


def test_a_failing_provider_shows_on_its_entry_never_as_a_crash(
    sandbox: Sandbox, simulator: Simulator
) -> None:
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        await select(pilot, "api/deepseek")
        await pilot.press("r")
        await settle(pilot)
        simulator.fail(CANARY, *SERVER_ERROR)
        await pilot.press("r")
        await settle(pilot)
        assert app.is_running
        assert "failed" in label(app, "api/deepseek") and "¥110" in label(app, "api/deepseek")
        detail = text_of(app, "#detail")
        assert "HTTP 500" in detail
        assert "CNY 110.00" in detail  # the last good figures stay
        assert "failed: api/deepseek" in text_of(app, "#status")
        assert not leaked(screen_text(app), [CANARY])

    drive(app, steps)


def test_t_tracks_with_the_same_checks_as_keyz_track(sandbox: Sandbox) -> None:
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        await select(pilot, "more/deepseek")
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrackScreen)
        options = app.screen.query_one(OptionList)
        assert options.get_option_at_index(0).id == "deepseek"  # the guess from its name
        await pilot.press("enter")
        await settle(pilot)
        assert "Tracking more/deepseek with deepseek" in text_of(app, "#status")
        assert "new" in label(app, "more/deepseek")
        # a password is not an API key: refused as keyz track refuses it, said on the entry
        await select(pilot, "web/mail")
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrackScreen)
        found = screen.query_one(OptionList)
        found.highlighted = found.get_option_index("openrouter")
        await pilot.press("enter")
        await settle(pilot)
        assert "does not look like an API key" in text_of(app, "#detail")
        assert label(app, "web/mail") == "mail"
        await select(pilot, "api/deepseek")
        await pilot.press("t")  # tracked already: no picker
        await pilot.pause()
        assert not isinstance(app.screen, TrackScreen)
        assert "tracked with deepseek already" in text_of(app, "#status")

    drive(app, steps)
    tracked = load_config(sandbox.store / ".keyz").entries
    assert tracked["more/deepseek"].provider == "deepseek" and "web/mail" not in tracked


def test_a_toggles_autosync_at_the_configured_period(sandbox: Sandbox) -> None:
    config = sandbox.store / ".keyz" / "config.toml"
    config.write_text(
        config.read_text().replace("[defaults]\n", '[defaults]\nui_autosync = "30m"\n')
    )
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        assert app.every == timedelta(minutes=30)
        await pilot.press("a")
        assert app.auto is not None
        assert "autosync every 30m" in text_of(app, "#status")
        app.autosync_tick()  # what the timer does every 30 minutes
        await settle(pilot)
        assert "synced 2 of 2" in text_of(app, "#status")
        await pilot.press("a")
        assert app.auto is None and "autosync off" in text_of(app, "#status")

    drive(app, steps)


def test_slash_filters_by_name_and_escape_clears(sandbox: Sandbox) -> None:
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("slash", "o", "p", "e", "n")
        await pilot.pause()
        assert list(app.nodes) == ["api/openrouter"]
        await pilot.press("enter")  # back to the tree, still filtered
        assert list(app.nodes) == ["api/openrouter"]
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert len(app.nodes) == 4

    drive(app, steps)


def test_question_mark_helps_and_q_quits(sandbox: Sandbox) -> None:
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "autosync every 15m" in str(app.screen.query_one("#help", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running

    drive(app, steps)


def test_an_empty_store(make_sandbox: MakeStore) -> None:
    box = make_sandbox({})
    init_keyz_dir(box.store / ".keyz")
    app = app_for(box.store)

    async def steps(pilot: Pilot[None]) -> None:
        assert app.nodes == {}
        assert "no pass entries" in text_of(app, "#status")
        for key in ("r", "R", "t", "a", "a", "c", "c"):  # the first c commits keyz init's files
            await pilot.press(key)
            await settle(pilot)
        assert app.is_running
        assert "nothing changed; no commit" in text_of(app, "#status")

    drive(app, steps)


def test_a_store_of_200_entries(make_sandbox: MakeStore) -> None:
    """Names only: the tree never decrypts, so 200 .gpg files and 100 sidecars make the store."""
    box = make_sandbox({"api/deepseek": f"{CANARY}\n"})
    keyz_dir = box.store / ".keyz"
    init_keyz_dir(keyz_dir)
    lines = []
    for n in range(200):
        name = f"team{n // 20:02d}/key{n:03d}"
        (box.store / f"{name}.gpg").parent.mkdir(exist_ok=True)
        (box.store / f"{name}.gpg").write_bytes(b"not read")
        if n % 2 == 0:
            lines.append(f'[entries."{name}"]\nprovider = "deepseek"\n')
            current = sc.Sidecar(
                entry=name,
                provider="deepseek",
                observed_at=sc.parse_time(NOW),
                available=True,
                balances=[sc.Balance(currency="CNY", remaining=Decimal(n))],
            )
            sc.write_if_changed(sc.checked_path(keyz_dir, name), current, None)
    config = keyz_dir / "config.toml"
    config.write_text(config.read_text() + "\n" + "\n".join(lines))
    app = app_for(box.store)

    async def steps(pilot: Pilot[None]) -> None:
        assert len(app.nodes) == 201
        assert label(app, "team09/key198") == "key198  ds ¥198 live"
        assert label(app, "team09/key199") == "key199"
        await select(pilot, "team09/key198")
        assert "CNY 198.00" in text_of(app, "#detail")
        await pilot.press("slash", "1", "9", "9")
        await pilot.pause()
        assert list(app.nodes) == ["team09/key199"]

    drive(app, steps)


# --- snapshots of the main screens (tests/__snapshots__/test_ui/*.svg) ----------------------


def snapshot_app(sandbox: Sandbox, simulator: Simulator) -> KeyzApp:
    commit_history(sandbox, simulator)
    return app_for(sandbox.store)


def test_snapshot_main_screen_with_history(
    sandbox: Sandbox, simulator: Simulator, snap_compare: Any
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await select(pilot, "api/deepseek")

    assert snap_compare(snapshot_app(sandbox, simulator), terminal_size=SIZE, run_before=before)


def test_snapshot_failed_entry(sandbox: Sandbox, simulator: Simulator, snap_compare: Any) -> None:
    app = snapshot_app(sandbox, simulator)

    async def before(pilot: Pilot[None]) -> None:
        await select(pilot, "api/deepseek")
        simulator.fail(CANARY, *SERVER_ERROR)
        await pilot.press("r")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_snapshot_help(sandbox: Sandbox, snap_compare: Any) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app_for(sandbox.store), terminal_size=SIZE, run_before=before)


def test_snapshot_track_picker(sandbox: Sandbox, snap_compare: Any) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await select(pilot, "more/deepseek")
        await pilot.press("t")
        await pilot.pause()

    assert snap_compare(app_for(sandbox.store), terminal_size=SIZE, run_before=before)


# --- hostile names and files: nothing from outside acts on the terminal ----------------------

ESCAPES = ("\x1b", "\x07", "\u202e")  # ESC (CSI/OSC), BEL (ends an OSC), a bidi override
OSC52 = "\x1b]52;c;ZXZpbA==\x07"  # would write 'evil' to the clipboard of whoever looks


def drawn(app: KeyzApp) -> str:
    """Every character the screen would send to the terminal (the compositor's strips)."""
    return "".join(seg.text for strip in app.screen._compositor.render_strips() for seg in strip)


def test_control_characters_from_names_and_files_are_shown_escaped(
    make_sandbox: MakeStore, simulator: Simulator
) -> None:
    """A pass entry's name is a file name anyone with push access to a shared store picks, and
    sidecars and state are files: an ESC, BEL or bidi override in them is shown as an escape
    ('\\x1b'), never sent to the terminal (an OSC 52 would write the clipboard)."""
    hostile = f"api/x{OSC52}\x1b[2J\u202eevil"
    box = make_sandbox(
        {hostile: f"{CANARY}\n", f"d{OSC52}/mail": "hunter2\n", "api/deepseek": f"{CANARY}\n"}
    )
    keyz_dir = box.store / ".keyz"
    init_keyz_dir(keyz_dir)
    set_entry(keyz_dir, EntryConfig("api/deepseek", "deepseek"))
    simulator.deepseek(CANARY, [("CNY", "1.00", "0.00", "1.00")])
    store = PassStore(box.store)
    assert not run_sync(store, load_config(store.keyz_dir), ["api/deepseek"]).failed
    path = sc.sidecar_path(keyz_dir, "api/deepseek")
    data = json.loads(path.read_text())
    data["notes"] = [f"note{OSC52}\u202e"]
    path.write_text(json.dumps(data))
    state = keyz_dir / "state" / "entries.json"
    raw = json.loads(state.read_text())
    raw["entries"]["api/deepseek"]["last_error"] = f"boom{OSC52}"
    state.write_text(json.dumps(raw))
    app = app_for(box.store)

    async def steps(pilot: Pilot[None]) -> None:
        for name in list(app.nodes):
            await select(pilot, name)
            screen = drawn(app)
            assert not [c for c in ESCAPES if c in screen], name
        await select(pilot, hostile)
        await pilot.press("r", "t")  # untracked: said on the status line; t: not a key
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert not [c for c in ESCAPES if c in drawn(app)]
        assert "\\x1b]52" in drawn(app)  # shown, escaped, not hidden

    drive(app, steps)


def test_a_state_file_broken_while_open_is_said_not_left_hanging(sandbox: Sandbox) -> None:
    """keyz's state turning unreadable while the UI is open (a newer keyz run by cron, a
    hand edit): the sync fails, and the redraw after it must say why instead of dying in the
    worker and leaving 'syncing…' on the status line for good."""
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        await select(pilot, "api/deepseek")
        state = sandbox.store / ".keyz" / "state" / "entries.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text("{not json")
        await pilot.press("r")
        await settle(pilot)
        assert app.busy is None
        status = text_of(app, "#status")
        assert "syncing" not in status and "entries.json" in status
        assert "entries.json" in text_of(app, "#detail")  # said on the entry too
        await pilot.press("r")  # and the next one runs (and fails the same way), no 'wait:'
        await settle(pilot)
        assert "wait" not in text_of(app, "#status")
        assert app.is_running

    drive(app, steps)


def test_t_when_config_toml_cannot_be_read_back_says_so(sandbox: Sandbox) -> None:
    """t tracks the entry, then reads config.toml again on the UI thread: if that fails (a
    hand edit in between), the UI says so and keeps running with the config it had."""
    store = PassStore(sandbox.store)
    config = load_config(store.keyz_dir)

    def broken() -> Config:
        raise ConfigError("config.toml: invalid TOML at line 3")

    app = KeyzApp(store, config, load_config=broken)

    async def steps(pilot: Pilot[None]) -> None:
        await select(pilot, "more/deepseek")
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running
        assert "invalid TOML at line 3" in text_of(app, "#status")
        await pilot.press("r")  # the app still answers
        await settle(pilot)
        assert app.is_running

    drive(app, steps)


def test_q_during_a_sync_lets_the_run_finish_and_record(
    sandbox: Sandbox, simulator: Simulator
) -> None:
    """Quitting while a sync is in flight: the worker's progress calls find no app; they must
    not raise into run_sync, which would then stop before saving the state (the failure
    count, the last error) and committing."""
    slow = Answer(500, headers={"Retry-After": "0"}, delay=1.0)
    simulator.fail(CANARY, slow, *SERVER_ERROR[1:])
    app = app_for(sandbox.store)

    async def steps(pilot: Pilot[None]) -> None:
        await select(pilot, "api/deepseek")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("q")  # while the provider is still answering

    drive(app, steps)
    with store_lock(sandbox.store / ".git" / "keyz.lock", wait=30):  # the run has ended
        state = json.loads((sandbox.store / ".keyz" / "state" / "entries.json").read_text())
    assert state["entries"]["api/deepseek"]["failures"] == 1
