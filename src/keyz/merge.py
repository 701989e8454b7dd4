"""A git merge driver for sidecars: keep the newer observation.

Two machines syncing the same store each commit their own observation of an
entry; both edit the same lines, so a plain ``git pull`` would conflict. A
sidecar is a snapshot, not a document to combine: the newer one wins. Git runs
``keyz merge-driver %O %A %B`` and takes whatever is left in %A.
"""

from __future__ import annotations

from pathlib import Path

from keyz import sidecar as sc
from keyz.errors import KeyzError
from keyz.fields import in_future
from keyz.fsutil import atomic_write
from keyz.git_ops import GitRepo
from keyz.program import keyz_shell_command


def merge_sidecars(ours_path: Path, theirs_path: Path) -> bool:
    """Leave the newer of the two sidecars in ``ours_path``; False if either cannot be read."""
    try:
        ours = sc.loads(ours_path.read_bytes(), source="ours")
        theirs = sc.loads(theirs_path.read_bytes(), source="theirs")
    except (KeyzError, OSError):
        return False  # leave it to git: a conflict the user can see
    # a side observed in the future (a clock that ran ahead) never beats one that is not
    if (in_future(ours.observed_at), theirs.observed_at) > (
        in_future(theirs.observed_at),
        ours.observed_at,
    ):
        atomic_write(ours_path, sc.dumps(theirs))
    return True


def driver_command() -> str:
    """The command git should run: this keyz (git runs drivers with its own PATH)."""
    # %O %A %B are git's placeholders: added after quoting, never quoted themselves
    return f"{keyz_shell_command('merge-driver')} %O %A %B"


def register_driver(root: Path) -> bool:
    """Register the driver in the store's own .git/config; True if that changed it (False
    also when the store is not a git repository)."""
    repo = GitRepo.find(root)
    if repo is None:
        return False
    try:
        return repo.register_merge_driver(driver_command())
    finally:
        repo.close()


__all__ = ["driver_command", "merge_sidecars", "register_driver"]
