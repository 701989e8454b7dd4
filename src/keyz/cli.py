"""The command line: parse → call the domain → render. The only module that imports click.

Domain modules are imported inside the commands, so ``keyz --help`` never pays
for httpx, pydantic, GitPython or python-gnupg; a name several commands need is
imported by one helper here. A command that can fail returns its exit code (EXIT_*);
``KeyzGroup.invoke`` is the one place that exits (docs/architecture.md).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click
from click.core import ParameterSource

from keyz import __version__
from keyz.clock import frozen_at, set_clock, utc_now
from keyz.errors import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BusyError,
    KeyzError,
    UsageError,
    is_ctrl_c,
)
from keyz.redact import clean, quiet_third_party_loggers, redact

if TYPE_CHECKING:
    from keyz.config import Config, EntryConfig, GitMode
    from keyz.cron import Plan
    from keyz.providers.base import Provider
    from keyz.sidecar import Sidecar
    from keyz.store import PassStore
    from keyz.sync import EntryResult, SyncResult

F = TypeVar("F", bound=Callable[..., object])


def _err(message: str) -> None:
    click.echo(redact(message), err=True)


def _one_of(**flags: bool) -> None:
    """Refuse two flags that contradict each other, naming both (exit 2)."""
    given = [f"--{name.replace('_', '-')}" for name, on in flags.items() if on]
    if len(given) > 1:
        raise UsageError(f"choose one of {given[0]} and {given[1]}")


def _out(text: str) -> None:
    if text:
        click.echo(redact(text))


def _json(document: object) -> None:
    # Indented for a person at a terminal; compact (and C-encoded, so fast) for programs.
    indent = 2 if sys.stdout.isatty() else None
    click.echo(redact(json.dumps(document, indent=indent, sort_keys=True, ensure_ascii=False)))


class KeyzGroup(click.Group):
    """The one error boundary and the one exit: a command's returned code, or a KeyzError's
    ('keyz: message' on stderr)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: object,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt:  # while the options are read: as in a command, not "Aborted!"
            _err("keyz: interrupted")
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None

    def invoke(self, ctx: click.Context) -> None:
        try:
            code = super().invoke(ctx)
        except KeyzError as exc:
            with contextlib.suppress(OSError):  # a closed terminal (SIGHUP): the code still says
                _err(f"keyz: {exc}")
            code = exc.exit_code
        except KeyboardInterrupt:  # Ctrl-C outside a sync: not click's "Aborted!" and exit 1
            _err("keyz: interrupted")
            code = EXIT_INTERRUPTED
        if code:
            ctx.exit(code)


class Env:
    """Lazily located store and config, shared by the commands."""

    def __init__(self, store_option: str | None) -> None:
        self.store_option = store_option

    def store(self) -> PassStore:
        from keyz.store import PassStore, locate_store

        return PassStore(locate_store(self.store_option))

    def config(self, store: PassStore) -> Config:
        from keyz.config import load_config

        return load_config(store.keyz_dir)


pass_env = click.make_pass_decorator(Env)


@click.group(cls=KeyzGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    metavar="PATH",
    envvar="PASSWORD_STORE_DIR",
    show_envvar=True,
    help="The pass store (default: $PASSWORD_STORE_DIR, else ~/.password-store).",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the output (default: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces).",
)
@click.version_option(__version__, prog_name="keyz")
@click.pass_context
def cli(ctx: click.Context, store: str | None, color: bool | None) -> None:
    """Balances, credits and limits of the AI API keys in your pass store.

    keyz decrypts the keys you track, asks each provider what is left, and
    writes one plain JSON file per entry under .keyz/ in the store, so
    `git log -p -- .keyz/` is your balance ledger.

    \b
    Start with:
      keyz init
      keyz track api/deepseek --provider deepseek
      keyz sync --commit
      keyz status
    """
    ctx.obj = Env(store)
    ctx.color = _color_choice(color)
    pretend = os.environ.get("KEYZ_NOW")  # the demo's and the tests' clock; the core reads none
    set_clock(frozen_at(pretend, "KEYZ_NOW") if pretend else None)


def _color_choice(option: bool | None) -> bool | None:
    """--color/--no-color, else NO_COLOR, else FORCE_COLOR; None: click colours a TTY only."""
    if option is not None:
        return option
    if os.environ.get("NO_COLOR"):  # no-color.org: any non-empty value
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    return None


def _paint(line: str, tone: str | None) -> str:
    """A line that must stand out: 'bad' (failed, low) red, 'warn' (stale) yellow, 'head' bold.

    click.echo drops the colour where it is not wanted (a pipe, NO_COLOR, --no-color)."""
    if tone == "bad":
        return click.style(line, fg="red", bold=True)
    if tone == "warn":
        return click.style(line, fg="yellow")
    return click.style(line, bold=True) if tone == "head" else line


def _fit() -> int | None:
    """The terminal's width when stdout is one; None on a pipe, where nothing is ever cut."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


NOTHING_TRACKED = (
    "Nothing tracked yet: keyz discover finds provider keys; or keyz track ENTRY -p ID"
)


# --- the domain names several commands need, each imported (lazily) in one place ----------


class _Columns:
    """Rows in columns as wide as their widest cell, each line cut to the terminal's width."""

    def __init__(self, rows: Sequence[Sequence[str]]) -> None:
        from keyz.render import column_widths

        self.widths = column_widths(rows)
        self.fit = _fit()

    def line(self, row: Sequence[str], tone: str | None = None, tail: str = "") -> str:
        from keyz.render import table_line

        return _paint(table_line(row, self.widths, self.fit, tail), tone)


def _table(rows: Sequence[Sequence[str]], fit: int | None = None) -> str:
    from keyz.render import table

    return table(rows, fit)


def _figures(sidecar: Sidecar) -> str:
    """'CNY 110.00 · USD 5.25', the key limit, spend and quotas: one line."""
    from keyz.render import summarize

    return summarize(sidecar)


def _any_derived(sidecars: Iterable[Sidecar | None]) -> bool:
    """Whether a figure shown is marked as derived by keyz (so the note goes with it)."""
    from keyz.render import has_derived

    return any(sidecar is not None and has_derived(sidecar) for sidecar in sidecars)


def _derived_note(shown: bool) -> None:
    from keyz.render import DERIVED_NOTE

    if shown:
        _err(DERIVED_NOTE)


def _is_low(config: Config, entry: EntryConfig, sidecar: Sidecar) -> bool:
    from keyz.check import is_low

    return is_low(config, entry, sidecar)


def _run_sync(
    store: PassStore,
    config: Config,
    names: Sequence[str] = (),
    *,
    git_mode: GitMode,
    progress: Callable[[int, int, str | None], None] | None = None,
    on_result: Callable[[EntryResult], None] | None = None,
) -> SyncResult:
    from keyz.sync import run_sync

    return run_sync(store, config, names, git_mode=git_mode, progress=progress, on_result=on_result)


