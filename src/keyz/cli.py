"""The command line: parse → call the domain → render. The only module that imports click.

Domain modules are imported inside the commands, so ``keyz --help`` never pays
for httpx, pydantic, GitPython or python-gnupg.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

import click

from keyz import __version__
from keyz.clock import frozen_at, set_clock
from keyz.errors import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BusyError,
    KeyzError,
    UsageError,
)
from keyz.redact import quiet_third_party_loggers, redact

if TYPE_CHECKING:
    from keyz.config import Config, EntryConfig, GitMode
    from keyz.store import PassStore
    from keyz.sync import EntryResult, SyncResult


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


def _json(document: Any) -> None:
    # Indented for a person at a terminal; compact (and C-encoded, so fast) for programs.
    indent = 2 if sys.stdout.isatty() else None
    click.echo(redact(json.dumps(document, indent=indent, sort_keys=True, ensure_ascii=False)))


class KeyzGroup(click.Group):
    """The one error boundary: a KeyzError becomes 'keyz: message' and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyzError as exc:
            _err(f"keyz: {exc}")
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:  # Ctrl-C outside a sync: not click's "Aborted!" and exit 1
            _err("keyz: interrupted")
            ctx.exit(EXIT_INTERRUPTED)


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
    import shutil

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


NOTHING_TRACKED = (
    "Nothing tracked yet: keyz discover finds provider keys; or keyz track ENTRY -p ID"
)


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
    from keyz.config import init_keyz_dir, load_config
    from keyz.git_ops import GitRepo
    from keyz.merge import driver_command

    store = env.store()
    if not (store.root / ".gpg-id").is_file():
        raise UsageError(
            f"{store.root} is not a pass store (it has no .gpg-id); make it one with "
            "'pass init <gpg-id>', or point keyz at yours with --store PATH or PASSWORD_STORE_DIR"
        )
    created = init_keyz_dir(store.keyz_dir)
    load_config(store.keyz_dir)  # one that was there already: readable, and keyz's to use?
    if created:
        names = ", ".join(path.name for path in created)
        _err(f"Created {store.keyz_dir}: {names}")
    else:
        _err(f"{store.keyz_dir} is already set up")
    repo = GitRepo.find(store.root)
    if repo is not None:
        try:
            changed = repo.register_merge_driver(driver_command())
        finally:
            repo.close()
        if changed:
            _err(
                "Registered the keyz merge driver in .git/config "
                "(sidecars merge by keeping the newer one)"
            )
    _err("Next: keyz track ENTRY --provider ID   (keyz providers lists the IDs)")


