"""What keys look like: their kinds and documented prefixes (light: no provider is imported)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class KeyKind(enum.Enum):
    """The kind of key an endpoint needs."""

    REGULAR = "regular"  # the ordinary inference key
    MANAGEMENT = "management"  # an account/management key that cannot run inference
    ADMIN = "admin"  # an organisation admin key


@dataclass(frozen=True)
class KeyPrefix:
    """A documented start of a provider's keys: ``keyz discover --decrypt`` and ``keyz track``
    tell keys apart by it, and a key bearing one is never sent to another provider."""

    text: str  # 'sk-ant-admin'
    kind: KeyKind
    usable: bool  # can keyz check the provider with this kind of key?
    label: str  # 'an Anthropic Admin API key'


__all__ = ["KeyKind", "KeyPrefix"]
