"""``keyz sync``: resolve → fetch (concurrently) → normalize → write → git.

Decryption runs in at most four (daemon) threads, each entry is fetched as soon as its
key is decrypted, and its sidecar written as soon as its answer is in (a pipeline,
not decrypt-all-then-fetch-all-then-write-all). One entry's failure never stops
the others, and a failed entry's last good sidecar stays exactly as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import DecimalException
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from keyz import sidecar as sc
from keyz.config import Config, EntryConfig, ProviderConfig
from keyz.errors import ConfigError, Interrupted, KeyzError, ProviderError, UsageError
from keyz.fields import in_future
from keyz.fsutil import clean_stale_temp_files, safe_path
from keyz.git_ops import CommitOutcome, GitRepo
from keyz.lock import store_lock
from keyz.redact import REDACTOR, redact
from keyz.render import summarize
from keyz.state import EntryState, load_state, save_state
from keyz.store import PassStore

if TYPE_CHECKING:
    from keyz.providers.base import Report

DECRYPT_WORKERS: Final = 4
T = TypeVar("T")
Progress = Callable[[int, int, str | None], None]  # done, total, slowest provider still pending


@dataclass
class EntryResult:
    entry: str
    provider: str
    sidecar: sc.Sidecar | None = (
        None  # what is on disk after the run: new values, or the last good ones
    )
    changed: bool = False
    error: str | None = None


@dataclass
class SyncResult:
    entries: list[EntryResult]
    git_mode: str
    commit: CommitOutcome | None = None
    staged: list[str] = field(default_factory=list)
    git_error: KeyzError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(e.error for e in self.entries) or self.git_error is not None


def select_entries(config: Config, names: Sequence[str]) -> list[EntryConfig]:
    if not names:
        return [config.entries[name] for name in sorted(config.entries)]
    missing = [name for name in names if name not in config.entries]
    if missing:
        raise UsageError(
            f"not tracked: {', '.join(missing)}; track it with 'keyz track ENTRY --provider ID'"
        )
    return [config.entries[name] for name in dict.fromkeys(names)]


def lock_path(store: PassStore, repo: GitRepo | None) -> Path:
    """Outside the work tree when there is a repo (in .git/), else in the never-committed state/."""
    if repo is not None:
        return repo.git_dir / "keyz.lock"
    return safe_path(store.keyz_dir, store.keyz_dir / "state" / "lock")


def run_sync(
    store: PassStore,
    config: Config,
    names: Sequence[str] = (),
    *,
    git_mode: str = "off",
    progress: Progress | None = None,
    on_result: Callable[[EntryResult], None] | None = None,
) -> SyncResult:
    """Sync ``names`` (default: every tracked entry). ``progress`` is called at the start and
    after each entry; ``on_result`` with each entry's result as soon as it is final."""
    entries = select_entries(config, names)
    flag = f"--{git_mode}"
    repo = GitRepo.require(store.root, flag) if git_mode != "off" else GitRepo.find(store.root)
    with store_lock(lock_path(store, repo)):
        clean_stale_temp_files(store.keyz_dir)  # what a killed run left; ours to clean, locked
        result = SyncResult(
            _sync_entries(store, config, entries, progress, on_result, git_mode), git_mode
        )
        if git_mode != "off" and repo is not None:
            _git_step(store, repo, result)
    return result


