"""Which committed ``base_url`` this machine lets keys travel to.

``config.toml`` is committed: anyone who can push to the store's repository can set
``[providers.deepseek] base_url = "https://attacker.example"``, even a collaborator who
cannot decrypt the entry. Such a host gets no key until this machine has said yes with
``keyz trust PROVIDER``, recorded outside the repository (git can never bring it):

    $XDG_CONFIG_HOME/keyz/trusted-base-urls.json   (~/.config/keyz/... by default)

The user's own ``KEYZ_<ID>_BASE_URL`` and a ``base_url:`` line inside the encrypted pass
entry (it travels with the key) need no such record.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

from keyz.errors import ConfigError
from keyz.fsutil import atomic_write, read_capped

MAX_BYTES: Final = 1 << 20


def trust_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "keyz" / "trusted-base-urls.json"


def _key(store_root: Path, provider_id: str, base_url: str) -> dict[str, str]:
    return {
        "store": str(store_root.resolve()),
        "provider": provider_id,
        "base_url": base_url.rstrip("/"),
    }


def _load() -> list[dict[str, str]]:
    path = trust_file()
    try:
        data: Any = json.loads(read_capped(path, MAX_BYTES, ConfigError))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: cannot read this machine's trusted base URLs ({exc.__class__.__name__}); "
            "fix or delete the file, then run 'keyz trust PROVIDER' again"
        ) from None
    records = data.get("trusted") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise ConfigError(f"{path}: not a keyz trust file; fix or delete it")
    return [r for r in records if isinstance(r, dict)]


def _save(records: list[dict[str, str]]) -> None:
    path = trust_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {"version": 1, "trusted": sorted(records, key=lambda r: sorted(r.items()))}
    atomic_write(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())


def is_trusted(store_root: Path, provider_id: str, base_url: str) -> bool:
    return _key(store_root, provider_id, base_url) in _load()


def trust(store_root: Path, provider_id: str, base_url: str) -> bool:
    """Record the base URL; False when it was already trusted."""
    records, wanted = _load(), _key(store_root, provider_id, base_url)
    if wanted in records:
        return False
    _save([*records, wanted])
    return True


def forget(store_root: Path, provider_id: str) -> list[str]:
    """Forget every base URL trusted for this store and provider; return them."""
    records = _load()
    root = str(store_root.resolve())
    gone = [r for r in records if r.get("store") == root and r.get("provider") == provider_id]
    if gone:
        _save([r for r in records if r not in gone])
    return [r.get("base_url", "") for r in gone]


def trusted_here(store_root: Path) -> list[tuple[str, str]]:
    root = str(store_root.resolve())
    return sorted(
        (r.get("provider", ""), r.get("base_url", "")) for r in _load() if r.get("store") == root
    )


__all__ = ["forget", "is_trusted", "trust", "trust_file", "trusted_here"]
