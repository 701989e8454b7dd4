"""``keyz sync``: resolve → fetch → normalize → write for each entry, then git once.

Each step below is one function that raises a :class:`KeyzError` when the entry cannot go
on; the error (its ``kind`` is what ``--json`` reports) becomes that entry's result, and
one entry's failure never stops the others. A failed entry's last good sidecar stays
exactly as it was.

The steps run as a pipeline, not one phase after the other: every entry's decryption is
submitted before the HTTP stack is even imported (at most four at a time, in reused daemon
threads, :meth:`keyz.store.PassStore.submit`), each entry fetched as soon as its key is
decrypted and written as soon as its answer is in, while the others are still in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from decimal import DecimalException
from pathlib import Path
from typing import TYPE_CHECKING

from keyz import sidecar as sc
from keyz.config import Config, EntryConfig, GitMode, ProviderConfig
from keyz.errors import (
    ConfigError,
    DecryptError,
    InternalError,
    Interrupted,
    KeyzError,
    NetworkError,
    ParseError,
    UsageError,
    deaf_to_ctrl_c,
)
from keyz.fields import in_future
from keyz.fsutil import clean_stale_temp_files, safe_path
from keyz.git_ops import CommitOutcome, GitRepo, preload
from keyz.ledger import commit_message
from keyz.lock import store_lock
from keyz.redact import REDACTOR, redact
from keyz.state import EntryState, load_state, save_state
from keyz.store import PassStore, Secret, result_of

if TYPE_CHECKING:
    import ssl
    from concurrent.futures import Future

    from keyz.providers.base import FetchContext, Report
    from keyz.providers.http import HttpClient

Progress = Callable[[int, int, str | None], None]  # done, total, slowest provider still pending
# seconds a run's end waits for its decryption threads once their gpg are killed (_Run.settle);
# they take milliseconds
SETTLE_TIMEOUT = 2.0


@dataclass
class EntryResult:
    entry: str
    provider: str
    sidecar: sc.Sidecar | None = (
        None  # what is on disk after the run: new values, or the last good ones
    )
    changed: bool = False
    error: KeyzError | None = None  # why this entry failed; its ``kind`` says what kind of failure


@dataclass
class SyncResult:
    entries: list[EntryResult]
    git_mode: GitMode
    commit: CommitOutcome | None = None
    staged: list[str] = field(default_factory=list)
    git_error: KeyzError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(e.error is not None for e in self.entries) or self.git_error is not None

    def to_json(self) -> dict[str, object]:
        """The ``keyz sync --json`` document."""
        return {
            "entries": [
                {
                    "entry": e.entry,
                    "provider": e.provider,
                    "ok": e.error is None,
                    "changed": e.changed,
                    "error": str(e.error) if e.error else None,
                    "error_kind": e.error.kind.value if e.error else None,
                    "sidecar": sc.json_ready(e.sidecar) if e.sidecar else None,
                }
                for e in self.entries
            ],
            "git": {
                "mode": self.git_mode,
                "commit": self.commit.commit if self.commit else None,
                "paths": list(self.commit.paths) if self.commit else self.staged,
                "error": str(self.git_error) if self.git_error else None,
                "error_kind": self.git_error.kind.value if self.git_error else None,
            },
            "warnings": self.warnings,
        }


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
    git_mode: GitMode = "off",
    progress: Progress | None = None,
    on_result: Callable[[EntryResult], None] | None = None,
) -> SyncResult:
    """Sync ``names`` (default: every tracked entry). ``progress`` is called at the start and
    after each entry; ``on_result`` with each entry's result as soon as it is final."""
    entries = select_entries(config, names)
    flag = f"--{git_mode}"
    repo = GitRepo.require(store.root, flag) if git_mode != "off" else GitRepo.find(store.root)
    with contextlib.ExitStack() as stack:
        if repo is not None:
            stack.callback(repo.close)
        stack.enter_context(store_lock(lock_path(store, repo)))
        clean_stale_temp_files(store.keyz_dir)  # what a killed run left; ours to clean, locked
        result = SyncResult(
            _sync_entries(store, config, entries, progress, on_result, git_mode), git_mode
        )
        if git_mode != "off" and repo is not None:
            try:
                git_step(store, repo, result)
            except KeyboardInterrupt:  # git was stopped too, before keyz goes on
                if repo.interrupted_commit is not None:
                    raise Interrupted(
                        f"interrupted after git committed keyz's files (commit "
                        f"{repo.interrupted_commit[:12]}); a hook of that commit may not have "
                        "finished"
                    ) from None
                raise Interrupted(_interrupted(_written(store, result.entries), git_mode)) from None
    return result


