"""``keyz ui``: the pass store as a tree with balances at a glance, in a terminal UI (Textual).

The only home of Textual (and the rich text it draws). It reads what ``keyz status`` and
``keyz history`` read, through the same functions (:func:`keyz.status.collect_status`,
:mod:`keyz.health`, :mod:`keyz.history`, :mod:`keyz.render`), and syncs through
:func:`keyz.sync.run_sync` in a worker thread, so the screen never waits for gpg, git or
the network. Nothing is decrypted but to sync, and to check a key's shape when ``t``
tracks an entry (:func:`keyz.tracking.track_entry`); no secret is ever drawn: every
message goes through :func:`keyz.redact.redact`.

The first half of this module is plain data (what a tree row and the details pane say),
the second the Textual app that shows it.
"""

from __future__ import annotations

import asyncio
import signal
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Final

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, OptionList, Sparkline, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from keyz.clock import utc_now
from keyz.errors import Interrupted, KeyzError
from keyz.redact import redact

# The sidecar models (pydantic) are the slow import: the screen is up before they are loaded,
# by the worker that reads the store (KeyzApp.on_mount); what needs them imports them inside.
if TYPE_CHECKING:
    from keyz.config import Config
    from keyz.history import Point, Summary
    from keyz.sidecar import Sidecar
    from keyz.status import StatusRow
    from keyz.store import PassStore
    from keyz.sync import EntryResult, SyncResult
    from keyz.tracking import Tracked

DEFAULT_AUTOSYNC: Final = timedelta(minutes=15)  # [defaults] ui_autosync when config sets none
BADGE_STYLES: Final = {
    "live": "green",
    "stale": "yellow",
    "failed": "bold red",
    "low": "bold magenta",
    "new": "cyan",
}

# --- what the screen says: plain data, no Textual --------------------------------------------


