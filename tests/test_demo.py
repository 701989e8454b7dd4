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
    assert "$ keyz discover --decrypt --apply" in out and "Tracked 4:" in out
    assert "$ keyz sync --commit" in out
    assert re.search(r"api/deepseek +deepseek +CNY 110\.00", out)
    assert re.search(r"api/deepseek +deepseek +CNY 41\.20", out)
    assert "Nothing changed; no commit" in out
    assert "spent USD" in out and "interval (5h): 7% left" in out  # spend and quota kinds
    assert "top-ups: +37.50" in out and "runway" in out and "burn" in out  # history
    assert "keyz: api/deepseek: CNY 41.20 left, below 50 CNY" in out  # check catches it
    assert "keyz: plan/minimax: interval (5h) 7% left, below 10%" in out
    assert "# keyz: scheduled run for the store" in out  # what cron install writes
    assert '-      "remaining": "130.00",' in out and '+      "remaining": "41.20",' in out
    for key in ("sk-demo0000deepseek", "sk-ant-admin01-demo", "sk-cp-demo"):
        assert key not in out
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
