"""``keyz`` and ``python -m keyz``: import the command line, then run it.

The console script starts here rather than in :mod:`keyz.cli` so that a Ctrl-C at any moment
keyz's own code could see, while Python still imports keyz included, ends the same way:
``keyz: interrupted``, exit 130, and no traceback. This is the command line's outer edge:
:func:`main` returns the process's exit code for that one case (the console script exits with
it); every other exit is :mod:`keyz.cli`'s.
"""

import sys

EXIT_INTERRUPTED = 130  # keyz.errors.EXIT_INTERRUPTED, before keyz.errors may be importable


def _lost_ctrl_c(unraisable: "sys.UnraisableHookArgs") -> None:
    """A Ctrl-C that lands in a callback Python cannot raise from (a weakref callback of the
    import system's locks) was printed and dropped, and the command went on: it is raised
    again in the main thread instead, a moment after this hook has returned (from another
    thread: in this one it would come at once, inside the hook, and be dropped too)."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        import _thread
        import threading

        again = threading.Timer(0.05, _thread.interrupt_main)
        again.daemon = True
        again.start()
        return
    sys.__unraisablehook__(unraisable)


def main() -> int:
    """Run keyz; the exit code of a Ctrl-C that keyz.cli could not answer (it came before
    keyz.cli was imported, or Python wrapped it in another exception)."""
    sys.unraisablehook = _lost_ctrl_c
    try:
        from keyz.cli import main as run

        run()  # exits, with the command's code
    except BaseException as exc:
        from keyz.errors import is_ctrl_c  # here: the import that failed may have been this one

        if isinstance(exc, SystemExit) or not is_ctrl_c(exc):
            raise  # an exit code (one click chose after a Ctrl-C included), or a real error
        if sys.stderr is not None:
            sys.stderr.write("keyz: interrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
