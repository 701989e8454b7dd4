"""``.keyz/config.toml``: tracked entries, provider options and defaults.

Read with the standard library's tomllib (fast, strict); edited with tomlkit so
the user's comments and layout survive ``keyz track`` and ``keyz untrack``.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from keyz.alerts import ALERT_KEYS, Alerts, parse_alerts, parse_duration
from keyz.errors import ConfigError, UsageError
from keyz.fsutil import atomic_write, cannot_read, read_capped, safe_path

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

CONFIG_SCHEMA_VERSION: Final = 1
GIT_MODES: Final = ("off", "stage", "commit")
MAX_CONFIG_BYTES: Final = 1_000_000
_OPTION_KEY: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PROVIDER_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

DEFAULT_CONFIG: Final = f"""\
# keyz configuration: which pass entries keyz checks, and how.
# Edit by hand or with `keyz track` / `keyz untrack`; comments are kept.
schema_version = {CONFIG_SCHEMA_VERSION}

[defaults]
git = "off"        # off | stage | commit: what `keyz sync` does with git when no flag is given
timeout = 30       # seconds one entry may take, retries included
# max_age = "12h"            # status and check: figures older than this are stale (default 2d)
# alert_below = "5 USD"      # keyz check: alert when a balance is below (also a list)
# alert_below_percent = 10   # keyz check: alert when a quota window has less left
# alert_runway_days = 7      # keyz check: alert when the history says money runs out sooner

# [entries."api/deepseek"]
# provider = "deepseek"

# [providers.openrouter]
# base_url = "https://openrouter.ai"   # or env KEYZ_OPENROUTER_BASE_URL
# concurrency = 8                      # requests in flight to this provider at once (default 8)
"""

GITIGNORE: Final = """\
# Machine-local state (last check times, last errors): never committed.
/state/
# Temporary files of interrupted writes.
.*.tmp
"""

README: Final = """\
# .keyz

This folder is written by [keyz](https://pypi.org/project/keyz/), which checks the
balance, credits, spend or quota of the API keys kept in this password store.

- `config.toml`: which entries keyz tracks, and with which provider.
- `entries/<entry>.json`: the last values a provider reported for the pass entry of
  the same name. Plain JSON, no secrets: `git log -p -- .keyz/` is the balance history.
- `state/`: local to this machine (last check time, last error); not in git.

Nothing here is encrypted, and nothing here is a secret.
"""


@dataclass(frozen=True)
class EntryConfig:
    name: str
    provider: str
    options: dict[str, str] = field(default_factory=dict)
    alerts: Alerts = field(default_factory=Alerts)


@dataclass(frozen=True)
class ProviderConfig:
    base_url: str | None = None
    concurrency: int | None = None
    alerts: Alerts = field(default_factory=Alerts)


@dataclass(frozen=True)
class Config:
    git: str = "off"
    timeout: float = 30.0
    entries: dict[str, EntryConfig] = field(default_factory=dict)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    alerts: Alerts = field(default_factory=Alerts)
    max_age: timedelta | None = None  # figures older than this are stale (status, check)

    def alerts_for(self, entry: EntryConfig) -> Alerts:
        """Entry settings over provider settings over [defaults], key by key."""
        provider = self.providers.get(entry.provider, ProviderConfig()).alerts
        return entry.alerts.over(provider.over(self.alerts))


def config_path(keyz_dir: Path) -> Path:
    return safe_path(keyz_dir, keyz_dir / "config.toml", ConfigError)


def load_config(keyz_dir: Path) -> Config:
    """Read and check config.toml; every problem names the file and what to fix."""
    path = config_path(keyz_dir)
    return _parse(_toml(_read_text(keyz_dir, path), path), path)


def _mode(path: Path) -> int | None:
    """``path``'s lstat mode, None if it is not there; a folder keyz cannot search is a ConfigError."""
    try:
        return os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(cannot_read(path, exc)) from None


def _check_keyz_dir(keyz_dir: Path) -> None:
    """A file named .keyz: say so, rather than 'Not a directory' about a path below it."""
    mode = _mode(keyz_dir)
    if mode is not None and not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):  # a link: safe_path
        raise ConfigError(
            f"{keyz_dir} is not a directory, but keyz keeps its files there; move it away, "
            "then run 'keyz init'"
        )


def _read_text(keyz_dir: Path, path: Path) -> str:
    """config.toml's text: a regular file (never a symlink), at most MAX_CONFIG_BYTES."""
    _check_keyz_dir(keyz_dir)
    try:
        data = read_capped(path, MAX_CONFIG_BYTES, ConfigError)
    except FileNotFoundError:
        raise ConfigError(f"{keyz_dir} is not set up; run 'keyz init' first") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix it by hand") from None