def commit_changes(store: PassStore) -> SyncResult:
    """Commit keyz's changed files as ``keyz sync --commit`` does, without syncing first: the
    same lock and the same staged-only commit (``keyz ui``'s ``c``)."""
    repo = GitRepo.require(store.root, "committing")
    with contextlib.ExitStack() as stack:
        stack.callback(repo.close)
        stack.enter_context(store_lock(lock_path(store, repo)))
        result = SyncResult([], "commit")
        git_step(store, repo, result)
    return result


# --- the steps, in the order each entry goes through them ---------------------------------


def resolve(
    entry: EntryConfig,
    secret: Secret,
    *,
    http: HttpClient,
    now: datetime,
    configured_base_url: str | None = None,
) -> FetchContext:
    """Entry and its decrypted key → everything one fetch may use, every check made before
    anything is sent: the key belongs to this provider, the entry's own ``key: value`` lines
    (they win over config.toml) are valid options, and the base URL is one the key may go to.
    """
    from keyz.providers import get_provider
    from keyz.providers.base import FetchContext
    from keyz.providers.hosts import entry_base_url, resolve_base_url

    provider = get_provider(entry.provider)
    check_key_belongs(entry, secret.value, secret.hints.get("provider"))
    hinted = {k: v for k, v in secret.hints.items() if k in provider.options}
    provider.check_options(hinted, origin="the pass entry's line")
    for name, value in hinted.items():  # an entry's free values are private
        if not provider.options[name].choices:
            REDACTOR.add(value, min_length=6)
    options = {**entry.options, **hinted}
    if provider.host_from_entry:  # a relay: its host is the entry's line, nothing else
        if configured_base_url:
            raise ConfigError(
                f"[providers.{provider.id}] base_url cannot be used: {provider.id} takes its "
                "host only from the pass entry's 'base_url:' line; nothing was sent"
            )
        base_url = entry_base_url(provider.id, entry.name, secret.hints.get("base_url"))
    else:
        base_url = resolve_base_url(
            provider.id,
            provider.documented_base_url(options),
            configured_base_url,
            from_entry=secret.hints.get("base_url"),  # bound to the key: no trust needed
        )
    provider.check_base_url(base_url, options)
    return FetchContext(
        http=http,
        secret=secret,
        base_url=base_url,
        options=options,
        now=now,
        region=provider.region(options),
    )


async def fetch(entry: EntryConfig, ctx: FetchContext) -> Report:
    """Ask the provider. Whatever its parser raises fails this entry only (:func:`unusable`)."""
    from keyz.providers import get_provider

    try:
        return await get_provider(entry.provider).report(ctx)
    except KeyzError:
        raise
    except Exception as exc:  # one answer fails its entry only
        raise unusable(entry, exc) from None


def normalize(entry: EntryConfig, report: Report, now: datetime) -> sc.Sidecar:
    """The provider's report as the entry's sidecar, observed ``now``."""
    try:
        return sc.Sidecar(
            entry=entry.name,
            provider=entry.provider,
            observed_at=now,
            available=report.available,
            balances=report.balances,
            key_limit=report.key_limit,
            spend=report.spend,
            quotas=report.quotas,
            account_keys=report.account_keys,
            notes=report.notes,
        )
    except KeyzError:
        raise
    except Exception as exc:  # e.g. figures that do not make one sidecar together
        raise unusable(entry, exc) from None


def write(keyz_dir: Path, new: sc.Sidecar, old: sc.Sidecar | None) -> sc.Sidecar:
    """Write ``new`` unless its figures are ``old``'s; return what is on disk now."""
    path = sc.checked_path(keyz_dir, new.entry)
    if old is not None and in_future(old.observed_at, new.observed_at):
        old = None  # written by a clock that ran ahead: unchanged values get the real time
    return sc.write_if_changed(path, new, old)


def git_step(store: PassStore, repo: GitRepo, result: SyncResult) -> None:
    """Stage or commit keyz's changed files, once for the whole run; a failure is the run's."""
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
            written = {
                f".keyz/entries/{entry.entry}.json": entry.sidecar
                for entry in result.entries
                if entry.changed and entry.sidecar is not None
            }
            result.commit = repo.commit(lambda paths: commit_message(store.root, paths, written))
            result.warnings.extend(result.commit.warnings)
    except KeyzError as exc:
        result.git_error = exc


