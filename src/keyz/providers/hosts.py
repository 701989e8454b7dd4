"""Where a key may be sent: base URLs, and the checks made before anything is decrypted.

Kept apart from :mod:`keyz.providers.http` so that ``keyz sync`` can make these checks and
start decrypting before the HTTP stack (httpx, httpcore, anyio: ~0.1 s) is imported.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from keyz.errors import ConfigError
from keyz.redact import clean


def resolve_base_url(
    provider_id: str, default: str, configured: str | None, *, from_entry: str | None = None
) -> str:
    """``KEYZ_<ID>_BASE_URL``, else the entry's ``base_url:`` line, else ``[providers.<id>]
    base_url`` (see :func:`check_configured_base_url`), else the documented host."""
    env_name = env_base_url_name(provider_id)
    if os.environ.get(env_name):
        raw, source = os.environ[env_name], env_name
    elif from_entry:
        raw, source = from_entry, "the pass entry's base_url line"
    elif configured:
        raw, source = configured, f"[providers.{provider_id}] base_url"
    else:
        raw, source = default, "default"
    parts = urlsplit(raw)
    bad = not re.fullmatch(r"[\x21-\x7e]{1,2048}", raw)  # no spaces, controls or non-ASCII
    if (
        bad
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "?" in raw
        or "#" in raw
    ):
        shown = repr(raw) if source != "the pass entry's base_url line" else "the value"
        raise ConfigError(f"{source}: {shown} is not a base URL like https://host[:port][/prefix]")
    if parts.username or parts.password:
        raise ConfigError(f"{source}: credentials do not belong in a URL; keys live in pass")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"{source}: only https is allowed, except for loopback hosts (127.0.0.1, ::1, localhost)"
        )
    return raw.rstrip("/")


def env_base_url_name(provider_id: str) -> str:
    return f"KEYZ_{provider_id.upper().replace('-', '_')}_BASE_URL"


def shown_url(url: str) -> str:
    """The whole host (where the key would go is never cut off), the rest cut and escaped."""
    parts = urlsplit(url)
    head = f"{parts.scheme}://{parts.netloc}"
    return clean(head, 400) + clean(url[len(head) :], 60) if url.startswith(head) else clean(url)


def check_configured_base_url(
    store_root: Path, provider_id: str, configured: str | None, *, entry_bound: bool = False
) -> None:
    """Refuse a base_url that only the committed config names until this machine trusts it.

    Called before anything is decrypted: whoever can push to the store's repository can
    edit config.toml, and must not be able to retarget a key by doing so. For a relay
    (``entry_bound``) the host is the entry's own line, and nothing else may set it.
    """
    from keyz import trust

    if entry_bound:
        check_entry_bound(provider_id, configured)
        return
    if not configured or os.environ.get(env_base_url_name(provider_id)):
        return
    if not trust.is_trusted(store_root, provider_id, configured):
        raise ConfigError(
            f"[providers.{provider_id}] base_url = {shown_url(configured)!r} comes from the "
            f"committed config.toml, and this machine has not approved sending {provider_id} keys "
            "there (anyone who can push to the store could have set it); nothing was decrypted "
            f"or sent. If you set it yourself, run 'keyz trust {provider_id}'"
        )


def check_entry_bound(provider_id: str, configured: str | None) -> None:
    """A relay's host comes from its pass entry only: refuse any other base_url, loudly.

    Each relay key belongs to its own relay; a base_url in the committed config.toml (which
    anyone who can push may edit, trusted or not) or in the environment would send every
    relay entry's key to one host. Refused rather than ignored, before anything is decrypted.
    """
    env_name = env_base_url_name(provider_id)
    where = None
    if os.environ.get(env_name):
        where, fix = f"{env_name} is set", f"unset {env_name}"
    elif configured:
        where = f"config.toml sets [providers.{provider_id}] base_url"
        fix = "remove that line from config.toml"
    if where:
        raise ConfigError(
            f"{where}, but {provider_id} takes its host only from the pass entry's "
            f"'base_url:' line, which travels encrypted with the key (one setting for every "
            f"relay would send all their keys to one host); {fix}. Nothing was decrypted or sent"
        )


def entry_base_url(provider_id: str, entry: str, from_entry: str | None) -> str:
    """The relay's base URL: the pass entry's ``base_url:`` line, checked like any base URL.

    There is no default host, so an entry without the line is refused before anything is sent.
    """
    check_entry_bound(provider_id, None)
    if not from_entry:
        raise ConfigError(
            f"{provider_id} has no default host: add a line 'base_url: https://your-relay.example' "
            f"(the relay's address) to the pass entry, under the key: pass edit {entry}. "
            "Nothing was sent"
        )
    return resolve_base_url(provider_id, "", None, from_entry=from_entry)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = [
    "check_configured_base_url",
    "check_entry_bound",
    "entry_base_url",
    "env_base_url_name",
    "resolve_base_url",
    "shown_url",
]