def _toml(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix it by hand") from None


def _parse(raw: dict[str, Any], path: Path) -> Config:
    version = raw.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"{path}: schema_version must be a whole number (it is {version!r})")
    if version > CONFIG_SCHEMA_VERSION:
        raise ConfigError(
            f"{path} has schema_version {version}, written by a newer keyz; upgrade keyz "
            f"(this one knows version {CONFIG_SCHEMA_VERSION})"
        )
    unknown = set(raw) - {"schema_version", "defaults", "entries", "providers"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)}")
    defaults = _table(raw, "defaults", path)
    bad = set(defaults) - {"git", "timeout", "max_age", *ALERT_KEYS}
    if bad:
        raise ConfigError(f"{path}: unknown key(s) {sorted(bad)} in [defaults]")
    git = defaults.get("git", "off")
    if git not in GIT_MODES:
        raise ConfigError(f"{path}: [defaults] git must be one of {', '.join(GIT_MODES)}")
    timeout = defaults.get("timeout", 30)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 1 <= timeout <= 600:
        raise ConfigError(f"{path}: [defaults] timeout must be a number of seconds from 1 to 600")
    max_age = defaults.get("max_age")
    if max_age is not None and not isinstance(max_age, str):
        raise ConfigError(f'{path}: [defaults] max_age must be a duration like "12h" or "2d"')
    try:
        where = f"{path}: [defaults] max_age"
        age = parse_duration(max_age, name=where) if max_age is not None else None
        default_alerts = parse_alerts(defaults, f"{path}: [defaults]")
    except UsageError as exc:
        raise ConfigError(str(exc)) from None

    entries: dict[str, EntryConfig] = {}
    for name, table in _table(raw, "entries", path).items():
        if _CONTROL.search(name):  # a pushed config must not write to the terminal through a name
            raise ConfigError(
                f"{path}: [entries.{name!r}] has control characters; no pass entry is named so"
            )
        if not isinstance(table, dict):
            raise ConfigError(f'{path}: [entries."{name}"] must be a table')
        provider = table.get("provider")
        if not isinstance(provider, str) or not _PROVIDER_ID.match(provider):
            raise ConfigError(
                f'{path}: [entries."{name}"] needs provider = "<id>" (see keyz providers)'
            )
        options = {k: v for k, v in table.items() if k != "provider" and k not in ALERT_KEYS}
        for key, value in options.items():
            if not _OPTION_KEY.match(key) or not isinstance(value, str):
                raise ConfigError(
                    f'{path}: [entries."{name}"] option {key!r} must be a string value'
                )
        entries[name] = EntryConfig(
            name, provider, options, _alerts(table, f'{path}: [entries."{name}"]')
        )

    providers: dict[str, ProviderConfig] = {}
    for pid, table in _table(raw, "providers", path).items():
        if not isinstance(table, dict) or set(table) - {"base_url", "concurrency", *ALERT_KEYS}:
            raise ConfigError(
                f"{path}: [providers.{pid}] may only set base_url, concurrency and "
                + ", ".join(ALERT_KEYS)
            )
        base_url, concurrency = table.get("base_url"), table.get("concurrency")
        if base_url is not None and not isinstance(base_url, str):
            raise ConfigError(f"{path}: [providers.{pid}] base_url must be a string")
        if concurrency is not None and (
            not isinstance(concurrency, int) or not 1 <= concurrency <= 64
        ):
            raise ConfigError(
                f"{path}: [providers.{pid}] concurrency must be a whole number from 1 to 64"
            )
        providers[pid] = ProviderConfig(
            base_url, concurrency, _alerts(table, f"{path}: [providers.{pid}]")
        )
    return Config(
        git=git,
        timeout=float(timeout),
        entries=entries,
        providers=providers,
        alerts=default_alerts,
        max_age=age,
    )


def _alerts(table: dict[str, Any], where: str) -> Alerts:
    try:
        return parse_alerts(table, where)
    except UsageError as exc:
        raise ConfigError(str(exc)) from None


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {key} must be a table ([{key}])")
    return value


def init_keyz_dir(keyz_dir: Path) -> list[Path]:
    """Create .keyz/ with config.toml, .gitignore, .gitattributes and README.md; keep files that exist."""
    from keyz.merge import ATTRIBUTES

    created = []
    _check_keyz_dir(safe_path(keyz_dir, keyz_dir, ConfigError))
    for name, text in (
        ("config.toml", DEFAULT_CONFIG),
        (".gitignore", GITIGNORE),
        (".gitattributes", ATTRIBUTES),
        ("README.md", README),
    ):
        path = safe_path(keyz_dir, keyz_dir / name)
        if _mode(path) is None:
            atomic_write(path, text.encode())
            created.append(path)
    entries = safe_path(keyz_dir, keyz_dir / "entries")
    if _mode(entries) is None:
        entries.mkdir()
    return created


def parse_option(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` from the command line."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not _OPTION_KEY.match(key) or not value or re.search(r"[\x00-\x1f]", value):
        raise UsageError(f"--option {text!r} must look like key=value (e.g. --option region=cn)")
    return key, value


def set_entry(keyz_dir: Path, entry: EntryConfig) -> bool:
    """Add or replace ``[entries."NAME"]``, keeping the rest of the file as written."""
    import tomlkit

    document, path = _edit(keyz_dir)
    entries = document.get("entries")
    if entries is None:
        entries = tomlkit.table(is_super_table=True)
        document["entries"] = entries
    table = tomlkit.table()
    table["provider"] = entry.provider
    for key, value in sorted(entry.options.items()):
        table[key] = value
    before = entries.get(entry.name)
    if before is not None and before.unwrap() == table.unwrap():
        return False
    entries[entry.name] = table
    _save(document, path)
    return True


def remove_entry(keyz_dir: Path, name: str) -> bool:
    document, path = _edit(keyz_dir)
    entries = document.get("entries")
    if entries is None or name not in entries:
        return False
    del entries[name]
    _save(document, path)
    return True


def _edit(keyz_dir: Path) -> tuple[Any, Path]:
    import tomlkit

    path = config_path(keyz_dir)
    text = _read_text(keyz_dir, path)
    _parse(_toml(text, path), path)  # refuse to edit a file we could not read back
    return tomlkit.parse(text), path


def _save(document: Any, path: Path) -> None:
    import tomlkit

    text = tomlkit.dumps(document)
    _parse(tomllib.loads(text), path)  # never write a config we would reject
    atomic_write(path, text.encode())


__all__ = [
    "CONFIG_SCHEMA_VERSION",
    "GIT_MODES",
    "Config",
    "EntryConfig",
    "ProviderConfig",
    "config_path",
    "init_keyz_dir",
    "load_config",
    "parse_option",
    "remove_entry",
    "set_entry",
]
