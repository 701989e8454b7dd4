"""Rules of the codebase that a reviewer would otherwise have to remember."""

import ast
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from .conftest import Sandbox

SRC = Path(__file__).parent.parent / "src" / "keyz"
MODULES = sorted(SRC.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_cli_imports_click() -> None:
    offenders = [p.name for p in MODULES if "click" in imported_modules(p) and p.name != "cli.py"]
    assert offenders == []


def calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]


def name_of(func: ast.expr) -> str:
    return (
        func.attr
        if isinstance(func, ast.Attribute)
        else func.id
        if isinstance(func, ast.Name)
        else ""
    )


def test_no_shell_no_latin1_results_no_whole_index_commits() -> None:
    for path in MODULES:
        for call in calls(path):
            assert not any(
                k.arg == "shell" and getattr(k.value, "value", False) is True for k in call.keywords
            ), path
            # python-gnupg's str(result) decodes as latin-1; keyz decodes result.data as UTF-8
            assert not (
                name_of(call.func) == "str"
                and call.args
                and getattr(call.args[0], "id", "") == "result"
            ), path
            assert (
                name_of(call.func) not in ("clone_from", "commit_tree") or path.name != "git_ops.py"
            ), path
            if isinstance(call.func, ast.Attribute) and name_of(call.func) == "commit":
                assert name_of(call.func.value) != "index", (
                    f"{path}: index.commit commits the whole index"
                )


def test_help_imports_none_of_the_heavy_dependencies() -> None:
    code = (
        "import sys\n"
        "from keyz.cli import cli\n"
        "try:\n    cli.main(['status', '--help'], prog_name='keyz')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'pydantic', 'git', 'gnupg', 'tomlkit') if m in sys.modules]\n"
        "print('heavy=' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "heavy="


@pytest.mark.parametrize(
    ("dist", "floor"),
    [("python-gnupg", (0, 5, 6)), ("GitPython", (3, 2, 1)), ("httpx", (0, 28, 1))],
)
def test_dependency_floors(dist: str, floor: tuple[int, ...]) -> None:
    installed = tuple(int(part) for part in version(dist).split(".")[:3])
    assert installed >= floor


def test_the_gnupg_fork_is_not_installed() -> None:
    with pytest.raises(PackageNotFoundError):
        version("gnupg")


def test_help_status_and_a_no_op_sync_never_import_gitpython(two_keys: Sandbox) -> None:
    """Importing GitPython costs ~35 ms and starts `git version`: reading, and a sync with
    nothing to commit (one `git status`, benchmarks/README.md), do without it."""
    assert two_keys.keyz("sync", "--commit").returncode == 0
    code = (
        "import sys\n"
        "from keyz.cli import cli\n"
        "for args in (['--help'], ['status'], ['status', '--json'], ['sync', '--commit']):\n"
        "    try:\n        cli.main(args, prog_name='keyz')\n    except SystemExit as done:\n"
        "        assert not done.code, (args, done.code)\n"
        "    print('gitpython', 'git' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=two_keys.env, capture_output=True, text=True, check=True
    )
    said = [line for line in done.stderr.splitlines() if line.startswith("gitpython ")]
    assert said == ["gitpython False"] * 4, done.stderr