def shown(text: str) -> str:
    """Text from outside (an entry's name, an error, a note) as it may be drawn: secrets
    masked, then control and format characters (ESC, BEL, newline, bidi overrides) as escapes
    ('\\x1b', '\\u202e'). A pass entry's name is a file name anyone who can push to a shared
    store picks, and sidecars and state are files: raw, an ESC in them reaches the terminal
    (an OSC 52 writes the clipboard, a CSI clears the screen)."""
    return "".join(
        ascii(c)[1:-1]
        if c != " " and (c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn"))
        else c
        for c in redact(text)
    )


@dataclass(frozen=True)
class EntryView:
    """One pass entry as the tree shows it; ``row`` is ``keyz status``'s, None if untracked."""

    entry: str
    row: StatusRow | None = None
    low: bool = False  # below a threshold of config.toml (keyz check's is_low)

    @property
    def tracked(self) -> bool:
        return self.row is not None

    @property
    def badges(self) -> list[str]:
        """live, stale, failed (the last good figures are kept), low, new (never synced)."""
        from keyz.health import Kind

        if self.row is None:
            return []
        kinds = {p.kind for p in self.row.problems}
        found = []
        if kinds & {Kind.FAILED, Kind.UNREADABLE}:
            found.append("failed")
        if Kind.NEVER in kinds:
            found.append("new")
        if Kind.STALE in kinds:
            found.append("stale")
        if not found:
            found.append("live")
        if self.low:
            found.append("low")
        return found

    @property
    def mini(self) -> str:
        """'¥98', '62%', '$12.40/mo': render.short_figure, as ``keyz status --format short``."""
        from keyz.render import short_figure

        if self.row is None or self.row.sidecar is None:
            return ""
        return short_figure(self.row.sidecar)


@dataclass
class StoreView:
    """Every pass entry (and any tracked one missing from the store), by name."""

    views: dict[str, EntryView] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return sorted(self.views)

    def under(self, directory: str) -> list[str]:
        """The entries below ``directory`` ('api/'), every one for ''."""
        return [name for name in self.names if name.startswith(directory)]

    def tracked_under(self, directory: str) -> list[str]:
        return [name for name in self.under(directory) if self.views[name].tracked]


def entry_views(config: Config, rows: Iterable[StatusRow]) -> dict[str, EntryView]:
    from keyz.check import is_low

    return {
        row.entry: EntryView(
            row.entry,
            row,
            row.sidecar is not None and is_low(config, config.entries[row.entry], row.sidecar),
        )
        for row in rows
    }


def load_view(store: PassStore, config: Config, now: datetime | None = None) -> StoreView:
    """``keyz status``'s rows for the tracked entries, the store's names for the rest."""
    from keyz.status import collect_status

    views = {name: EntryView(name) for name in store.entries()}
    views.update(entry_views(config, collect_status(store, config, now)))
    return StoreView(views)


def row_label(view: EntryView, *, syncing: bool = False) -> Text:
    """'deepseek  ds ¥98 live': the leaf's name, then for a tracked entry its provider's short
    name, its main figure and its badges; an untracked entry dim."""
    from keyz.render import short_name

    name = shown(view.entry.rsplit("/", 1)[-1])
    if view.row is None:
        return Text(name, style="dim")
    label = Text(name)
    label.append("  ")
    label.append(short_name(view.row.provider), style="bold")
    if view.mini:
        label.append(f" {view.mini}")
    for badge in view.badges:
        label.append(" ")
        label.append(badge, style=BADGE_STYLES[badge])
    if syncing:
        label.append(" ")
        label.append("⟳", style="cyan")
    return label


def figure_lines(sidecar: Sidecar) -> list[tuple[str, str]]:
    """(figure, provenance) per figure: provenance is 'reported' or 'derived', then the
    endpoint it came from."""
    from keyz.render import balance_text, key_limit_text, quota_text, spend_texts

    def where(derived: bool, source: str | None) -> str:
        return ("derived" if derived else "reported") + (f" · {source}" if source else "")

    lines = [(balance_text(b), where("remaining" in b.derived, b.source)) for b in sidecar.balances]
    if sidecar.key_limit is not None:
        cap = sidecar.key_limit
        lines.append((key_limit_text(cap), where(bool(cap.derived), cap.source)))
    for spend in sidecar.spend:
        lines.extend(
            (text, where(bool(spend.derived), spend.source)) for text in spend_texts([spend])
        )
    lines.extend(
        (quota_text(q), where("remaining_percent" in q.derived, q.source)) for q in sidecar.quotas
    )
    if sidecar.available is False:
        lines.append(("not available for API calls", where(False, None)))
    lines.extend((note, "note") for note in sidecar.notes)
    return lines


def key_needed(provider_id: str) -> str:
    from keyz.providers import get_provider

    try:
        return get_provider(provider_id).key_needed()
    except KeyzError:  # a hand-edited config naming an unknown provider
        return "unknown: keyz does not know this provider"


def entry_detail(view: EntryView, note: str | None, now: datetime) -> Text:
    """The right pane's text for one entry: provider, key kind, badges, last sync and error,
    every figure with its provenance. Never a secret: no key is read to draw it."""
    from keyz.health import Kind
    from keyz.render import DERIVED_MARK, age, short_name

    out = Text()
    out.append(f"{shown(view.entry)}\n", style="bold")
    row = view.row
    if row is None:
        out.append("not tracked: keyz does not check this entry\n", style="dim")
        from keyz.discover import path_guess

        guess, _, _ = path_guess(view.entry)
        hint = f" (its name says {guess!r})" if guess else ""
        out.append(f"press t to track it with a provider{hint}\n")
    else:
        out.append("provider  ", style="dim")
        out.append(f"{row.provider} ({short_name(row.provider)})\n")
        out.append("key       ", style="dim")
        out.append(f"{key_needed(row.provider)}\n")
        out.append("badges    ", style="dim")
        for badge in view.badges:
            out.append(f"{badge} ", style=BADGE_STYLES[badge])
        out.append("\n")
        state = row.state
        checked = state.last_checked or (row.sidecar.observed_at if row.sidecar else None)
        out.append("checked   ", style="dim")
        out.append(f"{age(checked, now)}")
        if state.last_success is not None:
            out.append(f" · last success {age(state.last_success, now)}")
        out.append("\n")
        out.append("error     ", style="dim")
        if state.last_error:
            out.append(f"{shown(state.last_error)}\n", style="red")
        else:
            out.append("none\n")
        for problem in row.problems:
            if problem.kind not in (Kind.FAILED,):
                out.append(f"! {shown(problem.mark)}\n", style="yellow")
        out.append("\n")
        if row.sidecar is None:
            out.append("no figures yet: press r to sync it\n", style="dim")
        else:
            observed = row.sidecar.observed_at
            out.append(
                f"figures of {observed:%Y-%m-%d %H:%M}Z ({age(observed, now)})\n", style="bold"
            )
            lines = [(shown(text), shown(where)) for text, where in figure_lines(row.sidecar)]
            width = max((len(text) for text, _ in lines), default=0)
            for text, where in lines:
                out.append(f"  {text.ljust(width)}  ")
                out.append(f"{where}\n", style="dim")
            if not lines:
                out.append("  no figures reported\n", style="dim")
            if any(text.endswith(DERIVED_MARK) or DERIVED_MARK + " " in text for text, _ in lines):
                out.append(f"  {DERIVED_MARK} derived by keyz from reported figures\n", style="dim")
    if note:
        out.append(f"\n{shown(note)}\n", style="bold red")
    return out


def directory_detail(directory: str, store_view: StoreView) -> Text:
    names = store_view.under(directory)
    tracked = [store_view.views[n] for n in store_view.tracked_under(directory)]
    counts: dict[str, int] = {}
    for view in tracked:
        for badge in view.badges:
            counts[badge] = counts.get(badge, 0) + 1
    out = Text()
    out.append(f"{shown(directory) or 'the store'}\n", style="bold")
    out.append(f"{len(names)} entries, {len(tracked)} tracked\n")
    for badge, count in sorted(counts.items()):
        out.append(f"{count} {badge}  ", style=BADGE_STYLES[badge])
    if tracked:
        out.append(
            f"\n\nR syncs the {len(tracked)} tracked entries below {shown(directory) or '/'}\n"
        )
    return out


@dataclass(frozen=True)
class Trend:
    """What the git ledger says about one entry: the main figure's points, a line per figure."""

    entry: str
    name: str = ""  # the main figure's name, e.g. 'CNY'
    points: Sequence[Point] = ()
    lines: Sequence[str] = ()  # history.summary_line per figure: burn, runway or why not, top-ups
    top_ups: int = 0
    problem: str | None = None


def read_trend(store: PassStore, entry: str) -> Trend:
    """keyz history ENTRY's figures and summaries, read from git (no gpg, no network)."""
    from keyz import history as hist
    from keyz.git_ops import GitRepo

    repo = GitRepo.find(store.root)
    if repo is None:
        return Trend(entry, problem="no history: the store is not a git repository")
    try:
        whole = hist.read_history(repo, entry)
    except KeyzError as exc:
        return Trend(entry, problem=f"cannot read the history: {exc}")
    finally:
        repo.close()
    found = hist.all_series(whole)
    if not found:
        return Trend(entry, problem=hist.why_empty(whole, "") if not whole.versions else "")
    summaries: list[Summary] = [
        s for s in (hist.summarize(whole, f, found[f]) for f in found) if s is not None
    ]
    main = next(iter(found))
    ups = next((len(s.top_ups) for s in summaries if s.figure == main), 0)
    return Trend(entry, main.name, found[main], [hist.summary_line(s) for s in summaries], ups)


# --- the app ----------------------------------------------------------------------------------

HELP: Final = """\
keyz ui: the tracked pass entries with their figures; nothing here shows a key.

  ↑ ↓ / j k   move              enter / space  fold or open a directory
  /           filter by name    escape         clear the filter
  r           sync the selected entry (the entries of a selected directory)
  R           sync every tracked entry of the selected entry's directory
  c           commit keyz's changed files (only those, as keyz sync --commit)
  t           track the selected untracked entry (pick its provider)
  a           autosync every {every} while open (on / off)
  ?           this help         q              quit

Badges: live · stale (older than max_age) · failed (last sync failed; the last good
figures are shown) · low (below alert_below / alert_below_percent) · new (never synced).
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(self.text, id="help")

    def action_close(self) -> None:
        self.dismiss(None)


class TrackScreen(ModalScreen[str | None]):
    """Pick the provider to track an entry with; the guess from its name first."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Cancel")]

    def __init__(self, entry: str, providers: Sequence[str], guess: str | None) -> None:
        super().__init__()
        self.entry = entry
        self.providers = list(providers)
        self.guess = guess

    def compose(self) -> ComposeResult:
        ordered = ([self.guess] if self.guess else []) + [
            p for p in self.providers if p != self.guess
        ]
        options = [
            Option(f"{pid}  (its name says so)" if pid == self.guess else pid, id=pid)
            for pid in ordered
        ]
        with Vertical(id="picker"):
            yield Static(
                Text(
                    f"Track {shown(self.entry)} with which provider? (enter picks, escape cancels)"
                )
            )
            yield OptionList(*options, id="providers")

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)


