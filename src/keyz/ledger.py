"""What keyz writes into git: its commit messages, one subject line and a line per file.

The git layer (git_ops) commits whatever message it is given; the words live here, next to
the sidecars they describe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from keyz import sidecar as sc
from keyz.errors import KeyzError
from keyz.render import summarize

_ENTRIES = ".keyz/entries/"


def commit_message(
    root: Path, paths: Sequence[str], written: Mapping[str, sc.Sidecar] | None = None
) -> str:
    """'keyz: sync 2 entries (deepseek, openrouter)' and one line per changed file.

    ``written``: sidecars this run wrote, by path, so that they are not read back (1,000
    of them took 70 ms); any other path is read from the work tree."""
    lines: list[str] = []
    providers: set[str] = set()
    count = 0
    for path in paths:
        if not path.startswith(_ENTRIES):
            lines.append(f"{path}: updated")
            continue
        entry = path[len(_ENTRIES) : -len(".json")]
        count += 1
        current = (written or {}).get(path)
        if current is None:
            try:
                current = sc.read(root / path)
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


def migrate_message(outdated: Sequence[tuple[str, int]]) -> str:
    """'keyz: migrate 2 sidecars to schema version 2' and one line per file: its old version."""
    count = len(outdated)
    noun = "sidecar" if count == 1 else "sidecars"
    lines = [f"{path}: version {version} -> {sc.SCHEMA_VERSION}" for path, version in outdated]
    subject = f"keyz: migrate {count} {noun} to schema version {sc.SCHEMA_VERSION}"
    return "\n".join([subject, "", *lines]) + "\n"


__all__ = ["commit_message", "migrate_message"]
