"""The docs cover every command, option and config key; every --help has an example."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from keyz.alerts import ALERT_KEYS
from keyz.cli import cli

ROOT = Path(__file__).parent.parent
DOCS = "\n".join(
    path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)


def commands(
    group: click.Group = cli, path: tuple[str, ...] = ()
) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, (*path, name))
        else:
            found.append((" ".join((*path, name)), command))
    return found


@pytest.mark.parametrize(("name", "command"), commands(), ids=[n for n, _ in commands()])
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    assert f"keyz {name}" in DOCS, f"docs never mention 'keyz {name}'"
    for param in command.params:
        if isinstance(param, click.Option):
            longest = max(param.opts, key=len)
            assert re.search(rf"{re.escape(longest)}\b", DOCS), f"{name} {longest} is undocumented"


@pytest.mark.parametrize(("name", "command"), commands(), ids=[n for n, _ in commands()])
def test_every_help_has_an_example(name: str, command: click.Command) -> None:
    assert "Example" in (command.help or ""), f"keyz {name} --help has no example"
    assert f"keyz {name}" in (command.help or "") or name == "merge-driver"


def test_global_options_are_documented() -> None:
    for option in ("--store", "--version"):
        assert option in DOCS


def test_every_config_key_is_documented() -> None:
    config = (ROOT / "docs" / "configuration.md").read_text()
    keys = ["schema_version", "git", "timeout", "max_age", "provider", "base_url", "concurrency"]
    keys.append("ui_autosync")
    keys.append("rates")
    for key in [*keys, *ALERT_KEYS]:
        assert f"`{key}`" in config or f"] {key}`" in config, f"config key {key} undocumented"


def test_every_provider_has_a_docs_section() -> None:
    from keyz.providers import KNOWN

    providers = (ROOT / "docs" / "providers.md").read_text()
    for provider in KNOWN:
        assert f"\n## {provider}" in providers, f"docs/providers.md has no section for {provider}"


def test_readme_links_resolve() -> None:
    text = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)", text):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README links to missing {target}"


def test_the_burn_rule_and_the_csv_columns_are_stated_as_keyz_applies_them() -> None:
    from click.testing import CliRunner

    from keyz.history import CSV_FIELDS, MIN_STEPS, NOT_ENOUGH

    rule = "at least 3 observations in the window spanning at least 24 hours, top-ups excluded"
    assert MIN_STEPS + 1 == 3
    ledger = " ".join((ROOT / "docs" / "git-ledger.md").read_text().split())
    helped = " ".join(CliRunner().invoke(cli, ["history", "--help"]).output.split())
    for where, text in (("docs/git-ledger.md", ledger), ("keyz history --help", helped)):
        assert rule in text, f"{where} does not state the burn/runway rule"
    assert NOT_ENOUGH in ledger
    assert ",".join(CSV_FIELDS) in ledger, "docs/git-ledger.md lists other CSV columns"


def test_messages_never_send_users_to_a_docs_path() -> None:
    """pipx and pip users have keyz, not its docs/ folder: a message must stand on its own."""
    import ast

    found = []
    for path in sorted((ROOT / "src" / "keyz").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and re.search(r"docs/[\w-]+\.md", node.value)
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert not found, f"messages naming a docs/ path: {found}"


def test_docs_name_the_providers_that_take_a_region() -> None:
    from keyz.providers import all_providers

    regional = {p.id for p in all_providers() if p.regions}
    assert regional == {"moonshot", "siliconflow", "minimax", "zai"}
    lists = re.findall(r"`region` \(([a-z, ]+)\)", DOCS)
    lists += re.findall(r"For providers with regions \(([a-z, ]+)\)", DOCS)
    assert lists, "the docs no longer list which providers take region"
    for listed in lists:
        assert set(listed.split(", ")) == regional, listed


def test_the_readme_names_each_providers_key_kind_as_keyz_providers_does() -> None:
    from keyz.providers import all_providers
    from keyz.providers.catalog import key_kinds

    readme = (ROOT / "README.md").read_text()
    for provider in all_providers():
        row = re.search(rf"^\| `{provider.id}` \|.*\| ([^|]+) \|$", readme, re.MULTILINE)
        assert row is not None, f"README has no row for {provider.id}"
        shown = key_kinds(provider)  # the KEY column of keyz providers
        assert row.group(1).split()[0].strip(",;:") == shown.split()[0], (provider.id, shown)
