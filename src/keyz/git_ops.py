"""Git, done as a careful user would by hand: only keyz's paths, the user's index left alone.

GitPython is the git layer. It opens the store's repository (following the ``.git`` file of
a worktree or submodule), reads its config (``pass.signcommits``, the merge driver) and the
state of HEAD without starting git, and runs every command that changes the repository
through ``repo.git``, with a scrubbed environment and a time limit, its failures turned into
keyz's errors in one place (:func:`_explain`). Those commands are git's own porcelain
(``add``, ``commit --only``), never GitPython's index code: ``index.commit`` commits the whole
index, ignores signing and invents an identity, so the user's hooks, signing and identity
rules apply only through git (docs: git-ledger.md).

Two things stay outside GitPython, on purpose, each measured (benchmarks/README.md):

- the reads that are the whole git cost of a run: a no-op ``keyz sync --commit`` is one
  ``git status``, ``keyz history`` one ``git log`` and one ``git cat-file --batch``.
  Importing GitPython takes ~35 ms and starts ``git version``; its object database reads
  one blob per round trip (history over 5,000 commits: 0.18 s against 0.14 s). They run git
  directly (:meth:`GitRepo.read`), with the same environment and limit; a sync that will
  commit imports GitPython in the background meanwhile (:func:`preload`);
- writing config: GitPython's ``config_writer`` rewrites the whole file and drops the
  user's comments from ``.git/config``; ``git config`` edits it in place.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, cast

from keyz.errors import BusyError, GitError, GitSkipped, KeyzError, UsageError, start_deaf_to_ctrl_c
from keyz.redact import redact

if TYPE_CHECKING:
    import git

GIT_TIMEOUT: Final = 120.0
# Inherited from a hook or a wrapper, these would point git at another repository (pass unsets them too).
_SCRUB: Final = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_INDEX_VERSION",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
_OWN_FILES: Final = frozenset(
    {".keyz/config.toml", ".keyz/.gitignore", ".keyz/.gitattributes", ".keyz/README.md"}
)
_NOT_COMMITTED: Final = "the sidecars are written but not committed; the next --commit commits them"
_IN_PROGRESS: Final = (
    ("MERGE_HEAD", "a merge"),
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase or git am"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
)
_COMMIT_HOOKS: Final = ("pre-commit", "prepare-commit-msg", "commit-msg")
_TIMED_OUT: Final = "Timeout: the command"  # how GitPython's kill_after_timeout reports one
# seconds an interrupted git gets to stop by itself (its own SIGINT cleanup removes index.lock)
INTERRUPT_GRACE: Final = 3.0


def git_settings(root: Path) -> dict[str, str]:
    """What every git keyz starts gets set, on top of the scrubbed environment."""
    return {
        "GIT_CEILING_DIRECTORIES": str(root.parent),  # a store inside another repo is not that repo
        "GIT_LITERAL_PATHSPECS": "1",  # entry names are paths, never globs or :magic
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",  # keyz reads git's messages to explain failures
        "LANGUAGE": "C",
    }


def git_env(root: Path) -> dict[str, str]:
    """The environment of a git keyz starts: this process's, scrubbed, with :func:`git_settings`."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    return {**env, **git_settings(root)}


def scrub_environment() -> None:
    """Remove the inherited ``GIT_*`` variables from keyz's own environment, as pass does
    (``unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE``) before it touches git.

    keyz works on one repository, the store's. GitPython reads ``GIT_WORK_TREE``,
    ``GIT_COMMON_DIR`` and ``GIT_OBJECT_DIRECTORY`` itself when it opens a repository, and
    the commands it runs start from this process's environment (it can add variables for
    them, not remove them).
    """
    for name in _SCRUB:
        os.environ.pop(name, None)


def preload() -> None:
    """Import GitPython in the background, for a run that is going to commit or stage.

    The import (~35 ms, and a ``git version``) then overlaps the wait for the providers'
    last answers instead of adding to the run; the first use waits for it to finish.
    """
    if "git" not in sys.modules:
        start_deaf_to_ctrl_c(
            threading.Thread(
                target=importlib.import_module, args=("git",), name="keyz-git-import", daemon=True
            )
        )


