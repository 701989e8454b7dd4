"""The contract every provider keeps: one spec, its class, and everything else follows from it.

Parametrized over the registry (and the providers keyz cannot check, where they have a say),
so a new provider is checked from its first line: its id, its endpoints and what they report,
its documented example answers and demo key (which the simulator, ``keyz demo`` and the tests
serve), its docs, its keys' prefixes and shapes, its path words.
"""

from __future__ import annotations

import functools
import operator
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyz import redact
from keyz.demo.simulator import Simulator
from keyz.discover import path_guess, prefix_of
from keyz.providers import _MODULES, KNOWN, all_specs, get_provider
from keyz.providers.base import Capability, Endpoint, Example, FetchContext, Provider, Report
from keyz.providers.unsupported import UNSUPPORTED
from keyz.render import short_name
from tests.conftest import Sandbox
from tests.providers.helpers import ACCOUNT_KEY, fetch

ROOT = Path(__file__).parent.parent.parent
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPECS = {spec.id: spec for spec in all_specs()}
SHAPES = sorted({(spec.id, shape) for spec in SPECS.values() for shape in spec.key_shapes})
PREFIXES = sorted({(spec.id, p.text) for spec in SPECS.values() for p in spec.key_prefixes})


def provider(pid: str) -> Provider:
    return get_provider(pid)


@pytest.mark.parametrize("pid", KNOWN)
def test_its_id_is_its_registry_key_and_module(pid: str) -> None:
    assert provider(pid).id == pid
    assert _MODULES[pid] == f"keyz.providers.{pid.replace('-', '_')}"
    assert pid not in UNSUPPORTED


@pytest.mark.parametrize("pid", KNOWN)
def test_its_capabilities_are_what_its_endpoints_report(pid: str) -> None:
    p = provider(pid)
    reported = functools.reduce(operator.or_, (e.reports for e in p.endpoints), Capability(0))
    assert p.capabilities == reported and p.capabilities
    assert "capabilities" not in type(p).__dict__, "capabilities is derived: declare endpoints"
    assert p.key_kind in {e.key_kind for e in p.endpoints}
    names = [e.name for e in p.endpoints]
    assert len(set(names)) == len(names), "errors name the endpoint: names must differ"
    for endpoint in p.endpoints:
        assert endpoint.path.startswith("/") and not set("?#") & set(endpoint.path), (
            f"{endpoint.path!r}: a query goes in Endpoint.query, never in the path"
        )


@pytest.mark.parametrize("pid", KNOWN)
def test_its_regions_are_named_as_its_region_option_offers_them(pid: str) -> None:
    p = provider(pid)
    if not p.regions:
        assert "region" not in p.options
        return
    assert all(name == region.name for name, region in p.regions.items())
    assert p.options["region"].choices == tuple(p.regions)
    assert p.default_base_url == next(iter(p.regions.values())).base_url
    assert len({r.base_url for r in p.regions.values()}) == len(p.regions)


def what_it_lacks(p: Provider) -> list[str]:
    """What a provider's module must still provide for the simulator, the demo and the tests."""
    lacks = []
    if type(p).examples is Provider.examples:
        lacks.append("examples(now) -> {its endpoint's path: Example(its documented answer)}")
    if not isinstance(getattr(p, "demo_key", None), str):
        lacks.append('demo_key = "<a fake key of its keys\' look>"')
    return lacks


def at_endpoint(p: Provider, path: str) -> Endpoint | None:
    """The endpoint ``path`` (its '{field}' parts filled, no query) is one of, if any."""
    for e in p.endpoints:
        if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(e.path)), path):
            return e
    return None


