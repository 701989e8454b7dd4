"""One redaction layer for every output path.

The primary control is exact-value masking of every secret decrypted in this
process (and its base64, URL-encoded and JSON-escaped forms), as the GitHub
Actions runner's SecretMasker does. Known key shapes are a fallback for values
keyz never saw (e.g. a different key a provider echoes back).
"""

from __future__ import annotations

import base64
import bisect
import json
import logging
import re
import threading
import unicodedata
import urllib.parse
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


def _longest_first(needle: tuple[str, str]) -> int:
    return -len(needle[0])


_ESCAPES: Final = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")

# Shorter strings would mask ordinary words; real keys are far longer.
_MIN_SECRET_LEN: Final = 8


class Redactor:
    """Masks registered secrets and known key shapes in text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._needles: list[tuple[str, str]] = []  # (form, its casefold), longest first
        self._secrets: frozenset[str] = frozenset()  # casefolded raw values, for the loose check
        self._forms: frozenset[str] = frozenset()  # every form in _needles

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
            # new objects, never changed in place: the readers (other threads) take no lock
            self._secrets = self._secrets | {secret.casefold()}
            needles = list(self._needles)
            for form in forms - self._forms - {""}:
                bisect.insort(needles, (form, form.casefold()), key=_longest_first)
            self._forms = self._forms | forms
            self._needles = needles

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret and key-shaped string masked, in any letter case."""
        if self._needles:
            folded = text.casefold()
            for needle, folded_needle in self._needles:
                if folded_needle in folded:
                    text = re.sub(re.escape(needle), MASK, text, flags=re.IGNORECASE)
                    folded = text.casefold()
        return _KEY_SHAPES.sub(MASK, text)

    def loosely_contains(self, text: str) -> bool:
        """True if a secret shows once spaces, escape sequences and invisible characters go.

        A provider that wraps a long line, or slips a zero-width space, soft hyphen or
        colour code into the key it echoes, defeats exact masking; this catches it.
        """
        if not self._secrets:
            return False
        squeezed = "".join(
            c
            for c in _ESCAPES.sub("", text)
            if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf")
        ).casefold()
        return any(secret in squeezed for secret in self._secrets)

    def clear(self) -> None:
        """Forget every registered secret (used between runs in one process)."""
        with self._lock:
            self._needles = []
            self._secrets = self._forms = frozenset()


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