def _complete_entries(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Pass entries for shell completion (names only; nothing is decrypted)."""
    try:
        from keyz.store import PassStore, locate_store

        root = ctx.find_root().params.get("store")
        store = PassStore(locate_store(root))
        return [name for name in store.entries() if name.startswith(incomplete)]
    except Exception:  # completion must never print an error into the user's shell
        return []


def _complete_providers(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The ids of the providers keyz can check, for shell completion."""
    from keyz.providers import KNOWN

    return [pid for pid in KNOWN if pid.startswith(incomplete)]


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
    from keyz.config import EntryConfig, parse_option, set_entry
    from keyz.discover import NOT_A_KEY, looks_like_key, prefix_of
    from keyz.errors import DecryptError, UsageError
    from keyz.providers import get_provider
    from keyz.store import validate_entry_name
    from keyz.sync import check_key_belongs

    store = env.store()
    config = env.config(store)  # set up and readable?
    name = validate_entry_name(entry)
    if not store.has_entry(name):
        raise UsageError(f"no entry {name!r} in {store.root} (pass ls shows what there is)")
    provider = get_provider(provider_id)
    parsed = dict(parse_option(text) for text in options)
    provider.check_options(parsed)
    before = config.entries.get(name)
    if before is not None and before.provider != provider.id and not force:
        raise UsageError(
            f"{name} is tracked with {before.provider}; -p {provider.id} would send its key to "
            f"{provider.id} instead. If that is right: keyz track {name} -p {provider.id} --force"
        )
    try:
        secret = store.decrypt(name)
    except DecryptError as exc:
        raise DecryptError(f"cannot decrypt {name} to check its key: {exc}; not tracked") from None
    finally:
        store.close()
    check_key_belongs(
        EntryConfig(name, provider.id), secret.value, secret.hints.get("provider"), tracking=True
    )  # sync refuses such a key too: --force cannot help it
    if not force and not looks_like_key(secret.value):
        raise UsageError(f"{name}: {NOT_A_KEY}; not tracked. If it is one: --force")
    shape = prefix_of(secret.value)
    if shape is not None and not shape.usable:
        _err(f"keyz: warning: the key looks like {shape.label}; {provider.id} needs another kind")
    changed = set_entry(store.keyz_dir, EntryConfig(name, provider.id, parsed))
    verb = "Tracking" if changed else "Already tracking"
    _err(f"{verb} {name} with {provider.id} (needs {provider.key_needed()})")


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
    from keyz.errors import UsageError
    from keyz.fsutil import remove
    from keyz.sidecar import checked_path
    from keyz.store import validate_entry_name

    store = env.store()
    env.config(store)
    name = validate_entry_name(entry)
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
) -> None:
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
    from keyz.sync import run_sync, select_entries

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
        result = run_sync(
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
        _json(_sync_json(result))
    else:
        _render_sync(result, config, quiet=quiet, rows_shown=live.rows_on)
        if not live.names and not quiet:
            _err(NOTHING_TRACKED)
    click.get_current_context().exit(_sync_exit_code(result))


class _LiveSync:
    """On a terminal: progress on stderr from the first moment, and each entry's row on stdout
    as soon as it is done. On a pipe: neither; the rows come at the end, in order."""

    def __init__(self, config: Config, entries: list[EntryConfig]) -> None:
        from keyz.render import column_widths

        self.config = config
        self.names = [e.name for e in entries]
        self.widths = column_widths([(e.name, e.provider, "") for e in entries])
        self.progress_on = sys.stderr.isatty()
        self.rows_on = sys.stdout.isatty()
        self.fit = _fit()
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
        from keyz.render import table_line

        if not self.rows_on:
            return
        self.clear()  # the same terminal, most likely: the row goes where the progress was
        _out(
            _paint(
                table_line(_sync_row(entry), self.widths, self.fit), _sync_tone(entry, self.config)
            )
        )
        self.line = ""  # the progress call that follows every result draws it again


def _sync_exit_code(result: SyncResult) -> int:
    if isinstance(result.git_error, BusyError):
        return EXIT_BUSY
    return EXIT_FAILED if result.failed else EXIT_OK


def _sync_row(entry: EntryResult) -> tuple[str, str, str]:
    from keyz.render import summarize

    if entry.error is None and entry.sidecar is not None:
        return (entry.entry, entry.provider, summarize(entry.sidecar))
    last = f"last good: {summarize(entry.sidecar)}" if entry.sidecar else "no values yet"
    return (entry.entry, entry.provider, f"FAILED ({last})")


def _sync_tone(entry: EntryResult, config: Config) -> str | None:
    from keyz.check import is_low

    if entry.error is not None:
        return "bad"
    tracked = config.entries.get(entry.entry)
    if tracked is None or entry.sidecar is None:
        return None
    return "bad" if is_low(config, tracked, entry.sidecar) else None


def _render_sync(
    result: SyncResult, config: Config, *, quiet: bool = False, rows_shown: bool = False
) -> None:
    from keyz.render import DERIVED_NOTE, column_widths, has_derived, table_line

    if quiet:  # problems only: one line each
        for entry in result.entries:
            if entry.error:
                _err(f"keyz: {entry.entry}: {entry.error}")
        if result.git_error is not None:
            _err(f"keyz: {result.git_error}")
        return
    if not rows_shown:  # else they were shown as they finished, on a terminal
        rows = [_sync_row(entry) for entry in result.entries]
        widths, fit = column_widths(rows), _fit()
        lines = [
            _paint(table_line(row, widths, fit), _sync_tone(entry, config))
            for row, entry in zip(rows, result.entries, strict=True)
        ]
        _out("\n".join(lines))
    if any(entry.sidecar is not None and has_derived(entry.sidecar) for entry in result.entries):
        _err(DERIVED_NOTE)
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


def _sync_json(result: SyncResult) -> dict[str, Any]:
    from keyz.sidecar import json_ready

    return {
        "entries": [
            {
                "entry": e.entry,
                "provider": e.provider,
                "ok": e.error is None,
                "changed": e.changed,
                "error": str(e.error) if e.error else None,
                "error_kind": e.error.kind.value if e.error else None,
                "sidecar": json_ready(e.sidecar) if e.sidecar else None,
            }
            for e in result.entries
        ],
        "git": {
            "mode": result.git_mode,
            "commit": result.commit.commit if result.commit else None,
            "paths": list(result.commit.paths) if result.commit else result.staged,
            "error": str(result.git_error) if result.git_error else None,
            "error_kind": result.git_error.kind.value if result.git_error else None,
        },
        "warnings": result.warnings,
    }


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
@pass_env
def status(env: Env, entries: tuple[str, ...], as_json: bool, style: str) -> None:
    """Show the last known figures of every tracked entry (or only ENTRY..., one in full).

    No network and no gpg: this reads .keyz/ only. Columns: entry, provider,
    when it was last checked, figures. Entries whose last sync failed, or that
    were not checked within [defaults] max_age (2d), are marked with "!", as
    keyz check would say. On a terminal, each line fits its width (cut with
    "…"; ENTRY or --json show everything), and failed or low entries are red,
    stale ones yellow.
    Figures keyz computed rather than read (e.g. credits - usage) end in "*".

    \b
    Examples:
      keyz status
      keyz status api/openrouter      # every figure of one entry, one per line
      keyz status --json | jq '.entries[] | {entry, spendable, stale}'
      keyz status --format short      # ds ¥98 · or $74 · mm 62%
    """
    from click.core import ParameterSource

    from keyz.check import is_low
    from keyz.fields import format_time
    from keyz.render import (
        DERIVED_NOTE,
        age,
        column_widths,
        has_derived,
        short_line,
        summarize,
        summary_parts,
        table_line,
    )
    from keyz.status import collect_status

    source = click.get_current_context().get_parameter_source("style")
    _one_of(json=as_json, format=source is ParameterSource.COMMANDLINE)
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
    if as_json:
        _json({"entries": [row.to_json() for row in rows]})
        return
    if style == "short":
        _out(short_line([(r.entry, r.provider, r.sidecar, r.problem is not None) for r in rows]))
        return
    if not rows:
        _err(NOTHING_TRACKED)
        return
    tones = []
    for row in rows:
        low = row.sidecar is not None and is_low(config, config.entries[row.entry], row.sidecar)
        tones.append("bad" if low else row.tone)
    derived = any(row.sidecar is not None and has_derived(row.sidecar) for row in rows)
    if entry is not None:  # everything about one entry, never cut
        (row,) = rows
        checked = row.state.last_checked or (row.sidecar.observed_at if row.sidecar else None)
        seen = f", figures of {format_time(row.sidecar.observed_at)}" if row.sidecar else ""
        lines = [f"{row.entry} ({row.provider}), checked {age(checked)}{seen}"]
        lines += [f"  {part}" for part in (summary_parts(row.sidecar) if row.sidecar else [])]
        lines += [f"  ! {row.problem}"] if row.problem else []
        _out(
            "\n".join(_paint(line, tones[0] if line.startswith("  !") else None) for line in lines)
        )
    else:
        table = [("ENTRY", "PROVIDER", "CHECKED", "FIGURES")]
        tails = [""]
        for row in rows:
            checked = row.state.last_checked or (row.sidecar.observed_at if row.sidecar else None)
            figures = summarize(row.sidecar) if row.sidecar else "no values yet"
            table.append((row.entry, row.provider, age(checked), figures))
            tails.append(f"  ! {row.problem}" if row.problem else "")
        widths, fit = column_widths(table), _fit()
        lines = [table_line(r, widths, fit, tail) for r, tail in zip(table, tails, strict=True)]
        _out(
            "\n".join(
                _paint(line, tone) for line, tone in zip(lines, ["head", *tones], strict=True)
            )
        )
    if derived:
        _err(DERIVED_NOTE)


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
    from keyz.errors import UsageError
    from keyz.providers import get_provider
    from keyz.providers.http import resolve_base_url, shown_url
    from keyz.redact import clean

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
    provider = get_provider(provider_id)
    if remove:
        gone = trusted.forget(store.root, provider.id)
        _err(
            f"Forgot {', '.join(gone)} for {provider.id}"
            if gone
            else f"Nothing trusted for {provider.id}"
        )
        return
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
    from keyz.config import EntryConfig, set_entry
    from keyz.discover import discover as find
    from keyz.render import printable, table

    store = env.store()
    config = env.config(store)
    candidates = find(store, config.entries, decrypt=decrypt)
    tracked = []
    if apply:
        for candidate in candidates:
            if candidate.confident:
                set_entry(store.keyz_dir, EntryConfig(candidate.entry, candidate.provider, {}))
                tracked.append(candidate.entry)
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
    _out(table(rows, _fit()))
    if tracked:
        _err(f"Tracked {len(tracked)}: {', '.join(tracked)}. Next: keyz sync")
    elif any(c.confident for c in candidates):
        _err("Track the 'yes' rows with: keyz discover --apply" + (" --decrypt" if decrypt else ""))


@cli.command()
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any sidecar is outdated.")
@click.option("--commit", is_flag=True, help="Commit the rewritten sidecars (and nothing else).")
@pass_env
def migrate(env: Env, check: bool, commit: bool) -> None:
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
        raise SystemExit(result.git_error.exit_code)
    if result.problems or (check and result.outdated):
        raise SystemExit(1)


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
    as_json: bool,
) -> None:
    """Say what needs attention: low balances, low quotas, short runway, failed or stale syncs.

    Thresholds come from config.toml (alert_below, alert_below_percent,
    alert_runway_days in [defaults], [providers.ID] or [entries."NAME"]),
    --below and --below-percent. Without --sync nothing is decrypted or fetched. Each alert is
    said once, on stderr, one line each; it is said again after a top-up that
    leaves it still low, or with --repeat. Once is counted apart for the terminal
    and for unattended runs (cron), so checking by hand never silences cron; at a
    terminal, alerts already said are counted in one line. Silent when all is well.

    \b
    Exit codes: 0 all is well, 1 something needs attention, 2 usage error,
    75 busy (with --sync).

    \b
    Examples:
      keyz check --below "5 USD"
      keyz check --sync --commit --max-age 12h     # what keyz cron install schedules
      keyz check --json | jq '.problems[].message'
    """
    from decimal import Decimal

    from keyz.alerts import parse_duration, parse_threshold
    from keyz.check import TERMINAL, UNATTENDED, remember, run_check
    from keyz.render import DERIVED_NOTE

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
        from keyz.sync import run_sync

        result = run_sync(store, config, git_mode=git_mode or config.git)
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
    if as_json:
        _json(
            {
                "ok": not problems and git_problem is None,
                "problems": [p.to_json() for p in problems],
                "git_error": str(git_problem) if git_problem else None,
            }
        )
    else:
        shown = [p for p in problems if p.new or repeat]
        for problem in shown:
            _err(_paint(f"keyz: {problem.message}", problem.kind.tone))
        if any(problem.derived for problem in shown):
            _err(DERIVED_NOTE)
        known = len(problems) - len(shown)
        if known and at_terminal:  # unattended, this line would be mailed every run
            more = "and " if shown else ""
            _err(f"keyz: {more}{known} known problem{'s' * (known != 1)} (--repeat to show)")
        if git_problem is not None:
            _err(f"keyz: {git_problem}")
        if not problems and git_problem is None and sys.stderr.isatty():
            count = len(config.entries)
            _err(
                f"All {count} entr{'ies are' if count != 1 else 'y is'} fine"
                if count
                else NOTHING_TRACKED
            )
    if problems or git_problem is not None:
        raise SystemExit(EXIT_FAILED)


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