def _sync_entries(
    store: PassStore,
    config: Config,
    entries: list[EntryConfig],
    progress: Progress | None,
    on_result: Callable[[EntryResult], None] | None,
    git_mode: str = "off",
) -> list[EntryResult]:
    states = load_state(store.keyz_dir)  # an unreadable state file stops us before any network work
    results: dict[str, EntryResult] = {}
    olds: dict[str, sc.Sidecar | None] = {}
    to_fetch: list[EntryConfig] = []
    from keyz.providers import get_provider

    for entry in entries:
        result = results[entry.name] = EntryResult(entry.name, entry.provider)
        try:
            olds[entry.name] = result.sidecar = sc.read_entry(store.keyz_dir, entry.name)
            get_provider(entry.provider)
        except UsageError as exc:  # a hand-edited config: this entry only, the others go on
            result.error = f"[entries.{entry.name!r}] in config.toml: {exc}"
        except KeyzError as exc:  # corrupt or newer: report, never overwrite
            result.error = str(exc)
        else:
            to_fetch.append(entry)
            continue
        if on_result is not None:
            on_result(result)

    now = sc.utc_now()

    def record(entry: EntryConfig, outcome: Report | str) -> None:
        write(entry, outcome)
        if on_result is not None:
            on_result(results[entry.name])

    def write(entry: EntryConfig, outcome: Report | str) -> None:
        """Write one entry's sidecar as soon as its answer is in, while others are in flight."""
        result = results[entry.name]
        state = states.setdefault(entry.name, EntryState())
        state.last_checked = now
        if isinstance(outcome, str):
            result.error = state.last_error = outcome
            return
        try:
            new = sc.Sidecar(
                entry=entry.name,
                provider=entry.provider,
                observed_at=now,
                available=outcome.available,
                balances=outcome.balances,
                key_limit=outcome.key_limit,
                spend=outcome.spend,
                quotas=outcome.quotas,
                notes=outcome.notes,
            )
            path = sc.checked_path(store.keyz_dir, entry.name)
            old = olds[entry.name]
            if old is not None and in_future(old.observed_at, now):
                old = None  # written by a clock that ran ahead: unchanged values get the real time
            result.sidecar = sc.write_if_changed(path, new, old)
        except KeyzError as exc:
            result.error = state.last_error = str(exc)
            return
        except Exception as exc:  # e.g. figures that do not make one sidecar together
            result.error = state.last_error = _unusable(entry, exc)
            return
        result.changed = result.sidecar is new
        state.last_success, state.last_error = state.last_checked, None

    early = len(entries) - len(to_fetch)  # already done (failed): counted, so the total is all
    counted: Progress | None = (
        (lambda done, total, waiting: progress(done + early, total + early, waiting))
        if progress
        else None
    )
    try:
        if to_fetch:
            asyncio.run(_fetch_all(store, config, to_fetch, counted, now, record))
    except KeyboardInterrupt:  # asyncio.run cancelled what was in flight; the rest is written
        save_state(store.keyz_dir, states)
        written = [
            sc.checked_path(store.keyz_dir, r.entry).relative_to(store.root)
            for r in results.values()
            if r.changed
        ]
        raise Interrupted(_interrupted(written, git_mode)) from None
    for result in results.values():
        if result.error:
            result.error = redact(result.error)
    save_state(store.keyz_dir, states)
    return [results[e.name] for e in entries]


def _interrupted(written: Sequence[Path], git_mode: str) -> str:
    """'interrupted; wrote A, not committed (the next ...)': what a Ctrl-C left behind."""
    if not written:
        return "interrupted; no sidecar was written"
    said = f"interrupted; wrote {', '.join(map(str, written))}"
    it = "it" if len(written) == 1 else "them"
    if git_mode == "commit":
        return f"{said}, not committed (the next 'keyz sync --commit' commits {it})"
    if git_mode == "stage":
        return f"{said}, not staged (the next 'keyz sync --stage' stages {it})"
    return said


