"""What a provider is: an id, what it can report, the key it needs, and one ``fetch``."""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from keyz.providers.http import HttpClient
    from keyz.sidecar import Balance, KeyLimit, Quota, Spend
    from keyz.store import Secret


class Capability(enum.Flag):
    """What a provider can report through its API."""

    BALANCE = enum.auto()  # money left on the account
    KEY_LIMIT = enum.auto()  # a spending cap on the key itself
    SPEND = enum.auto()  # provider-reported cost over a period
    QUOTA = enum.auto()  # a plan's allowance with a reset time

    def labels(self) -> list[str]:
        return [c.name.lower().replace("_", " ") for c in Capability if c in self and c.name]


class KeyKind(enum.Enum):
    """The kind of key an endpoint needs."""

    REGULAR = "regular"  # the ordinary inference key
    MANAGEMENT = "management"  # an account/management key that cannot run inference
    ADMIN = "admin"  # an organisation admin key


@dataclass(frozen=True)
class Endpoint:
    """A documented endpoint: its path (appended to the base URL) and the key it needs."""

    path: str
    key_kind: KeyKind
    reports: Capability


@dataclass(frozen=True)
class FetchContext:
    """Everything one fetch may use. Providers never look keys up themselves."""

    http: HttpClient
    secret: Secret
    base_url: str
    options: Mapping[str, str] = field(default_factory=dict)

    def url(self, endpoint: Endpoint) -> str:
        return self.base_url + endpoint.path


@dataclass(frozen=True)
class Report:
    """What a provider said, normalized. Unknown stays None; nothing is invented."""

    available: bool | None
    balances: list[Balance] = field(default_factory=list)
    key_limit: KeyLimit | None = None
    spend: list[Spend] = field(default_factory=list)
    quotas: list[Quota] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Provider(abc.ABC):
    """One AI provider's account API. Subclasses are pure but for ``fetch``."""

    id: ClassVar[str]
    title: ClassVar[str]
    capabilities: ClassVar[Capability]
    key_kind: ClassVar[KeyKind]  # the kind of key to track for this provider
    default_base_url: ClassVar[str]
    endpoints: ClassVar[tuple[Endpoint, ...]]
    options: ClassVar[Mapping[str, str]] = {}  # option name -> one-line help
    key_help: ClassVar[str]  # where to create the right key
    concurrency: ClassVar[int] = 4  # polite default; [providers.<id>] concurrency overrides

    @abc.abstractmethod
    async def fetch(self, ctx: FetchContext) -> Report:
        """Ask the provider and return a normalized report, or raise ProviderError."""


__all__ = ["Capability", "Endpoint", "FetchContext", "KeyKind", "Provider", "Report"]