# --- running the steps --------------------------------------------------------------------


def _sync_entries(
    store: PassStore,
    config: Config,
    entries: list[EntryConfig],
    progress: Progress | None,
    on_result: Callable[[EntryResult], None] | None,
    git_mode: GitMode = "off",
) -> list[EntryResult]:
    states = load_state(store.keyz_dir)  # an unreadable state file stops us before any network work
    run = _Run(store, config, states, on_result, git_mode)
    known: list[EntryConfig] = []
    from keyz.providers import get_provider

    for entry in entries:
        result = run.results[entry.name] = EntryResult(entry.name, entry.provider)
        try:
            get_provider(entry.provider)
        except UsageError as exc:  # a hand-edited config: this entry only, the others go on
            result.error = ConfigError(f"[entries.{entry.name!r}] in config.toml: {exc}")
        else:
            known.append(entry)
    try:
        run.start(known)  # gpg works while the sidecars are read and the HTTP stack set up
        to_fetch = run.read_sidecars(entries)
        early = len(entries) - len(to_fetch)  # done (failed): counted, so the total is all
        counted: Progress | None = (
            (lambda done, total, waiting: progress(done + early, total + early, waiting))
            if progress
            else None
        )
        if to_fetch:
            asyncio.run(run.all(to_fetch, counted))
    except KeyboardInterrupt:  # asyncio.run cancelled what was in flight; the rest is written
        run.settle()  # the gpg processes still running
        save_state(store.keyz_dir, states)
        raise Interrupted(_interrupted(_written(store, run.results.values()), git_mode)) from None
    finally:
        run.settle()  # no gpg may outlive the run (nothing to fetch: none was needed)
    for result in run.results.values():
        if result.error is not None:  # values learnt later in the run (hints) are masked too
            result.error.args = tuple(
                redact(a) if isinstance(a, str) else a for a in result.error.args
            )
    save_state(store.keyz_dir, states)
    return [run.results[e.name] for e in entries]