async def _fetch_all(
    store: PassStore,
    config: Config,
    entries: list[EntryConfig],
    progress: Progress | None,
    now: datetime,
    record: Callable[[EntryConfig, Report | str], None],
) -> None:
    from keyz.providers import get_provider
    from keyz.providers.base import FetchContext
    from keyz.providers.http import (
        RAISE_TIMEOUT,
        HttpClient,
        budget,
        check_configured_base_url,
        resolve_base_url,
    )

    decrypting = asyncio.Semaphore(DECRYPT_WORKERS)
    semaphores: dict[str, asyncio.Semaphore] = {}
    pending: dict[str, int] = {}
    done = 0
    if progress:  # from the first moment: a hung gpg or provider must not look like nothing
        progress(0, len(entries), None)

    async def one(entry: EntryConfig, http: HttpClient) -> Report | str:
        provider = get_provider(entry.provider)
        provider_config = config.providers.get(entry.provider)
        try:
            provider.check_options(entry.options, origin=f"[entries.{entry.name!r}]")
            configured = provider_config.base_url if provider_config else None
            check_configured_base_url(store.root, provider.id, configured)  # before decrypting
            async with budget(config.timeout):  # each request may use what is left of it
                async with decrypting:
                    secret = await in_daemon_thread(store.decrypt, entry.name)
                check_key_belongs(entry, secret.value, secret.hints.get("provider"))
                # 'key: value' lines of the entry travel with the key: they win over config.toml
                hinted = {k: v for k, v in secret.hints.items() if k in provider.options}
                provider.check_options(hinted, origin="the pass entry's line")
                for name, value in hinted.items():  # an entry's free values are private
                    if not provider.options[name].choices:
                        REDACTOR.add(value, min_length=6)
                options = {**entry.options, **hinted}
                base_url = resolve_base_url(
                    provider.id,
                    provider.documented_base_url(options),
                    configured,
                    from_entry=secret.hints.get("base_url"),  # bound to the key: no trust needed
                )
                provider.check_base_url(base_url, options)
                async with semaphores[entry.provider]:
                    ctx = FetchContext(
                        http=http,
                        secret=secret,
                        base_url=base_url,
                        options=options,
                        now=now,
                        region=provider.region(options),
                    )
                    try:
                        return await provider.report(ctx)
                    except KeyzError:
                        raise
                    except Exception as exc:  # one answer fails its entry only
                        return _unusable(entry, exc)
        except TimeoutError:
            return f"no result within {config.timeout:g}s; {RAISE_TIMEOUT}"
        except KeyzError as exc:
            return str(exc)

    async def tracked(entry: EntryConfig, http: HttpClient) -> None:
        nonlocal done
        try:
            outcome = await one(entry, http)
        except Exception as exc:  # a bug outside the parser: still this entry's
            outcome = f"internal error: {type(exc).__name__}; this is a bug, please report it"
        # (cancelled by Ctrl-C: neither recorded nor counted as done)
        try:
            record(entry, outcome)
        finally:
            done += 1
            pending[entry.provider] -= 1
            if progress:
                # the provider with the most entries still pending is the one holding us up
                slowest = max(pending, key=lambda pid: pending[pid])
                progress(done, len(entries), slowest if pending[slowest] > 0 else None)

    for entry in entries:
        provider = get_provider(entry.provider)
        cap = (
            config.providers.get(entry.provider, ProviderConfig()).concurrency
            or provider.concurrency
        )
        semaphores.setdefault(entry.provider, asyncio.Semaphore(cap))
        pending[entry.provider] = pending.get(entry.provider, 0) + 1
    try:
        async with HttpClient.make_async_client() as client:
            http = HttpClient(client)
            await asyncio.gather(*(tracked(entry, http) for entry in interleave(entries)))
    finally:
        store.close()  # a decryption past its deadline must not outlive the run


def check_key_belongs(
    entry: EntryConfig, key: str, bound: str | None, *, tracking: bool = False
) -> None:
    """Refuse to send a key to a provider it visibly does not belong to.

    config.toml is committed: a pushed ``provider = ...`` must not move a key to
    another provider. A ``provider:`` line in the pass entry binds it; a key with a
    documented prefix (sk-or-v1-, sk-ant-, xai-, ...) binds it to that provider.
    ``keyz track`` asks too (``tracking``), before config.toml names the entry.
    """
    from keyz.discover import prefix_of

    if bound is not None and bound.strip().lower() != entry.provider:
        if tracking:
            raise ConfigError(
                f"{entry.name}: the pass entry's provider: line names another provider than "
                f"{entry.provider}; not tracked (track it with that provider, or fix the line)"
            )
        raise ConfigError(
            f"config.toml tracks it with {entry.provider}, but the pass entry's provider: line "
            "names another provider; nothing was sent (fix one of them)"
        )
    shape = prefix_of(key)
    if shape is not None and shape.provider != entry.provider:
        looks = f"the key looks like {shape.label}, not a key for {entry.provider}"
        if tracking:
            raise ConfigError(
                f"{entry.name}: {looks}; not tracked (keyz track {entry.name} -p {shape.provider})"
            )
        raise ConfigError(
            f"{looks}; nothing was sent (fix [entries.{entry.name!r}] provider in config.toml, "
            f"or keyz track {entry.name} -p {shape.provider})"
        )