def _schedule_options(f: Any) -> Any:
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
    from keyz import cron as c
    from keyz.fsutil import atomic_write

    store = env.store()
    env.config(store)
    plan = c.make_plan(store.root.absolute(), every, at, commit, check)
    if print_only and not systemd:
        raise UsageError("--print goes with --systemd (keyz cron show prints the crontab line)")
    if systemd:
        units = c.systemd_units(plan)
        if print_only:
            for name, text in units.items():
                _out(f"# {c.unit_dir() / name}\n{text}")
            return
        for name, text in units.items():
            atomic_write(c.unit_dir() / name, text.encode())
            _err(f"Wrote {c.unit_dir() / name}")
        _err(c.SYSTEMD_NEXT)
        return
    before = c.read_crontab()
    after = c.with_block(before, plan)
    if after == before:
        _err("Already installed; the crontab is unchanged")
        return
    c.write_crontab(after)
    _stale_note(c.stale_markers(before, plan.store))
    _err(f"Installed:\n{c.cron_block(plan)}".rstrip())
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
    from keyz import cron as c

    store = env.store()
    if systemd:
        for line in c.remove_units():
            _err(line)
        return
    before = c.read_crontab()
    after, block = c.without_block(before, store.root.absolute())
    if after == before:
        _err(f"No keyz line for {store.root} in the crontab")
        return
    c.write_crontab(after)
    if block is not None:
        _err(f"Removed:\n{block}".rstrip())
    _stale_note(c.stale_markers(before, store.root.absolute()))


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
    from keyz import cron as c

    store = env.store()
    plan = c.make_plan(store.root.absolute(), every, at, commit, check)
    try:
        _, block = c.without_block(c.read_crontab(), plan.store)
        installed = block.rstrip() if block else "  (nothing for this store)"
    except KeyzError as exc:  # no crontab command: still show what would be written
        installed = f"  ({exc})"
    _out("Installed:\n" + installed)
    _out("\n'keyz cron install' with these options would write:\n" + c.cron_block(plan).rstrip())


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
def merge_driver(base: str, ours: str, theirs: str) -> None:
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

    click.get_current_context().exit(
        EXIT_OK if merge_sidecars(Path(ours), Path(theirs)) else EXIT_FAILED
    )


