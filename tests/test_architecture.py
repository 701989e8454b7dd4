"""The layers of docs/architecture.md, enforced: what may import what.

Every module of src/keyz is parsed with ``ast``; every import counts, at the top of a
file, inside a function (the lazy imports that keep ``keyz --help`` fast) or under
``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

SRC: Final = Path(__file__).parent.parent / "src"

# Lowest first. A module may import modules of its own layer and of the layers before it.
# A name covers the module and, for a package, everything in it.
LAYERS: Final = (
    (
        "foundation",
        (
            "keyz",
            "keyz.errors",
            "keyz.clock",
            "keyz.money",
            "keyz.periods",
            "keyz.fields",
            "keyz.redact",
            "keyz.fsutil",
            "keyz.program",
        ),
    ),
    (
        "formats and local state",
        (
            "keyz.sidecar",
            "keyz.sidecar_v1",
            "keyz.sidecar_v2",
            "keyz.state",
            "keyz.config",
            "keyz.alerts",
            "keyz.trust",
            "keyz.lock",
        ),
    ),
    ("adapters", ("keyz.store", "keyz.git_ops", "keyz.providers", "keyz.notify")),
    (
        "use cases",
        (
            "keyz.sync",
            "keyz.status",
            "keyz.health",
            "keyz.check",
            "keyz.alerting",
            "keyz.history",
            "keyz.migrate",
            "keyz.discover",
            "keyz.cron",
            "keyz.passext",
            "keyz.merge",
            "keyz.forecast",
            "keyz.totals",
            "keyz.export",
            "keyz.ledger",
            "keyz.render",
            "keyz.probe",
            "keyz.tracking",
        ),
    ),
    ("demo", ("keyz.demo", "keyz.demo.story", "keyz.demo.sandbox", "keyz.demo.simulator")),
    ("command line", ("keyz.cli", "keyz.ui", "keyz.__main__")),
)
ADAPTERS: Final = ("keyz.store", "keyz.git_ops", "keyz.providers", "keyz.notify")
# A provider is handed the decrypted entry; it may name its type, never call the store.
TYPE_ONLY_BETWEEN_ADAPTERS: Final = {("keyz.providers.base", "keyz.store")}
# Each outside library is used in one place, which turns its errors into keyz's.
HOMES: Final = {
    "click": ("keyz.cli",),
    "httpx": ("keyz.providers.http",),
    "httpcore": ("keyz.providers.http",),
    "git": ("keyz.git_ops",),
    "gnupg": ("keyz.store",),
    "jmespath": ("keyz.providers.http_json",),
    "apprise": ("keyz.notify",),
    "tomlkit": ("keyz.config",),
    "prometheus_client": ("keyz.export",),
    "textual": ("keyz.ui",),
    "rich": ("keyz.ui",),
    "pydantic": (
        "keyz.fields",
        "keyz.sidecar",
        "keyz.sidecar_v1",
        "keyz.sidecar_v2",
        "keyz.state",
        "keyz.config",
    ),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports: a module, or an outside library's top-level name
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`
    lazy: bool  # inside a function

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")


MODULES: Final = {module_name(path): path for path in sorted((SRC / "keyz").rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.AST, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the importing module's package
            package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}".strip(".")
        # `from keyz import sidecar` imports the module keyz.sidecar; `from keyz import
        # __version__` imports from keyz itself
        return [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names
        ]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]  # importlib.import_module("...") with a name written out
    return []


def imports_of(module: str) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool, lazy: bool) -> None:
        for target in _targets(node, module):
            found.append(Import(module, target, getattr(node, "lineno", 0), type_only, lazy))
        for child in ast.iter_child_nodes(node):
            visit(
                child,
                type_only or (isinstance(node, ast.If) and _is_type_checking(node)),
                lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef),
            )

    visit(ast.parse(MODULES[module].read_text()), False, False)
    return found


ALL_IMPORTS: Final = [one for module in MODULES for one in imports_of(module)]
KEYZ_IMPORTS: Final = [one for one in ALL_IMPORTS if one.target.split(".")[0] == "keyz"]


def covered(module: str, names: tuple[str, ...]) -> bool:
    return any(
        module == name or (name != "keyz" and module.startswith(f"{name}.")) for name in names
    )


def layer_of(module: str) -> int:
    ranks = [rank for rank, (_, names) in enumerate(LAYERS) if covered(module, names)]
    assert len(ranks) == 1, f"{module} is in {len(ranks)} layers of docs/architecture.md"
    return ranks[0]


def test_every_module_has_one_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_imports_go_down_never_up() -> None:
    """Foundation imports nothing above it, nothing below the command line imports it, and
    only the command line imports the demo."""
    upward = [
        f"{one} ({LAYERS[layer_of(one.target)][0]}) from {LAYERS[layer_of(one.module)][0]}"
        for one in KEYZ_IMPORTS
        if layer_of(one.target) > layer_of(one.module)
    ]
    assert not upward, "\n".join(upward)


def test_adapters_do_not_import_one_another() -> None:
    """store (gpg), git_ops (git) and providers (http) meet only in the use cases above them."""

    def adapter(module: str) -> str | None:
        return next((name for name in ADAPTERS if covered(module, (name,))), None)

    crossing = [
        str(one)
        for one in KEYZ_IMPORTS
        if adapter(one.module) not in (None, adapter(one.target))
        and adapter(one.target) is not None
        and not (one.type_only and (one.module, one.target) in TYPE_ONLY_BETWEEN_ADAPTERS)
    ]
    assert not crossing, "\n".join(crossing)


@pytest.mark.parametrize("library", sorted(HOMES))
def test_each_outside_library_has_one_home(library: str) -> None:
    family = {library, f"{library}_core"}
    outside = [
        str(one)
        for one in ALL_IMPORTS
        if one.target.split(".")[0] in family and one.module not in HOMES[library]
    ]
    assert not outside, "\n".join(outside)


def test_the_import_graph_has_no_cycles() -> None:
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for one in KEYZ_IMPORTS:
        if one.target != one.module:
            edges[one.module].add(one.target)
    done: set[str] = set()

    def walk(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module not in done:
            for target in sorted(edges[module]):
                walk(target, (*path, module))
            done.add(module)

    for module in MODULES:
        walk(module, ())


def test_only_the_command_line_reads_the_demo_clock() -> None:
    """The core never reads the environment for the time: keyz.clock is set at start-up."""
    readers = [
        module
        for module, path in MODULES.items()
        if any(
            isinstance(node, ast.Constant) and node.value == "KEYZ_NOW"
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert readers == ["keyz.cli"]


def test_the_rules_see_lazy_and_type_only_imports() -> None:
    """The checks above would pass vacuously if the parser missed imports inside functions
    or under TYPE_CHECKING."""
    seen = {(one.module, one.target, one.type_only, one.lazy) for one in KEYZ_IMPORTS}
    assert ("keyz.sync", "keyz.providers", False, True) in seen
    assert ("keyz.providers.base", "keyz.store", True, False) in seen


# --- the command line: one boundary, one exit, typed seams ---------------------------------

CLI: Final = ast.parse(MODULES["keyz.cli"].read_text())
# KeyzGroup.make_context (a Ctrl-C while click reads the options), KeyzGroup.invoke (a
# command's code) and main (a bug); keyz.__main__, the console script's launcher, returns 130
# for a Ctrl-C that came before keyz.cli could answer it (and `python -m keyz` exits with it).
BOUNDARY: Final = {"make_context", "invoke", "main"}
LAUNCHER: Final = "keyz.__main__"


def _name(node: ast.expr | None) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _exits(tree: ast.AST) -> list[int]:
    """Lines that leave the process: sys.exit(), os._exit(), ctx.exit(), SystemExit, click's Exit."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if (
            isinstance(node, ast.Call)
            and _name(node.func) in ("exit", "_exit", "SystemExit", "Exit")
        )
        or (isinstance(node, ast.Raise) and _name(node.exc) in ("SystemExit", "Exit"))
    ]


