"""Regenerate docs/ui.svg: ``keyz ui`` on the store ``keyz demo --keep`` leaves (make ui-screenshot).

The demo builds its throwaway sandbox (gpg key, pass store in git, weeks of history from the
offline simulator); the UI then runs headless at a fixed size on that store, with DeepSeek
selected, and Textual saves what it shows as SVG. The sandbox is removed afterwards.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

from keyz.config import load_config
from keyz.demo.story import run_demo
from keyz.store import PassStore
from keyz.ui import KeyzApp

SIZE = (118, 34)
SELECTED = "api/deepseek"


async def shoot(store: PassStore, target: Path) -> None:
    app = KeyzApp(store, load_config(store.keyz_dir))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()  # the store is read in a worker
        await pilot.pause()
        app.query_one("#tree").move_cursor(app.nodes[SELECTED])  # type: ignore[attr-defined]
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.save_screenshot(filename=target.name, path=str(target.parent))


def main() -> int:
    said: list[str] = []
    if run_demo(keep=True, say=said.append) != 0:
        print("\n".join(said), file=sys.stderr)
        return 1
    found = re.search(r"Sandbox in (\S+):", "\n".join(said))
    assert found, "the demo no longer says where its sandbox is"
    root = Path(found.group(1))
    try:
        target = Path(__file__).resolve().parent.parent / "docs" / "ui.svg"
        asyncio.run(shoot(PassStore(root / "store"), target))
        print(f"wrote {target}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
