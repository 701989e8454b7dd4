"""Mistakes a CLI must not allow (issue 15): each is refused with one clear line, or done right."""

from __future__ import annotations

import pytest

from .conftest import Sandbox

pytestmark = pytest.mark.cli


@pytest.mark.parametrize(
    "args",
    [
        ("sync", "--no-git", "--commit"),
        ("sync", "--commit", "--stage"),
        ("sync", "--stage", "--no-git"),
        ("sync", "--json", "--quiet"),
        ("check", "--sync", "--commit", "--stage"),
        ("status", "--json", "--format", "short"),
        ("history", "api/deepseek", "--json", "--csv"),
        ("migrate", "--check", "--commit"),
        ("cron", "show", "--every", "1h", "--at", "06:00"),
    ],
)
def test_contradictory_flags_exit_2_naming_both(two_keys: Sandbox, args: tuple[str, ...]) -> None:
    done = two_keys.keyz(*args)
    flags = [a for a in args if a.startswith("--") and a != "--sync"]
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "choose one of" in done.stderr and all(f" {flag}" in done.stderr for flag in flags)
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (two_keys.store / ".keyz" / "entries" / "api").exists(), "nothing was synced"
