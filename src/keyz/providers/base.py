"""What a provider is: one spec (an id, its endpoints, the key it needs and what its keys look
like), one ``fetch``, and its documented example answers."""

from __future__ import annotations

import abc
import enum
import functools
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from keyz.errors import AuthError, ConfigError, ProviderError, UsageError
from keyz.fields import utc_now
from keyz.providers.keys import KeyKind, KeyPrefix

if TYPE_CHECKING:
    from keyz.providers.http import HttpClient
    from keyz.sidecar import AccountKey, Balance, KeyLimit, Quota, Spend
    from keyz.store import Secret


class Capability(enum.Flag):
    """What a provider can report through its API."""

    BALANCE = enum.auto()  # money left on the account
    KEY_LIMIT = enum.auto()  # a spending cap on the key itself
    SPEND = enum.auto()  # provider-reported cost over a period
    QUOTA = enum.auto()  # a plan's allowance with a reset time
    KEY_SPEND = enum.auto()  # every key of the account with what it spent

    def labels(self) -> list[str]:
        return [c.name.lower().replace("_", " ") for c in Capability if c in self and c.name]


@dataclass(frozen=True)
class Endpoint:
    """A documented endpoint: its name in messages, its path (appended to the base URL), the
    query it always sends, the key it needs and what it reports."""

    name: str  # errors read '<provider id> <name>: ...', e.g. 'deepseek balance: ...'
    path: str  # '{field}' parts are filled per call (FetchContext.get_json's ``path``)
    key_kind: KeyKind
    reports: Capability
    query: tuple[tuple[str, str], ...] = ()  # e.g. (("expand", "credits"),)

    @property
    def target(self) -> str:
        """The path and its fixed query, as documented: '/v1/account/billing?expand=credits'."""
        return self.path + (f"?{urlencode(self.query)}" if self.query else "")


@dataclass(frozen=True)
class Option:
    """A provider option: from ``--option KEY=VALUE`` in config, or a ``key: value`` line in the entry."""

    help: str
    choices: tuple[str, ...] = ()  # allowed values, when the set is closed
    pattern: str = r"[A-Za-z0-9._-]{1,128}"  # otherwise: what a value must look like
    required: bool = False  # the endpoints cannot be asked without it (an account id, ...)


@dataclass(frozen=True)
class Region:
    """A region-bound host. Keys never travel to another region's host."""

    name: str  # the ``region`` option's value
    base_url: str
    currency: str  # what the region bills in


@dataclass(frozen=True)
class FetchContext:
    """Everything one fetch may use. Providers never look keys up themselves."""

    http: HttpClient
    secret: Secret
    base_url: str
    options: Mapping[str, str] = field(default_factory=dict)
    now: datetime = field(default_factory=utc_now)  # the sync's clock: spend periods end here
    region: Region | None = None  # resolved by the caller (Provider.region) when it has regions
    calls: list[Endpoint] = field(default_factory=list)  # asked so far: errors name the last

    async def get_json(
        self,
        endpoint: Endpoint,
        *,
        headers: Mapping[str, str],
        query: Mapping[str, str] | None = None,
        path: Mapping[str, str] | None = None,
    ) -> Any:
        """GET one of the provider's endpoints and return its JSON.

        ``path`` fills the endpoint's ``{field}`` parts (each value quoted whole); ``query``
        adds to the endpoint's own.
        """
        self.calls.append(endpoint)
        filled = endpoint.path.format_map({k: quote(v, safe="") for k, v in (path or {}).items()})
        params = {**dict(endpoint.query), **(query or {})}
        url = self.base_url + filled + (f"?{urlencode(params)}" if params else "")
        return await self.http.get_json(url, headers=headers)

    def bearer(self) -> dict[str, str]:
        """The usual auth header; providers with another scheme build their own."""
        return {"Authorization": f"Bearer {self.secret.value}"}


@dataclass(frozen=True)
class Traced:
    """How one figure was read: shown by ``keyz provider test``, never written to a sidecar."""

    figure: str  # where it went: 'key_limit.limit', 'balance.remaining'
    source: str  # what produced it: a field of the answer, or the user's expression
    raw: str  # the value as the answer had it (masked and cut when shown)