def interleave(entries: Sequence[EntryConfig]) -> list[EntryConfig]:
    """Round-robin over providers, so decryption feeds every provider's queue from the start.

    Sorted by name, all of one provider's entries would be decrypted first and another's
    fetched only at the end, one capped batch after another.
    """
    queues: dict[str, list[EntryConfig]] = {}
    for entry in entries:
        queues.setdefault(entry.provider, []).append(entry)
    lanes = list(queues.values())
    return [
        lane[i] for i in range(max(map(len, lanes), default=0)) for lane in lanes if i < len(lane)
    ]


def in_daemon_thread(function: Callable[[str], T], argument: str) -> Awaitable[T]:
    """Run blocking ``function`` in a daemon thread.

    Unlike an executor's threads, a daemon thread stuck in a hung gpg past the
    deadline never keeps keyz from exiting.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable[[], None]) -> None:
        if not future.done():
            setter()

    def run() -> None:
        try:
            result = function(argument)
        except BaseException as exc:  # handed to the awaiting coroutine
            error = exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                loop.call_soon_threadsafe(deliver, lambda: future.set_exception(error))
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, lambda: future.set_result(result))

    threading.Thread(target=run, name="keyz-gpg", daemon=True).start()
    return future


def _unusable(entry: EntryConfig, exc: Exception) -> str:
    """The message for an answer keyz could not turn into a sidecar.

    Odd values (pydantic, Decimal or datetime said why) are the provider's doing; any other
    exception is a bug in keyz's parser, named by its type only (its text may hold a value).
    """
    if isinstance(exc, RecursionError):
        return f"{entry.provider}: the answer is nested too deeply"
    if isinstance(exc, ValueError | ArithmeticError):
        reason = _reason(exc)
        return str(
            ProviderError(f"{entry.provider}: the answer has values keyz cannot use ({reason})")
        )
    kind = type(exc).__name__
    return f"internal error in {entry.provider} parser: {kind}; this is a bug, please report it"


def _reason(exc: ValueError | ArithmeticError) -> str:
    if isinstance(exc, DecimalException):  # its text is '[<class 'decimal.InvalidOperation'>]'
        return "a figure out of range"
    errors = getattr(exc, "errors", None)  # a pydantic ValidationError: its first message
    if callable(errors):
        found = errors()
        if found:
            return str(found[0].get("msg", "")) or type(exc).__name__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _git_step(store: PassStore, repo: GitRepo, result: SyncResult) -> None:
    try:
        if result.git_mode == "stage":
            staged = repo.stage()
            result.staged = list(staged.paths)
            result.warnings.extend(staged.warnings)
            if result.staged:
                result.warnings.append(
                    "staged keyz's files only; note that pass commits the whole index on its next change"
                )
        else:
            result.commit = repo.commit(lambda paths: commit_message(store, paths))
            result.warnings.extend(result.commit.warnings)
    except KeyzError as exc:
        result.git_error = exc


def commit_message(store: PassStore, paths: Sequence[str]) -> str:
    """'keyz: sync 2 entries (deepseek, openrouter)' and one line per changed file."""
    lines: list[str] = []
    providers: set[str] = set()
    count = 0
    for path in paths:
        if not path.startswith(".keyz/entries/"):
            lines.append(f"{path}: updated")
            continue
        entry = path[len(".keyz/entries/") : -len(".json")]
        count += 1
        try:
            current = sc.read(store.root / path)
        except KeyzError:
            current = None
        if current is None:
            lines.append(f"{entry}: removed")
            continue
        providers.add(current.provider)
        lines.append(f"{entry}: {summarize(current)}")
    if count:
        noun = "entry" if count == 1 else "entries"
        subject = (
            f"keyz: sync {count} {noun} ({', '.join(sorted(providers))})"
            if providers
            else f"keyz: sync {count} {noun}"
        )
    else:
        subject = "keyz: update configuration"
    return "\n".join([subject, "", *lines]) + "\n"


__all__ = [
    "EntryResult",
    "SyncResult",
    "check_key_belongs",
    "commit_message",
    "run_sync",
    "select_entries",
]