def _open(root: Path) -> git.Repo | None:
    """GitPython's view of the store's own repository (never one it sits inside), or None."""
    scrub_environment()
    import git

    try:
        repo = git.Repo(root, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, OSError):
        return None
    repo.git.update_environment(**git_settings(root))
    return repo


def is_keyz_path(path: str) -> bool:
    """Files keyz owns and may stage: its config files and sidecars, never state or temp files.

    A sidecar may start with a dot (entry ``api/.key``); temp files end in ``.tmp``.
    """
    if path in _OWN_FILES:
        return True
    return path.startswith(".keyz/entries/") and path.endswith(".json")


@dataclass(frozen=True)
class CommitOutcome:
    """What happened in git: the commit made (if any), the paths, and anything worth saying."""

    commit: str | None
    paths: tuple[str, ...]
    warnings: tuple[str, ...] = ()


class GitRepo:
    """The store's own repository (the store root must be its top level, as pass makes it)."""

    def __init__(self, root: Path, git_dir: Path, repo: git.Repo | None = None) -> None:
        self.root = root
        self.git_dir = git_dir
        self.timeout = GIT_TIMEOUT  # seconds for any one git command
        self.interrupted_commit: str | None = None  # made, though commit() was interrupted
        self._repo = repo

    @classmethod
    def find(cls, root: Path) -> GitRepo | None:
        """The store's own repository (never one it sits inside), or None.

        A ``.git`` folder is the common case: found without importing GitPython (~35 ms, and a
        ``git version``), which matters for a no-op sync and for ``keyz history``. A ``.git``
        file (a worktree, a submodule) is GitPython's to follow.
        """
        dotgit = root / ".git"
        if dotgit.is_dir() and (dotgit / "HEAD").is_file():
            return cls(root, dotgit.resolve())  # the common case: no import, no process
        if not dotgit.exists():
            return None
        repo = _open(root)
        return None if repo is None else cls(root, Path(repo.git_dir).resolve(), repo)

    @property
    def repo(self) -> git.Repo:
        """GitPython's repository, opened on first use."""
        if self._repo is None:
            self._repo = _open(self.root)
            if self._repo is None:
                raise GitError(f"git cannot open the repository at {self.root}")
        return self._repo

    def close(self) -> None:
        """Let go of GitPython's resources (if it was used at all)."""
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    @classmethod
    def require(cls, root: Path, flag: str) -> GitRepo:
        repo = cls.find(root)
        if repo is None and (root / ".git").exists():
            raise UsageError(
                f"{flag} needs git, and git cannot read {root / '.git'} "
                "(is git installed, and is the repository intact? try 'pass git status')"
            )
        if repo is None:
            raise UsageError(
                f"{flag} needs the store to be a git repository, and {root} is not one. "
                "Run 'pass git init' first, or sync without git."
            )
        return repo

    def read(self, *args: str, stdin: bytes = b"", literal: bool = True) -> bytes:
        """A read-only git command, run directly (see the module docstring): its output.

        Scrubbed environment, no prompt, a time limit, and a failure explained like any other.
        """
        env = git_env(self.root)
        if not literal:
            env["GIT_LITERAL_PATHSPECS"] = "0"
        try:
            done = subprocess.run(
                ["git", "-C", str(self.root), "--no-pager", *args],
                env=env,
                input=stdin,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise _timed_out(args[0], self.timeout) from None
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None
        if done.returncode != 0:
            raise _explain(args[0], done.stderr.decode("utf-8", "replace"))
        return done.stdout

    def run(
        self, *args: str, stdin: bytes | None = None, literal: bool = True, hooks: bool = False
    ) -> bytes:
        """A git command through GitPython's ``repo.git``: its output.

        Asked for git's status and stderr as they are (a GitCommandError would carry them
        formatted into its message, with the whole command line), mapped once by
        :func:`_explain`; ``hooks`` when the command runs the user's commit hooks.
        """
        from git import GitCommandNotFound

        repo = self.repo
        timers = _timers()
        with _input(stdin) as istream, _stop_git_if_interrupted(timers):
            try:
                status, out, err = repo.git.execute(
                    [repo.git.GIT_PYTHON_GIT_EXECUTABLE or "git", "--no-pager", *args],
                    istream=istream,
                    with_extended_output=True,
                    with_exceptions=False,
                    stdout_as_string=False,
                    strip_newline_in_stdout=False,
                    kill_after_timeout=self.timeout,  # git and what it started (hooks, gpg)
                    env=None if literal else {"GIT_LITERAL_PATHSPECS": "0"},
                )
            except GitCommandNotFound:
                raise GitError("git is not installed or not on PATH") from None
        if status != 0:
            if err.startswith(_TIMED_OUT):
                raise _timed_out(args[0], self.timeout)
            raise _explain(args[0], err, self._commit_hooks() if hooks else ())
        return out if isinstance(out, bytes) else b""

    def head(self) -> str | None:
        """The commit HEAD names, read from the ref files by GitPython; None when unborn.

        Not ``repo.head.commit``: that asks GitPython's ``git cat-file`` process, which a Ctrl-C
        on the terminal has stopped too (writing to it then fails with a broken pipe)."""
        from git.refs.symbolic import SymbolicReference

        try:
            return str(SymbolicReference.dereference_recursive(self.repo, "HEAD"))
        except ValueError:
            return None

    def has_commits(self) -> bool:
        """Whether HEAD names a commit (an unborn branch has none yet)."""
        try:
            self.read("rev-parse", "--verify", "--quiet", "HEAD")
        except KeyzError:
            return False
        return True

    def register_merge_driver(self, command: str) -> bool:
        """Set merge.keyz.* in this repository's own config; True if it changed."""
        section = 'merge "keyz"'
        if self.repo.config_reader("repository").get_value(section, "driver", "") == command:
            return False
        self.run("config", "--local", "merge.keyz.name", "keyz: keep the newer observation")
        self.run("config", "--local", "merge.keyz.driver", command)
        return True

    def _signs_commits(self) -> bool:
        """pass's ``pass.signcommits``, read as git reads a boolean."""
        value = self.repo.config_reader().get_value("pass", "signcommits", False)
        if isinstance(value, bool | int | float):  # GitPython reads true/yes/on, 0, 1, ...
            return bool(value)
        return value == ""  # a bare 'signcommits' line, which git reads as true

    def _commit_hooks(self) -> tuple[str, ...]:
        """The commit hooks git would run here: the executable ones in core.hooksPath or
        .git/hooks (the common one, for a worktree)."""
        configured = self.repo.config_reader().get_value("core", "hooksPath", "")
        if configured:
            folder = self.root / Path(str(configured)).expanduser()
        else:
            folder = Path(self.repo.common_dir) / "hooks"
        return tuple(
            hook
            for hook in _COMMIT_HOOKS
            if (folder / hook).is_file() and os.access(folder / hook, os.X_OK)
        )

    def operation_in_progress(self) -> str | None:
        for marker, what in _IN_PROGRESS:
            if (self.git_dir / marker).exists():
                return what
        return None

    def changed_keyz_paths(self) -> list[str]:
        """keyz's own paths that differ from HEAD: this run's sidecars and any an earlier run left."""
        return self._changes()[0]

    def _changes(self) -> tuple[list[str], list[str]]:
        """keyz's changed paths, and those of them that git's ignore rules hide (new files only:
        git never ignores a tracked file). A ``.gitignore`` or global excludes file with ``*.json``
        must not silently keep the ledger empty."""
        out = self.read(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignored=traditional",
            "--no-renames",
            "--",
            ".keyz",
        ).decode("utf-8", "replace")
        changed: set[str] = set()
        ignored: set[str] = set()
        for record in out.split("\0"):
            path = record[3:]
            # a symlink is never keyz's (an editor's lock file, or one git brought): not staged
            if len(record) > 3 and is_keyz_path(path) and not (self.root / path).is_symlink():
                (ignored if record.startswith("!!") else changed).add(path)
        return sorted(changed | ignored), sorted(ignored)

    def _add(self, paths: list[str]) -> None:
        """``git add`` keyz's paths, literally and each by name.

        ``--force``: the paths are keyz's own, never state or temp files, and without it git
        refuses (exit 1) even a tracked file in an ignored folder such as ``.keyz/``.
        """
        self.run("add", "--all", "--force", "--", *paths)

    def _ignored_warnings(self, ignored: list[str]) -> tuple[str, ...]:
        """Said once per file: once added, a file is tracked, and ignore rules stop applying."""
        if not ignored:
            return ()
        # check-ignore refuses literal pathspecs; a path under .keyz/ has no magic anyway.
        try:
            out = self.run(
                "check-ignore",
                "--verbose",
                "--no-index",
                "-z",
                "--stdin",
                stdin=ignored[0].encode() + b"\0",
                literal=False,
            )
        except KeyzError:
            out = b""
        source, line, pattern, *_ = out.decode("utf-8", "replace").split("\0") + [""] * 3
        rule = f"{source}:{line}: {pattern}" if pattern else "an ignore rule"
        more = f" and {len(ignored) - 1} more of keyz's files" if len(ignored) > 1 else ""
        return (
            f"{rule} ignores {ignored[0]}{more}; keyz added its own files anyway (git add -f), "
            "and once tracked git no longer ignores them",
        )

    def _check_index_free(self) -> None:
        if (self.git_dir / "index.lock").exists():
            raise BusyError(
                f"git is busy in this store ({self.git_dir / 'index.lock'} exists); the sidecars are "
                "written and the next run commits them. If no git is running, the lock is stale: "
                "remove it yourself after checking"
            )

    def stage(self) -> CommitOutcome:
        """Stage only keyz's changed paths, literally; the rest of the index is untouched."""
        self._check_index_free()
        paths, ignored = self._changes()
        if paths:
            self._add(paths)
        return CommitOutcome(None, tuple(paths), self._ignored_warnings(ignored))

    def _restore_index(self, paths: list[str], saved: bytes) -> str:
        """Put the index entries of ``paths`` back as ``ls-files --stage`` listed them; what to say.

        Back to the index as keyz found it, not to HEAD: what the user had staged at one of
        keyz's paths (a hand-edited config, an earlier ``--stage``) is theirs and stays staged.
        """
        try:
            self.run("update-index", "-z", "--force-remove", "--stdin", stdin=_nul(paths))
            self.run("update-index", "-z", "--index-info", stdin=saved)
        except KeyzError as exc:
            return (
                f"the sidecars are written but not committed, and keyz could not unstage them "
                f"({exc}): run 'git restore --staged .keyz' before your next commit"
            )
        return (
            "the sidecars are written but not committed, and keyz unstaged them again; "
            "the next --commit commits them"
        )

    def commit(self, message: str | Callable[[list[str]], str]) -> CommitOutcome:
        """Commit keyz's changed paths and nothing else (``git commit --only -- paths``).

        ``message`` may be a function of the paths, so that they are found once (one
        ``git status`` per run).
        """
        in_progress = self.operation_in_progress()
        if in_progress:
            raise GitSkipped(
                f"{in_progress} is in progress in the store, so keyz wrote the sidecars but did not "
                "commit; finish or abort it, and the next 'keyz sync --commit' commits them"
            )
        self._check_index_free()
        paths, ignored = self._changes()
        if not paths:
            return CommitOutcome(None, ())
        # git commit --only needs new files in the index, so keyz adds them first; if the commit
        # fails, git rolls back only its own change, and keyz's add is undone from this record.
        saved = self.run("ls-files", "--stage", "-z", "--", *paths)
        try:
            self._add(paths)  # all or nothing: a failed add leaves the index as it was
        except KeyzError as exc:
            raise type(exc)(f"{exc}; {_NOT_COMMITTED}") from None
        before = self.head()
        try:
            detached = self.repo.head.is_detached
            text = message(paths) if callable(message) else message
            args = ["commit", "--only", "--quiet", "-m", redact(text)]
            if self._signs_commits():
                args.append("-S")
            self.run(*args, "--", *paths, hooks=True)
        except BaseException as exc:  # an interrupt, too, must not leave keyz's files staged
            after = None if isinstance(exc, KeyzError) else self.head()
            if after is not None and after != before:  # interrupted in a post-commit hook
                self.interrupted_commit = after  # made: the index is right as it is
                raise
            note = self._restore_index(paths, saved)
            if isinstance(exc, KeyzError):
                raise type(exc)(f"{exc}; {note}") from None
            raise
        sha = self.head() or self.run("rev-parse", "HEAD").decode().strip()  # read, not run
        warnings = self._ignored_warnings(ignored)
        if detached:
            warnings += (
                f"HEAD is detached: commit {sha[:12]} is on no branch; check out a branch to keep it",
            )
        return CommitOutcome(sha, tuple(paths), warnings)


def _timers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if isinstance(t, threading.Timer)}