@cli.command()
@pass_env
def init(env: Env) -> None:
    """Create .keyz/ in the store: config.toml, .gitignore, .gitattributes and a README.

    In a git store it also registers keyz's merge driver in .git/config, so that
    two machines' sidecars merge by keeping the newer observation. Safe to run
    again: files that exist are kept.

    \b
    Example:
      keyz init
    """
    from keyz.config import init_keyz_dir
    from keyz.merge import register_driver

    store = env.store()
    if not (store.root / ".gpg-id").is_file():
        raise UsageError(
            f"{store.root} is not a pass store (it has no .gpg-id); make it one with "
            "'pass init <gpg-id>', or point keyz at yours with --store PATH or PASSWORD_STORE_DIR"
        )
    created = init_keyz_dir(store.keyz_dir)
    env.config(store)  # one that was there already: readable, and keyz's to use?
    if created:
        names = ", ".join(path.name for path in created)
        _err(f"Created {store.keyz_dir}: {names}")
    else:
        _err(f"{store.keyz_dir} is already set up")
    if register_driver(store.root):
        _err(
            "Registered the keyz merge driver in .git/config "
            "(sidecars merge by keeping the newer one)"
        )
    _err("Next: keyz track ENTRY --provider ID   (keyz providers lists the IDs)")


