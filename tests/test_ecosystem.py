"""keyz at home in the pass ecosystem: the pass extension, shell completion, --version."""

from __future__ import annotations

import os
import subprocess

import pytest

from keyz import __version__
from tests.conftest import Sandbox, needs_pass


@needs_pass
@pytest.mark.cli
def test_pass_keyz_runs_keyz_on_the_store(two_keys: Sandbox) -> None:
    assert two_keys.keyz("sync").returncode == 0
    installed = two_keys.keyz("install-pass-extension")
    assert installed.returncode == 0, installed.stderr
    script = two_keys.store / ".extensions" / "keyz.bash"
    assert os.access(script, os.X_OK)
    env = {**two_keys.env, "PASSWORD_STORE_ENABLE_EXTENSIONS": "true"}
    done = subprocess.run(
        ["pass", "keyz", "status", "--format", "short"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ds ¥110/$5 ")
    # without the opt-in, pass does not run store extensions (it tries to show an entry)
    off = subprocess.run(
        ["pass", "keyz", "status"], env=two_keys.env, capture_output=True, text=True, check=False
    )
    assert "ds ¥110" not in off.stdout
    assert "keyz" not in two_keys.keyz("status").stdout.split()  # .extensions is not an entry


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _keyz_completion keyz"),
        ("zsh", "#compdef keyz"),
        ("fish", "complete --no-files --command keyz"),
    ],
)
def test_completion_scripts(two_keys: Sandbox, shell: str, marker: str) -> None:
    done = two_keys.keyz("completion", shell)
    assert done.returncode == 0 and marker in done.stdout


def test_completion_offers_commands_and_entry_names(two_keys: Sandbox) -> None:
    def complete(words: str) -> list[str]:
        env = {
            "_KEYZ_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        return two_keys.keyz(env=env).stdout.split()

    assert "plain,sync" in complete("keyz sy")
    assert "plain,api/deepseek" in complete("keyz history api/d")


def test_version_comes_from_one_place(two_keys: Sandbox) -> None:
    assert two_keys.keyz("--version").stdout.strip() == f"keyz, version {__version__}"