@pytest.mark.parametrize("pid", KNOWN)
def test_its_module_provides_its_examples_and_a_demo_key(pid: str) -> None:
    p = provider(pid)
    lacks = what_it_lacks(p)
    assert not lacks, f"{pid}: its Provider class needs " + "; ".join(lacks)
    examples = p.examples(NOW)
    assert examples == p.examples(NOW), "examples are pure: the same clock, the same answers"
    assert all(isinstance(example, Example) for example in examples.values())
    answered = {at_endpoint(p, path) for path in examples}
    assert None not in answered, f"{sorted(examples)}: each must be one of {pid}'s endpoints"
    assert answered == set(p.endpoints), "every endpoint has its documented answer"
    assert re.fullmatch(r"\S{20,}", p.demo_key), "a demo key looks like a key"
    found = prefix_of(p.demo_key)
    assert found is None or found.provider == pid, f"{pid}'s demo key has {found}'s prefix"


def test_the_demo_serves_every_provider_its_demo_account() -> None:
    from keyz.demo.story import DEMO_KEYS, open_accounts  # reads every demo_key: not at collection

    assert set(DEMO_KEYS) == set(KNOWN)
    assert len(set(DEMO_KEYS.values())) == len(KNOWN), "each provider its own demo key"
    simulator = Simulator()
    open_accounts(simulator)  # what 'keyz demo --serve' answers every provider with
    for pid, key in DEMO_KEYS.items():
        assert key == provider(pid).demo_key
        assert any(path.startswith(f"/{pid}/") for path in simulator.payloads(key)), pid


def test_a_provider_lacking_them_is_told_what_to_add() -> None:
    class Bare(Provider):  # a new provider's first lines
        id = "bare"

        async def fetch(self, ctx: FetchContext) -> Report:
            return Report(available=None)

    bare = Bare()
    assert what_it_lacks(bare) == [
        "examples(now) -> {its endpoint's path: Example(its documented answer)}",
        'demo_key = "<a fake key of its keys\' look>"',
    ]
    with pytest.raises(NotImplementedError, match=r"^bare: its module provides no examples\(\)$"):
        bare.examples(NOW)