@contextlib.contextmanager
def _stop_git_if_interrupted(before: set[threading.Thread]) -> Iterator[None]:
    """GitPython's time limit is a ``threading.Timer`` it cancels only when git's output has
    been read: a Ctrl-C during the wait left it running, and Python's exit waits for such a
    thread (keyz said "interrupted", then hung for :data:`GIT_TIMEOUT`). Each git whose wait
    was interrupted is stopped instead (:func:`_stop_interrupted`) and its timer cancelled."""
    try:
        yield
    except BaseException:
        for timer in _timers() - before:
            _stop_interrupted(cast(threading.Timer, timer))
        raise


def _stop_interrupted(timer: threading.Timer) -> None:
    """The git a GitPython time limit watches, ended before keyz goes on: SIGINT first, as a
    terminal's Ctrl-C gives it (a ``kill -INT`` of keyz alone does not), which lets git remove
    its index.lock; after :data:`INTERRUPT_GRACE` s what the time limit would have done (kill
    git and what it started). Then the index is git's no longer, and what keyz says of it is
    what happened."""
    timer.cancel()
    args = tuple(timer.args)
    if len(args) != 1 or not isinstance(args[0], int):  # not GitPython's watchdog
        return
    pid = args[0]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + INTERRUPT_GRACE
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:  # reaped already
            return
        time.sleep(0.02)
    timer.function(*args)