class _Run:
    """One run's shared parts: the clock, the HTTP client, the queues, and what is done."""

    def __init__(
        self,
        store: PassStore,
        config: Config,
        states: dict[str, EntryState],
        on_result: Callable[[EntryResult], None] | None,
        git_mode: GitMode,
    ) -> None:
        self.store, self.config, self.states, self.on_result = store, config, states, on_result
        self.git_mode = git_mode
        self.now = sc.utc_now()
        self.results: dict[str, EntryResult] = {}
        self.olds: dict[str, sc.Sidecar | None] = {}  # each entry's sidecar before the run
        # each entry's decryption, submitted before the loop starts, or why it was not
        self.decrypting: dict[str, Future[Secret] | KeyzError] = {}
        self.dropped: list[Future[Secret]] = []  # decryptions of entries not to fetch after all
        self.settled = False  # settle() ran
        self.lanes: dict[str, _Lane] = {}  # requests in flight, per provider
        self.caps: dict[str, int] = {}  # the size of each provider's lane
        self.pending: dict[str, int] = {}  # entries not done yet, per provider
        self.done = self.total = 0
        self.progress: Progress | None = None

    def start(self, entries: list[EntryConfig]) -> None:
        """Submit every entry's decryption, in :func:`interleave` order, each once the checks
        that come before decrypting it pass (else that failure is its outcome)."""
        try:
            self.caps = lane_caps(self.config, entries)
            for entry in interleave(entries, self.caps):
                try:
                    self.preflight(entry)
                except KeyzError as exc:
                    self.decrypting[entry.name] = exc
                else:
                    self.decrypting[entry.name] = self.store.submit(entry.name)
        except BaseException:
            self.store.close()
            raise

    def read_sidecars(self, entries: list[EntryConfig]) -> list[EntryConfig]:
        """Each entry's sidecar as it is before the run; the entries to fetch, in order. One
        that is corrupt or newer than this keyz is reported (before any other problem of that
        entry) and never overwritten: its key, being decrypted already, is dropped unused. An
        entry that failed already (an unknown provider) keeps its last good figures to show.
        Those reported here are reported in ``entries``' order, as the rows on a terminal."""
        to_fetch: list[EntryConfig] = []
        try:
            for entry in entries:
                result = self.results[entry.name]
                try:
                    self.olds[entry.name] = result.sidecar = sc.read_entry(
                        self.store.keyz_dir, entry.name
                    )
                except KeyzError as exc:
                    result.error = exc
                    decrypting = self.decrypting.get(entry.name)
                    if decrypting is not None and not isinstance(decrypting, KeyzError):
                        decrypting.cancel()  # not started yet: it never will be
                        self.dropped.append(decrypting)  # else settle() waits for it
                    self.decrypting[entry.name] = exc
                else:
                    if result.error is None:
                        to_fetch.append(entry)
                        continue
                if self.on_result is not None:
                    self.on_result(result)
        except BaseException:
            self.store.close()
            raise
        return to_fetch

    def settle(self) -> None:
        """Stop this run's gpg processes, and wait (at most :data:`SETTLE_TIMEOUT`) for the
        threads that run them to see it.

        A decryption not started yet never will be; one that runs ends as soon as its gpg is
        killed (:meth:`PassStore.close`, which kills a gpg registered after it too). Without
        the wait, a thread between starting a gpg and registering it as keyz exited (a key
        dropped with its corrupt sidecar, Ctrl-C) left that gpg running after keyz. Once per
        run: Ctrl-C settles, and the ``finally`` that follows must not wait a second time."""
        if self.settled:
            return
        self.settled = True
        self.store.close()
        running = [
            decrypting
            for decrypting in [*self.decrypting.values(), *self.dropped]
            if not isinstance(decrypting, KeyzError)
            and not decrypting.cancel()
            and not decrypting.done()
        ]
        if running:
            wait(running, timeout=SETTLE_TIMEOUT)

    def preflight(self, entry: EntryConfig) -> None:
        """What must hold before an entry's key is decrypted: its options, and that the
        base URL config.toml names for it is one this machine trusts."""
        from keyz.providers import get_provider
        from keyz.providers.hosts import check_configured_base_url

        provider = get_provider(entry.provider)
        provider.check_options(entry.options, origin=f"[entries.{entry.name!r}]")
        configured = self.config.providers.get(entry.provider, ProviderConfig()).base_url
        check_configured_base_url(
            self.store.root, provider.id, configured, entry_bound=provider.host_from_entry
        )

    async def all(self, entries: list[EntryConfig], progress: Progress | None) -> None:
        from keyz.providers.http import ssl_context

        self.total, self.progress = len(entries), progress
        if progress:  # from the first moment: a hung gpg or provider must not look like nothing
            progress(0, len(entries), None)
        for entry in entries:
            self.pending[entry.provider] = self.pending.get(entry.provider, 0) + 1
        try:
            async with contextlib.AsyncExitStack() as clients:
                verify = ssl_context()
                for provider_id in self.pending:
                    self.lanes[provider_id] = lane = _Lane(self.caps[provider_id], clients, verify)
                    await lane.open()  # one now: a proxy setting httpx refuses stops the run here
                loop = asyncio.get_running_loop()
                # the writes' threads (asyncio.to_thread) never take a Ctrl-C meant for the loop
                loop.set_default_executor(
                    ThreadPoolExecutor(4, "keyz-write", initializer=deaf_to_ctrl_c)
                )
                tasks = [
                    loop.create_task(self.entry(entry)) for entry in interleave(entries, self.caps)
                ]
                with _ctrl_c_ends(tasks) as interrupted:
                    try:
                        await asyncio.gather(*tasks)
                    except asyncio.CancelledError:
                        if not interrupted:
                            raise
                    if interrupted:
                        raise KeyboardInterrupt
        finally:
            self.store.close()  # a decryption past its deadline must not outlive the run

    async def entry(self, entry: EntryConfig) -> None:
        """One entry through every step; whatever happens is recorded as its result."""
        outcome: Report | KeyzError
        try:
            outcome = await self.answer(entry)
        except KeyzError as exc:
            outcome = exc
        except Exception as exc:  # a bug outside the parser: still this entry's
            outcome = InternalError(
                f"internal error: {type(exc).__name__}; this is a bug, please report it"
            )
        # (cancelled by Ctrl-C: neither recorded nor counted as done)
        try:
            await self.record(entry, outcome)
        finally:
            self.done += 1
            self.pending[entry.provider] -= 1
            if self.progress:
                # the provider with the most entries still pending is the one holding us up
                slowest = max(self.pending, key=lambda pid: self.pending[pid])
                self.progress(self.done, self.total, slowest if self.pending[slowest] else None)

    async def answer(self, entry: EntryConfig) -> Report:
        """Decrypt, :func:`resolve` and :func:`fetch`, within the entry's time budget."""
        from keyz.providers.http import RAISE_TIMEOUT, budget

        decrypting = self.decrypting[entry.name]
        if isinstance(decrypting, KeyzError):  # a check before decrypting failed
            raise decrypting
        configured = self.config.providers.get(entry.provider, ProviderConfig()).base_url
        secret: Secret | None = None
        try:
            async with budget(self.config.timeout):  # each request may use what is left of it
                secret = await result_of(decrypting)
                async with self.lanes[entry.provider].slot() as http:
                    ctx = resolve(
                        entry, secret, http=http, now=self.now, configured_base_url=configured
                    )
                    return await fetch(entry, ctx)
        except TimeoutError:
            late = DecryptError if secret is None else NetworkError  # which step ran out of time
            raise late(f"no result within {self.config.timeout:g}s; {RAISE_TIMEOUT}") from None

    async def record(self, entry: EntryConfig, outcome: Report | KeyzError) -> None:
        """:func:`normalize` and :func:`write` the answer, or keep the error; then say so.

        The write (two fsyncs, ~5 ms on a plain disk: half a second for 100 new sidecars) is
        made in a worker thread while the event loop goes on with the other entries; it sets
        ``result.changed`` itself, so that what a Ctrl-C left written is still reported."""
        result = self.results[entry.name]
        state = self.states.setdefault(entry.name, EntryState())
        state.last_checked = self.now
        try:
            if isinstance(outcome, KeyzError):
                raise outcome
            new = normalize(entry, outcome, self.now)
            await asyncio.to_thread(self._write, result, new, self.olds[entry.name])
        except KeyzError as exc:
            result.error = _as_config(exc)
            state.last_error = str(result.error)
            state.failures += 1
        except Exception as exc:  # a bug in writing: still this entry's only
            result.error = unusable(entry, exc)
            state.last_error = str(result.error)
            state.failures += 1
        else:
            state.last_success, state.last_error = state.last_checked, None
            state.failures = 0
            if result.changed and self.git_mode != "off":
                preload()  # there will be something to commit: GitPython, while others answer
        if self.on_result is not None:
            self.on_result(result)

    def _write(self, result: EntryResult, new: sc.Sidecar, old: sc.Sidecar | None) -> None:
        result.sidecar = write(self.store.keyz_dir, new, old)
        result.changed = result.sidecar is new


