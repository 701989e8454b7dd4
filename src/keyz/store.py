"""The pass store: where it is, which entries it has, and decrypting one (pass semantics)."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, TypeVar

from keyz.errors import DecryptError, KeyzError, UsageError, start_deaf_to_ctrl_c
from keyz.redact import REDACTOR

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Sequence

    import gnupg

GPG_TIMEOUT: Final = 30.0  # seconds; a gpg that takes longer is killed and reported
# gpg processes at a time: each keeps a core busy, and six did worse than four on two cores
DECRYPT_WORKERS: Final = 4
GPG_NICENESS: Final = 10  # gpg's priority below keyz's own (see _lower_priority)
T = TypeVar("T")
_HINT_LINE: Final = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)\s*:\s*(.*?)\s*$")
_FORBIDDEN_CHARS: Final = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True)
class Secret:
    """A decrypted entry: the key (first line) and its ``key: value`` hint lines."""

    value: str = field(repr=False)
    hints: dict[str, str] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:  # never let a secret reach a message by accident
        return "Secret([REDACTED])"


def locate_store(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--store``, else ``$PASSWORD_STORE_DIR``, else ``~/.password-store`` (as pass does)."""
    raw = explicit or os.environ.get("PASSWORD_STORE_DIR") or Path.home() / ".password-store"
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise UsageError(
            f"no password store at {path}. Create one with 'pass init <gpg-id>', "
            "or point keyz at yours with --store PATH or PASSWORD_STORE_DIR."
        )
    return path.resolve()


def validate_entry_name(name: str) -> str:
    """Return the normalised entry name, or raise UsageError (pass's check_sneaky_paths and more)."""
    if not name or len(name) > 1024:
        raise UsageError("an entry name must be 1 to 1024 characters long")
    if _FORBIDDEN_CHARS.search(name):
        raise UsageError(f"entry name {name!r} contains control characters or a backslash")
    if name.startswith("/"):
        raise UsageError(
            f"entry name {name!r} is absolute; give it relative to the store, as pass does"
        )
    if name.endswith(".gpg"):
        name = name[: -len(".gpg")]
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UsageError(f"entry name {name!r} has an empty, '.' or '..' component")
    if parts[0] in (".git", ".keyz", ".extensions") or parts[0].startswith("-"):
        raise UsageError(f"entry name {name!r} is not a pass entry")
    return name


