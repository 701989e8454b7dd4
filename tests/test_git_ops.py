"""Commits in someone else's repo, each case against a real git repository."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from keyz.errors import BusyError, GitError, GitSkipped, UsageError
from keyz.git_ops import GitRepo, is_keyz_path

IDENTITY = ["-c", "user.name=T", "-c", "user.email=t@example.invalid"]


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *IDENTITY, *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout


def init_repo(root: Path, branch: str) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", branch)
    git(root, "config", "user.name", "Store Owner")
    git(root, "config", "user.email", "owner@example.invalid")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "store", "main")
    (root / "NOTES.txt").write_text("v1\n")
    git(root, "add", "NOTES.txt")
    git(root, "commit", "-qm", "first")
    return root.resolve()


def write_sidecar(root: Path, entry: str, text: str = '{"x": 1}\n') -> None:
    path = root / ".keyz" / "entries" / f"{entry}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def committed_files(root: Path, rev: str = "HEAD") -> list[str]:
    return git(root, "show", "--name-only", "--format=", rev).split()


def test_only_keyz_paths_are_committed_and_the_users_staging_survives(repo: Path) -> None:
    (repo / "NOTES.txt").write_text("v2 staged\n")
    git(repo, "add", "NOTES.txt")
    staged_blob = git(repo, "rev-parse", ":NOTES.txt").strip()
    (repo / "NOTES.txt").write_text("v3 unstaged\n")
    (repo / "untracked.txt").write_text("mine\n")
    write_sidecar(repo, "api/deepseek")
    (repo / ".keyz" / "state").mkdir()
    (repo / ".keyz" / "state" / "entries.json").write_text("{}\n")
    (repo / ".keyz" / "entries" / ".deepseek.json.123.tmp").write_text("half")

    outcome = GitRepo.require(repo, "--commit").commit("keyz: sync 1 entry (deepseek)\n")
    assert outcome.commit is not None
    assert committed_files(repo) == [".keyz/entries/api/deepseek.json"]
    assert git(repo, "diff", "--cached", "--name-only").split() == ["NOTES.txt"]
    assert git(repo, "rev-parse", ":NOTES.txt").strip() == staged_blob
    assert (repo / "NOTES.txt").read_text() == "v3 unstaged\n"
    assert "?? untracked.txt" in git(repo, "status", "--porcelain")
    assert (
        git(repo, "log", "-1", "--format=%an <%ae>").strip()
        == "Store Owner <owner@example.invalid>"
    )


def test_no_empty_commits(repo: Path) -> None:
    write_sidecar(repo, "a")
    repo_ops = GitRepo.require(repo, "--commit")
    assert repo_ops.commit("one\n").commit is not None
    head = git(repo, "rev-parse", "HEAD")
    assert repo_ops.commit("two\n").commit is None
    assert git(repo, "rev-parse", "HEAD") == head


def test_unborn_head_keeps_the_users_staged_file(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "fresh", "trunk")
    (root / "mine.txt").write_text("x\n")
    git(root, "add", "mine.txt")
    write_sidecar(root, "a")
    GitRepo.require(root.resolve(), "--commit").commit("first keyz\n")
    assert committed_files(root) == [".keyz/entries/a.json"]
    assert "A  mine.txt" in git(root, "status", "--porcelain")


def test_detached_head_commits_and_warns(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    write_sidecar(repo, "a")
    outcome = GitRepo.require(repo, "--commit").commit("m\n")
    assert len(outcome.warnings) == 1 and "detached" in outcome.warnings[0]


def test_head_is_read_per_worktree(repo: Path, tmp_path: Path) -> None:
    on_branch, detached = tmp_path / "on-branch", tmp_path / "detached"
    git(repo, "worktree", "add", "-q", "-b", "side", str(on_branch))
    git(repo, "worktree", "add", "-q", "--detach", str(detached))
    for tree, warned in ((repo, False), (on_branch, False), (detached, True)):
        write_sidecar(tree, "a")
        outcome = GitRepo.require(tree.resolve(), "--commit").commit("m\n")
        assert outcome.commit is not None
        assert bool(outcome.warnings) == warned, tree


@pytest.mark.parametrize(
    "marker", ["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge"]
)
def test_operation_in_progress_skips_the_commit(repo: Path, marker: str) -> None:
    head = git(repo, "rev-parse", "HEAD")
    target = repo / ".git" / marker
    if marker.startswith("rebase"):
        target.mkdir()
    else:
        target.write_text(head)
    write_sidecar(repo, "a")
    with pytest.raises(GitSkipped, match="in progress"):
        GitRepo.require(repo, "--commit").commit("m\n")
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / ".keyz" / "entries" / "a.json").exists()


def test_index_lock_means_busy_and_is_never_removed(repo: Path) -> None:
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    write_sidecar(repo, "a")
    with pytest.raises(BusyError) as info:
        GitRepo.require(repo, "--commit").commit("m\n")
    assert info.value.exit_code == 75
    assert lock.exists()
    lock.unlink()
    assert GitRepo.require(repo, "--commit").commit("m\n").paths == (".keyz/entries/a.json",)


def test_missing_identity_is_a_clear_error_not_root_at_host(repo: Path) -> None:
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    git(repo, "config", "user.useConfigOnly", "true")
    head = git(repo, "rev-parse", "HEAD")
    write_sidecar(repo, "a")
    with pytest.raises(GitError, match=r"user\.email"):
        GitRepo.require(repo, "--commit").commit("m\n")
    assert git(repo, "rev-parse", "HEAD") == head


def test_signing_is_honoured_and_a_failure_is_reported(repo: Path) -> None:
    git(repo, "config", "pass.signcommits", "true")
    git(repo, "config", "user.signingkey", "0000000000000000DEADBEEF00000000DEADBEEF")
    write_sidecar(repo, "a")
    with pytest.raises(GitError, match="could not sign"):
        GitRepo.require(repo, "--commit").commit("m\n")
    assert (repo / ".keyz" / "entries" / "a.json").exists()


def test_hooks_run_and_see_only_keyz_paths(repo: Path) -> None:
    (repo / "NOTES.txt").write_text("staged by the user\n")
    git(repo, "add", "NOTES.txt")
    seen = repo.parent / "hook-saw.txt"
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ngit diff --cached --name-only > '{seen}'\n")
    hook.chmod(0o755)
    write_sidecar(repo, "a")
    GitRepo.require(repo, "--commit").commit("m\n")
    assert seen.read_text().split() == [".keyz/entries/a.json"]


def test_inherited_git_variables_are_scrubbed(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    bogus_index = tmp_path / "bogus-index"
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(bogus_index))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    write_sidecar(repo, "a")
    GitRepo.require(repo, "--commit").commit("m\n")
    monkeypatch.undo()  # the assertions below must not inherit the hostile variables either
    assert committed_files(repo) == [".keyz/entries/a.json"]
    assert not bogus_index.exists()
    assert (
        subprocess.run(
            ["git", "-C", str(other), "rev-parse", "HEAD"], capture_output=True
        ).returncode
        != 0
    )


def test_a_store_inside_another_repo_is_not_that_repo(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    inner = outer / "store"
    inner.mkdir()
    assert GitRepo.find(inner.resolve()) is None
    with pytest.raises(UsageError, match="not one"):
        GitRepo.require(inner.resolve(), "--commit")


def test_pathspec_magic_in_entry_names_is_literal(repo: Path) -> None:
    write_sidecar(repo, "a")
    write_sidecar(repo, "*")
    write_sidecar(repo, ":(top)x")
    repo_ops = GitRepo.require(repo, "--commit")
    assert repo_ops.changed_keyz_paths() == [
        ".keyz/entries/*.json",
        ".keyz/entries/:(top)x.json",
        ".keyz/entries/a.json",
    ]
    repo_ops.commit("m\n")
    assert sorted(committed_files(repo)) == [
        ".keyz/entries/*.json",
        ".keyz/entries/:(top)x.json",
        ".keyz/entries/a.json",
    ]


def test_earlier_uncommitted_sidecars_and_deletions_are_committed_next(repo: Path) -> None:
    write_sidecar(repo, "a")
    write_sidecar(repo, "b")
    repo_ops = GitRepo.require(repo, "--commit")
    repo_ops.commit("m\n")
    (repo / ".keyz" / "entries" / "b.json").unlink()
    write_sidecar(repo, "a", '{"x": 2}\n')
    assert repo_ops.changed_keyz_paths() == [".keyz/entries/a.json", ".keyz/entries/b.json"]
    repo_ops.commit("m\n")
    assert git(repo, "ls-files", ".keyz").split() == [".keyz/entries/a.json"]


def test_stage_stages_only_keyz_paths(repo: Path) -> None:
    (repo / "NOTES.txt").write_text("changed, not staged\n")
    write_sidecar(repo, "a")
    assert GitRepo.require(repo, "--stage").stage().paths == (".keyz/entries/a.json",)
    assert git(repo, "diff", "--cached", "--name-only").split() == [".keyz/entries/a.json"]


@pytest.mark.parametrize(
    ("path", "ours"),
    [
        (".keyz/config.toml", True),
        (".keyz/entries/api/x.json", True),
        (".keyz/state/entries.json", False),
        (".keyz/entries/.x.json.abc.tmp", False),
        (".keyz/entries/api/.hidden.json", True),  # the sidecar of entry api/.hidden
        ("NOTES.txt", False),
        (".keyz/other.txt", False),
    ],
)
def test_keyz_owns_only_its_files(path: str, ours: bool) -> None:
    assert is_keyz_path(path) is ours


def _index_entries(root: Path, *paths: str) -> str:
    """The index entries (mode, blob, stage) of ``paths``, as ``git ls-files --stage`` lists them."""
    return git(root, "ls-files", "--stage", "--", *paths)


def _break_commit(root: Path, how: str) -> None:
    if how == "hook":
        hook = root / ".git" / "hooks" / "pre-commit"
        hook.write_text("#!/bin/sh\necho 'lint: refused' >&2\nexit 1\n")
        hook.chmod(0o755)
    elif how == "signing":
        git(root, "config", "commit.gpgsign", "true")
        git(root, "config", "user.signingkey", "0000000000000000DEADBEEF00000000DEADBEEF")
    else:
        git(root, "config", "--unset", "user.name")
        git(root, "config", "--unset", "user.email")
        git(root, "config", "user.useConfigOnly", "true")


@pytest.mark.parametrize("how", ["hook", "signing", "identity"])
def test_a_failed_commit_leaves_the_index_exactly_as_it_was(repo: Path, how: str) -> None:
    # Already committed: a sidecar that now changes, and a config the user edited and staged.
    write_sidecar(repo, "old", '{"x": 1}\n')
    (repo / ".keyz" / "config.toml").write_text("# v1\n")
    git(repo, "add", ".keyz")
    git(repo, "commit", "-qm", "keyz files")
    write_sidecar(repo, "old", '{"x": 2}\n')
    write_sidecar(repo, "new")
    (repo / ".keyz" / "config.toml").write_text("# v2, staged by the user\n")
    git(repo, "add", ".keyz/config.toml")
    (repo / ".keyz" / "config.toml").write_text("# v3, not staged\n")
    (repo / "NOTES.txt").write_text("v2 staged\n")
    git(repo, "add", "NOTES.txt")
    keyz_paths = (".keyz/config.toml", ".keyz/entries/new.json", ".keyz/entries/old.json")
    before = _index_entries(repo, "NOTES.txt", *keyz_paths)
    head = git(repo, "rev-parse", "HEAD")
    _break_commit(repo, how)

    with pytest.raises(GitError) as info:
        GitRepo.require(repo, "--commit").commit("m\n")

    assert git(repo, "rev-parse", "HEAD") == head
    assert _index_entries(repo, "NOTES.txt", *keyz_paths) == before
    assert "?? .keyz/entries/new.json" in git(repo, "status", "--porcelain")
    message = str(info.value)
    assert "written" in message and "not committed" in message and "next" in message
    assert (repo / ".keyz" / "entries" / "new.json").read_text() == '{"x": 1}\n'
    # What pass does next (git add the entry, git commit): only the user's staging goes in.
    git(repo, "-c", "commit.gpgsign=false", "commit", "--no-verify", "-qm", "pass: edit")
    assert sorted(committed_files(repo)) == [".keyz/config.toml", "NOTES.txt"]
    assert git(repo, "show", "HEAD:.keyz/config.toml") == "# v2, staged by the user\n"


def test_a_failed_commit_puts_back_a_conflict_at_a_keyz_path(repo: Path) -> None:
    write_sidecar(repo, "a", '{"x": 1}\n')
    git(repo, "add", ".keyz")
    git(repo, "commit", "-qm", "v1")
    write_sidecar(repo, "a", '{"x": 2}\n')
    git(repo, "stash", "-q")
    write_sidecar(repo, "a", '{"x": 3}\n')
    git(repo, "commit", "-qam", "v3")
    subprocess.run(["git", "-C", str(repo), "stash", "pop", "-q"], capture_output=True)
    before = _index_entries(repo, ".keyz/entries/a.json")
    assert len(before.splitlines()) == 3  # stages 1, 2 and 3: a conflict, and no merge going on
    write_sidecar(repo, "a", '{"x": 4}\n')  # keyz's newer observation
    _break_commit(repo, "hook")
    with pytest.raises(GitError, match="not committed"):
        GitRepo.require(repo, "--commit").commit("m\n")
    assert _index_entries(repo, ".keyz/entries/a.json") == before


@pytest.mark.parametrize("where", ["store", "excludes-file", "xdg-default"])
def test_ignore_rules_that_match_keyz_files_are_overridden_for_keyz_files_only(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    xdg = tmp_path / "xdg"  # HOME is a temp dir already; XDG_CONFIG_HOME must be one too
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    if where == "store":
        (repo / ".gitignore").write_text("*.json\n.keyz/\n")
        git(repo, "add", ".gitignore")
        git(repo, "commit", "-qm", "ignore")
        source, pattern = ".gitignore", ".keyz/"
    else:
        excludes = tmp_path / "my-excludes" if where == "excludes-file" else xdg / "git" / "ignore"
        excludes.parent.mkdir(parents=True, exist_ok=True)
        excludes.write_text("*.json\n")
        if where == "excludes-file":
            git(repo, "config", "--global", "core.excludesFile", str(excludes))
        source, pattern = str(excludes), "*.json"
    (repo / "data.json").write_text("{}\n")  # the user's own ignored file
    write_sidecar(repo, "api/a")
    (repo / ".keyz" / "config.toml").write_text("# c\n")
    (repo / ".keyz" / "state").mkdir()
    (repo / ".keyz" / "state" / "entries.json").write_text("{}\n")
    repo_ops = GitRepo.require(repo, "--commit")

    outcome = repo_ops.commit("m\n")

    assert sorted(committed_files(repo)) == [".keyz/config.toml", ".keyz/entries/api/a.json"]
    (warning,) = outcome.warnings
    assert source in warning and pattern in warning and "git add -f" in warning
    assert git(repo, "status", "--porcelain", "--ignored").splitlines() == [
        "!! .keyz/state/",
        "!! data.json",
    ]
    write_sidecar(repo, "api/a", '{"x": 2}\n')  # tracked now: ignore rules no longer apply
    again = repo_ops.commit("m\n")
    assert again.commit is not None and again.warnings == ()
    assert committed_files(repo) == [".keyz/entries/api/a.json"]


def test_stage_overrides_ignore_rules_for_keyz_files_and_says_so(repo: Path) -> None:
    (repo / ".gitignore").write_text(".keyz/\n")
    write_sidecar(repo, "a")
    staged = GitRepo.require(repo, "--stage").stage()
    assert staged.paths == (".keyz/entries/a.json",)
    assert len(staged.warnings) == 1 and ".gitignore" in staged.warnings[0]
    assert git(repo, "diff", "--cached", "--name-only").split() == [".keyz/entries/a.json"]


def test_a_refusing_hook_is_named(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\necho 'subject must mention a ticket' >&2\nexit 1\n")
    hook.chmod(0o755)
    write_sidecar(repo, "a")
    with pytest.raises(GitError) as info:
        GitRepo.require(repo, "--commit").commit("m\n")
    assert str(info.value).startswith(
        "a git hook (commit-msg) stopped the commit: subject must mention a ticket; "
    )


def test_a_git_that_hangs_is_stopped_with_what_it_started(repo: Path, tmp_path: Path) -> None:
    """A pre-commit hook that never ends (waiting on a network, a TTY): killed, hook and all."""
    pid_file = tmp_path / "hook.pid"
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > '{pid_file}'\nwait\n")
    hook.chmod(0o755)
    write_sidecar(repo, "a")
    ops = GitRepo.require(repo, "--commit")
    ops.timeout = 2  # time enough, on a loaded runner, for git to have started the hook
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitError, match=r"^git commit did not finish within 2s and was stopped"):
        ops.commit("m\n")
    assert git(repo, "rev-parse", "HEAD") == head
    sleeper = int(pid_file.read_text())
    assert _dies_within(sleeper, 10.0), f"the hook's sleep {sleeper} outlived the commit"


def _dies_within(pid: int, seconds: float) -> bool:
    """SIGKILL is delivered, not awaited: on a loaded machine the killed process can still read
    'R' (woken to die) for a moment, so poll until it is gone or a zombie ('sleep' is checked so
    a reused pid cannot pass for it)."""
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + seconds
    while True:
        try:
            name, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError):
            return True
        if name != "sleep" or rest.split()[0] in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # do not leave it behind for 30 s
            return False
        time.sleep(0.02)


def test_registering_the_merge_driver_keeps_the_users_config(repo: Path) -> None:
    config = repo / ".git" / "config"
    config.write_text(config.read_text() + "# my remote, do not touch\n[alias]\n\tst = status\n")
    command = "'/opt/my keyz;#1/\"bin\"/keyz' merge-driver %O %A %B"
    ops = GitRepo.require(repo, "--commit")
    assert ops.register_merge_driver(command) is True
    assert git(repo, "config", "--get", "merge.keyz.driver") == command + "\n"
    assert "# my remote, do not touch\n" in config.read_text()  # edited in place, not rewritten
    assert GitRepo.require(repo, "--commit").register_merge_driver(command) is False