def _parse_when(value: str | None, option: str) -> Any:
    from datetime import UTC, datetime

    from keyz.errors import UsageError

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
    from keyz.errors import KeyzError, UsageError
    from keyz.fields import format_time
    from keyz.git_ops import GitRepo
    from keyz.render import table

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
    span = " ".join(
        part
        for part in (
            f"since {format_time(start)}" if start else "",
            f"until {format_time(end)}" if end else "",
        )
        if part
    )

    def empty(all_of: hist.History) -> str:
        """Why there is nothing to show for an entry, or '' when there is something."""
        if not all_of.versions:
            return "nothing committed yet (keyz sync --commit)"
        count = len(all_of.versions)
        first, last = all_of.versions[0].sidecar, all_of.versions[-1].sidecar
        return (
            f"no commits {span}; its {count} commit{'s' * (count != 1)} run from "
            f"{first.observed_at:%Y-%m-%d} to {last.observed_at:%Y-%m-%d}"
        )

    if entry is None:
        if as_json:
            _json({"entries": [hist.summary_json(h, pick) for h in histories]})
            return
        rows = []
        for all_of, one in zip(whole, histories, strict=True):
            provider = config.entries[one.entry].provider
            line = hist.overview_line(hist.summaries(one, pick)) if one.versions else empty(all_of)
            if not line:
                count = len(one.versions)
                what = f"{' or '.join(pick)} " if pick else ""
                line = f"no {what}figures in {count} commit{'s' * (count != 1)}"
            rows.append((one.entry, provider, line))
        _out(table(rows))
        if not rows:
            _err(NOTHING_TRACKED)
        return

    (all_of,), (one,) = whole, histories
    if pick and all_of.versions:
        had = hist.units(hist.figures(all_of))
        missing = [c for c in pick if c not in had]
        if missing:
            has = f"it has {', '.join(had)}" if had else "it has no money figures"
            raise KeyzError(
                f"{entry} has no {', '.join(missing)} figures in its history ({has}); "
                "leave out --currency or name one of those"
            )
    if all_of.versions and not one.versions:
        _err(f"{entry}: {empty(all_of)}")
    if as_json:
        _json([hist.version_json(v) for v in one.versions])
    elif as_csv:
        import csv
        import io

        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(hist.csv_rows(one, pick))
        click.echo(buffer.getvalue(), nl=False)
    elif not all_of.versions:
        _err(f"No committed history for {entry} yet: run 'keyz sync --commit'")
    elif one.versions:
        found = hist.all_series(one)
        chosen = hist.select(list(found), pick)
        _out(table(hist.changes_table(one, chosen)))
        for figure in chosen:
            summary = hist.summarize(one, figure, found[figure])
            if summary is not None:
                spark = hist.sparkline([p.remaining for p in found[figure]])
                _out(f"{spark}  {hist.summary_line(summary)}")
        if not chosen:
            count = len(one.versions)
            _out(f"no figures in {count} commit{'s' * (count != 1)} (notes or availability only)")