class KeyzApp(App[None]):
    """The tree on the left, the selected entry on the right, a status line and the keys."""

    TITLE = "keyz"
    ENABLE_COMMAND_PALETTE = False  # every action has its key; ? lists them
    CSS: ClassVar[str] = """
    #main { height: 1fr; }
    #left { width: 45%; min-width: 28; border-right: solid $primary-darken-2; }
    #filter { display: none; height: 3; }
    #filter.shown { display: block; }
    #tree { height: 1fr; }
    #right { width: 1fr; padding: 0 1; }
    #chart { height: 3; margin: 1 0 0 0; display: none; }
    #chart.shown { display: block; }
    #status { height: 1; padding: 0 1; background: $primary-darken-3; }
    HelpScreen, TrackScreen { align: center middle; }
    #help { width: 90; height: auto; padding: 1 2; border: round $primary; background: $surface; }
    #picker { width: 60; height: 20; border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "sync_selected", "sync"),
        Binding("R", "sync_subtree", "sync dir"),
        Binding("c", "commit", "commit"),
        Binding("t", "track", "track"),
        Binding("a", "autosync", "autosync"),
        Binding("slash", "filter", "filter"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
        Binding("j", "cursor('down')", show=False),
        Binding("k", "cursor('up')", show=False),
    ]

    def __init__(
        self,
        store: PassStore,
        config: Config,
        *,
        autosync: timedelta | None = None,
        load_config: Callable[[], Config] | None = None,
        takes_kills: bool = False,
    ) -> None:
        super().__init__()
        self.takes_kills = takes_kills  # in a terminal of its own (run_ui), not under a Pilot
        self.killed_by: int | None = None  # the SIGTERM or SIGHUP that ended it
        self.store = store
        self.config = config
        self.every = autosync or config_autosync(config)
        self._reload_config = load_config
        self.view = StoreView()
        self.nodes: dict[str, TreeNode[str]] = {}
        self.notes: dict[str, str] = {}  # the last failure of an action, shown on its entry
        self.trends: dict[str, Trend] = {}
        self.pending: set[str] = set()  # being synced now
        self.busy: str | None = None  # the sync or commit running, one at a time
        self.auto: Timer | None = None
        self.filter_text = ""
        self.message = ""

    # --- layout and data

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="filter by name", id="filter")
                tree: Tree[str] = Tree("store", data="", id="tree")
                tree.show_root = False
                tree.guide_depth = 2
                yield tree
            with VerticalScroll(id="right"):
                yield Static(id="detail")
                yield Sparkline([], id="chart")
                yield Static(id="trend")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        """The screen first, then the store: read in a worker, drawn when it is in."""
        if self.takes_kills:
            self._take_kills()
        self.query_one("#tree", Tree).focus()
        self.say("reading the store…")
        self.run_worker(self._load, thread=True, group="load", exit_on_error=False)

    def _take_kills(self) -> None:
        """A kill (SIGTERM) or a closed terminal (SIGHUP) ends the app as q does: Python's
        default left the terminal in the app's alternate screen with echo off. A signal
        ignored when keyz started (nohup) stays ignored; closing the loop gives both back."""
        loop = asyncio.get_running_loop()
        for signum in KILLS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                loop.add_signal_handler(signum, self._killed, signum)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, KILLS)  # one that came meanwhile: now

    def _killed(self, signum: int) -> None:
        self.killed_by = signum
        self.call_later(self.action_quit)  # q's own action

    def _load(self) -> None:
        try:
            view = load_view(self.store, self.config, utc_now())
        except KeyzError as exc:
            self.call_from_thread(self.say, str(exc), error=True)
        except Exception as exc:  # a bug must not take the screen down
            self.call_from_thread(self.say, f"internal error: {exc}", error=True)
        else:
            self.call_from_thread(self._loaded, view)

    def _loaded(self, view: StoreView) -> None:
        """Read status (sidecars and state: no gpg, no network) and draw the tree."""
        self.view = view
        self.build_tree()
        tracked = len(self.config.entries)
        self.say(
            f"{len(self.view.views)} entries, {tracked} tracked · ? for help"
            if self.view.views
            else "this store has no pass entries yet (pass insert adds one)"
        )

    def build_tree(self) -> None:
        tree: Tree[str] = self.query_one("#tree", Tree)
        selected = self.selected()
        tree.clear()
        self.nodes = {}
        wanted = self.filter_text.casefold()
        dirs: dict[str, TreeNode[str]] = {"": tree.root}
        for name in self.view.names:
            if wanted and wanted not in name.casefold():
                continue
            parent = ""
            parts = name.split("/")
            for part in parts[:-1]:
                here = f"{parent}{part}/"
                if here not in dirs:
                    dirs[here] = dirs[parent].add(
                        Text(f"{shown(part)}/", style="bold"), data=here, expand=True
                    )
                parent = here
            self.nodes[name] = dirs[parent].add_leaf(self.label(name), data=name)
        tree.root.expand()
        target = self.nodes.get(selected or "") or dirs.get(selected or "\0")
        if target is None and tree.root.children:
            target = tree.root.children[0]  # the first line, not none: keys act at once
        if target is not None:
            tree.move_cursor(target)
        self.show_selected()

    def label(self, name: str) -> Text:
        return row_label(self.view.views[name], syncing=name in self.pending)

    def refresh_entries(self, names: Iterable[str]) -> None:
        """New status rows for ``names`` (after one entry's sync), labels and details redrawn."""
        from keyz.status import collect_status

        names = set(names)
        try:
            rows = collect_status(self.store, self.config, utc_now(), only=names)
            self.view.views.update(entry_views(self.config, rows))
        except Exception as exc:  # state or config unreadable now: said on the entries
            why = str(exc) if isinstance(exc, KeyzError) else f"internal error: {exc}"
            for name in names:
                self.notes[name] = f"cannot read its status: {why}"
        for name in names:
            node = self.nodes.get(name)
            if node is not None and name in self.view.views:
                node.set_label(self.label(name))
        chosen = self.selected()
        if chosen in names or (chosen is not None and chosen.endswith("/")):
            self.show_selected()

    def fresh_store(self) -> PassStore:
        """A PassStore for one run: a run ends by stopping its gpg processes for good."""
        from keyz.store import PassStore

        return PassStore(self.store.root)

    def selected(self) -> str | None:
        """The selected entry ('api/deepseek') or directory ('api/'), None on an empty tree."""
        node = self.query_one("#tree", Tree).cursor_node
        return None if node is None or node.data is None else node.data

    def selected_entry(self) -> str | None:
        chosen = self.selected()
        return chosen if chosen and not chosen.endswith("/") else None

    def say(self, message: str, *, error: bool = False) -> None:
        self.message = shown(message)
        line = Text(self.message, style="bold red" if error else "")
        if self.busy:
            line = Text.assemble((f"{self.busy} · ", "cyan"), line)
        if self.auto is not None:
            line.append(f"  [autosync every {_every(self.every)}]", style="green")
        self.query_one("#status", Static).update(line)

    # --- the right pane

    @on(Tree.NodeHighlighted)
    def highlighted(self) -> None:
        self.show_selected()

    def show_selected(self) -> None:
        detail = self.query_one("#detail", Static)
        chosen = self.selected()
        if chosen is None:
            detail.update(
                Text("no entries match the filter" if self.filter_text else "no pass entries")
            )
            self.show_trend(None)
        elif chosen.endswith("/") or chosen not in self.view.views:
            detail.update(directory_detail(chosen, self.view))
            self.show_trend(None)
        else:
            view = self.view.views[chosen]
            detail.update(entry_detail(view, self.notes.get(chosen), utc_now()))
            if not view.tracked:
                self.show_trend(None)
            elif chosen in self.trends:
                self.show_trend(self.trends[chosen])
            else:
                self.show_trend(Trend(chosen, problem="reading the history…"))
                self.run_worker(
                    lambda: self._read_trend(chosen),
                    thread=True,
                    group="history",
                    exclusive=True,
                    exit_on_error=False,
                )

    def _read_trend(self, entry: str) -> None:
        try:
            trend = read_trend(self.store, entry)
        except Exception as exc:  # a bug must not take the screen down: said on the entry
            trend = Trend(entry, problem=f"internal error reading the history: {exc}")
        self.call_from_thread(self._got_trend, trend)

    def _got_trend(self, trend: Trend) -> None:
        self.trends[trend.entry] = trend
        if self.selected() == trend.entry:
            self.show_trend(trend)

    def show_trend(self, trend: Trend | None) -> None:
        chart = self.query_one("#chart", Sparkline)
        text = self.query_one("#trend", Static)
        if trend is None:
            chart.set_class(False, "shown")
            text.update("")
            return
        out = Text()
        if trend.points:
            chart.data = [float(p.remaining) for p in trend.points]  # a picture: floats are fine
            chart.set_class(True, "shown")
            first, last = trend.points[0].at, trend.points[-1].at
            out.append(
                f"{shown(trend.name)}: {len(trend.points)} observations, "
                f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
                + (f", {trend.top_ups} top-up(s) ↑" if trend.top_ups else "")
                + "\n",
                style="dim",
            )
        else:
            chart.set_class(False, "shown")
        for line in trend.lines:
            out.append(f"{shown(line)}\n")
        if trend.problem:
            out.append(f"{shown(trend.problem)}\n", style="dim")
        text.update(out)

    # --- actions

    def action_cursor(self, direction: str) -> None:
        tree = self.query_one("#tree", Tree)
        if direction == "down":
            tree.action_cursor_down()
        else:
            tree.action_cursor_up()

    def action_sync_selected(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        if chosen.endswith("/"):
            self.sync(self.view.tracked_under(chosen), f"{chosen}")
        elif self.view.views[chosen].tracked:
            self.sync([chosen], chosen)
        else:
            self.say(f"{chosen} is not tracked: t tracks it", error=True)

    def action_sync_subtree(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        directory = chosen if chosen.endswith("/") else chosen.rpartition("/")[0]
        directory = f"{directory}/" if directory and not directory.endswith("/") else directory
        self.sync(self.view.tracked_under(directory), directory or "the store")

    def sync(self, names: list[str], what: str) -> None:
        if self.busy:
            self.say(f"wait: {self.busy}")
            return
        if not names:
            self.say(f"nothing tracked in {what}", error=True)
            return
        self.busy = f"syncing {what}"
        self.pending = set(names)
        for name in names:
            self.notes.pop(name, None)
            if name in self.nodes:
                self.nodes[name].set_label(self.label(name))
        self.say(f"0/{len(names)} · decrypting…")
        self.run_worker(
            lambda: self._sync_thread(names), thread=True, group="sync", exit_on_error=False
        )

    def _sync_thread(self, names: list[str]) -> None:
        from keyz.sync import run_sync

        def tell(show: Callable[..., object], *args: object) -> None:
            """To the screen, if it is still there: raised into run_sync, a UI that quit
            mid-run would abort it before the state is saved and the sidecars committed."""
            try:
                self.call_from_thread(show, *args)
            except Exception:  # the app has quit (or a redraw failed): the run goes on
                return

        def progress(done: int, total: int, waiting: str | None) -> None:
            tail = f" · waiting for {waiting}" if waiting else " · decrypting…" if not done else ""
            tell(self.say, f"{done}/{total}{tail}")

        def on_result(result: EntryResult) -> None:
            tell(self._entry_synced, result)

        try:
            done = run_sync(
                self.fresh_store(),
                self.config,
                names,
                git_mode=self.config.git,
                progress=progress,
                on_result=on_result,
            )
        except KeyzError as exc:  # busy, git missing, ...: the run's, said on the status line
            self.call_from_thread(self._sync_failed, names, str(exc))
        except Exception as exc:  # a bug must not take the screen down
            self.call_from_thread(self._sync_failed, names, f"internal error: {exc}")
        else:
            self.call_from_thread(self._sync_done, done)

    def _entry_synced(self, result: EntryResult) -> None:
        self.pending.discard(result.entry)
        self.trends.pop(result.entry, None)  # its failure is in its state: the error line
        self.refresh_entries([result.entry])

    def _sync_failed(self, names: list[str], message: str) -> None:
        self.busy = None
        self.pending.clear()
        self.refresh_entries(names)
        self.say(f"sync: {message}", error=True)

    def _sync_done(self, result: SyncResult) -> None:
        self.busy = None
        self.pending.clear()
        self.refresh_entries([e.entry for e in result.entries])
        failed = [e.entry for e in result.entries if e.error is not None]
        parts = [f"synced {len(result.entries) - len(failed)} of {len(result.entries)}"]
        if failed:
            parts.append(f"failed: {', '.join(failed)}")
        parts.extend(_git_outcome(result))
        self.say(" · ".join(parts), error=bool(failed) or result.git_error is not None)

    def action_commit(self) -> None:
        if self.busy:
            self.say(f"wait: {self.busy}")
            return
        self.busy = "committing"
        self.say("keyz's changed files…")
        self.run_worker(self._commit_thread, thread=True, group="sync", exit_on_error=False)

    def _commit_thread(self) -> None:
        from keyz.sync import commit_changes

        try:
            result = commit_changes(self.fresh_store())
        except KeyzError as exc:
            self.call_from_thread(self._committed, None, str(exc))
        except Exception as exc:  # a bug must not take the screen down
            self.call_from_thread(self._committed, None, f"internal error: {exc}")
        else:
            self.call_from_thread(self._committed, result, None)

    def _committed(self, result: SyncResult | None, error: str | None) -> None:
        self.busy = None
        self.trends.clear()
        if result is None:
            self.say(f"commit: {error}", error=True)
        else:
            self.say(" · ".join(_git_outcome(result)), error=result.git_error is not None)
        self.show_selected()

    def action_track(self) -> None:
        from keyz.discover import path_guess
        from keyz.providers import KNOWN

        entry = self.selected_entry()
        if entry is None:
            self.say("select an entry to track", error=True)
            return
        view = self.view.views[entry]
        if view.row is not None:
            self.say(
                f"{entry} is tracked with {view.row.provider} already "
                f"(keyz track {entry} -p ID --force moves it)"
            )
            return
        guess, _, _ = path_guess(entry)

        def picked(provider_id: str | None) -> None:
            if provider_id:
                self.say(f"checking {entry}'s key for {provider_id}…")
                self.run_worker(
                    lambda: self._track_thread(entry, provider_id),
                    thread=True,
                    group="track",
                    exit_on_error=False,
                )

        self.push_screen(TrackScreen(entry, KNOWN, guess), picked)

    def _track_thread(self, entry: str, provider_id: str) -> None:
        from keyz.tracking import track_entry

        try:
            done = track_entry(self.fresh_store(), self.config, entry, provider_id)
        except KeyzError as exc:
            self.call_from_thread(self._tracked, entry, None, str(exc))
        except Exception as exc:  # a bug must not take the screen down
            self.call_from_thread(self._tracked, entry, None, f"internal error: {exc}")
        else:
            self.call_from_thread(self._tracked, entry, done, None)

    def _tracked(self, entry: str, done: Tracked | None, error: str | None) -> None:
        if done is None:
            self.notes[entry] = f"not tracked: {error}"
            self.show_selected()
            self.say(f"not tracked: {error}", error=True)
            return
        self.notes.pop(entry, None)
        if self._reload_config is not None:
            try:
                self.config = self._reload_config()
            except KeyzError as exc:  # config.toml edited meanwhile: keep the config we have
                self.say(f"{done.message}, but config.toml cannot be read back: {exc}", error=True)
                return
        self.refresh_entries([entry])
        warnings = "".join(f" · warning: {w}" for w in done.warnings)
        self.say(f"{done.message}; r syncs it{warnings}")

    def action_autosync(self) -> None:
        if self.auto is not None:
            self.auto.stop()
            self.auto = None
            self.say("autosync off")
            return
        self.auto = self.set_interval(self.every.total_seconds(), self.autosync_tick)
        self.say(f"autosync on: every tracked entry every {_every(self.every)} while open")

    def autosync_tick(self) -> None:
        if not self.busy:
            self.sync(self.view.tracked_under(""), "every tracked entry")

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.build_tree()

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        self.query_one("#tree", Tree).focus()

    def key_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("shown"):
            box.value = ""
            box.remove_class("shown")
            self.filter_text = ""
            self.build_tree()
            self.query_one("#tree", Tree).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(HELP.format(every=_every(self.every))))


def _git_outcome(result: SyncResult) -> list[str]:
    """What git did, in ``keyz sync``'s words."""
    parts = [f"warning: {w}" for w in result.warnings]
    if result.git_error is not None:
        parts.append(str(result.git_error))
    elif result.commit and result.commit.commit:
        count = len(result.commit.paths)
        parts.append(f"committed {result.commit.commit[:12]} ({count} file{'s' * (count != 1)})")
    elif result.git_mode == "commit":
        parts.append("nothing changed; no commit")
    elif result.git_mode == "stage" and result.staged:
        parts.append(f"staged {len(result.staged)} file(s)")
    return parts


def _every(duration: timedelta) -> str:
    from keyz.alerts import format_duration

    return format_duration(duration)


KILLS: Final = frozenset({signal.SIGTERM, signal.SIGHUP})  # what ends keyz ui as q does


def config_autosync(config: Config) -> timedelta:
    return config.ui_autosync or DEFAULT_AUTOSYNC


def run_ui(store: PassStore, config: Config, load_config: Callable[[], Config]) -> None:
    """Run the app in this terminal until ``q``, a kill or a closed terminal (then, once the
    terminal is given back: ``keyz: interrupted``, exit 130, as ``keyz demo`` says it)."""
    app = KeyzApp(store, config, load_config=load_config, takes_kills=True)
    # Textual takes the terminal (alternate screen, echo off) before on_mount can take the
    # kills: one in between waits, blocked, and reaches the app's handler once it is there.
    signal.pthread_sigmask(signal.SIG_BLOCK, KILLS)
    try:
        app.run()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, KILLS)
    if app.killed_by is not None:
        raise Interrupted("interrupted")


__all__ = [
    "DEFAULT_AUTOSYNC",
    "EntryView",
    "KeyzApp",
    "StoreView",
    "Trend",
    "entry_detail",
    "figure_lines",
    "load_view",
    "read_trend",
    "row_label",
    "run_ui",
]