@dataclass(frozen=True)
class Report:
    """What a provider said, normalized. Unknown stays None; nothing is invented."""

    available: bool | None
    balances: list[Balance] = field(default_factory=list)
    key_limit: KeyLimit | None = None
    spend: list[Spend] = field(default_factory=list)
    quotas: list[Quota] = field(default_factory=list)
    account_keys: list[AccountKey] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    trace: list[Traced] = field(default_factory=list)  # for 'keyz provider test' only


@dataclass(frozen=True)
class Example:
    """One documented answer of an endpoint: what the simulator serves for it."""

    body: Any  # JSON-able; a Decimal is sent as a JSON number (25, or 49.58894)
    status: int = 200


class KeyRejected(AuthError):
    """The key is invalid whatever its kind, so naming another kind of key would mislead."""


class Provider(abc.ABC):
    """One AI provider's account API, declared in one place. Pure but for ``fetch``.

    Everything keyz knows of a provider is read from its class: the registry
    (``keyz.providers``), ``keyz providers``, discover's path words and key prefixes,
    status's short name, the redactor's key shapes (through a checked copy, so that
    masking output never imports a provider), the simulator's and the demo's accounts
    (:meth:`examples`, ``demo_key``) and the contract tests.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    short_name: ClassVar[str]  # 2-3 letters for 'keyz status --format short'
    key_kind: ClassVar[KeyKind]  # the kind of key to track for this provider
    default_base_url: ClassVar[str]
    endpoints: ClassVar[tuple[Endpoint, ...]]
    options: ClassVar[Mapping[str, Option]] = {}
    regions: ClassVar[Mapping[str, Region]] = {}  # the first one is the default
    # the options the account of its examples() needs (a required option, e.g. an account id):
    # the tests and the demo pass them when they fetch that account
    example_options: ClassVar[Mapping[str, str]] = {}
    key_help: ClassVar[str]  # where to create the right key
    path_words: ClassVar[tuple[str, ...]]  # words of an entry's path that name it (discover);
    # one holding a '.' ('x.ai') is looked for anywhere in the path
    key_prefixes: ClassVar[tuple[KeyPrefix, ...]] = ()  # documented starts of its keys
    key_shapes: ClassVar[tuple[str, ...]] = ()  # regexes of its keys, masked in any output
    concurrency: ClassVar[int] = 8  # requests in flight per provider; [providers.<id>] overrides
    # requests one entry makes one after the other (openrouter: /credits, then /keys): its
    # keys hold its lane that many times longer, and are decrypted sooner (keyz.sync.interleave)
    round_trips: ClassVar[int] = 1
    demo_key: ClassVar[str]  # a fake key of its keys' look: the demo's account (never a real one)
    # A relay (oneapi, http-json): no documented host; the host is the entry's own base_url:
    # line, bound to the key. config.toml and KEYZ_<ID>_BASE_URL cannot set or move it.
    host_from_entry: ClassVar[bool] = False

    @property
    def capabilities(self) -> Capability:
        """What its endpoints report, together."""
        return functools.reduce(operator.or_, (e.reports for e in self.endpoints), Capability(0))

    @abc.abstractmethod
    async def fetch(self, ctx: FetchContext) -> Report:
        """Ask the provider (through ``ctx.get_json``) and return a normalized report, or raise
        ProviderError. Messages need no prefix: :meth:`report` names the provider and endpoint."""

    def examples(self, now: datetime) -> dict[str, Example]:
        """Its documented answers, as the provider sends them: endpoint path (filled, relative
        to the base URL) -> answer, for an account at ``now``. Pure: the simulator, ``keyz
        demo`` and the tests serve them.

        A provider overrides it adding keyword-only figures, each defaulting to its documented
        example's (``def examples(self, now, *, balance: str = "24.5")``), so that tests can
        vary the numbers: ``Simulator.account(id, key, balance="3")``.
        """
        raise NotImplementedError(f"{self.id}: its module provides no examples()")

    async def report(self, ctx: FetchContext) -> Report:
        """:meth:`fetch`, each error naming once where it came from ('deepseek balance: ...', the
        endpoint asked last), and a refused key explained: which kind of key is needed, and where.
        """
        if ctx.region is None and self.regions:
            ctx = replace(ctx, region=self.region(ctx.options))
        self.check_required(ctx.options)
        try:
            return await self.fetch(ctx)
        except ProviderError as exc:
            error = exc
            if (
                isinstance(exc, AuthError)
                and self.key_kind is not KeyKind.REGULAR
                and not isinstance(exc, KeyRejected)
            ):
                error = AuthError(
                    f"{exc}; {self.title} needs {self.key_needed()}", status=exc.status
                )
            error.context = exc.context or self.where(ctx)
            raise error from None

    def where(self, ctx: FetchContext) -> str:
        """'deepseek balance': the provider and the endpoint it asked last."""
        return f"{self.id} {ctx.calls[-1].name}" if ctx.calls else self.id

    def key_needed(self) -> str:
        """'a management key: <where to create it>'."""
        kind = self.key_kind.value
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} key: {self.key_help}"

    def check_options(self, options: Mapping[str, str], *, origin: str = "--option") -> None:
        """UsageError unless every option is known and well-formed.

        Values from a pass entry (``origin`` names the entry) are never echoed: they
        stay in memory like the rest of the entry.
        """
        for name, value in options.items():
            option = self.options.get(name)
            if option is None:
                allowed = ", ".join(sorted(self.options)) or "none"
                raise UsageError(f"{self.id} has no option {name} (its options: {allowed})")
            shown = repr(value) if origin == "--option" else "the value"
            if option.choices and value not in option.choices:
                raise UsageError(
                    f"{origin} {name}: {shown} is not one of {', '.join(option.choices)}"
                )
            if not option.choices and not re.fullmatch(option.pattern, value):
                raise UsageError(f"{origin} {name}: {shown} does not look like a {name}")

    def missing_options(self, options: Mapping[str, str]) -> str | None:
        """What its endpoints cannot be asked without and ``options`` lacks, said as what to
        set and how; None when nothing is missing. The one place that says it: sync (before
        sending), ``keyz track`` (a warning) and ``keyz discover`` (never confident) ask here.
        A provider whose rule is not one required option at a time overrides it."""
        for name, option in self.options.items():
            if option.required and not options.get(name):
                return (
                    f"{self.id} needs the {name} option ({option.help}): set it with "
                    f"'keyz track ENTRY -p {self.id} -o {name}=…', or add the line "
                    f"'{name}: …' to the pass entry"
                )
        return None

    def missing_from_entry(
        self,
        hints: Mapping[str, str],
        options: Mapping[str, str] | None = None,
        *,
        entry: str = "ENTRY",
    ) -> str | None:
        """What an entry with these ``key: value`` lines (and config ``options``) still lacks
        before it can sync: a relay's ``base_url:`` line, then :meth:`missing_options`. What
        ``keyz track`` warns of and why ``keyz discover`` is not confident."""
        if self.host_from_entry and not hints.get("base_url"):
            return (
                f"{entry} has no 'base_url: https://…' line; {self.id} sends the key only to "
                f"the host that line names: add it with 'pass edit {entry}'"
            )
        return self.missing_options({**hints, **(options or {})})

    def check_required(self, options: Mapping[str, str]) -> None:
        """ConfigError, before anything is sent, when a required option is missing."""
        missing = self.missing_options(options)
        if missing:
            raise ConfigError(f"{missing}; nothing was sent")

    def region(self, options: Mapping[str, str]) -> Region | None:
        if not self.regions:
            return None
        return self.regions.get(options.get("region", ""), next(iter(self.regions.values())))

    def documented_base_url(self, options: Mapping[str, str]) -> str:
        region = self.region(options)
        return region.base_url if region else self.default_base_url

    def check_base_url(self, base_url: str, options: Mapping[str, str]) -> None:
        """Refuse to send a region-bound key to another region's documented host."""
        region = self.region(options)
        if region is None:
            return
        host = urlsplit(base_url).hostname
        for name, other in self.regions.items():
            if other is not region and urlsplit(other.base_url).hostname == host:
                raise ConfigError(
                    f"{self.id}: the base_url points at the {name!r} region's host {host}, but "
                    f"this entry's key belongs to another region; keys are region-bound and keyz "
                    f"never sends one to the other region (set the entry's region option, or fix "
                    f"[providers.{self.id}] base_url)"
                )


__all__ = [
    "Capability",
    "Endpoint",
    "Example",
    "FetchContext",
    "KeyKind",
    "KeyPrefix",
    "KeyRejected",
    "Option",
    "Provider",
    "Region",
    "Report",
    "Traced",
]
