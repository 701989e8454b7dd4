import re
import subprocess
from pathlib import Path

import pytest

from .conftest import KEYZ

pytestmark = pytest.mark.cli


def test_demo_runs_offline_and_cleans_up(tmp_path: Path) -> None:
    real_store = Path(tmp_path / "home" / ".password-store")
    done = subprocess.run(
        [KEYZ, "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "$ keyz sync --commit" in out
    assert "api/deepseek    deepseek    CNY 110.00 · USD 5.25" in out
    assert "api/deepseek    deepseek    CNY 96.40 · USD 5.25" in out
    assert "Nothing changed; no commit" in out
    assert '-      "remaining": "110.00",' in out and '+      "remaining": "96.40",' in out
    sandbox = re.search(r"Sandbox in (\S+):", out)
    assert sandbox is not None and not Path(sandbox.group(1)).exists()
    assert not real_store.exists(), "the user's store is never touched"


def test_demo_keep_leaves_the_sandbox_and_says_how_to_use_it() -> None:
    done = subprocess.run(
        [KEYZ, "demo", "--keep"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0
    sandbox = re.search(r"Sandbox in (\S+):", done.stdout)
    assert sandbox is not None
    root = Path(sandbox.group(1))
    try:
        assert (root / "store" / ".keyz" / "entries" / "api" / "deepseek.json").exists()
        assert f"PASSWORD_STORE_DIR={root / 'store'}" in done.stdout
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(root / "gnupg"), "--kill", "gpg-agent"], check=False
        )
        import shutil

        shutil.rmtree(root, ignore_errors=True)