def _key_kinds(provider: Any) -> str:
    """'regular', or 'regular (balance: management)' when endpoints need different keys."""
    main = max(provider.endpoints, key=lambda e: len(e.reports.labels()))
    others = [
        f"{', '.join(e.reports.labels())}: {e.key_kind.value}"
        for e in provider.endpoints
        if e.key_kind != main.key_kind
    ]
    return f"{main.key_kind.value} ({'; '.join(others)})" if others else str(main.key_kind.value)


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
    from keyz.providers import all_providers
    from keyz.providers.unsupported import UNSUPPORTED
    from keyz.render import table

    known = all_providers()
    unsupported = [UNSUPPORTED[pid] for pid in sorted(UNSUPPORTED)]
    if as_json:
        _json(
            {
                "providers": [
                    {
                        "id": p.id,
                        "title": p.title,
                        "capabilities": p.capabilities.labels(),
                        "key_kind": p.key_kind.value,
                        "key_help": p.key_help,
                        "base_url": p.default_base_url,
                        "regions": {
                            name: {"base_url": r.base_url, "currency": r.currency}
                            for name, r in p.regions.items()
                        },
                        "endpoints": [
                            {
                                "path": e.target,
                                "key_kind": e.key_kind.value,
                                "reports": e.reports.labels(),
                            }
                            for e in p.endpoints
                        ],
                        "options": {
                            name: {"help": o.help, "choices": list(o.choices)}
                            for name, o in p.options.items()
                        },
                    }
                    for p in known
                ],
                "unsupported": [
                    {"id": u.id, "title": u.title, "reason": u.reason, "instead": u.instead}
                    for u in unsupported
                ],
            }
        )
        return
    rows = [("ID", "REPORTS", "KEY", "ENDPOINTS")]
    for p in known:
        endpoints = ", ".join(f"GET {p.documented_base_url({})}{e.target}" for e in p.endpoints)
        rows.append((p.id, ", ".join(p.capabilities.labels()), _key_kinds(p), endpoints))
    _out(table(rows, _fit()))
    _out("\nNot checkable with an API key:")
    _out(table([(f"  {u.id}", f"{u.reason}; see {u.instead}") for u in unsupported], _fit()))


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the sandbox and print how to explore it.")
@click.option(
    "--serve",
    is_flag=True,
    help="Only run the provider simulator (every provider, demo accounts) until Ctrl-C.",
)
def demo(keep: bool, serve: bool) -> None:
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
    from keyz.demo import run_demo
    from keyz.demo import serve as serve_demo

    if keep and serve:
        raise UsageError("--keep keeps the demo's sandbox; --serve makes none (choose one)")
    code = serve_demo(say=click.echo) if serve else run_demo(keep=keep, say=click.echo)
    click.get_current_context().exit(code)


def main() -> NoReturn:
    """Console entry point: keeps third-party loggers quiet, and never prints a secret."""
    quiet_third_party_loggers()
    try:
        cli.main(prog_name="keyz")
    except Exception:  # a bug: show it, but through the redactor
        _err(redact(traceback.format_exc()))
        _err("keyz: internal error; this is a bug, please report it with the lines above")
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_OK)  # pragma: no cover  # click exits itself


__all__ = ["cli", "main"]