def _complete_entries(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Pass entries for shell completion (names only; nothing is decrypted)."""
    try:
        store = Env(ctx.find_root().params.get("store")).store()
        return [name for name in store.entries() if name.startswith(incomplete)]
    except Exception:  # completion must never print an error into the user's shell
        return []


def _complete_providers(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The ids of the providers keyz can check, for shell completion."""
    from keyz.providers import KNOWN

    return [pid for pid in KNOWN if pid.startswith(incomplete)]


def _provider(provider_id: str) -> Provider:
    """The provider with this id (its module only is imported), or a UsageError naming the known."""
    from keyz.providers import get_provider

    return get_provider(provider_id)


def _entry_name(text: str) -> str:
    """ENTRY as pass names it, or a UsageError (no '..', no absolute path, ...)."""
    from keyz.store import validate_entry_name

    return validate_entry_name(text)


@cli.command()
@click.argument("entry", shell_complete=_complete_entries)
@click.option(
    "--provider",
    "-p",
    "provider_id",
    required=True,
    metavar="ID",
    shell_complete=_complete_providers,
    help="Provider id (see keyz providers).",
)
@click.option(
    "--option",
    "-o",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A provider option; repeatable.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Track it even if the first line does not look like an API key, or move it to ID.",
)
@pass_env
def track(env: Env, entry: str, provider_id: str, options: tuple[str, ...], force: bool) -> None:
    """Track pass entry ENTRY with provider ID.

    The entry must exist in the store; its first line is the API key. keyz
    decrypts it to check (never showing it) that it looks like an API key, and
    not like another provider's key. A tracked entry keeps its provider unless
    --force is given.

    \b
    Examples:
      keyz track api/deepseek --provider deepseek
      keyz track api/openrouter -p openrouter
    """
    from keyz.config import parse_option
    from keyz.tracking import track_entry

    store = env.store()
    config = env.config(store)  # set up and readable?
    name = _entry_name(entry)
    parsed = dict(parse_option(text) for text in options)
    done = track_entry(store, config, name, provider_id, parsed, force=force)
    for warning in done.warnings:
        _err(f"keyz: warning: {warning}")
    _err(done.message)


@cli.command()
@click.argument("entry", shell_complete=_complete_entries)
@click.option("--keep-sidecar", is_flag=True, help="Keep .keyz/entries/ENTRY.json on disk.")
@pass_env
def untrack(env: Env, entry: str, keep_sidecar: bool) -> None:
    """Stop tracking ENTRY (the pass entry itself is never touched).

    Its sidecar is removed unless --keep-sidecar is given; its history stays in git.

    \b
    Example:
      keyz untrack api/old-key
    """
    from keyz.config import remove_entry
    from keyz.fsutil import remove
    from keyz.sidecar import checked_path

    store = env.store()
    env.config(store)
    name = _entry_name(entry)
    path = checked_path(store.keyz_dir, name)  # a symlink in the way: refuse before any change
    if not remove_entry(store.keyz_dir, name):
        raise UsageError(f"{name} is not tracked (keyz status lists what is)")
    if not keep_sidecar and remove(store.keyz_dir, path):
        _err(f"Untracked {name}; removed {path.relative_to(store.root)} (its history stays in git)")
    else:
        _err(f"Untracked {name}")


@cli.command()
@click.argument("entries", nargs=-1, metavar="[ENTRY]...", shell_complete=_complete_entries)
@click.option("--commit", is_flag=True, help="Commit keyz's changed files (only those).")
@click.option("--stage", is_flag=True, help="Stage keyz's changed files, do not commit.")
@click.option("--no-git", is_flag=True, help="Only write files, whatever config.toml says.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option(
    "--quiet", "-q", is_flag=True, help="Print only problems (for cron: silent when all is well)."
)
@pass_env
def sync(
    env: Env,
    entries: tuple[str, ...],
    commit: bool,
    stage: bool,
    no_git: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """Ask the providers of the tracked entries (or only ENTRY...) and write the sidecars.

    Unchanged figures leave their file untouched. Without --commit, --stage or
    --no-git, [defaults] git in config.toml decides (default: off).

    \b
    Exit codes: 0 all good, 1 an entry failed or the commit was skipped,
    2 usage or configuration error, 75 busy (another keyz or git): try later,
    130 interrupted (Ctrl-C; it says which sidecars were written, not committed).

    \b
    Examples:
      keyz sync
      keyz sync --commit
      keyz sync api/deepseek --json
      keyz sync --commit --quiet     # as cron runs it
    """
    from keyz.sync import select_entries

    _one_of(commit=commit, stage=stage, no_git=no_git)
    _one_of(json=as_json, quiet=quiet)
    git_mode: GitMode | None = (
        "commit" if commit else "stage" if stage else "off" if no_git else None
    )
    store = env.store()
    config = env.config(store)
    live = _LiveSync(config, select_entries(config, entries))
    if as_json or quiet or not live.names:
        live.progress_on = live.rows_on = False
    live.show(0, len(live.names), None)  # before the lock, gpg and the network
    try:
        result = _run_sync(
            store,
            config,
            entries,
            git_mode=git_mode or config.git,
            progress=live.show,
            on_result=live.row,
        )
    finally:
        live.clear()
    if as_json:
        _json(result.to_json())
    else:
        _render_sync(result, config, quiet=quiet, rows_shown=live.rows_on)
        if not live.names and not quiet:
            _err(NOTHING_TRACKED)
    return _sync_exit_code(result)


class _LiveSync:
    """On a terminal: progress on stderr from the first moment, and each entry's row on stdout
    as soon as it is done. On a pipe: neither; the rows come at the end, in order."""

    def __init__(self, config: Config, entries: list[EntryConfig]) -> None:
        self.config = config
        self.names = [e.name for e in entries]
        self.columns = _Columns([(e.name, e.provider, "") for e in entries])
        self.progress_on = sys.stderr.isatty()
        self.rows_on = sys.stdout.isatty()
        self.line = ""

    def show(self, done: int, total: int, waiting: str | None) -> None:
        if not self.progress_on:
            return
        tail = f" · waiting for {waiting}" if waiting else " · decrypting…" if not done else ""
        self.line = f"syncing {done}/{total}{tail}"
        click.echo(f"\r\033[K{self.line}", nl=False, err=True)

    def clear(self) -> None:
        if self.progress_on and self.line:
            click.echo("\r\033[K", nl=False, err=True)

    def row(self, entry: EntryResult) -> None:
        if not self.rows_on:
            return
        self.clear()  # the same terminal, most likely: the row goes where the progress was
        _out(self.columns.line(_sync_row(entry), _sync_tone(entry, self.config)))
        self.line = ""  # the progress call that follows every result draws it again


def _sync_exit_code(result: SyncResult) -> int:
    if isinstance(result.git_error, BusyError):
        return EXIT_BUSY
    return EXIT_FAILED if result.failed else EXIT_OK


def _sync_row(entry: EntryResult) -> tuple[str, str, str]:
    if entry.error is None and entry.sidecar is not None:
        return (entry.entry, entry.provider, _figures(entry.sidecar))
    last = f"last good: {_figures(entry.sidecar)}" if entry.sidecar else "no values yet"
    return (entry.entry, entry.provider, f"FAILED ({last})")


def _sync_tone(entry: EntryResult, config: Config) -> str | None:
    if entry.error is not None:
        return "bad"
    tracked = config.entries.get(entry.entry)
    if tracked is None or entry.sidecar is None:
        return None
    return "bad" if _is_low(config, tracked, entry.sidecar) else None


def _render_sync(
    result: SyncResult, config: Config, *, quiet: bool = False, rows_shown: bool = False
) -> None:
    if quiet:  # problems only: one line each
        for entry in result.entries:
            if entry.error:
                _err(f"keyz: {entry.entry}: {entry.error}")
        if result.git_error is not None:
            _err(f"keyz: {result.git_error}")
        return
    if not rows_shown:  # else they were shown as they finished, on a terminal
        rows = [_sync_row(entry) for entry in result.entries]
        columns = _Columns(rows)
        lines = [
            columns.line(row, _sync_tone(entry, config))
            for row, entry in zip(rows, result.entries, strict=True)
        ]
        _out("\n".join(lines))
    _derived_note(_any_derived(entry.sidecar for entry in result.entries))
    for entry in result.entries:
        if entry.error:
            _err(f"keyz: {entry.entry}: {entry.error}")
    for warning in result.warnings:
        _err(f"keyz: warning: {warning}")
    if result.git_error is not None:
        _err(f"keyz: {result.git_error}")
    elif result.commit and result.commit.commit:
        count = len(result.commit.paths)
        _err(
            f"Committed {result.commit.commit[:12]} ({count} file{'s' if count != 1 else ''} under .keyz/)"
        )
    elif result.git_mode == "commit":
        _err("Nothing changed; no commit")
    elif result.git_mode == "stage":
        _err(
            f"Staged {len(result.staged)} file(s) under .keyz/"
            if result.staged
            else "Nothing changed to stage"
        )


@cli.command()
@click.argument("entries", nargs=-1, metavar="[ENTRY]...", shell_complete=_complete_entries)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option(
    "--format",
    "style",
    type=click.Choice(["table", "short"]),
    default="table",
    show_default=True,
    help="short: one line for a status bar (i3blocks, waybar, tmux), in whole units: money "
    "left rounded down, spend rounded up.",
)
@click.option(
    "--total",
    is_flag=True,
    help="Add totals per currency (balances, key limits left, spent this month); in one "
    "currency only at the [rates] of config.toml.",
)
@click.option(
    "--forecast",
    is_flag=True,
    help="Add forecasts: month-end spend, runway as a date, whether a quota window lasts "
    "until its reset (reads the git ledger).",
)
@pass_env
def status(
    env: Env, entries: tuple[str, ...], as_json: bool, style: str, total: bool, forecast: bool
) -> None:
    """Show the last known figures of every tracked entry (or only ENTRY..., one in full).

    No network and no gpg: this reads .keyz/ only. Columns: entry, provider,
    when it was last checked, figures. Entries whose last sync failed, or that
    were not checked within [defaults] max_age (2d), are marked with "!", as
    keyz check would say. On a terminal, each line fits its width (cut with
    "…"; ENTRY or --json show everything), and failed or low entries are red,
    stale ones yellow.
    Figures keyz computed rather than read (e.g. credits - usage) end in "*".

    --total sums per currency; across currencies only with the rates you set
    in [rates] (never fetched). --forecast projects this month's spend from
    the provider's daily buckets (after 7 days of the month), tells the
    runway as a date, and whether a quota window lasts until its reset; each
    says "not enough history" rather than a number it cannot stand behind.
    Totals and forecasts are derived ("*").

    \b
    Examples:
      keyz status
      keyz status api/openrouter      # every figure of one entry, one per line
      keyz status --json | jq '.entries[] | {entry, spendable, stale}'
      keyz status --format short      # ds ¥98 · or $74 · mm 62%
      keyz status --total --forecast
    """
    from keyz.fields import format_time
    from keyz.forecast import for_entries
    from keyz.render import account_key_lines, age, short_line, summary_parts
    from keyz.status import collect_status
    from keyz.totals import total as sum_up

    source = click.get_current_context().get_parameter_source("style")
    _one_of(json=as_json, format=source is ParameterSource.COMMANDLINE)
    if style == "short" and (total or forecast):
        raise UsageError(
            "--format short is one line for a status bar; leave out --total and --forecast"
        )
    store = env.store()
    config = env.config(store)
    for name in entries:
        if name not in config.entries:
            raise UsageError(
                f"{name} is not tracked; keyz track {name} -p ID tracks it"
                if store.has_entry(name)
                else f"{name} is neither tracked nor a pass entry (pass ls, keyz status)"
            )
    rows = [row for row in collect_status(store, config) if not entries or row.entry in entries]
    entry = rows[0].entry if len(entries) == 1 and rows else None  # one entry: in full
    sums = sum_up(rows, config.rates)
    ahead = (
        for_entries(store.root, ((r.entry, r.sidecar) for r in rows), utc_now()) if forecast else {}
    )
    if as_json:
        document: dict[str, object] = {
            "entries": [
                {
                    **row.to_json(),
                    **({"forecasts": [f.to_json() for f in ahead[row.entry]]} if forecast else {}),
                }
                for row in rows
            ],
            "totals": sums.to_json(),
        }
        _json(document)
        return
    if style == "short":
        _out(short_line([(r.entry, r.provider, r.sidecar, r.problem is not None) for r in rows]))
        return
    if not rows:
        _err(NOTHING_TRACKED)
        return
    tones = []
    for row in rows:
        low = row.sidecar is not None and _is_low(config, config.entries[row.entry], row.sidecar)
        tones.append("bad" if low else row.tone)
    derived = _any_derived(row.sidecar for row in rows)
    if entry is not None:  # everything about one entry, never cut
        (row,) = rows
        checked = row.state.last_checked or (row.sidecar.observed_at if row.sidecar else None)
        seen = f", figures of {format_time(row.sidecar.observed_at)}" if row.sidecar else ""
        lines = [f"{row.entry} ({row.provider}), checked {age(checked)}{seen}"]
        lines += [f"  {part}" for part in (summary_parts(row.sidecar) if row.sidecar else [])]
        lines += [f"  {line}" for line in (account_key_lines(row.sidecar) if row.sidecar else [])]
        lines += [f"  {found.text()}" for found in ahead.get(row.entry, [])]
        lines += [f"  ! {row.problem}"] if row.problem else []
        _out(
            "\n".join(_paint(line, tones[0] if line.startswith("  !") else None) for line in lines)
        )
    else:
        table = [("ENTRY", "PROVIDER", "CHECKED", "FIGURES")]
        tails = [""]
        for row in rows:
            checked = row.state.last_checked or (row.sidecar.observed_at if row.sidecar else None)
            figures = _figures(row.sidecar) if row.sidecar else "no values yet"
            told = [found.text(short=True) for found in ahead.get(row.entry, [])]
            figures = "; ".join([figures, *told])
            table.append((row.entry, row.provider, age(checked), figures))
            tails.append(f"  ! {row.problem}" if row.problem else "")
        columns = _Columns(table)
        _out(
            "\n".join(
                columns.line(r, tone, tail)
                for r, tone, tail in zip(table, ["head", *tones], tails, strict=True)
            )
        )
    if total:
        _out("\n".join(sums.lines()))
    marked = any(found.known for row_ahead in ahead.values() for found in row_ahead)
    _derived_note(derived or (total and bool(sums.totals)) or marked)


@cli.command()
@click.argument(
    "provider_id", metavar="[PROVIDER]", required=False, shell_complete=_complete_providers
)
@click.option("--remove", is_flag=True, help="Forget the base URL trusted for PROVIDER.")
@click.option("--yes", "-y", is_flag=True, help="Approve without asking (the URL is still shown).")
@pass_env
def trust(env: Env, provider_id: str | None, remove: bool, yes: bool) -> None:
    """Let keys for PROVIDER go to the base_url that config.toml names.

    config.toml is committed: anyone who can push to the store could set a
    base_url and collect the next unattended sync's keys. So a base_url from
    config.toml gets no key until you approve it here, on each machine. The
    record lives outside the store (~/.config/keyz/trusted-base-urls.json) and
    names the URL itself: if the URL changes, approve again. KEYZ_<ID>_BASE_URL
    and a base_url: line inside the pass entry need no approval. Without
    PROVIDER, list what this machine trusts for this store. It shows the URL
    and asks first; without a terminal it needs --yes.

    \b
    Example:
      keyz trust deepseek
      keyz trust deepseek --remove
    """
    from keyz import trust as trusted
    from keyz.providers.hosts import resolve_base_url, shown_url

    _one_of(remove=remove, yes=yes)  # forget, or approve: not both
    store = env.store()
    config = env.config(store)
    if provider_id is None:
        if remove:
            raise UsageError("--remove needs a PROVIDER")
        rows = trusted.trusted_here(store.root)
        for pid, url in rows:
            _out(f"{clean(pid, 40)}  {shown_url(url)}")
        if not rows:
            _err("No base_url from config.toml is trusted on this machine for this store")
        return
    provider = _provider(provider_id)
    if remove:
        gone = trusted.forget(store.root, provider.id)
        _err(
            f"Forgot {', '.join(gone)} for {provider.id}"
            if gone
            else f"Nothing trusted for {provider.id}"
        )
        return
    if provider.host_from_entry:
        raise UsageError(
            f"{provider.id} keys go only to the host of each pass entry's own 'base_url:' line; "
            f"a [providers.{provider.id}] base_url is never used for them, so there is nothing "
            "to approve"
        )
    configured = config.providers.get(provider.id)
    if configured is None or not configured.base_url:
        raise UsageError(
            f"config.toml sets no [providers.{provider.id}] base_url; {provider.id} keys go to "
            "its documented host, which needs no approval"
        )
    resolve_base_url(provider.id, provider.default_base_url, configured.base_url)  # well-formed?
    url = shown_url(configured.base_url.rstrip("/"))
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                f"approve {url} for {provider.id} keys with 'keyz trust {provider.id} --yes' "
                "(no terminal to ask on)"
            )
        _err(f"config.toml sends {provider.id} keys of this store to: {url}")
        if not click.confirm("Did you set this yourself, and do you trust that host?", err=True):
            raise UsageError("not approved; nothing changed")
    if trusted.trust(store.root, provider.id, configured.base_url):
        _err(f"From this machine, {provider.id} keys of this store may now go to {url}")
    else:
        _err(f"{url} is already trusted for {provider.id} on this machine")


@cli.command()
@click.option(
    "--decrypt", is_flag=True, help="Also decrypt untracked entries to match key prefixes."
)
@click.option("--apply", is_flag=True, help="Track the confident matches.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@pass_env
def discover(env: Env, decrypt: bool, apply: bool, as_json: bool) -> None:
    """Find untracked entries that look like provider API keys.

    Matches entry paths (api/deepseek, keys/anthropic-admin) against provider
    names. With --decrypt it also decrypts every untracked entry and matches
    the key's documented prefix (sk-or-v1-, sk-ant-admin01-, sk-admin-,
    sk-cp-, xai-, ...); the key itself is never printed or stored.
    Nothing is decrypted without --decrypt.

    \b
    Examples:
      keyz discover
      keyz discover --decrypt
      keyz discover --decrypt --apply   # track the confident matches
    """
    from keyz.discover import discover as find
    from keyz.discover import track_confident
    from keyz.render import printable

    store = env.store()
    config = env.config(store)
    candidates = find(store, config.entries, decrypt=decrypt)
    tracked = track_confident(store.keyz_dir, candidates) if apply else []
    if as_json:
        _json({"candidates": [c.to_json() for c in candidates], "tracked": tracked})
        return
    if not candidates:
        more = "" if decrypt else "; --decrypt also matches key prefixes"
        _err(f"No untracked entry looks like a provider key{more}")
        return
    rows = [("ENTRY", "PROVIDER", "KEY", "TRACK?", "WHY")]
    for c in candidates:
        track = "yes" if c.confident else "no"
        kind = c.key_kind.value if c.key_kind else "?"
        rows.append((printable(c.entry), c.provider, kind, track, printable(c.why)))
    _out(_table(rows, _fit()))
    if tracked:
        _err(f"Tracked {len(tracked)}: {', '.join(tracked)}. Next: keyz sync")
    elif any(c.confident for c in candidates):
        _err("Track the 'yes' rows with: keyz discover --apply" + (" --decrypt" if decrypt else ""))


@cli.command()
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any sidecar is outdated.")
@click.option("--commit", is_flag=True, help="Commit the rewritten sidecars (and nothing else).")
@pass_env
def migrate(env: Env, check: bool, commit: bool) -> int:
    """Rewrite every sidecar in the current schema version.

    keyz reads older sidecars anyway (upgrading them in memory); this makes
    the files current in one step. Files written by a newer keyz, or that
    keyz cannot read, are reported and left untouched.

    \b
    Examples:
      keyz migrate --check     # exit 1 if anything needs migrating
      keyz migrate --commit    # rewrite, then one commit of .keyz/ paths
    """
    from keyz.migrate import run_migrate
    from keyz.sidecar import SCHEMA_VERSION

    _one_of(check=check, commit=commit)  # --check changes nothing, so it cannot commit
    store = env.store()
    env.config(store)
    result = run_migrate(store, check=check, commit=commit)
    for problem in result.problems:
        _err(problem)
    for path, version in result.outdated:
        verb = "needs migrating" if check else "migrated"
        _err(f"{path}: version {version} {verb}")
    if result.commit and result.commit.commit:
        _err(f"Committed {result.commit.commit[:12]}")
    if result.git_error is not None:
        _err(str(result.git_error))
    total = result.current + len(result.outdated)
    if not result.outdated:
        _err(f"All {total} readable sidecars are in schema version {SCHEMA_VERSION}")
    elif check:
        _err(f"{len(result.outdated)} of {total} sidecars need 'keyz migrate'")
    else:
        _err(
            f"Migrated {len(result.outdated)} of {total} sidecars to schema version {SCHEMA_VERSION}"
        )
    if result.git_error is not None:
        return result.git_error.exit_code
    return EXIT_FAILED if result.problems or (check and result.outdated) else EXIT_OK


@cli.command()
@click.option("--sync", "do_sync", is_flag=True, help="Sync first (network, gpg), then check.")
@click.option("--commit", is_flag=True, help="With --sync: commit keyz's changed files.")
@click.option("--stage", is_flag=True, help="With --sync: stage keyz's changed files.")
@click.option(
    "--below",
    "below",
    multiple=True,
    metavar='"AMOUNT UNIT"',
    help='Also alert when a balance is below this (e.g. --below "5 USD"); repeatable.',
)
@click.option(
    "--below-percent",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Also alert when a quota window has less than PERCENT left.",
)
@click.option(
    "--max-age",
    metavar="DURATION",
    help="Figures older than this are stale (e.g. 12h; default [defaults] max_age, else 2d).",
)
@click.option("--repeat", is_flag=True, help="Say every alert, not only the ones not said yet.")
@click.option(
    "--notify",
    "do_notify",
    is_flag=True,
    help="Also send what is new to each [notify] destination (ntfy, email, ...).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@pass_env
def check(
    env: Env,
    do_sync: bool,
    commit: bool,
    stage: bool,
    below: tuple[str, ...],
    below_percent: float | None,
    max_age: str | None,
    repeat: bool,
    do_notify: bool,
    as_json: bool,
) -> int:
    """Say what needs attention: low balances, low quotas, short runway, failed or stale syncs.

    Thresholds come from config.toml (alert_below, alert_below_percent,
    alert_runway_days in [defaults], [providers.ID] or [entries."NAME"]),
    --below and --below-percent. Without --sync nothing is decrypted or fetched. Each alert is
    said once, on stderr, one line each; it is said again after a top-up that
    leaves it still low, or with --repeat. Once is counted apart for the terminal
    and for unattended runs (cron), so checking by hand never silences cron; at a
    terminal, alerts already said are counted in one line. Silent when all is well.

    --notify also sends each [notify] destination of config.toml what is new to it:
    alerts, and alerts that cleared, quota windows that reset, balances topped up.
    A destination that cannot be reached is told on the next run; its failure is
    one line on stderr and does not change the exit code.

    \b
    Exit codes: 0 all is well, 1 something needs attention, 2 usage error,
    75 busy (with --sync).

    \b
    Examples:
      keyz check --below "5 USD"
      keyz check --sync --commit --max-age 12h     # what keyz cron install schedules
      keyz check --sync --commit --notify          # and tell ntfy, email, ...
      keyz check --json | jq '.problems[].message'
    """
    from decimal import Decimal

    from keyz.alerts import parse_duration, parse_threshold
    from keyz.check import TERMINAL, UNATTENDED, remember, run_check

    if do_notify and (below or below_percent is not None):
        # a one-off threshold would be remembered per destination, and the next cron run
        # (without it) would send "no longer low" for what never recovered
        raise UsageError(
            "--notify sends what config.toml's thresholds say, so that each destination hears "
            "of a problem once and of its recovery once: set alert_below (or "
            "alert_below_percent) there instead of --below"
        )
    thresholds = [parse_threshold(text) for text in below]
    age = parse_duration(max_age, name="--max-age") if max_age else None
    _one_of(commit=commit, stage=stage)
    git_mode: GitMode | None = "commit" if commit else "stage" if stage else None
    if git_mode and not do_sync:
        raise UsageError(f"--{git_mode} goes with --sync")
    store = env.store()
    config = env.config(store)
    git_problem = None
    if do_sync:
        result = _run_sync(store, config, git_mode=git_mode or config.git)
        git_problem = result.git_error
        if isinstance(git_problem, BusyError):
            raise git_problem
    # said once per destination: a look at the terminal never uses up what cron would mail
    at_terminal = (sys.stdout if as_json else sys.stderr).isatty()
    destination = TERMINAL if at_terminal else UNATTENDED
    problems = run_check(
        store,
        config,
        below=thresholds,
        below_percent=None if below_percent is None else Decimal(str(below_percent)),
        max_age=age,
        destination=destination,
    )
    remember(store, problems, destination)
    deliveries = None
    if do_notify:
        from keyz.alerting import notify_check

        if not config.notify:
            raise UsageError(NO_DESTINATIONS)
        deliveries = notify_check(store, config, problems)
    if as_json:
        document: dict[str, object] = {
            "ok": not problems and git_problem is None,
            "problems": [p.to_json() for p in problems],
            "git_error": str(git_problem) if git_problem else None,
        }
        if deliveries is not None:
            document["notifications"] = [d.to_json() for d in deliveries]
        _json(document)
    else:
        shown = [p for p in problems if p.new or repeat]
        for problem in shown:
            _err(_paint(f"keyz: {problem.message}", problem.kind.tone))
        _derived_note(any(problem.derived for problem in shown))
        known = len(problems) - len(shown)
        if known and at_terminal:  # unattended, this line would be mailed every run
            more = "and " if shown else ""
            _err(f"keyz: {more}{known} known problem{'s' * (known != 1)} (--repeat to show)")
        if git_problem is not None:
            _err(f"keyz: {git_problem}")
        for delivery in deliveries or ():
            if not delivery.ok:  # told again next run; the exit code keeps its meaning
                _err(f"keyz: notify {delivery.destination}: {delivery.error}; retried next run")
        if not problems and git_problem is None and sys.stderr.isatty():
            count = len(config.entries)
            _err(
                f"All {count} entr{'ies are' if count != 1 else 'y is'} fine"
                if count
                else NOTHING_TRACKED
            )
    return EXIT_FAILED if problems or git_problem is not None else EXIT_OK


NO_DESTINATIONS = (
    'no [notify] destinations in config.toml; add destinations = ["pass:keyz/notify/NAME"] '
    "under [notify], the entry's first line an Apprise URL such as ntfys://TOKEN@ntfy.sh/topic"
)


@cli.group()
def notify() -> None:
    """Notification channels (Apprise URLs kept in pass): try them.

    \b
    Examples:
      keyz notify test
      keyz notify test --json
    """


@notify.command("test")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@pass_env
def notify_test(env: Env, as_json: bool) -> int:
    """Send a test message to each [notify] destination; say which failed.

    The channel URLs are never shown: a destination is named as config.toml
    names it (pass:keyz/notify/ntfy). Exit 1 if any destination failed.

    \b
    Example:
      keyz notify test
    """
    from keyz.alerting import notify_test as run_notify_test

    store = env.store()
    config = env.config(store)
    if not config.notify:
        raise UsageError(NO_DESTINATIONS)
    deliveries = run_notify_test(store, config)
    if as_json:
        _json(
            {
                "ok": all(d.ok for d in deliveries),
                "destinations": [d.to_json() for d in deliveries],
            }
        )
    else:
        for delivery in deliveries:
            if delivery.ok:
                _err(f"sent: {delivery.destination}")
            else:
                _err(f"keyz: notify {delivery.destination}: {delivery.error}")
    return EXIT_OK if all(d.ok for d in deliveries) else EXIT_FAILED


@cli.group()
def cron() -> None:
    """Schedule keyz (opt-in): a crontab line, or a systemd user timer.

    \b
    Examples:
      keyz cron install --commit --check      # every 6h: sync, commit, alert
      keyz cron show
      keyz cron install --systemd --print
      keyz cron remove
    """


def _schedule_options(f: F) -> F:
    for option in reversed(
        (
            click.option(
                "--every",
                metavar="DURATION",
                help="How often: 15m, 30m, 1h ... 12h, 1d (default 6h).",
            ),
            click.option("--at", metavar="HH:MM", help="Once a day at this time instead."),
            click.option("--commit", is_flag=True, help="Commit keyz's files after each sync."),
            click.option(
                "--check",
                is_flag=True,
                help="Run 'keyz check --sync' (alerts, failures, staleness) instead of sync.",
            ),
        )
    ):
        f = option(f)
    return f


@cron.command("install")
@_schedule_options
@click.option("--systemd", is_flag=True, help="Write a systemd user service and timer instead.")
@click.option("--print", "print_only", is_flag=True, help="With --systemd: print, do not write.")
@pass_env
def cron_install(
    env: Env,
    every: str | None,
    at: str | None,
    commit: bool,
    check: bool,
    systemd: bool,
    print_only: bool,
) -> None:
    """Schedule keyz for this store; silent when all is well.

    Writes one line (under a comment naming the store) through 'crontab -l' and
    'crontab -', keeping every other line as it was; running it again replaces
    that line. The line pins keyz's path, the store, GNUPGHOME and a PATH that
    finds gpg and git, and runs at a minute fixed per machine so that machines
    do not all call providers at once. keyz's lock prevents overlapping runs.

    \b
    Examples:
      keyz cron install --commit --check
      keyz cron install --at 07:30 --check
      keyz cron install --systemd --commit --check
    """
    from keyz.cron import SYSTEMD_NEXT, install_line, install_units, systemd_units, unit_dir

    store = env.store()
    env.config(store)
    plan = _plan(store, every, at, commit, check)
    if print_only and not systemd:
        raise UsageError("--print goes with --systemd (keyz cron show prints the crontab line)")
    if systemd:
        if print_only:
            for name, text in systemd_units(plan).items():
                _out(f"# {unit_dir() / name}\n{text}")
            return
        for path in install_units(plan):
            _err(f"Wrote {path}")
        _err(SYSTEMD_NEXT)
        return
    edit = install_line(plan)
    if edit is None:
        _err("Already installed; the crontab is unchanged")
        return
    _stale_note(edit.stale)
    _err(f"Installed:\n{edit.block}".rstrip())
    _err("cron mails what keyz prints: nothing when all is well, one line per problem.")


@cron.command("remove")
@click.option("--systemd", is_flag=True, help="Remove the systemd user service and timer.")
@pass_env
def cron_remove(env: Env, systemd: bool) -> None:
    """Take out keyz's line for this store (and nothing else).

    \b
    Example:
      keyz cron remove
    """
    from keyz.cron import remove_line, remove_units

    store = env.store()
    if systemd:
        for line in remove_units():
            _err(line)
        return
    edit = remove_line(store.root.absolute())
    if edit is None:
        _err(f"No keyz line for {store.root} in the crontab")
        return
    if edit.block is not None:
        _err(f"Removed:\n{edit.block}".rstrip())
    _stale_note(edit.stale)


def _plan(store: PassStore, every: str | None, at: str | None, commit: bool, check: bool) -> Plan:
    from keyz.cron import make_plan

    return make_plan(store.root.absolute(), every, at, commit, check)


def _stale_note(stale: int) -> None:
    if stale:
        _err(
            "Removed keyz's comment for this store from above a line that is not keyz's job; "
            "that line was kept"
        )


@cron.command("show")
@_schedule_options
@pass_env
def cron_show(env: Env, every: str | None, at: str | None, commit: bool, check: bool) -> None:
    """Print keyz's installed crontab line for this store, and what install would write.

    \b
    Example:
      keyz cron show --commit --check
    """
    from keyz.cron import cron_block, installed_line

    store = env.store()
    plan = _plan(store, every, at, commit, check)
    try:
        block = installed_line(plan.store)
        installed = block.rstrip() if block else "  (nothing for this store)"
    except KeyzError as exc:  # no crontab command: still show what would be written
        installed = f"  ({exc})"
    _out("Installed:\n" + installed)
    _out("\n'keyz cron install' with these options would write:\n" + cron_block(plan).rstrip())


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, entries, provider ids).

    \b
    Examples:
      eval "$(keyz completion bash)"                  # in ~/.bashrc
      eval "$(keyz completion zsh)"                   # in ~/.zshrc
      keyz completion fish > ~/.config/fish/completions/keyz.fish
    """
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None  # the choices above are click's own shells
    click.echo(complete(cli, {}, "keyz", "_KEYZ_COMPLETE").source())


@cli.command("install-pass-extension")
@click.option(
    "--system",
    is_flag=True,
    help="Install into pass's system extensions directory instead of the store's .extensions/.",
)
@pass_env
def install_pass_extension(env: Env, system: bool) -> None:
    """Install keyz.bash so that 'pass keyz ...' runs keyz on the store.

    pass runs store extensions only with PASSWORD_STORE_ENABLE_EXTENSIONS=true;
    system extensions always. The extension runs this keyz on pass's store.

    \b
    Examples:
      keyz install-pass-extension
      PASSWORD_STORE_ENABLE_EXTENSIONS=true pass keyz status
    """
    from keyz.passext import install

    path = install(env.store().root, system=system)
    _err(f"Installed {path}")
    if not system:
        _err("Enable store extensions for pass: export PASSWORD_STORE_ENABLE_EXTENSIONS=true")
    _err("Then: pass keyz status")


@cli.command("merge-driver")
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("ours", type=click.Path(dir_okay=False))
@click.argument("theirs", type=click.Path(dir_okay=False))
def merge_driver(base: str, ours: str, theirs: str) -> int:
    """Git merge driver for sidecars: keep the newer observation in OURS.

    Git runs it during merges once 'keyz init' has registered it; you do not.
    Exits 1 (leaving a normal conflict) if either side is not a readable sidecar.

    \b
    Example (.git/config, written by keyz init):
      [merge "keyz"]
        driver = keyz merge-driver %O %A %B
    """
    from pathlib import Path

    from keyz.merge import merge_sidecars

    return EXIT_OK if merge_sidecars(Path(ours), Path(theirs)) else EXIT_FAILED


def _parse_when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a date like 2026-11-01 or 2026-11-01T12:00Z"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@cli.command()
@click.argument("entry", required=False, shell_complete=_complete_entries)
@click.option(
    "--since", metavar="DATE", help="Only observations on or after DATE (2026-11-01, UTC)."
)
@click.option("--until", metavar="DATE", help="Only observations on or before DATE.")
@click.option(
    "--currency",
    "-c",
    "wanted",
    multiple=True,
    metavar="CUR",
    help="Only figures in this currency; repeatable. One the entry never had: exit 1.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="With ENTRY: every version, oldest first. Without: the summaries.",
)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: one row per observation and item.")
@pass_env
def history(
    env: Env,
    entry: str | None,
    since: str | None,
    until: str | None,
    wanted: tuple[str, ...],
    as_json: bool,
    as_csv: bool,
) -> None:
    """Show how ENTRY's figures moved, from the git log of its sidecar.

    A column and a sparkline per figure: each balance currency, the key
    limit left, spend per period, each quota window's percent left. For money
    (balances, key limit): the average burn per day over the last 7 and 30
    days, the days of runway at that rate and the day it runs out, and top-ups
    (which never count as spending). Without ENTRY: one summary line per
    tracked entry. Reads git only: no network, no gpg.

    Burn and runway need enough history: at least 3 observations in the
    window spanning at least 24 hours, top-ups excluded (at least two steps
    between observations in which the figure did not go up, together covering
    24 hours). With less, keyz says "not enough history yet", never a number.

    \b
    Examples:
      keyz history api/deepseek
      keyz history api/deepseek --since 2026-11-01 --currency CNY
      keyz history api/deepseek --csv > deepseek.csv
      keyz history --json            # burn, runway and the reason when there is none
    """
    from keyz import history as hist
    from keyz.git_ops import GitRepo

    _one_of(json=as_json, csv=as_csv)
    store = env.store()
    config = env.config(store)
    repo = GitRepo.require(store.root, "keyz history")
    start, end = _parse_when(since, "--since"), _parse_when(until, "--until")
    names = [entry] if entry else sorted(config.entries)
    if entry and entry not in config.entries:
        raise UsageError(f"{entry} is not tracked (keyz status lists what is)")
    whole = [hist.read_history(repo, name) for name in names]
    histories = [hist.in_range(one, start, end) for one in whole]
    for one in histories:
        for problem in one.skipped:
            _err(f"keyz: warning: skipped {problem}")
    pick = [c.upper() for c in wanted]
    span = hist.span_text(start, end)

    if entry is None:
        if as_json:
            _json({"entries": [hist.summary_json(h, pick) for h in histories]})
            return
        rows = [
            (
                one.entry,
                config.entries[one.entry].provider,
                hist.entry_overview(all_of, one, pick, span),
            )
            for all_of, one in zip(whole, histories, strict=True)
        ]
        _out(_table(rows))
        if not rows:
            _err(NOTHING_TRACKED)
        return

    (all_of,), (one,) = whole, histories
    hist.require_units(all_of, pick)
    if all_of.versions and not one.versions:
        _err(f"{entry}: {hist.why_empty(all_of, span)}")
    if as_json:
        _json([hist.version_json(v) for v in one.versions])
    elif as_csv:
        click.echo(hist.csv_text(one, pick), nl=False)
    elif not all_of.versions:
        _err(f"No committed history for {entry} yet: run 'keyz sync --commit'")
    elif one.versions:
        changes, lines = hist.entry_detail(one, pick)
        _out(_table(changes))
        for line in lines:
            _out(line)


@cli.command()
@click.option(
    "--prometheus",
    "prometheus_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write Prometheus metrics to FILE (node_exporter textfile format; name it *.prom), "
    "or to stdout with -.",
)
@click.option(
    "--json",
    "json_file",
    metavar="FILE",
    is_flag=False,
    flag_value="-",
    default=None,
    help="Write the whole ledger state as JSON to FILE, or stdout without FILE.",
)
@pass_env
def export(env: Env, prometheus_file: str | None, json_file: str | None) -> None:
    """Export every tracked entry's figures, health, forecasts and totals for other tools.

    Reads only: the sidecars, .keyz/state/ and the git ledger. No gpg, no
    network, no git writes. Files are written atomically (a temp file in the
    same directory, then renamed), so a reader never sees half of one.

    \b
    Examples:
      keyz export --prometheus /var/lib/node_exporter/textfile_collector/keyz.prom
      keyz export --json | jq '.entries[] | {entry, stale, forecasts}'
      keyz export --json ledger.json --prometheus keyz.prom
    """
    from keyz.export import collect, prometheus_text, write_file

    if prometheus_file is None and json_file is None:
        raise UsageError("keyz export needs --prometheus FILE, --json [FILE], or both")
    if prometheus_file == "" or json_file == "":
        raise UsageError("keyz export: an empty file name; give a path, or - for stdout")
    if prometheus_file == "-" and json_file == "-":
        raise UsageError("keyz export: only one of --prometheus and --json can go to stdout")
    store = env.store()
    state = collect(store, env.config(store))
    if prometheus_file == "-":
        click.echo(prometheus_text(state).decode("utf-8"), nl=False)
    elif prometheus_file is not None:
        if not prometheus_file.endswith(".prom"):
            _err(
                f"keyz: warning: {prometheus_file} does not end in .prom; node_exporter's "
                "textfile collector reads only *.prom files"
            )
        write_file(prometheus_file, prometheus_text(state))
    if json_file == "-":
        _json(state.to_json())
    elif json_file is not None:
        write_file(json_file, state.json_text().encode("utf-8"))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def providers(as_json: bool) -> None:
    """List the providers keyz can check, what each reports, and the key it needs.

    Providers without a programmatic balance API are listed too, with the
    reason and where to look instead.

    \b
    Examples:
      keyz providers
      keyz providers --json | jq '.providers[] | select(.key_kind == "regular") | .id'
    """
    from keyz.providers import catalog

    if as_json:
        _json(catalog.document())
        return
    _out(_table(catalog.checkable_rows(), _fit()))
    _out("\nNot checkable with an API key:")
    _out(_table(catalog.unsupported_rows(), _fit()))


@cli.group()
def provider() -> None:
    """Work with a tracked entry's provider: see what its answer yields.

    \b
    Example:
      keyz provider test api/my-relay
    """


@provider.command("test")
@click.argument("entry", shell_complete=_complete_entries)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@pass_env
def provider_test(env: Env, entry: str, as_json: bool) -> None:
    """Ask ENTRY's provider once and show every figure its answer yields.

    Runs the checks and the request of a sync for one tracked entry, but
    writes nothing: no sidecar, no state, no git. For http-json and oneapi it
    also shows how each figure was read (the expression or field, and the raw
    value in the answer), to try a mapping before the first sync. The key is
    never shown.

    \b
    Examples:
      keyz provider test api/my-relay
      keyz provider test api/my-relay --json
    """
    from keyz.probe import run_probe

    store = env.store()
    result = run_probe(store, env.config(store), _entry_name(entry))
    if as_json:
        _json(result.to_json())
        return
    _out(f"{result.entry} ({result.provider}): {_figures(result.sidecar)}")
    _out(f"asked: {', '.join(result.asked)}")
    rows = [("FIGURE", "VALUE", "")] + [
        (r.figure, r.value if r.value is not None else "unknown", "derived" if r.derived else "")
        for r in result.rows
    ]
    _out(_table(rows))
    if result.trace:
        _out("\nHow each figure was read:")
        _out(
            _table(
                [("FIGURE", "FROM", "RAW")] + [(t.figure, t.source, t.raw) for t in result.trace]
            )
        )
    _err("Nothing was written (no sidecar, no state, no git)")


@cli.command()
@pass_env
def ui(env: Env) -> None:
    """Browse the store as a tree with every tracked key's figures; sync from it.

    Left: every pass entry (tracked ones with their provider, main figure and
    badges live, stale, failed, low); right: the selected entry's figures,
    where they came from, its last sync and error, and its history from the
    git ledger. Keys: r sync, R sync the directory, c commit keyz's files,
    t track, a autosync, / filter, ? help, q quit. It reads what status and
    history read; nothing is decrypted but to sync or track, and no key is shown.

    \b
    Example:
      keyz ui
    """
    from keyz.ui import run_ui

    # Textual draws on stderr: without a terminal there it showed nothing, or hung at the end
    if not (sys.stdin.isatty() and sys.stdout.isatty() and sys.stderr.isatty()):
        raise UsageError(
            "keyz ui needs a terminal; keyz status and keyz history print the same figures"
        )
    store = env.store()
    config = env.config(store)
    run_ui(store, config, lambda: env.config(store))


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the sandbox and print how to explore it.")
@click.option(
    "--serve",
    is_flag=True,
    help="Only run the provider simulator (every provider, demo accounts) until Ctrl-C.",
)
def demo(keep: bool, serve: bool) -> int:
    """Run the whole flow offline on a throwaway sandbox.

    A temporary gpg key, pass store and git repo, and a local provider
    simulator: your own store and gpg keys are never touched.

    With --serve, only the https simulator runs, with a demo account for
    every provider; it prints the 'export KEYZ_<ID>_BASE_URL=...' and
    'export SSL_CERT_FILE=...' lines to paste into another shell, where keyz
    then runs on a copy of your own store without a network or real
    accounts. It serves until Ctrl-C.

    \b
    Examples:
      keyz demo --keep
      keyz demo --serve
    """
    from keyz.demo.story import run_demo
    from keyz.demo.story import serve as serve_demo

    if keep and serve:
        raise UsageError("--keep keeps the demo's sandbox; --serve makes none (choose one)")
    return serve_demo(say=click.echo) if serve else run_demo(keep=keep, say=click.echo)


def _in_echo(exc: BaseException) -> bool:
    """Whether ``exc`` was raised writing keyz's output (click.echo, keyz's and click's own)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return (
        bool(frames)
        and frames[-1].name == "echo"
        and f"{os.sep}click{os.sep}" in frames[-1].filename
    )


def _say_internal_error() -> None:
    """A bug: shown, but through the redactor."""
    _err(redact(traceback.format_exc()))
    _err("keyz: internal error; this is a bug, please report it with the lines above")


def _closed_streams_to_devnull() -> None:
    """``keyz sync --quiet >&-``: a standard stream closed when keyz started is None in
    Python. It becomes /dev/null on its own descriptor (so that no file keyz opens later gets
    0, 1 or 2): output goes nowhere, as Python's own ``print`` does then, and input is empty.
    keyz asks each stream whether it is a terminal; None had no answer."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:  # closed, as expected: /dev/null takes that very number
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            os.set_inheritable(fd, True)  # a child keyz starts finds /dev/null there too
            stream = open(fd, mode, encoding="utf-8", closefd=False)  # noqa: SIM115
        else:  # something of keyz's own holds it already: leave it be
            stream = open(os.devnull, mode, encoding="utf-8")  # noqa: SIM115
        setattr(sys, name, stream)


def main() -> NoReturn:
    """Console entry point: keeps third-party loggers quiet, and never prints a secret."""
    # A command runs for seconds and allocates in bursts (imports, pydantic, httpx): at
    # Python's default of a young-generation pass per 700 allocations, ~160 passes took
    # ~0.1 s of a 100-entry sync's CPU, under the GIL the event loop and the decryption
    # threads share. One per 20,000 keeps the same bound on garbage at a twentieth the passes.
    gc.set_threshold(20_000, *gc.get_threshold()[1:])
    quiet_third_party_loggers()
    _closed_streams_to_devnull()
    try:
        cli.main(prog_name="keyz")
    except OSError as exc:
        if _in_echo(exc):  # a full disk or a dead device behind a redirection: not a bug
            _err(f"keyz: cannot write the output ({exc.strerror or exc})")
        else:
            _say_internal_error()
        sys.exit(EXIT_FAILED)
    except Exception as exc:
        if is_ctrl_c(exc):  # a Ctrl-C Python wrapped (in an import a command made): not a bug,
            raise  # and keyz.__main__, around all of this, says it
        _say_internal_error()
        sys.exit(EXIT_FAILED)
    finally:
        # The interpreter's exit need not search ~50,000 live objects for cycles (~50 ms).
        # Garbage in a cycle is then never finalized: keyz closes what it opens (files, locks,
        # gpg and git processes, temporary files) itself, never through the collector.
        gc.freeze()
    sys.exit(EXIT_OK)  # pragma: no cover  # click exits itself


__all__ = ["cli", "main"]
