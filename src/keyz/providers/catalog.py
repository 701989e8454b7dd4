"""What keyz can check, as data: the ``keyz providers`` document and table rows.

Everything here is read from the provider classes through the registry (imports every
provider module: not for a start-up path).
"""

from __future__ import annotations

from keyz.providers import all_providers
from keyz.providers.base import Provider
from keyz.providers.unsupported import UNSUPPORTED, Unsupported

ENTRY_HOST = "<entry's base_url>"  # a relay's host: the pass entry's own base_url line


def _unsupported() -> list[Unsupported]:
    return [UNSUPPORTED[pid] for pid in sorted(UNSUPPORTED)]


def describe(provider: Provider) -> dict[str, object]:
    """One provider as ``keyz providers --json`` lists it."""
    return {
        "id": provider.id,
        "title": provider.title,
        "capabilities": provider.capabilities.labels(),
        "key_kind": provider.key_kind.value,
        "key_help": provider.key_help,
        "base_url": provider.default_base_url or None,  # None: the entry's base_url line
        "host_from_entry": provider.host_from_entry,
        "regions": {
            name: {"base_url": r.base_url, "currency": r.currency}
            for name, r in provider.regions.items()
        },
        "endpoints": [
            {"path": e.target, "key_kind": e.key_kind.value, "reports": e.reports.labels()}
            for e in provider.endpoints
        ],
        "options": {
            name: {"help": o.help, "choices": list(o.choices), "required": o.required}
            for name, o in provider.options.items()
        },
    }


def document() -> dict[str, object]:
    """The ``keyz providers --json`` document: what keyz checks, and what it cannot."""
    return {
        "providers": [describe(p) for p in all_providers()],
        "unsupported": [
            {"id": u.id, "title": u.title, "reason": u.reason, "instead": u.instead}
            for u in _unsupported()
        ],
    }


def key_kinds(provider: Provider) -> str:
    """'regular', or 'regular (balance: management)' when endpoints need different keys
    (what each other kind of key answers, together: 'balance, key spend: management')."""
    main = max(provider.endpoints, key=lambda e: len(e.reports.labels()))
    by_kind: dict[str, list[str]] = {}
    for e in provider.endpoints:
        if e.key_kind != main.key_kind:
            by_kind.setdefault(e.key_kind.value, []).extend(e.reports.labels())
    others = [f"{', '.join(labels)}: {kind}" for kind, labels in by_kind.items()]
    return f"{main.key_kind.value} ({'; '.join(others)})" if others else str(main.key_kind.value)


def checkable_rows() -> list[tuple[str, ...]]:
    """The table of ``keyz providers``: a header, then id, reports, key and endpoints."""
    rows: list[tuple[str, ...]] = [("ID", "REPORTS", "KEY", "ENDPOINTS")]
    for p in all_providers():
        host = ENTRY_HOST if p.host_from_entry else p.documented_base_url({})
        endpoints = ", ".join(f"GET {host}{e.target}" for e in p.endpoints)
        rows.append((p.id, ", ".join(p.capabilities.labels()), key_kinds(p), endpoints))
    return rows


def unsupported_rows() -> list[tuple[str, ...]]:
    """Providers keyz cannot check with an API key: id, the reason and where to look."""
    return [(f"  {u.id}", f"{u.reason}; see {u.instead}") for u in _unsupported()]


__all__ = ["checkable_rows", "describe", "document", "key_kinds", "unsupported_rows"]
