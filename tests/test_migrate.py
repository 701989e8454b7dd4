"""keyz migrate: v1 and v2 files become exactly the golden v3 bytes, in one commit; newer files untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import Sandbox

FIXTURES = Path(__file__).parent / "fixtures" / "sidecars"


def place(sandbox: Sandbox, entry: str, fixture: str) -> Path:
    path = sandbox.store / ".keyz" / "entries" / f"{entry}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / fixture, path)
    return path


@pytest.mark.cli
def test_check_then_migrate_with_one_commit(two_keys: Sandbox) -> None:
    deepseek = place(two_keys, "api/deepseek", "deepseek.v1.json")
    openrouter = place(two_keys, "api/openrouter", "openrouter-key.v2.json")
    two_keys.git("add", "-A")
    two_keys.git("commit", "-qm", "v1 sidecars")
    (two_keys.store / "notes.txt").write_text("the user's own work in progress\n")
    before = deepseek.read_bytes()

    check = two_keys.keyz("migrate", "--check")
    assert check.returncode == 1
    assert "2 of 2 sidecars need 'keyz migrate'" in check.stderr
    assert deepseek.read_bytes() == before

    done = two_keys.keyz("migrate", "--commit")
    assert done.returncode == 0, done.stderr
    assert deepseek.read_bytes() == (FIXTURES / "deepseek.v3.json").read_bytes()
    assert openrouter.read_bytes() == (FIXTURES / "openrouter-key.v3.json").read_bytes()
    subject = two_keys.git("log", "-1", "--format=%s")
    assert subject.strip() == "keyz: migrate 2 sidecars to schema version 3"
    body = two_keys.git("log", "-1", "--format=%b")
    assert ".keyz/entries/api/deepseek.json: version 1 -> 3" in body
    assert ".keyz/entries/api/openrouter.json: version 2 -> 3" in body
    changed = two_keys.git("show", "--name-only", "--format=", "HEAD").split()
    assert changed == [".keyz/entries/api/deepseek.json", ".keyz/entries/api/openrouter.json"]
    assert "notes.txt" in two_keys.git("status", "--porcelain")

    again = two_keys.keyz("migrate", "--check")
    assert again.returncode == 0 and "All 2 readable sidecars" in again.stderr
    history = two_keys.keyz("history", "api/deepseek", "--json")
    assert history.returncode == 0, history.stderr  # v1 and v3 versions read alike
    versions = json.loads(history.stdout)
    assert [v["schema_version"] for v in versions] == [3, 3]  # each shown as the current format


@pytest.mark.cli
def test_newer_and_corrupt_files_are_reported_and_left_alone(two_keys: Sandbox) -> None:
    place(two_keys, "api/deepseek", "deepseek.v1.json")
    future = two_keys.store / ".keyz" / "entries" / "api" / "future.json"
    future.write_text('{"schema_version": 9}\n')
    broken = two_keys.store / ".keyz" / "entries" / "api" / "broken.json"
    broken.write_text('{"schema_version": 1, "entry"')
    result = two_keys.keyz("migrate")
    assert result.returncode == 1
    assert "newer keyz; upgrade keyz" in result.stderr and "broken.json" in result.stderr
    assert future.read_text() == '{"schema_version": 9}\n'
    assert broken.read_text() == '{"schema_version": 1, "entry"'
    migrated = two_keys.store / ".keyz" / "entries" / "api" / "deepseek.json"
    assert migrated.read_bytes() == (FIXTURES / "deepseek.v3.json").read_bytes()


def test_check_and_commit_together_is_a_usage_error(two_keys: Sandbox) -> None:
    assert two_keys.keyz("migrate", "--check", "--commit").returncode == 2