def _explain(command: str, stderr: str, hooks: tuple[str, ...] = ()) -> KeyzError:
    """git's failure as keyz's error, said once for every git keyz runs.

    ``hooks``: the commit hooks that ran, when a commit failed; git says nothing of its own
    when a hook refuses, so their names tell the user where to look.
    """
    text = redact(stderr.strip())
    if "index.lock" in text and "File exists" in text:
        return BusyError("git is busy in this store (index.lock exists); try again when it is done")
    if (
        "empty ident" in text
        or "tell me who you are" in text.lower()
        or "auto-detect email" in text
    ):
        return GitError(
            "git has no identity for commits in this store; set one with "
            "'git config user.name \"Your Name\"' and 'git config user.email you@example.com'"
        )
    if "gpg failed to sign" in text or "failed to write commit object" in text:
        return GitError(
            "git could not sign the commit (commit.gpgsign or pass.signcommits is set): unlock your "
            "signing key"
        )
    if hooks:
        return GitError(
            f"a git hook ({' or '.join(hooks)}) stopped the commit: "
            f"{_last_line(text) or 'no message'}"
        )
    if "hook" in text:
        return GitError(f"a git hook stopped the commit: {_last_line(text)}")
    return GitError(f"git {command} failed: {_last_line(text) or 'no message'}")


def _timed_out(command: str, seconds: float) -> GitError:
    return GitError(f"git {command} did not finish within {seconds:.0f}s and was stopped")


@contextlib.contextmanager
def _input(data: bytes | None) -> Iterator[BinaryIO | None]:
    """``data`` as a file for a command's stdin (GitPython hands stdin to git as a file)."""
    if data is None:
        yield None
        return
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.seek(0)
        yield cast(BinaryIO, handle)


def _nul(paths: list[str]) -> bytes:
    return b"".join(path.encode() + b"\0" for path in paths)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


__all__ = [
    "CommitOutcome",
    "GitRepo",
    "git_env",
    "git_settings",
    "is_keyz_path",
    "scrub_environment",
]