@contextlib.contextmanager
def _ctrl_c_ends(tasks: list[asyncio.Task[None]]) -> Iterator[list[bool]]:
    """Ctrl-C during the run: every entry's task cancelled and every connection aborted.

    asyncio.run's own handler only cancels the main task, and a cancellation swallowed on
    its way (httpcore closes responses inside shielded cancel scopes) left a run waiting on a
    hung provider after Ctrl-C, or finishing as if nothing was pressed. Aborted connections
    end every wait on the network whatever happens to the cancellation; a second Ctrl-C
    cancels again. Yields a list that is non-empty once Ctrl-C was pressed. Only in the main
    thread (``keyz ui`` syncs in a worker; its own keys stop it).
    """
    import signal
    import threading

    from keyz.providers.http import abort_connections

    pressed: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def interrupt() -> None:
        pressed.append(True)
        abort_connections()
        for task in tasks:
            task.cancel()

    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (RuntimeError, ValueError):  # no signal handling here: asyncio.run's own stays
        yield pressed
        return
    try:
        yield pressed
    finally:
        loop.remove_signal_handler(signal.SIGINT)


class _Lane:
    """One provider's requests in flight: at most ``cap``, each on a client of its own that
    holds one connection, the last one returned used first (its connection is warm).

    One shared pool of ``cap`` connections did the same, but httpcore rescans every
    connection of a pool on each request and each answer (~14 % of keyz's own CPU at 1,000
    entries); a pool of one has nothing to scan, and no request ever waits inside httpcore.
    """

    def __init__(self, cap: int, clients: contextlib.AsyncExitStack, verify: ssl.SSLContext):
        self._gate = asyncio.Semaphore(cap)
        self._idle: list[HttpClient] = []
        self._clients, self._verify = clients, verify

    async def open(self) -> None:
        """One more client, idle (closed with the run's other clients)."""
        from keyz.providers.http import HttpClient

        client = HttpClient.make_async_client(connections=1, verify=self._verify)
        self._idle.append(HttpClient(await self._clients.enter_async_context(client)))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[HttpClient]:
        async with self._gate:
            if not self._idle:
                await self.open()
            http = self._idle.pop()
            try:
                yield http
            finally:
                self._idle.append(http)


