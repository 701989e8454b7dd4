"""Git, done as a careful user would by hand: only keyz's paths, the user's index left alone.

Reads of repository state (HEAD, operations in progress) read git's files, with
GitPython for what is not a plain file; none starts a process. Every write shells out to the git CLI
with a scrubbed environment, as pass does, so the user's hooks, signing and
identity rules apply (GitPython's ``index.commit`` would commit the whole index
and ignore signing, and its ``execute`` cannot unset an inherited ``GIT_DIR``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from keyz.errors import BusyError, GitError, GitSkipped, KeyzError, UsageError
from keyz.redact import redact

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


def git_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["GIT_CEILING_DIRECTORIES"] = str(
        root.parent
    )  # a store inside another repo is not that repo
    env["GIT_LITERAL_PATHSPECS"] = "1"  # entry names are paths, never globs or :magic
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"  # keyz reads git's messages to explain failures
    env.pop("LANGUAGE", None)
    return env


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

    def __init__(self, root: Path, git_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir

    @classmethod
    def find(cls, root: Path) -> GitRepo | None:
        """The store's own repository (never one it sits inside), or None.

        One ``git rev-parse`` (a few ms) rather than importing GitPython (about 35 ms),
        which matters for read commands such as ``keyz history``.
        """
        dotgit = root / ".git"
        if dotgit.is_dir() and (dotgit / "HEAD").is_file():
            return cls(root, dotgit.resolve())  # the common case: no process at all
        if not dotgit.exists():
            return None
        probe = cls(root, dotgit)  # a .git file (worktree, submodule): ask git
        try:
            done = probe._exec(["rev-parse", "--absolute-git-dir"], None)
        except GitError:
            return None
        if done.returncode != 0:
            return None
        return cls(root, Path(done.stdout.decode().strip()).resolve())

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

    def _exec(
        self, args: list[str], stdin: bytes | None, *, literal: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """Every git process keyz starts: scrubbed environment, no prompt, a time limit."""
        env = git_env(self.root)
        if not literal:
            del env["GIT_LITERAL_PATHSPECS"]
        try:
            return subprocess.run(
                ["git", "-C", str(self.root), "--no-pager", *args],
                env=env,
                input=stdin if stdin is not None else b"",
                capture_output=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(
                f"git {args[0]} did not finish within {GIT_TIMEOUT:.0f}s and was stopped"
            ) from None
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = self._exec(list(args), None)
        result = subprocess.CompletedProcess(
            done.args,
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )
        if check and result.returncode != 0:
            raise _explain(args[0], result.stderr)
        return result

    def run_bytes(self, args: list[str], stdin: bytes) -> bytes:
        """A read-only git command fed ``stdin``, output as bytes (for cat-file --batch)."""
        done = self._exec(args, stdin)
        if done.returncode != 0:
            raise _explain(args[0], done.stderr.decode("utf-8", "replace"))
        return done.stdout

    def register_merge_driver(self, command: str) -> bool:
        """Set merge.keyz.* in this repository's own config; True if it changed."""
        current = self.run(
            "config", "--local", "--get", "merge.keyz.driver", check=False
        ).stdout.strip()
        if current == command:
            return False
        self.run("config", "--local", "merge.keyz.name", "keyz: keep the newer observation")
        self.run("config", "--local", "merge.keyz.driver", command)
        return True

    def operation_in_progress(self) -> str | None:
        for marker, what in _IN_PROGRESS:
            if (self.git_dir / marker).exists():
                return what
        return None

    def head_is_detached(self) -> bool:
        """Whether HEAD points at a commit rather than a branch.

        HEAD is nearly always a plain ``ref: refs/heads/…`` file, read here directly
        (importing GitPython costs ~40 ms of a run that commits); anything else
        (a detached sha, a reftable stub) is left to GitPython to interpret.
        """
        try:
            head = (self.git_dir / "HEAD").read_text(encoding="utf-8", errors="replace")
        except OSError:
            head = ""
        if head.startswith("ref: refs/heads/") and head.strip() != "ref: refs/heads/.invalid":
            return False
        import git

        repo = git.Repo(self.root, search_parent_directories=False)
        try:
            return bool(repo.head.is_detached)
        finally:
            repo.close()

    def changed_keyz_paths(self) -> list[str]:
        """keyz's own paths that differ from HEAD: this run's sidecars and any an earlier run left."""
        return self._changes()[0]

    def _changes(self) -> tuple[list[str], list[str]]:
        """keyz's changed paths, and those of them that git's ignore rules hide (new files only:
        git never ignores a tracked file). A ``.gitignore`` or global excludes file with ``*.json``
        must not silently keep the ledger empty."""
        out = self.run(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignored=traditional",
            "--no-renames",
            "--",
            ".keyz",
        ).stdout
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
        done = self._exec(
            ["check-ignore", "--verbose", "--no-index", "-z", "--stdin"],
            ignored[0].encode() + b"\0",
            literal=False,
        )
        source, line, pattern, *_ = done.stdout.decode("utf-8", "replace").split("\0") + [""] * 3
        rule = (
            f"{source}:{line}: {pattern}" if done.returncode == 0 and pattern else "an ignore rule"
        )
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
            self.run_bytes(["update-index", "-z", "--force-remove", "--stdin"], _nul(paths))
            self.run_bytes(["update-index", "-z", "--index-info"], saved)
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
        saved = self.run_bytes(["ls-files", "--stage", "-z", "--", *paths], b"")
        try:
            self._add(paths)  # all or nothing: a failed add leaves the index as it was
        except KeyzError as exc:
            raise type(exc)(f"{exc}; {_NOT_COMMITTED}") from None
        try:
            detached = self.head_is_detached()
            text = message(paths) if callable(message) else message
            args = ["commit", "--only", "--quiet", "-m", redact(text)]
            if (
                self.run(
                    "config", "--bool", "--get", "pass.signcommits", check=False
                ).stdout.strip()
                == "true"
            ):
                args.append("-S")
            self.run(*args, "--", *paths)
        except BaseException as exc:  # an interrupt, too, must not leave keyz's files staged
            note = self._restore_index(paths, saved)
            if isinstance(exc, KeyzError):
                raise type(exc)(f"{exc}; {note}") from None
            raise
        sha = self.run("rev-parse", "HEAD").stdout.strip()
        warnings = self._ignored_warnings(ignored)
        if detached:
            warnings += (
                f"HEAD is detached: commit {sha[:12]} is on no branch; check out a branch to keep it",
            )
        return CommitOutcome(sha, tuple(paths), warnings)


def _explain(command: str, stderr: str) -> KeyzError:
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
    if "hook" in text:
        return GitError(f"a git hook stopped the commit: {_last_line(text)}")
    return GitError(f"git {command} failed: {_last_line(text) or 'no message'}")


def _nul(paths: list[str]) -> bytes:
    return b"".join(path.encode() + b"\0" for path in paths)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


__all__ = ["CommitOutcome", "GitRepo", "git_env", "is_keyz_path"]