def test_a_provider_module_imports_neither_the_simulator_nor_the_demo() -> None:
    """The simulator imports the providers, never the other way: a provider stays light."""
    code = (
        "import importlib, sys\n"
        f"for name in {sorted(_MODULES.values())!r}:\n    importlib.import_module(name)\n"
        "print(' '.join(sorted(m for m in sys.modules if m in "
        "('keyz.demo', 'keyz.demo.story', 'keyz.demo.simulator', 'keyz.demo.sandbox', 'trustme', 'http.server'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("pid", KNOWN)
def test_the_simulator_answers_it_at_its_declared_endpoints_only(
    pid: str, simulator: Simulator
) -> None:
    simulator.now = NOW
    simulator.account(pid, ACCOUNT_KEY)  # its examples, with their documented figures
    options = dict(provider(pid).example_options)  # e.g. the account id its examples are at
    report = fetch(pid, ACCOUNT_KEY, options=options, base_url=simulator.base_url(pid), now=NOW)
    said = {
        Capability.BALANCE: bool(report.balances),
        Capability.KEY_LIMIT: report.key_limit is not None,
        Capability.SPEND: bool(report.spend),
        Capability.QUOTA: bool(report.quotas),
        Capability.KEY_SPEND: bool(report.account_keys),
    }
    assert any(said.values()), "the simulator's account gave no figure"
    for capability, present in said.items():
        assert not present or capability in provider(pid).capabilities, capability
    for request in simulator.requests:
        endpoint = at_endpoint(provider(pid), request.path.removeprefix(f"/{pid}"))
        assert endpoint, f"{request.path}: not one of {pid}'s endpoints"
        for name, value in endpoint.query:  # its fixed query, sent every time
            assert f"{name}={value}" in request.query.split("&")


@pytest.mark.parametrize("pid", KNOWN)
def test_its_docs_have_a_section_and_a_readme_row(pid: str) -> None:
    providers_md = (ROOT / "docs" / "providers.md").read_text()
    assert re.search(rf"^## {re.escape(pid)}( |$)", providers_md, re.M), (
        f"docs/providers.md has no '## {pid}' section"
    )
    assert f"| `{pid}` |" in (ROOT / "README.md").read_text(), f"README's table has no {pid} row"


@pytest.mark.parametrize("uid", sorted(UNSUPPORTED))
def test_an_unsupported_provider_is_listed_in_the_docs(uid: str) -> None:
    assert f"\n| {uid} |" in (ROOT / "docs" / "providers.md").read_text()


@pytest.mark.parametrize("pid", KNOWN)
def test_its_short_name_is_its_own(pid: str) -> None:
    name = provider(pid).short_name
    assert re.fullmatch(r"[a-z]{2,3}", name)
    assert short_name(pid) == name
    assert [p for p in KNOWN if provider(p).short_name == name] == [pid]


@pytest.mark.parametrize("sid", sorted(SPECS))
def test_its_path_words_name_it_and_no_other(sid: str) -> None:
    spec = SPECS[sid]
    if sid in KNOWN:
        assert sid in spec.path_words, "a provider's own id names it in a path"
    for word in spec.path_words:
        assert word == word.lower()
        assert path_guess(f"api/{word}/main")[0] == sid, word
        assert [s for s in SPECS.values() if word in s.path_words] == [spec], word


def test_the_redactor_masks_exactly_the_declared_key_shapes() -> None:
    """redact.KEY_SHAPES is a copy (masking must not import the providers): kept equal here."""
    declared = [shape for _, shape in SHAPES]
    assert len(set(declared)) == len(declared), "two providers declare the same shape"
    missing = set(declared) - set(redact.KEY_SHAPES)
    assert not missing, f"add to redact.KEY_SHAPES (before ANY_SK): {sorted(missing)}"
    stale = set(redact.KEY_SHAPES) - set(declared) - {redact.ANY_SK}
    assert not stale, f"no provider declares these any more: {sorted(stale)}"
    assert redact.KEY_SHAPES[-1] == redact.ANY_SK  # the catch-all comes last


@pytest.mark.parametrize(("sid", "shape"), SHAPES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_its_key_shapes_are_masked(sid: str, shape: str, data: st.DataObject) -> None:
    key = data.draw(st.from_regex(shape, fullmatch=True))
    assert redact.Redactor()(f"got {key} back") == f"got {redact.MASK} back"


@pytest.mark.parametrize(("sid", "text"), PREFIXES)
def test_its_key_prefixes_are_recognised_by_discover(sid: str, text: str) -> None:
    found = prefix_of(text + "A1b2" * 10)
    assert found is not None and (found.provider, found.text) == (sid, text)
    kinds = {p.kind for p in SPECS[sid].key_prefixes if p.text == text}
    assert found.kind in kinds


def imported_providers(sandbox: Sandbox, *args: str) -> set[str]:
    """The provider modules ``keyz ARGS`` leaves imported (importlib's imports included)."""
    code = (
        "import sys\n"
        "from keyz.cli import cli\n"
        f"try:\n    cli.main({list(args)!r}, prog_name='keyz')\nexcept SystemExit:\n    pass\n"
        "print(' '.join(m for m in sys.modules if m.startswith('keyz.providers.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=sandbox.env, capture_output=True, text=True, check=True
    )
    return {m.removeprefix("keyz.providers.") for m in done.stdout.splitlines()[-1].split()}


@pytest.mark.cli
def test_help_and_status_import_no_provider_and_a_status_bar_only_those_shown(
    two_keys: Sandbox,
) -> None:
    """The registry is lazy on purpose: start-up never pays for every provider module."""
    assert two_keys.keyz("sync").returncode == 0
    assert imported_providers(two_keys, "--help") == set()
    assert imported_providers(two_keys, "status") == set()
    shown = imported_providers(two_keys, "status", "--format", "short")
    assert shown & set(KNOWN) == {"deepseek", "openrouter"}
    modules = {_MODULES[pid].removeprefix("keyz.providers.") for pid in KNOWN}  # http_json
    assert imported_providers(two_keys, "providers") >= modules  # the check can fail