def _as_config(exc: KeyzError) -> KeyzError:
    """A usage error about a tracked entry (its options, its name) is one in config.toml,
    where the entry came from."""
    if isinstance(exc, UsageError) and not isinstance(exc, ConfigError):
        return ConfigError(str(exc))
    return exc


def _written(store: PassStore, results: Iterable[EntryResult]) -> list[Path]:
    """The sidecars this run wrote, relative to the store (for what an interrupt says)."""
    return [
        sc.checked_path(store.keyz_dir, r.entry).relative_to(store.root)
        for r in results
        if r.changed
    ]


def _interrupted(written: Sequence[Path], git_mode: GitMode) -> str:
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


def lane_caps(config: Config, entries: Sequence[EntryConfig]) -> dict[str, int]:
    """The size of each provider's lane (requests in flight at once): ``[providers.<id>]
    concurrency`` in config.toml, else the provider's own default."""
    from keyz.providers import get_provider

    caps: dict[str, int] = {}
    for entry in entries:
        if entry.provider not in caps:
            configured = config.providers.get(entry.provider, ProviderConfig()).concurrency
            caps[entry.provider] = configured or get_provider(entry.provider).concurrency
    return caps


def interleave(entries: Sequence[EntryConfig], caps: Mapping[str, int]) -> list[EntryConfig]:
    """The order keys are decrypted in: the entry whose lane has the most work left first.

    A provider's lane runs ``caps[provider]`` requests at once, and each entry takes the
    provider's ``round_trips`` one after the other (openrouter: /credits, then /keys). From
    the moment the k-th last of a provider's entries is decrypted, its lane still has at least
    ``max(k * round_trips / cap, round_trips)`` round trips of work. Taking that as a
    deadline, earliest first, keeps the lanes that have the most to do busy from the first
    decryption on, and leaves for the end the keys that need the least after them: when
    decryption ends, no lane is left with a queue, nor the last key with a chain of requests.
    Entries with the same work left are spread evenly over their share of the run.

    Sorted by name, all of one provider's entries would be decrypted first and another's
    fetched only at the end, one capped batch after another; spread evenly over the run
    (ignoring the caps), with openrouter's keys in the first two thirds, a lane of 8 got half
    of its keys in the last third of the decryption, and the run waited for its queue
    (benchmarks/README.md, 2026-12-06).
    """
    from keyz.providers import get_provider

    queues: dict[str, list[EntryConfig]] = {}
    for entry in entries:
        queues.setdefault(entry.provider, []).append(entry)
    placed = []
    for rank, (pid, queue) in enumerate(queues.items()):
        trips, cap = get_provider(pid).round_trips, caps[pid]
        for i, entry in enumerate(queue):
            left = max((len(queue) - i) * trips / cap, trips)
            placed.append((-left, (i + 0.5) / len(queue), rank, i, entry))
    placed.sort(key=lambda item: item[:4])
    return [entry for *_, entry in placed]


def unusable(entry: EntryConfig, exc: Exception) -> KeyzError:
    """The error for an answer keyz could not turn into a sidecar.

    Odd values (pydantic, Decimal or datetime said why) are the provider's doing (a
    ParseError); any other exception is a bug in keyz's parser (an InternalError), named by
    its type only (its text may hold a value).
    """
    if isinstance(exc, RecursionError):
        return ParseError(f"{entry.provider}: the answer is nested too deeply")
    if isinstance(exc, ValueError | ArithmeticError):
        reason = _reason(exc)
        return ParseError(f"{entry.provider}: the answer has values keyz cannot use ({reason})")
    kind = type(exc).__name__
    return InternalError(
        f"internal error in {entry.provider} parser: {kind}; this is a bug, please report it"
    )


def _reason(exc: ValueError | ArithmeticError) -> str:
    if isinstance(exc, DecimalException):  # its text is '[<class 'decimal.InvalidOperation'>]'
        return "a figure out of range"
    errors = getattr(exc, "errors", None)  # a pydantic ValidationError: its first message
    if callable(errors):
        found = errors()
        if found:
            return str(found[0].get("msg", "")) or type(exc).__name__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


__all__ = [
    "EntryResult",
    "SyncResult",
    "check_key_belongs",
    "commit_changes",
    "fetch",
    "git_step",
    "normalize",
    "resolve",
    "run_sync",
    "select_entries",
    "unusable",
    "write",
]
