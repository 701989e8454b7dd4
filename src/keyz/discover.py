"""``keyz discover``: find untracked entries that look like provider keys.

By path first (``api/deepseek``, ``keys/anthropic-admin``), and with ``--decrypt``
also by the key's documented prefix (``sk-or-v1-``, ``sk-ant-admin01-``, ...): both
as each provider declares them (``path_words``, ``key_prefixes``). Only the matched
rule is ever shown, never the key: what a key starts with is a declared prefix,
not text from the entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from keyz.config import EntryConfig, set_entry
from keyz.errors import KeyzError, UsageError
from keyz.providers.keys import KeyKind
from keyz.store import PassStore, decrypt_each

KIND_WORDS: Final = {
    "admin": KeyKind.ADMIN,
    "management": KeyKind.MANAGEMENT,
    "mgmt": KeyKind.MANAGEMENT,
}
_SEPARATORS: Final = re.compile(r"[/\-_.\s]+")


@dataclass(frozen=True)
class Prefix:
    text: str
    provider: str
    kind: KeyKind
    usable: bool  # can keyz check the provider with this kind of key?
    label: str


@cache
def path_words() -> dict[str, str]:
    """Path word -> provider id, as every provider declares it (supported or not: unsupported
    ones are reported, never tracked). A word the path splits ('x.ai') is matched anywhere."""
    from keyz.providers import all_specs

    return {word: spec.id for spec in all_specs() for word in spec.path_words}


@cache
def prefixes() -> tuple[Prefix, ...]:
    """Every provider's documented key prefixes, longest first: the first match wins."""
    from keyz.providers import all_specs

    found = [
        Prefix(p.text, spec.id, p.kind, p.usable, p.label)
        for spec in all_specs()
        for p in spec.key_prefixes
    ]
    return tuple(sorted(found, key=lambda p: len(p.text), reverse=True))


@dataclass(frozen=True)
class Candidate:
    entry: str
    provider: str
    key_kind: KeyKind | None  # what the evidence says the key is; None when unknown
    confident: bool  # --apply tracks it
    why: str

    def to_json(self) -> dict[str, object]:
        return {
            "entry": self.entry,
            "provider": self.provider,
            "key_kind": self.key_kind.value if self.key_kind else None,
            "confident": self.confident,
            "why": self.why,
        }


def path_guess(entry: str) -> tuple[str | None, KeyKind | None, str | None]:
    """(provider, key kind, the word that matched) from the entry's path alone."""
    lowered = entry.lower()
    words = [w for w in _SEPARATORS.split(lowered) if w]
    table = path_words()
    provider = word = None
    for candidate in words:
        if candidate in table:
            provider, word = table[candidate], candidate
    if provider is None:
        for special, pid in table.items():
            if _SEPARATORS.search(special) and special in lowered:
                provider, word = pid, special
    kind = next((KIND_WORDS[w] for w in words if w in KIND_WORDS), None)
    return provider, kind, word


def prefix_of(key: str) -> Prefix | None:
    return next((p for p in prefixes() if key.startswith(p.text)), None)


_KEY_CHARS: Final = re.compile(r"[A-Za-z0-9._:+/=-]{20,4096}")
_MIXED: Final = re.compile(r"(?=.*[A-Za-z])(?=.*[0-9])")
NOT_A_KEY: Final = (
    "the first line does not look like an API key (one word of 20 or more letters and digits, "
    "and - _ . : + / =)"
)


def looks_like_key(value: str) -> bool:
    """One word of 20+ letters, digits and ``-_.:+/=``, mixing letters and digits or starting
    with a documented prefix.

    Every provider's keys are (hex, base64, JWTs, ``id:secret`` pairs); a passphrase has
    spaces, a password is short or has other punctuation, a note is words without digits.
    """
    return _KEY_CHARS.fullmatch(value) is not None and (
        _MIXED.match(value) is not None or prefix_of(value) is not None
    )


