"""``keyz`` and ``python -m keyz``: import the command line, then run it.

The console script starts here rather than in :mod:`keyz.cli` so that a Ctrl-C while Python
is still importing keyz (its first tenth of a second or so) ends as one a moment later does:
``keyz: interrupted``, exit 130, and no traceback.
"""

import sys

TYPE_CHECKING = False  # not typing's: importing typing (re, enum, ...) is ~10 ms of that window
if TYPE_CHECKING:
    from typing import NoReturn

EXIT_INTERRUPTED = 130  # keyz.errors.EXIT_INTERRUPTED: not imported, an import is what failed


def _a_ctrl_c(exc: "BaseException | None") -> bool:
    """Whether ``exc`` is a Ctrl-C, or what Python made of one: a KeyboardInterrupt inside a
    class body's ``__set_name__`` comes out as the RuntimeError it caused."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def main() -> "NoReturn":
    try:
        from keyz.cli import main as run
    except BaseException as exc:
        if not _a_ctrl_c(exc):
            raise
        if sys.stderr is not None:
            sys.stderr.write("keyz: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    run()


if __name__ == "__main__":
    main()
