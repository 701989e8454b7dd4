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
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from keyz.alerts import (
    ALERT_KEYS,
    Alerts,
    Budget,
    Threshold,
    parse_budget,
    parse_duration,
    parse_threshold,
)
from keyz.errors import ConfigError, UsageError
from keyz.fsutil import atomic_write, cannot_read, read_capped, safe_path

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

CONFIG_SCHEMA_VERSION: Final = 1
GitMode = Literal["off", "stage", "commit"]  # what `keyz sync` does with git
GIT_MODES: Final = get_args(GitMode)
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
# ui_autosync = "15m"        # keyz ui: how often 'a' (autosync) syncs while the UI is open (default 15m)
# alert_below = "5 USD"      # keyz check: alert when a balance is below (also a list)
# alert_below_percent = 10   # keyz check: alert when a quota window has less left
# alert_runway_days = 7      # keyz check: alert when the history says money runs out sooner
# alert_spend_above = "200 USD/month"  # keyz check: a month's spend at 80 % and 100 % of this
# alert_failing_runs = 2     # keyz check: alert once syncs failed this many runs in a row (default 1)

# [notify]                   # keyz check --notify, keyz notify test (first line: an Apprise URL)
# destinations = ["pass:keyz/notify/ntfy"]   # a pass entry whose first line is an Apprise URL

# [entries."api/deepseek"]
# provider = "deepseek"

# [providers.openrouter]
# base_url = "https://openrouter.ai"   # or env KEYZ_OPENROUTER_BASE_URL
# concurrency = 8                      # requests in flight to it at once (default 8; deepseek, openrouter 16)

# [rates]                    # keyz status --total: your own rates, never fetched
# CNY = "0.14 USD"           # 1 CNY is worth 0.14 USD; every rate names the same target
"""

GITIGNORE: Final = """\
# Machine-local state (last check times, last errors): never committed.
/state/
# Temporary files of interrupted writes.
.*.tmp
"""

GITATTRIBUTES: Final = """\
# Sidecars are snapshots: on a merge keep the newer observation (keyz merge-driver).
# Without the driver registered in .git/config, git merges them as text.
entries/**/*.json merge=keyz
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
class Rate:
    """``[rates] CNY = "0.14 USD"``: one ``currency`` is worth ``amount`` of ``target``.

    Set by the user and never fetched: totals across currencies use only these."""

    currency: str
    amount: Decimal
    target: str

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.amount} {self.target}"


_RATE: Final = re.compile(r"([0-9]{1,15}(?:\.[0-9]{1,12})?) ([A-Z]{3})")
_ISO: Final = re.compile(r"[A-Z]{3}")


def parse_rates(raw: object) -> dict[str, Rate]:
    """The ``[rates]`` table: ISO codes to ``"0.14 USD"`` strings, all to one target currency.

    Strict, as money must be: a string (a TOML float would already be rounded in binary),
    ASCII decimal notation of at most 15 + 12 digits, above zero, ISO 4217 codes. A
    ValueError says which key and what it must be.
    """
    if not isinstance(raw, dict):
        raise ValueError('[rates] must be a table of CUR = "AMOUNT CUR" lines')
    rates: dict[str, Rate] = {}
    for currency, text in raw.items():
        shown = repr(currency) if _CONTROL.search(currency) else currency
        if not _ISO.fullmatch(currency):
            raise ValueError(f"[rates] {shown}: the key must be an ISO 4217 code like CNY")
        match = _RATE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f'[rates] {currency} must be a string like "0.14 USD" (an amount with at most '
                "12 decimals, one space, an ISO 4217 code); a bare number is refused: money "
                "is exact"
            )
        amount, target = Decimal(match.group(1)), match.group(2)
        if amount <= 0:
            raise ValueError(f"[rates] {currency} must be above zero")
        if target == currency:
            raise ValueError(f"[rates] {currency} converts {currency} to itself; leave it out")
        rates[currency] = Rate(currency, amount, target)
    targets = sorted({rate.target for rate in rates.values()})
    if len(targets) > 1:
        raise ValueError(
            f"[rates] must all convert to one currency, these name {', '.join(targets)}; "
            "choose one (keyz never chains rates)"
        )
    if targets and targets[0] in rates:
        raise ValueError(f"[rates] {targets[0]} is the target currency; it needs no rate")
    return rates