class PassStore:
    """A pass store directory and the gpg that decrypts it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._gpg: gnupg.GPG | None = None
        self._gpg_lock = threading.Lock()
        self._processes = _Processes()

    @property
    def keyz_dir(self) -> Path:
        return self.root / ".keyz"

    def entry_path(self, name: str) -> Path:
        """The ``.gpg`` file of entry ``name``; refuses names and symlinks that leave the store."""
        name = validate_entry_name(name)
        path = self.root / f"{name}.gpg"
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(self.root):
            raise UsageError(f"entry {name!r} is a symlink that leads out of the store")
        return path

    def has_entry(self, name: str) -> bool:
        return self.entry_path(name).is_file()

    def entries(self) -> list[str]:
        """Every entry name in the store, sorted (like ``pass ls``, skipping .git and .extensions)."""
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = Path(dirpath).relative_to(self.root)
            for filename in filenames:
                if filename.endswith(".gpg") and not filename.startswith("."):
                    found.append((rel / filename[: -len(".gpg")]).as_posix())
        return sorted(found)

    def _gpg_instance(self) -> gnupg.GPG:
        with self._gpg_lock:
            if self._gpg is None:
                self._gpg = _make_gpg(self._processes)
            return self._gpg

    def close(self) -> None:
        """Stop every gpg this store started that still runs (a run's deadline passed).

        Waits only for the killed processes to be reaped, half a second at most (:func:`_stop`),
        and holds no lock meanwhile: a thread stuck in gpg may hold the store's locks.
        """
        self._processes.close()

    def submit(self, name: str) -> Future[Secret]:
        """Start decrypting ``name`` in the decryption threads (:func:`in_worker`); at most
        :data:`DECRYPT_WORKERS` run at a time, the rest wait their turn in order."""
        return _WORKERS.submit(self.decrypt, name)

    def decrypt(self, name: str) -> Secret:
        """Decrypt one entry. The secret is its first line; ``key: value`` lines are hints."""
        path = self.entry_path(name)
        if not path.is_file():
            raise DecryptError(
                f"no entry {name!r} in the store; if it was moved or removed, "
                f"'keyz untrack {shlex.quote(name)}' (and 'keyz track NEW-NAME' after a pass mv)"
            )
        gpg = self._gpg_instance()
        pinentry = [] if _interactive() else ["--pinentry-mode", "error"]
        # --quiet, as pass decrypts: gpg then skips looking up whose key it used (1.5 of its
        # 6.5 ms of CPU per entry), and also the reason of a failure (no NO_SECKEY, no
        # pkdecrypt error): a failure is asked again without it, never with a pinentry
        result = gpg.decrypt_file(str(path), extra_args=["--quiet", *pinentry])
        if not result.ok and not _stopped(gpg, result):
            result = gpg.decrypt_file(str(path), extra_args=["--pinentry-mode", "error"])
        if not result.ok:
            raise DecryptError(_explain_failure(result, gpg, name, prompted=not pinentry))
        gpg.agent_up = True
        try:
            text = result.data.decode("utf-8")  # str(result) would decode as latin-1
        except UnicodeDecodeError:
            raise DecryptError("the decrypted entry is not UTF-8 text") from None
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise DecryptError("the entry is empty; its first line should be the API key")
        secret = Secret(lines[0].strip(), _parse_hints(lines[1:]))
        REDACTOR.add(secret.value)
        return secret


async def decrypt_in_thread(store: PassStore, name: str, gate: asyncio.Semaphore) -> Secret:
    """``store.decrypt(name)`` for a coroutine, in a decryption thread, as many at a time as
    ``gate`` lets through. ``keyz discover --decrypt`` decrypts this way; ``keyz sync``
    submits every entry at once (:meth:`PassStore.submit`) and awaits each with
    :func:`result_of`."""
    async with gate:
        return await result_of(store.submit(name))


def decrypt_each(store: PassStore, names: Sequence[str]) -> list[Secret | KeyzError]:
    """Decrypt every entry of ``names`` (:func:`decrypt_in_thread`): its key, or why not."""
    import asyncio

    async def each() -> list[Secret | KeyzError]:
        gate = asyncio.Semaphore(DECRYPT_WORKERS)

        async def one(name: str) -> Secret | KeyzError:
            try:
                return await decrypt_in_thread(store, name, gate)
            except KeyzError as exc:
                return exc

        return await asyncio.gather(*(one(name) for name in names))

    return asyncio.run(each())


async def in_daemon_thread(function: Callable[[str], T], argument: str) -> T:
    """Run blocking ``function`` in one of the worker threads (:class:`_Workers`)."""
    return await result_of(_WORKERS.submit(function, argument))


async def result_of(pending: Future[T]) -> T:
    """Await ``pending`` (a job of the worker threads) on the running loop.

    Cancelled (the entry's deadline passed) before it started, the job never runs; a job
    that finishes after the loop is gone is dropped without a word.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def copy(done: Future[T]) -> None:
        if waiter.done():
            return
        error = done.exception() if not done.cancelled() else asyncio.CancelledError()
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(done.result())

    def deliver(done: Future[T]) -> None:  # in the worker thread, or here when already done
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            loop.call_soon_threadsafe(copy, done)

    pending.add_done_callback(deliver)
    try:
        return await waiter
    except BaseException:
        pending.cancel()  # not started yet: it never will be
        raise


class _Workers:
    """A few daemon threads, started once and reused, running blocking jobs in order.

    A thread started per decryption made the event loop wait for each start. Daemon
    threads: one stuck in a hung gpg past the deadline never keeps keyz from exiting
    (and the run's end kills that gpg, :meth:`PassStore.close`).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[Any], Any], Any]] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._started = 0

    def submit(self, function: Callable[[Any], T], argument: Any) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((future, function, argument))
        with self._lock:
            if self._started < self._size:
                self._started += 1
                start_deaf_to_ctrl_c(
                    threading.Thread(target=self._work, name="keyz-gpg", daemon=True)
                )
        return future

    def _work(self) -> None:
        while True:
            _run_job(*self._jobs.get())


def _run_job(future: Future[T], function: Callable[[Any], T], argument: Any) -> None:
    """One job; its result is referenced by ``future`` only (a secret lingers nowhere else)."""
    if not future.set_running_or_notify_cancel():
        return  # its deadline passed while it waited
    try:
        result = function(argument)
    except BaseException as exc:  # handed to whoever awaits it
        future.set_exception(exc)
    else:
        future.set_result(result)


_WORKERS: Final = _Workers(DECRYPT_WORKERS)


def _parse_hints(lines: list[str]) -> dict[str, str]:
    hints: dict[str, str] = {}
    for line in lines:
        match = _HINT_LINE.match(line)
        if match:
            hints.setdefault(match.group(1).lower(), match.group(2))
    return hints


def _interactive() -> bool:
    """A person at a terminal may answer a pinentry; cron, pipes and CI never can."""
    return sys.stdin.isatty() and sys.stderr.isatty()


class _Watchdog:
    """One thread that kills each gpg still running GPG_TIMEOUT after it started (python-gnupg
    has no timeout); a timer thread per gpg cost a thread start per decryption."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._due: list[tuple[float, int, Any, Callable[[Any], None]]] = []
        self._order = itertools.count()  # ties never compare processes
        self._thread: threading.Thread | None = None

    def watch(self, process: Any, kill: Callable[[Any], None]) -> None:
        with self._wake:
            due = (time.monotonic() + GPG_TIMEOUT, next(self._order), process, kill)
            heapq.heappush(self._due, due)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="keyz-gpg-watch")
                self._thread.daemon = True
                start_deaf_to_ctrl_c(self._thread)
            self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                while self._due and self._due[0][2].poll() is not None:
                    heapq.heappop(self._due)  # finished in time
                if not self._due:
                    self._wake.wait()
                    continue
                left = self._due[0][0] - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                _, _, process, kill = heapq.heappop(self._due)
                kill(process)


_WATCHDOG: Final = _Watchdog()


class _Processes:
    """The gpg processes of one store, so that the end of a run can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[Any] = set()
        self._closed = False

    def add(self, process: Any) -> None:
        with self._lock:
            if not self._closed:
                self._live.add(process)
                return
        _stop([process])  # started after the run ended: it must not outlive keyz

    def close(self) -> None:
        with self._lock:
            self._closed = True
            running, self._live = [p for p in self._live if p.poll() is None], set()
        _stop(running)


def _stop(processes: list[Any], patience: float = 0.5) -> None:
    """SIGKILL each, then reap it: a kill is delivered, not awaited, and a gpg that keyz exits
    without reaping can still be running under init for a moment after keyz has gone.

    A killed gpg dies within milliseconds; one that does not is in uninterruptible sleep (a
    hung NFS or sshfs home), where waiting longer would not help: ``patience`` bounds it.
    """
    for process in processes:
        with contextlib.suppress(OSError):
            process.kill()
    deadline = time.monotonic() + patience
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            process.wait(max(0.0, deadline - time.monotonic()))


def _lower_priority(pid: int) -> None:
    """Run gpg :data:`GPG_NICENESS` below keyz itself, as ``nice`` would.

    A sync decrypts four entries at a time on every core while one thread of keyz sends
    the requests and reads the answers: at the same priority, the scheduler gave that thread
    a fifth of the machine, and every answer waited for it (a 100-entry sync 1.45 s → 1.20 s
    on two cores; 1,000 entries 7.3 s → 6.9 s). Decryption takes what the event loop leaves,
    which is most of it. Where the system refuses, gpg keeps keyz's priority.

    Only once a decryption has succeeded (``TimedGPG.agent_up``): a gpg that finds no
    gpg-agent starts one, which inherits gpg's priority and outlives keyz, serving every
    later pass, signature and ssh login at nice +10 (and no user can lower it back).
    """
    with contextlib.suppress(OSError, AttributeError):  # exited already; no setpriority here
        own = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, min(19, own + GPG_NICENESS))


def _make_gpg(processes: _Processes) -> gnupg.GPG:
    import gnupg

    class TimedGPG(gnupg.GPG):  # type: ignore[misc]  # python-gnupg ships no type hints
        """python-gnupg has no timeout: kill a gpg that runs longer than GPG_TIMEOUT."""

        def __init__(self, **kwargs: Any) -> None:
            self.timed_out: set[int] = set()  # set before gpg --list-config runs in __init__
            # a decryption succeeded, so gpg-agent runs: no later gpg starts it (and gives it
            # its own lower priority, _lower_priority)
            self.agent_up = False
            super().__init__(**kwargs)

        def _open_subprocess(self, args: list[str], passphrase: bool = False) -> Any:
            return self._started(super()._open_subprocess(args, passphrase))

        def _started(self, process: Any) -> Any:
            """Every gpg of this store: below keyz's priority once the agent is up, stopped
            at the run's end, killed past :data:`GPG_TIMEOUT`."""
            if self.agent_up:
                _lower_priority(process.pid)
            processes.add(process)
            _WATCHDOG.watch(process, self._kill)
            return process

        def _kill(self, process: Any) -> None:
            if process.poll() is None:
                self.timed_out.add(process.pid)
                process.kill()

        def _handle_io(
            self,
            args: list[str],
            fileobj_or_path: Any,
            result: Any,
            passphrase: str | None = None,
            binary: bool = False,
        ) -> Any:
            """decrypt_file's I/O with as few wake-ups of this thread as gpg allows.

            python-gnupg runs three threads per call (a writer, a stdout and a stderr reader),
            and one ``communicate`` woke ~19 times per entry, once per status line gpg writes:
            each a turn at the GIL taken from the event loop. Here gpg reads the entry file
            itself (its stdin), writes its status lines into an anonymous file read once it
            exits, and the plaintext is read from its stdout to the end: ~3 wake-ups. The
            arguments, the status parsing (``result.handle_status``) and the result stay
            python-gnupg's own."""
            if passphrase is not None or not binary or hasattr(fileobj_or_path, "read"):
                return super()._handle_io(args, fileobj_or_path, result, passphrase, binary)
            try:
                status = _status_file()
            except OSError:  # none to be had (memfd refused, a full TMPDIR): python-gnupg's way
                return super()._handle_io(args, fileobj_or_path, result, passphrase, binary)
            with status, open(fileobj_or_path, "rb") as entry:
                process = self._started(
                    subprocess.Popen(
                        self.make_args(args, False),
                        stdin=entry,
                        stdout=subprocess.PIPE,
                        stderr=status,
                        env=self.env,
                    )
                )
                with process.stdout:  # to its end: the watchdog stops a gpg that hangs
                    out = process.stdout.read()
                process.wait()
                status.seek(0)
                err = status.read()
            lines = err.decode(self.encoding, "replace").splitlines(keepends=True)
            for line in lines:
                if line.startswith("[GNUPG:] "):  # as python-gnupg's _read_response reads them
                    keyword, _, value = line[9:].rstrip().partition(" ")
                    result.handle_status(keyword, value.lstrip())
            result.stderr = "".join(lines)
            result.data = out
            result.returncode = process.returncode
            return result

    binary = shutil.which("gpg2") or shutil.which("gpg")  # pass prefers gpg2 too
    if binary is None:
        raise DecryptError(
            "gpg is not installed or not on PATH; install GnuPG (e.g. apt install gnupg)"
        )
    options = os.environ.get("PASSWORD_STORE_GPG_OPTS", "").split()  # bash word splitting, as pass
    env = dict(os.environ)
    if _interactive() and "GPG_TTY" not in env:
        with contextlib.suppress(OSError):
            env["GPG_TTY"] = os.ttyname(sys.stdin.fileno())
    try:
        gpg = TimedGPG(gpgbinary=binary, options=options or None, env=env)
    except (OSError, ValueError) as exc:
        raise DecryptError(f"cannot run gpg ({binary}): {exc}") from None
    gpg.encoding = "utf-8"
    return gpg


def _status_file() -> BinaryIO:
    """Where one gpg writes its status lines: an anonymous file in memory where the system
    has them (Linux), else an unlinked temporary file. Neither ever holds the plaintext."""
    if hasattr(os, "memfd_create"):
        return open(os.memfd_create("keyz-gpg-status", os.MFD_CLOEXEC), "w+b")
    import tempfile

    return tempfile.TemporaryFile()


def _has_public_key(gpg: Any, keyid: str) -> bool:
    try:
        return bool(gpg.list_keys(keys=[keyid]))
    except (OSError, ValueError):
        return False


def _stopped(gpg: Any, result: Any) -> bool:
    """The watchdog killed this gpg (it ran past GPG_TIMEOUT)."""
    return bool(getattr(gpg, "timed_out", None)) and result.returncode in (-9, 137)


def _explain_failure(result: Any, gpg: Any, name: str, *, prompted: bool = False) -> str:
    """Tell a locked key from a missing key from a file that is not gpg at all (entry
    ``name``). ``prompted``: gpg could ask for the passphrase (a terminal) and did not get it."""
    stderr: str = result.stderr or ""
    if _stopped(gpg, result):
        return f"gpg did not finish within {GPG_TIMEOUT:.0f}s and was stopped"
    if "NODATA" in stderr or result.status == "no data was provided":
        return "not a gpg-encrypted file; re-create the entry with pass insert"
    locked = "No pinentry" in stderr or "Inappropriate ioctl" in stderr
    if prompted and (locked or "PINENTRY_LAUNCHED" in stderr):
        return (
            "gpg could not unlock the key: a wrong passphrase, a cancelled pinentry, or one "
            "that could not start (is GPG_TTY this terminal?)"
        )
    if locked or "PINENTRY_LAUNCHED" in stderr:
        return (
            "gpg key is locked and gpg-agent has no cached passphrase, and keyz never waits "
            "for a pinentry without a terminal; unlock it once in a terminal "
            f"(pass show {shlex.quote(name)} >/dev/null), keep it cached longer "
            "(default-cache-ttl / max-cache-ttl in gpg-agent.conf), or use a passphrase-less "
            "subkey for automation"
        )
    if "Bad passphrase" in stderr or "cancel" in stderr.lower():
        return "gpg could not unlock the key (bad passphrase or cancelled)"
    if "NO_SECKEY" in stderr or "No secret key" in stderr:
        keyids = re.findall(r"^\[GNUPG:\] NO_SECKEY ([0-9A-Fa-f]+)", stderr, re.MULTILINE)
        known = [k for k in keyids if _has_public_key(gpg, k)]
        if known:
            return (
                f"encrypted to your key {known[0]}, but its secret key is not in this keyring "
                "(GNUPGHOME); import it here (gpg --import) or run keyz where it lives"
            )
        return (
            "not encrypted to any of your keys (recipients: "
            + (", ".join(keyids) or "unknown")
            + "); re-encrypt the store to your key with 'pass init <your-key-id>', or check "
            ".gpg-id"
        )
    return f"gpg could not decrypt it ({result.status or 'no status'})"


__all__ = [
    "DECRYPT_WORKERS",
    "GPG_TIMEOUT",
    "PassStore",
    "Secret",
    "decrypt_each",
    "decrypt_in_thread",
    "in_daemon_thread",
    "locate_store",
    "result_of",
    "validate_entry_name",
]