def test_only_the_boundary_exits() -> None:
    """Commands return their exit code; KeyzGroup.invoke exits with it (or a KeyzError's), and
    main() with 1 for a bug. No other function of keyz exits the process: the launcher only
    under ``if __name__ == "__main__"``."""
    launcher = ast.parse(MODULES[LAUNCHER].read_text())
    guarded = [n for n in launcher.body if isinstance(n, ast.If)]
    assert _exits(launcher) == [line for n in guarded for line in _exits(n)] != []
    outside = [
        f"{module}:{line}"
        for module, path in MODULES.items()
        if module not in ("keyz.cli", LAUNCHER)
        for line in _exits(ast.parse(path.read_text()))
    ]
    functions = [n for n in ast.walk(CLI) if isinstance(n, ast.FunctionDef)]
    in_cli = [
        f"keyz.cli:{line} in {function.name}"
        for function in functions
        if function.name not in BOUNDARY
        for line in _exits(function)
    ]
    assert not outside + in_cli, "\n".join(outside + in_cli)
    assert {f.name for f in functions for _ in _exits(f)} == BOUNDARY


def test_the_cli_imports_each_domain_name_in_one_place() -> None:
    """Lazy imports keep `keyz --help` light; a name several commands need has one helper."""
    places: dict[tuple[str, str], list[str]] = {}
    for function in ast.walk(CLI):
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.module:
                    for alias in node.names:
                        places.setdefault((node.module, alias.name), []).append(function.name)
    top = {
        (node.module, alias.name)
        for node in CLI.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    repeated = {name: where for name, where in places.items() if len(where) > 1 or name in top}
    assert not repeated, repeated


def test_the_cli_uses_no_any() -> None:
    """What the modules hand the command line is typed: dataclasses, str, dict[str, object]."""
    names = {node.id for node in ast.walk(CLI) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(CLI) if isinstance(node, ast.Attribute)}
    imported = {
        alias.name
        for node in ast.walk(CLI)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert "Any" not in names | attributes | imported


def _modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def _packages(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_the_checks_before_decrypting_leave_the_http_stack_unimported() -> None:
    """keyz sync starts gpg before httpx loads (~0.1 s): what it runs first must not need it."""
    loaded = _modules_after(
        "from keyz.providers import all_providers\n"
        "from keyz.providers.hosts import check_configured_base_url\n"
        "for provider in all_providers():\n"
        "    provider.check_options({}, origin='test')\n"
    )
    assert "keyz.providers.hosts" in loaded
    assert not {"httpx", "httpcore", "anyio", "h11"} & _packages(loaded)


def test_httpx_comes_without_its_command_line_client() -> None:
    """httpx imports rich and pygments for its own CLI when they are installed (~50 ms)."""
    loaded = _modules_after("import keyz.providers.http\nimport httpx\nassert httpx.Client")
    assert "httpx" in loaded
    assert not {"rich", "pygments"} & _packages(loaded)


def test_the_frozen_sidecar_versions_load_only_for_an_old_file() -> None:
    """Building their pydantic models is ~25 ms of every command's start-up."""
    read = (
        "import json\nfrom keyz import sidecar\n"
        "doc = {'schema_version': OLD, 'entry': 'a', 'provider': 'deepseek',\n"
        "       'observed_at': '2026-01-01T00:00:00Z', 'available': False}\n"
        "assert sidecar.loads(json.dumps(doc).encode()).schema_version == sidecar.SCHEMA_VERSION"
    )
    current = _modules_after(read.replace("OLD", "sidecar.SCHEMA_VERSION"))
    assert "keyz.sidecar" in current
    assert not {"keyz.sidecar_v1", "keyz.sidecar_v2"} & set(current)
    assert {"keyz.sidecar_v1", "keyz.sidecar_v2"} <= set(_modules_after(read.replace("OLD", "1")))