@dataclass(frozen=True)
class Config:
    git: GitMode = "off"
    timeout: float = 30.0
    entries: dict[str, EntryConfig] = field(default_factory=dict)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    alerts: Alerts = field(default_factory=Alerts)
    max_age: timedelta | None = None  # figures older than this are stale (status, check)
    ui_autosync: timedelta | None = None  # keyz ui: how often autosync syncs (default 15m)
    notify: tuple[str, ...] = ()  # [notify] destinations: "pass:ENTRY", or a token-less local URL
    rates: dict[str, Rate] = field(default_factory=dict)  # [rates]: the user's own, for totals

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


class _Table(BaseModel):
    """A table of config.toml, in TOML's own types (strict: "30" is no number), unknown keys
    refused. Only read: the Config dataclasses below are what the rest of keyz sees."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _below(value: Any) -> tuple[Threshold, ...]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ValueError(_HINTS["alert_below"])
    try:
        return tuple(parse_threshold(text) for text in texts)
    except UsageError as exc:
        raise ValueError(f"alert_below {exc}") from None


def _duration(value: Any) -> timedelta:
    if not isinstance(value, str):
        raise ValueError(_HINTS["max_age"])
    try:
        return parse_duration(value, name="max_age")
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def _autosync(value: Any) -> timedelta:
    if not isinstance(value, str):
        raise ValueError(_HINTS["ui_autosync"])
    try:
        found = parse_duration(value, name="ui_autosync")
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    if found < timedelta(minutes=1):
        raise ValueError(_HINTS["ui_autosync"])
    return found


def _budget(value: Any) -> Budget:
    if not isinstance(value, str):
        raise ValueError(_HINTS["alert_spend_above"])
    try:
        return parse_budget(value)
    except UsageError as exc:
        raise ValueError(f"alert_spend_above {exc}") from None


class _AlertKeys(_Table):
    alert_below: Annotated[tuple[Threshold, ...] | None, PlainValidator(_below)] = None
    alert_below_percent: int | float | None = Field(default=None, ge=0, le=100)
    alert_runway_days: int | float | None = Field(default=None, ge=0, le=3650)
    alert_spend_above: Annotated[Budget | None, PlainValidator(_budget)] = None
    alert_failing_runs: int | None = Field(default=None, ge=1, le=1000)

    def alerts(self) -> Alerts:
        percent, days = self.alert_below_percent, self.alert_runway_days
        return Alerts(
            self.alert_below,
            None if percent is None else Decimal(str(percent)),  # 7 stays 7, not 7.0
            None if days is None else Decimal(str(days)),
            self.alert_spend_above,
            self.alert_failing_runs,
        )


class _Defaults(_AlertKeys):
    git: GitMode = "off"
    timeout: float = Field(default=30, ge=1, le=600)
    max_age: Annotated[timedelta | None, PlainValidator(_duration)] = None
    ui_autosync: Annotated[timedelta | None, PlainValidator(_autosync)] = None


class _Entry(_AlertKeys):
    model_config = ConfigDict(extra="allow")  # every other key is a provider option
    __pydantic_extra__: dict[str, str]

    provider: str = Field(pattern=_PROVIDER_ID.pattern)

    @model_validator(mode="after")
    def _option_names(self) -> Self:
        for key in self.model_extra or {}:
            if not _OPTION_KEY.match(key):
                raise ValueError(f"option {key!r} must be a string value")
        return self


class _Provider(_AlertKeys):
    base_url: str | None = None
    concurrency: int | None = Field(default=None, ge=1, le=64)


PASS_PREFIX: Final = "pass:"  # noqa: S105  # a prefix naming a pass entry, not a password
# Literal URLs allowed in the plaintext config: plain HTTP(S) webhooks on this machine, with
# no user, password, query or fragment; anything else can carry a token, so it lives in pass.
_LITERAL_SCHEMES: Final = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
NOT_IN_CONFIG: Final = (
    "notification URLs can carry tokens, so they live in pass: put the URL on the first line "
    'of a pass entry (pass insert keyz/notify/NAME) and list "pass:keyz/notify/NAME"; only '
    "a json://, form:// or xml:// URL to localhost without user, password or query may be "
    "written in config.toml"
)


def _destination(value: Any) -> str:
    """One [notify] destination: 'pass:ENTRY', or a literal URL that holds no secret."""
    import urllib.parse

    if not isinstance(value, str) or not value or len(value) > 2048 or _CONTROL.search(value):
        raise ValueError('destinations must be a list like ["pass:keyz/notify/ntfy"]')
    if value.startswith(PASS_PREFIX):
        parts = value.removeprefix(PASS_PREFIX).removesuffix(".gpg").split("/")
        if any(part in ("", ".", "..") for part in parts) or "\\" in value:
            raise ValueError(
                f"destination {value!r} must name a pass entry, like pass:keyz/notify/ntfy"
            )
        return value  # the store checks the name again when it decrypts it
    try:
        url = urllib.parse.urlsplit(value)
        host, port = url.hostname, url.port
    except ValueError:
        host = port = None
        url = urllib.parse.urlsplit("")
    del port
    if (
        url.scheme.lower() not in _LITERAL_SCHEMES
        or host not in _LOOPBACK
        or url.username is not None
        or url.password is not None
        or url.query
        or url.fragment
    ):
        raise ValueError(f"a destination is written out in plain text; {NOT_IN_CONFIG}")
    return value


class _Notify(_Table):
    destinations: list[Annotated[str, PlainValidator(_destination)]] = Field(
        default_factory=list, max_length=32
    )


def _printable(name: str) -> str:
    if _CONTROL.search(name):  # a pushed config must not write to the terminal through a name
        raise ValueError(f"[entries.{name!r}] has control characters; no pass entry is named so")
    return name


class _ConfigV1(_Table):
    schema_version: Literal[1]
    defaults: _Defaults = _Defaults()
    entries: dict[Annotated[str, AfterValidator(_printable)], _Entry] = Field(default_factory=dict)
    providers: dict[str, _Provider] = Field(default_factory=dict)
    notify: _Notify = _Notify()
    rates: Annotated[dict[str, Rate], PlainValidator(parse_rates)] = Field(default_factory=dict)


_ONLY: Final = "base_url, concurrency and " + ", ".join(ALERT_KEYS)
_HINTS: Final = {  # what a key's value must be, where pydantic's own words would be vaguer
    "schema_version": f"schema_version must be {CONFIG_SCHEMA_VERSION}",
    "git": f"git must be one of {', '.join(GIT_MODES)}",
    "timeout": "timeout must be a number of seconds from 1 to 600",
    "max_age": 'max_age must be a duration like "12h" or "2d"',
    "ui_autosync": 'ui_autosync must be a duration of a minute or more, like "15m" or "1h"',
    "provider": 'needs provider = "<id>" (see keyz providers)',
    "base_url": "base_url must be a string",
    "concurrency": "concurrency must be a whole number from 1 to 64",
    "alert_below": 'alert_below must be a string like "5 USD" or a list of them',
    "alert_below_percent": "alert_below_percent must be a number from 0 to 100",
    "alert_runway_days": "alert_runway_days must be a number from 0 to 3650",
    "alert_spend_above": 'alert_spend_above must be a string like "200 USD/month"',
    "alert_failing_runs": "alert_failing_runs must be a whole number from 1 to 1000",
    "destinations": 'destinations must be a list like ["pass:keyz/notify/ntfy"]',
}


def _parse(raw: dict[str, Any], path: Path) -> Config:
    version = raw.get("schema_version")
    if type(version) is not int:  # type(): True is no version
        raise ConfigError(f"{path}: schema_version must be a whole number (it is {version!r})")
    if version > CONFIG_SCHEMA_VERSION:
        raise ConfigError(
            f"{path} has schema_version {version}, written by a newer keyz; upgrade keyz "
            f"(this one knows version {CONFIG_SCHEMA_VERSION})"
        )
    try:
        document = _ConfigV1.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_explain(exc.errors())}") from None
    defaults = document.defaults
    return Config(
        git=defaults.git,
        timeout=float(defaults.timeout),
        entries={
            name: EntryConfig(name, table.provider, dict(table.model_extra or {}), table.alerts())
            for name, table in document.entries.items()
        },
        providers={
            pid: ProviderConfig(table.base_url, table.concurrency, table.alerts())
            for pid, table in document.providers.items()
        },
        alerts=defaults.alerts(),
        max_age=defaults.max_age,
        ui_autosync=defaults.ui_autosync,
        notify=tuple(document.notify.destinations),
        rates=document.rates,
    )


def _explain(errors: list[ErrorDetails]) -> str:
    """The first problem pydantic found, in this file's words: the table, the key, the fix."""
    top = sorted(str(e["loc"][0]) for e in errors if len(e["loc"]) == 1 and _extra(e))
    if top:
        return f"unknown top-level key(s) {top}"
    error = errors[0]
    loc = [str(part) for part in error["loc"]]
    said = str(error["ctx"]["error"]) if error["type"] == "value_error" and "ctx" in error else None
    if loc == ["schema_version"]:
        return _HINTS["schema_version"]
    if loc == ["rates"] and said is not None:
        return said
    if len(loc) == 1:
        return f"{loc[0]} must be a table ([{loc[0]}])"
    if loc[0] == "notify":
        if _extra(error):
            return f"unknown key {loc[1]!r} in [notify]; it has destinations only"
        return f"[notify] {said or _HINTS['destinations']}"
    if loc[0] == "defaults":
        where, key = "[defaults]", loc[1]
        if _extra(error):
            keys = sorted(
                str(e["loc"][1]) for e in errors if e["loc"][0] == "defaults" and _extra(e)
            )
            return f"unknown key(s) {keys} in [defaults]"
    else:
        section, name, key = loc[0], _shown(loc[1]), loc[2] if len(loc) > 2 else ""
        if key == "[key]" and said is not None:  # the name itself: the message shows it safely
            return said
        where = f'[entries."{name}"]' if section == "entries" else f"[providers.{name}]"
        if section == "providers" and (not key or _extra(error)):
            return f"{where} may only set {_ONLY}"
        if not key and said is None:
            return f"{where} must be a table"
        if section == "entries" and key and key not in _Entry.model_fields:
            return f"{where} option {key!r} must be a string value"
    if said is not None:
        return f"{where} {said}"
    return f"{where} {_HINTS.get(key) or key + ': ' + error['msg']}"


def _shown(name: str) -> str:
    """A table name as it can be printed: control characters escaped."""
    return repr(name)[1:-1] if _CONTROL.search(name) else name


def _extra(error: ErrorDetails) -> bool:
    return error["type"] == "extra_forbidden"


def init_keyz_dir(keyz_dir: Path) -> list[Path]:
    """Create .keyz/ with config.toml, .gitignore, .gitattributes and README.md; keep files that exist."""
    created = []
    _check_keyz_dir(safe_path(keyz_dir, keyz_dir, ConfigError))
    for name, text in (
        ("config.toml", DEFAULT_CONFIG),
        (".gitignore", GITIGNORE),
        (".gitattributes", GITATTRIBUTES),
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
    "GitMode",
    "ProviderConfig",
    "Rate",
    "config_path",
    "init_keyz_dir",
    "load_config",
    "parse_option",
    "parse_rates",
    "remove_entry",
    "set_entry",
]
