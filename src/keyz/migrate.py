"""``keyz migrate``: rewrite every sidecar in the current schema version.

Reading old versions already works in memory; this makes the files themselves
current, with deterministic bytes, so the ledger shows one format change in one
commit (``--commit``) instead of a trickle of rewrites by later syncs. Files from
a newer keyz and files keyz cannot read are reported and left untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from keyz import sidecar as sc
from keyz.errors import KeyzError, SidecarError
from keyz.fsutil import (
    atomic_write,
    clean_stale_temp_files,
    not_followed,
    read_capped,
    safe_path,
)
from keyz.git_ops import CommitOutcome, GitRepo
from keyz.ledger import migrate_message
from keyz.lock import store_lock
from keyz.store import PassStore
from keyz.sync import lock_path


@dataclass
class MigrateResult:
    outdated: list[tuple[str, int]] = field(default_factory=list)  # (path, its version)
    current: int = 0  # files already in the current version
    problems: list[str] = field(default_factory=list)  # unreadable or newer files, untouched
    written: bool = False
    commit: CommitOutcome | None = None
    git_error: KeyzError | None = None


def run_migrate(store: PassStore, *, check: bool = False, commit: bool = False) -> MigrateResult:
    """Find (and unless ``check``, rewrite) every sidecar older than the current version."""
    repo = GitRepo.require(store.root, "--commit") if commit else GitRepo.find(store.root)
    with store_lock(lock_path(store, repo)):
        if not check:
            clean_stale_temp_files(store.keyz_dir)  # what a killed run left; ours to clean, locked
        result = MigrateResult()
        upgrades: list[tuple[Path, bytes]] = []
        for path in _sidecar_files(store.keyz_dir, result.problems):
            shown = path.relative_to(store.root).as_posix()
            try:
                data = read_capped(path, sc.MAX_SIDECAR_BYTES, SidecarError)
                version = sc.version_of(data, source=shown)
                if version == sc.SCHEMA_VERSION:
                    result.current += 1
                    continue
                upgrades.append((path, sc.dumps(sc.loads(data, source=shown))))
                result.outdated.append((shown, version))
            except KeyzError as exc:
                result.problems.append(str(exc))
            except OSError as exc:
                result.problems.append(f"cannot read {shown}: {exc.strerror}")
        if check:
            return result
        for path, data in upgrades:
            atomic_write(path, data)
        result.written = bool(upgrades)
        if commit and repo is not None and upgrades:
            try:
                result.commit = repo.commit(migrate_message(result.outdated))
            except KeyzError as exc:
                result.git_error = exc
            finally:
                repo.close()
    return result


def _sidecar_files(keyz_dir: Path, problems: list[str]) -> list[Path]:
    """Every ``*.json`` under ``.keyz/entries/``; a symlink there is a problem, never followed."""
    found: list[Path] = []
    entries = safe_path(keyz_dir, keyz_dir / "entries")
    for dirpath, dirnames, filenames in os.walk(entries):  # os.walk never enters a symlink
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            if path.is_symlink():
                problems.append(not_followed(path))
            elif name in filenames and name.endswith(".json"):
                found.append(path)
    return sorted(found)


__all__ = ["MigrateResult", "run_migrate"]
