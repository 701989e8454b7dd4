"""One redaction layer for every output path.

The primary control is exact-value masking of every secret decrypted in this
process (and its base64, URL-encoded and JSON-escaped forms), as the GitHub
Actions runner's SecretMasker does. Known key shapes are a fallback for values
keyz never saw (e.g. a different key a provider echoes back).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

MASK: Final = "[REDACTED]"

# The key shapes every provider declares (Provider.key_shapes, Unsupported.key_shapes),
# copied here because every output is masked and must not import the providers to do it;
# tests/providers/test_contract.py proves the copy equal to the declarations.
# Most specific first, so that a key matches its own provider's longer shape before a
# shorter one could cut it; ANY_SK, last, catches other sk- keys (deepseek, moonshot,
# siliconflow, ... declare no shape of their own).
ANY_SK: Final = r"sk-[A-Za-z0-9_\-]{20,}"
KEY_SHAPES: Final = (
    r"sk-ant-(?:api\d\d|admin\d\d)-[A-Za-z0-9_\-]{20,}",  # anthropic
    r"sk-or-v1-[0-9a-f]{32,}",  # openrouter
    r"sk-(?:proj|svcacct|service|admin)-[A-Za-z0-9_\-]{16,}",  # openai
    r"sk-cp-[A-Za-z0-9_\-]{16,}",  # minimax
    r"xai-[0-9A-Za-z_]{40,}",  # xai
    r"fw_[A-Za-z0-9]{20,}",  # fireworks
    r"gsk_[A-Za-z0-9]{40,}",  # groq
    r"pplx-[A-Za-z0-9]{40,}",  # perplexity
    r"AIza[0-9A-Za-z_\-]{35}",  # gemini
    r"(?:hf_|api_org_)[A-Za-z0-9]{30,}",  # huggingface
    r"r8_[0-9A-Za-z_\-]{30,}",  # replicate
    r"github_pat_[A-Za-z0-9_]{36,}",  # github (fine-grained)
    r"gh[pousr]_[A-Za-z0-9_]{36,}",  # github (classic, OAuth, app tokens)
    ANY_SK,
)
_KEY_SHAPES: Final = re.compile("|".join(KEY_SHAPES))


_ESCAPES: Final = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")

# Shorter strings would mask ordinary words; real keys are far longer.
_MIN_SECRET_LEN: Final = 8
# A form is found by its last characters (keys end in their random part), looked up for every
# position of the text: one dict lookup per character, whatever the number of keys. With few
# forms, testing each one (in C) is cheaper.
_ANCHOR: Final = 8
_FEW_FORMS: Final = 64

Form = tuple[str, str]  # (a form a secret may take in output, its casefold)


@dataclass(frozen=True)
class _Index:
    """Strings to look for in a casefolded text, found by their last characters."""

    every: tuple[Form, ...] = ()
    short: tuple[Form, ...] = ()  # shorter than _ANCHOR
    by_end: Mapping[str, tuple[Form, ...]] = field(default_factory=dict)

    def added(self, new: Iterable[Form]) -> _Index:
        """A new index with ``new`` too (this one is never changed: readers take no lock)."""
        new = tuple(new)
        by_end = dict(self.by_end)
        for form, folded in new:
            if len(folded) >= _ANCHOR:
                by_end[folded[-_ANCHOR:]] = (*by_end.get(folded[-_ANCHOR:], ()), (form, folded))
        short = tuple(f for f in new if len(f[1]) < _ANCHOR)
        return _Index(self.every + new, self.short + short, by_end)

    def find(self, folded: str) -> set[str]:
        """The strings of the index that occur in ``folded``."""
        if len(self.every) <= _FEW_FORMS:
            return {form for form, f in self.every if f in folded}
        found = {form for form, f in self.short if f in folded}
        get = self.by_end.get
        for end in range(_ANCHOR, len(folded) + 1):
            hits = get(folded[end - _ANCHOR : end])
            if hits:
                found.update(
                    form for form, f in hits if end >= len(f) and folded.startswith(f, end - len(f))
                )
        return found


class Redactor:
    """Masks registered secrets and known key shapes in text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # New objects on every add(), never changed in place: readers (other threads) take no
        # lock, and read each attribute once.
        self._forms = _Index()  # every form of every secret, for masking
        self._secrets = _Index()  # the casefolded raw values, for the loose check
        self._known: frozenset[str] = frozenset()  # every form registered
        self._known_secrets: frozenset[str] = frozenset()  # every casefolded raw value

    def add(self, secret: str, *, min_length: int = _MIN_SECRET_LEN) -> None:
        """Register a secret and the encoded forms it may take in output."""
        if len(secret) < min_length:
            return
        forms = {
            secret,
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            json.dumps(secret)[1:-1],
        }
        raw = secret.encode()
        for shift in range(3):  # a secret inside a longer base64 string starts at any of 3 offsets
            encoded = base64.b64encode(b"\0" * shift + raw).decode()
            # drop the characters that depend on the padding bytes before and after
            start = (shift * 4 + 2) // 3 if shift else 0
            forms.add(encoded[start : len(encoded) - 4] if len(encoded) > start + 8 else encoded)
        with self._lock:
            new = sorted(forms - self._known - {""})
            self._forms = self._forms.added((form, form.casefold()) for form in new)
            folded = secret.casefold()
            if folded not in self._known_secrets:
                self._secrets = self._secrets.added([(folded, folded)])
                self._known_secrets = self._known_secrets | {folded}
            self._known = self._known | forms

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret and key-shaped string masked, in any letter case."""
        found = self._forms.find(text.casefold())
        for form in sorted(found, key=len, reverse=True):  # a longer form first: it may hold one
            text = re.sub(re.escape(form), MASK, text, flags=re.IGNORECASE)
        return _KEY_SHAPES.sub(MASK, text)

    def loosely_contains(self, text: str) -> bool:
        """True if a secret shows once spaces, escape sequences and invisible characters go.

        A provider that wraps a long line, or slips a zero-width space, soft hyphen or
        colour code into the key it echoes, defeats exact masking; this catches it.
        """
        secrets = self._secrets
        if not secrets.every:
            return False
        squeezed = "".join(
            c
            for c in _ESCAPES.sub("", text)
            if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf")
        ).casefold()
        return bool(secrets.find(squeezed))

    def clear(self) -> None:
        """Forget every registered secret (used between runs in one process)."""
        with self._lock:
            self._forms = self._secrets = _Index()
            self._known = self._known_secrets = frozenset()


def _printable(char: str) -> str:
    """Control and format characters (ESC, BEL, bidi overrides, ...) shown as escapes."""
    if char.isspace():
        return " "
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return ascii(char)[1:-1]  # '\\x1b', '\\u202e'
    return char


def clean(text: str, limit: int = 200, *, redactor: Redactor | None = None) -> str:
    """Text from outside (a provider's error, a label), made safe to store and show.

    Secrets are masked first, on the text as it came (a key holding a tab or a
    no-break space must still match); text that still holds a key once spaces and
    invisible characters are ignored is withheld whole; then control characters are escaped,
    whitespace is folded, and only then is it cut to ``limit`` characters, so a
    cut can never leave part of a key behind.
    """
    redactor = redactor or REDACTOR
    masked = redactor(text)
    if redactor.loosely_contains(masked):  # the key, split by something: say nothing of it
        return "[withheld: the text held a key]"
    shown = " ".join("".join(_printable(c) for c in masked).split())
    return shown if len(shown) <= limit else shown[: limit - 1].rstrip() + "…"


REDACTOR: Final = Redactor()
"""The process-wide redactor: the store registers each secret here as it decrypts it."""


def redact(text: str) -> str:
    """Mask secrets in ``text`` with the process-wide redactor."""
    return REDACTOR(text)


def quiet_third_party_loggers() -> None:
    """httpx logs URLs at INFO and gnupg logs gpg's stderr: keep them at WARNING."""
    for name in ("httpx", "httpcore", "gnupg", "git"):
        logging.getLogger(name).setLevel(logging.WARNING)


__all__ = [
    "ANY_SK",
    "KEY_SHAPES",
    "MASK",
    "REDACTOR",
    "Redactor",
    "clean",
    "quiet_third_party_loggers",
    "redact",
]