def judge(
    entry: str,
    prefix: Prefix | None,
    decrypt_error: str | None = None,
    refused: str | None = None,
    *,
    not_a_key: bool = False,
    hints: Mapping[str, str] | None = None,
) -> Candidate | None:
    """Combine the path and (when decrypted) the key prefix into one candidate, or None.

    ``refused`` says why ``keyz track`` would refuse the name, ``not_a_key`` that the
    decrypted first line has no key's shape: such a candidate is never confident, so
    ``--apply`` never tracks what track refuses. ``hints`` are the decrypted entry's
    ``key: value`` lines: a provider whose required options they lack (an account id) is
    never confident either, since its sync would fail until the option is set.
    """
    from keyz.providers import KNOWN
    from keyz.providers.unsupported import UNSUPPORTED

    path_provider, path_kind, word = path_guess(entry)
    if path_provider is None and prefix is None:
        return None
    reasons: list[str] = []
    if word:
        reasons.append(f"path says {word!r}")
    if prefix:
        reasons.append(f"key starts like {prefix.label} ({prefix.text}…)")
    provider = prefix.provider if prefix else path_provider
    assert provider is not None
    kind = prefix.kind if prefix else path_kind
    confident = provider in KNOWN
    if decrypt_error:
        reasons.append(f"could not decrypt: {decrypt_error}")
        confident = False
    if refused:
        reasons.append(f"keyz cannot track it: {refused}")
        confident = False
    if not_a_key:
        reasons.append(NOT_A_KEY)
        confident = False
    if path_provider and prefix and path_provider != prefix.provider:
        reasons.append(f"path and key disagree ({path_provider} vs {prefix.provider})")
        confident = False
    if provider in UNSUPPORTED:
        reasons.append("keyz cannot check this provider (see keyz providers)")
        confident = False
    elif prefix and not prefix.usable:
        reasons.append(f"keyz needs another kind of key for {provider} (see keyz providers)")
        confident = False
    elif confident:
        from keyz.providers import get_provider

        missing = get_provider(provider).missing_from_entry(hints or {}, entry=entry)
        if missing:  # undecrypted, its lines are unknown: --decrypt reads them
            reasons.append(missing + ("" if hints is not None else " (--decrypt reads its lines)"))
            confident = False
    return Candidate(entry, provider, kind, confident, "; ".join(reasons))


def discover(store: PassStore, tracked: Iterable[str], *, decrypt: bool = False) -> list[Candidate]:
    """Candidates among the untracked entries; decrypts (as sync does) only when asked."""
    skip = set(tracked)
    names: list[str] = []
    found: list[Candidate | None] = []
    for name in store.entries():
        if name in skip:
            continue
        try:
            store.entry_path(name)  # the checks keyz track makes
        except UsageError as exc:  # never decrypted, never tracked; said if it looks like a key
            found.append(judge(name, None, refused=str(exc)))
        else:
            names.append(name)
    if not decrypt:
        found += [judge(name, None) for name in names]
        return sorted((c for c in found if c is not None), key=lambda c: c.entry)

    for name, secret in zip(names, decrypt_each(store, names), strict=True):
        if isinstance(secret, KeyzError):
            if path_guess(name)[0] is not None:  # else not a key by its path either: not said
                found.append(judge(name, None, decrypt_error=str(secret)))
            continue
        found.append(
            judge(
                name,
                prefix_of(secret.value),
                not_a_key=not looks_like_key(secret.value),
                hints=secret.hints,
            )
        )
    return sorted((c for c in found if c is not None), key=lambda c: c.entry)


def track_confident(keyz_dir: Path, candidates: Iterable[Candidate]) -> list[str]:
    """Track each confident candidate with its provider (``keyz discover --apply``); their names."""
    tracked = []
    for candidate in candidates:
        if candidate.confident:
            set_entry(keyz_dir, EntryConfig(candidate.entry, candidate.provider, {}))
            tracked.append(candidate.entry)
    return tracked


__all__ = [
    "NOT_A_KEY",
    "Candidate",
    "Prefix",
    "discover",
    "judge",
    "looks_like_key",
    "path_guess",
    "path_words",
    "prefix_of",
    "prefixes",
    "track_confident",
]
